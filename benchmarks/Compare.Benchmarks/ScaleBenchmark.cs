using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Compare.Core;
using Compare.Core.Indexing;
using Compare.Core.Similarity;

namespace Compare.Benchmarks;

/// <summary>
/// Batch dedup end to end at growing sizes: the synthetic corpus is written as JSONL, then the real
/// compare CLI (a child process, streaming the file) deduplicates it. Reports wall time, documents/s,
/// MB/s, the CLI's own peak working set, recall of the planted near-duplicates whose exact Jaccard is
/// above the threshold, and precision (reported pairs whose exact Jaccard, recomputed here, is above it).
/// COMPARE_CLI names the executables to time, separated by ':' (a native build, a baseline's), each run in
/// turn on the same file COMPARE_RUNS times (default 1); without it, this build's compare.dll on the JIT.
/// </summary>
internal static partial class ScaleBenchmark
{
    private const double Threshold = 0.8;

    public static void Run(int[] sizes)
    {
        string[] clis = Environment.GetEnvironmentVariable("COMPARE_CLI") is { Length: > 0 } named
            ? named.Split(':', StringSplitOptions.RemoveEmptyEntries)
            : [Path.Combine(AppContext.BaseDirectory, "compare.dll")];
        int runs = int.TryParse(Environment.GetEnvironmentVariable("COMPARE_RUNS"), CultureInfo.InvariantCulture, out int r) ? r : 1;
        DirectoryInfo work = Directory.CreateTempSubdirectory("compare-scale-");
        try
        {
            Console.WriteLine("| CLI | documents | MB of JSONL | time s | µs/document | × per-document time of the first size | docs/s | MB/s | peak working set MB | planted pairs ≥ 0.8 | recall | precision |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var firstPerDocument = new Dictionary<string, double>();
            foreach (int size in sizes)
            {
                string input = Path.Combine(work.FullName, $"synthetic-{size}.jsonl");
                SyntheticCorpus.WriteJsonLines(input, size, seed: 2014);
                double megabytes = new FileInfo(input).Length / 1e6;
                for (int run = 0; run < runs; run++)
                {
                    foreach (string cli in clis)
                    {
                        (double seconds, double peakMegabytes, string clusters, string pairs) = RunCli(cli, input, work.FullName);
                        (int planted, double recall, double precision) = Score(size, clusters, pairs);
                        double perDocument = seconds * 1e6 / size;
                        double first = firstPerDocument.TryAdd(cli, perDocument) ? perDocument : firstPerDocument[cli];
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {cli} | {size:N0} | {megabytes:F0} | {seconds:F1} | {perDocument:F1} | {perDocument / first:F2} | {size / seconds:N0} | {megabytes / seconds:F0} | {peakMegabytes:N0} | {planted:N0} | {recall:P2} | {precision:P2} |"));
                    }
                }

                File.Delete(input);
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>dedup through the CLI executable; the wall time includes its start.</summary>
    private static (double Seconds, double PeakMegabytes, string Clusters, string Pairs) RunCli(string cli, string input, string directory)
    {
        string clusters = Path.Combine(directory, "clusters.jsonl"), pairs = Path.Combine(directory, "pairs.jsonl");
        string[] arguments = ["dedup", input, "--threshold", Threshold.ToString(CultureInfo.InvariantCulture), "--output", clusters, "--pairs", pairs];
        var start = new ProcessStartInfo(cli.EndsWith(".dll", StringComparison.Ordinal) ? "dotnet" : cli,
            cli.EndsWith(".dll", StringComparison.Ordinal) ? ["exec", cli, .. arguments] : arguments)
        {
            RedirectStandardError = true,
        };
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        clock.Stop();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"compare dedup exited {process.ExitCode}: {error}");
        }

        Match peak = PeakMemory().Match(error);
        return (clock.Elapsed.TotalSeconds, double.Parse(peak.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture), clusters, pairs);
    }

    /// <summary>Recall of planted pairs above the threshold and precision of reported pairs, both against exact Jaccard.</summary>
    private static (int Planted, double Recall, double Precision) Score(int size, string clustersPath, string pairsPath)
    {
        var clusterOf = new Dictionary<string, int>(StringComparer.Ordinal);
        int cluster = 0;
        foreach (string line in File.ReadLines(clustersPath))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            foreach (JsonElement member in json.RootElement.GetProperty("members").EnumerateArray())
            {
                clusterOf[member.GetProperty("id").GetString()!] = cluster;
            }

            cluster++;
        }

        var reported = new List<(string Left, string Right)>();
        foreach (string line in File.ReadLines(pairsPath))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            reported.Add((json.RootElement.GetProperty("leftId").GetString()!, json.RootElement.GetProperty("rightId").GetString()!));
        }

        // The generator is seeded: run it again for the planted pairs, then for only the texts they need.
        List<(string Copy, string Original)> plantedPairs = [.. SyntheticCorpus.Generate(size, seed: 2014).Where(d => d.DuplicateOf is not null).Select(d => (d.Id, d.DuplicateOf!))];
        HashSet<string> needed = [.. plantedPairs.SelectMany(p => new[] { p.Copy, p.Original }), .. reported.SelectMany(p => new[] { p.Left, p.Right })];
        var sketcher = new DocumentSketcher(SketchParameters.Default);
        var shingles = new Dictionary<string, ulong[]>(StringComparer.Ordinal);
        foreach (SyntheticDocument d in SyntheticCorpus.Generate(size, seed: 2014))
        {
            if (needed.Contains(d.Id))
            {
                shingles[d.Id] = sketcher.Sketch(d.Text).Shingles;
            }
        }

        var above = plantedPairs.Where(p => SetSimilarity.Jaccard(shingles[p.Copy], shingles[p.Original]) >= Threshold).ToList();
        int found = above.Count(p => clusterOf.TryGetValue(p.Copy, out int c) && clusterOf.TryGetValue(p.Original, out int o) && c == o);
        int correct = reported.Count(p => SetSimilarity.Jaccard(shingles[p.Left], shingles[p.Right]) >= Threshold);
        return (above.Count, above.Count == 0 ? 1 : (double)found / above.Count, reported.Count == 0 ? 1 : (double)correct / reported.Count);
    }

    [GeneratedRegex(@"peak memory ([\d,]+) MB")]
    private static partial Regex PeakMemory();
}
