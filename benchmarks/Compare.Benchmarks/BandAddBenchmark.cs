using System.Diagnostics;
using System.Globalization;
using Compare.Core.Lsh;

namespace Compare.Benchmarks;

/// <summary>
/// Adds random signatures to a <see cref="BandIndex"/> (the default banding) a thousand at a time, as a store's commits
/// of 1,000-document messages do, and prints the time of a thousand: median, 99th percentile and the slowest, where the
/// band tables' growth shows.
/// </summary>
internal static class BandAddBenchmark
{
    public static void Run(int documents, int rounds)
    {
        var random = new Random(17);
        uint[][] signatures = [.. Enumerable.Range(0, documents).Select(_ => Enumerable.Range(0, 128).Select(_ => (uint)random.Next()).ToArray())];
        string[] ids = [.. Enumerable.Range(0, documents).Select(i => $"doc-{i:D7}")];
        LshParameters parameters = LshParameters.ForThreshold(0.8, 128);
        for (int round = 1; round <= rounds; round++)
        {
            var index = new BandIndex(parameters);
            var thousands = new List<double>();
            var total = Stopwatch.StartNew();
            for (int first = 0; first < documents; first += 1000)
            {
                long start = Stopwatch.GetTimestamp();
                for (int i = first; i < Math.Min(documents, first + 1000); i++)
                {
                    index.Add(ids[i], signatures[i]);
                }

                thousands.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            double[] sorted = [.. thousands.Order()];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: {documents:N0} adds in {total.Elapsed.TotalMilliseconds:F0} ms; a thousand: median {sorted[sorted.Length / 2]:F2} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:F1} ms, slowest {sorted[^1]:F1} ms"));
        }
    }
}
