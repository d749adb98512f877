using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Compare.Benchmarks;

/// <summary>
/// Corpus-wide text reuse beside a peer, in one run: the native <c>compare reuse</c> against Dick Grune's similarity
/// tester (<c>sim_text</c>, Debian's similarity-tester), each listing every pair of documents that share a run of 7
/// words. <c>sim_text -e</c> compares each file with each other in isolation, which finds every pair; Compare is run
/// with boilerplate suppression off (<c>--max-documents 1000000</c>) so both answer the same question. Reports the
/// best wall time of each and how far their pairs agree.
/// </summary>
public static class ReusePeerBenchmark
{
    public static void Run(string nativeCompare, string jsonl, int repetitions)
    {
        string files = Directory.CreateTempSubdirectory("compare-reuse-peer-").FullName;
        try
        {
            // One file a document, named by its id (the peer reads files and reports file names).
            var names = new List<string>();
            foreach (string line in File.ReadLines(jsonl))
            {
                using JsonDocument document = JsonDocument.Parse(line);
                names.Add(SimilarityTester.FileName(document.RootElement.GetProperty("id").GetString()!));
                File.WriteAllText(Path.Combine(files, names[^1]), document.RootElement.GetProperty("text").GetString());
            }

            string compareOutput = Path.Combine(files, "compare.jsonl");
            double simBest = double.MaxValue, compareBest = double.MaxValue;
            HashSet<(string, string)> peer = [];
            for (int i = 0; i < repetitions; i++)
            {
                // The tester's time includes reading its report, as a user's script would.
                var stopwatch = Stopwatch.StartNew();
                peer = SimilarityTester.PairsAsync(files, names).GetAwaiter().GetResult();
                simBest = Math.Min(simBest, stopwatch.Elapsed.TotalMilliseconds);
                compareBest = Math.Min(compareBest, Time(nativeCompare, ["reuse", Path.GetFullPath(jsonl), "--max-documents", "1000000", "--output", compareOutput]));
            }

            HashSet<(string, string)> ours = [.. File.ReadLines(compareOutput).Select(l => JsonDocument.Parse(l).RootElement)
                .Select(p => SimilarityTester.Ordered(SimilarityTester.FileName(p.GetProperty("leftId").GetString()!), SimilarityTester.FileName(p.GetProperty("rightId").GetString()!)))];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"corpus: {jsonl}, {names.Count:N0} documents; {Environment.ProcessorCount} cores; best of {repetitions}, interleaved"));
            Console.WriteLine("| tool | best wall time (ms) | pairs | sim_text ÷ this |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| sim_text -e -s -r 7 (1 core) | {simBest:F0} | {peer.Count:N0} | 1.0× |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| compare reuse, native | {compareBest:F0} | {ours.Count:N0} | {simBest / compareBest:F1}× |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pairs both found: {peer.Intersect(ours).Count():N0}; only sim_text: {peer.Except(ours).Count():N0}; only compare: {ours.Except(peer).Count():N0} (a word is a run of letters or digits for sim_text, of word characters for Compare)"));
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    private static double Time(string executable, string[] args)
    {
        var start = new ProcessStartInfo(executable, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        var stopwatch = Stopwatch.StartNew();
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        double ms = stopwatch.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{executable} {string.Join(' ', args)} exited with {process.ExitCode}: {error.Result}");
        }

        return ms;
    }
}
