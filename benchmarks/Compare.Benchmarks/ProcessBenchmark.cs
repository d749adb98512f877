using System.Diagnostics;
using System.Globalization;

namespace Compare.Benchmarks;

/// <summary>
/// Whole batch-dedup processes on the BBC corpus, as a user times them from a shell: the native <c>compare</c>
/// (published with <c>dotnet publish src/Compare.Cli -c Release -o DIR</c>), the same CLI on the JIT runtime
/// (<c>dotnet compare.dll</c>), and datasketch's dedup in Python (benchmarks/datasketch/dedup_corpus.py), each
/// best of N wall-clock runs, in one run. Every process starts, reads the corpus file, signs, bands, verifies
/// exactly, clusters and exits.
/// </summary>
public static class ProcessBenchmark
{
    public static void Run(string nativeCompare, int repetitions)
    {
        string corpus = Corpus.BbcPath;
        string managed = Path.Combine(Path.GetDirectoryName(typeof(ProcessBenchmark).Assembly.Location)!, "compare.dll");
        string[] dedup = ["dedup", corpus, "--threshold", "0.8", "--output", "/dev/null"];
        Console.WriteLine($"corpus: {corpus}; {Environment.ProcessorCount} cores; best of {repetitions} whole processes each, interleaved");

        var best = new Dictionary<string, double>();
        string? datasketch = Environment.GetEnvironmentVariable("DATASKETCH");
        string peerScript = Corpus.FindUp(Path.Combine("benchmarks", "datasketch", "dedup_corpus.py"));
        string peerOutput = string.Empty;
        for (int i = 0; i < repetitions; i++)
        {
            Time("compare, native (AOT)", nativeCompare, dedup);
            Time("compare, JIT (dotnet compare.dll)", "dotnet", [managed, .. dedup]);
            Time("compare --help, native", nativeCompare, ["--help"]);
            if (datasketch is { Length: > 0 })
            {
                peerOutput = Time("datasketch 1.x, Python (MinHash + MinHashLSH + exact verification)", "/usr/bin/python3", [peerScript, corpus, "0.8"],
                    new() { ["PYTHONPATH"] = datasketch });
            }
        }

        double peer = best.GetValueOrDefault("datasketch 1.x, Python (MinHash + MinHashLSH + exact verification)", double.NaN);
        Console.WriteLine("| process | best wall time (ms) | datasketch ÷ this |");
        Console.WriteLine("|---|---:|---:|");
        foreach ((string name, double ms) in best)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {ms:F0} | {peer / ms:F1}× |"));
        }

        Console.WriteLine(datasketch is { Length: > 0 }
            ? $"datasketch found: {peerOutput.Trim()}"
            : "datasketch not measured: set DATASKETCH to a datasketch checkout (outside the repository) to time it in this run");

        string Time(string name, string executable, string[] args, Dictionary<string, string>? environment = null)
        {
            var start = new ProcessStartInfo(executable, args) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach ((string key, string value) in environment ?? [])
            {
                start.Environment[key] = value;
            }

            var stopwatch = Stopwatch.StartNew();
            using Process process = Process.Start(start)!;
            Task<string> error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            double ms = stopwatch.Elapsed.TotalMilliseconds;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{executable} {string.Join(' ', args)} exited with {process.ExitCode}: {error.Result}");
            }

            best[name] = Math.Min(best.GetValueOrDefault(name, double.MaxValue), ms);
            return output;
        }
    }
}
