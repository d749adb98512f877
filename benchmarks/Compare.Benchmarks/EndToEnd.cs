using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Text;

namespace Compare.Benchmarks;

/// <summary>
/// Whole-corpus timings with a Stopwatch, best of several runs, each stage next to baselines
/// measured in the same process: a plain scan of every character (the memory-speed floor) and
/// the naive datasketch-style MinHash.
/// </summary>
internal static class EndToEnd
{
    public static void Run(int repetitions)
    {
        string[] texts = Corpus.Bbc();
        double megabytes = Corpus.Utf8Bytes(texts) / 1e6;
        Console.WriteLine($"corpus: BBC News 2004-2005, {texts.Length} documents, {megabytes:F2} MB UTF-8; {Environment.ProcessorCount} cores; best of {repetitions}");
        var oph = new DocumentSketcher(SketchParameters.Default);
        var classic = new DocumentSketcher(SketchParameters.Default with { Scheme = SignatureScheme.Classic });
        var signature = new uint[128];

        double scan = Best(repetitions, () =>
        {
            long letters = 0;
            foreach (string text in texts)
            {
                foreach (char c in text)
                {
                    letters += char.IsAsciiLetterOrDigit(c) ? 1 : 0;
                }
            }

            GC.KeepAlive(letters);
        });
        double naive = Best(Math.Min(repetitions, 2), () => Array.ForEach(texts, t => NaiveMinHash.Sign(t)));
        double tokenize = Best(repetitions, () => Array.ForEach(texts, t => Tokenizer.Tokenize(t, NormalizationOptions.Default, 1)));
        // The tokenizer's character loop alone (its ASCII blocks off): the path every word took before them.
        double characterLoop = Best(repetitions, () => Array.ForEach(texts, t => TokenCount.Words(t, AsciiBlocks.None)));
        double asciiBlocks = Best(repetitions, () => Array.ForEach(texts, t => TokenCount.Words(t, Tokenizer.BestBlocks)));
        // Text that is not all ASCII: every 40th character of the corpus replaced by 'é', so most blocks of 64 hold one.
        string[] accented = [.. texts.Select(t => string.Create(t.Length, t, (chars, source) =>
        {
            source.CopyTo(chars);
            for (int k = 39; k < chars.Length; k += 40)
            {
                chars[k] = 'é';
            }
        }))];
        double accentedLoop = Best(repetitions, () => Array.ForEach(accented, t => TokenCount.Words(t, AsciiBlocks.None)));
        double accentedBlocks = Best(repetitions, () => Array.ForEach(accented, t => TokenCount.Words(t, Tokenizer.BestBlocks)));
        double oneCore = Best(repetitions, () => Array.ForEach(texts, t => oph.Sign(t, signature)));
        // One thread a core, as the deduplicator runs: unbounded, Parallel.ForEach takes every pool thread there is, and after
        // the stages before it that was more threads than cores, taking turns on them.
        var perCore = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        double allCores = Best(repetitions, () => Parallel.ForEach(texts, perCore, () => new uint[128], (t, _, s) => { oph.Sign(t, s); return s; }, _ => { }));
        double classicOneCore = Best(repetitions, () => Array.ForEach(texts, t => classic.Sign(t, signature)));
        double classicAllCores = Best(repetitions, () => Parallel.ForEach(texts, perCore, () => new uint[128], (t, _, s) => { classic.Sign(t, s); return s; }, _ => { }));
        double sketchAll = Best(repetitions, () => Parallel.ForEach(texts, perCore, t => oph.Sketch(t)));
        ClusteringResult? result = null;
        double dedup = Best(repetitions, () => result = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.8 }).Run(texts));

        Console.WriteLine();
        Console.WriteLine("| stage | time (ms) | MB/s | × naive baseline |");
        Console.WriteLine("|---|---:|---:|---:|");
        Row("scan of every char (memory-speed baseline)", scan);
        Row("naive datasketch-style MinHash, 1 core (baseline)", naive);
        Row("tokenise with offsets, 1 core", tokenize);
        Row("words and hashes, character loop only (before the ASCII blocks), 1 core", characterLoop);
        Row($"words and hashes, ASCII blocks ({Tokenizer.BestBlocks}), 1 core", asciiBlocks);
        Row("words and hashes, an 'é' every 40 characters: character loop, 1 core", accentedLoop);
        Row($"words and hashes, an 'é' every 40 characters: ASCII blocks ({Tokenizer.BestBlocks}), 1 core", accentedBlocks);
        Row("signature OPH, 1 core", oneCore);
        Row($"signature OPH, {Environment.ProcessorCount} cores", allCores);
        Row("signature classic MinHash, 1 core", classicOneCore);
        Row($"signature classic MinHash, {Environment.ProcessorCount} cores", classicAllCores);
        Row($"sketch (signature + exact shingle set), {Environment.ProcessorCount} cores", sketchAll);
        Row($"whole dedup at 0.8 (sketch, LSH, verify, cluster), {Environment.ProcessorCount} cores", dedup);
        Console.WriteLine();
        Console.WriteLine($"memory read bandwidth, 1 core: {MemoryReadGigabytesPerSecond(repetitions):F1} GB/s (a 512 MB array summed with {(Vector256.IsHardwareAccelerated ? "Vector256" : "scalar")} loads; the physical limit of any stage that streams text from memory)");
        Console.WriteLine($"dedup: {result!.CandidatePairs} candidate pairs, {result.Pairs.Count} verified pairs, {result.Clusters.Count} clusters, {result.DuplicateCount} duplicates");
        if (Environment.GetEnvironmentVariable("DATASKETCH") is { Length: > 0 } checkout)
        {
            // The peer in this same run, after Compare's stages: signatures only, one core, as datasketch users sign.
            double peer = DatasketchSignMilliseconds(checkout, Math.Min(repetitions, 3));
            Console.WriteLine($"datasketch (this run, 1 core): signatures {peer:F0} ms; Compare's OPH signatures on {Environment.ProcessorCount} cores {peer / allCores:F0}x faster, on 1 core {peer / oneCore:F0}x; whole dedup {peer / dedup:F1}x datasketch's signatures alone");
        }
        else
        {
            Console.WriteLine("datasketch not measured: set DATASKETCH to a datasketch checkout (outside the repository) to time it in this run");
        }

        void Row(string name, double ms) => Console.WriteLine($"| {name} | {ms:F1} | {megabytes / (ms / 1000):F1} | {naive / ms:F1} |");
    }

    // Runs benchmarks/datasketch/sign_corpus.py with Debian's python3 (numpy, scipy) over the same corpus file.
    private static double DatasketchSignMilliseconds(string checkout, int repetitions)
    {
        string script = Corpus.FindUp(Path.Combine("benchmarks", "datasketch", "sign_corpus.py"));
        var start = new ProcessStartInfo("/usr/bin/python3", [script, Corpus.BbcPath, repetitions.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            Environment = { ["PYTHONPATH"] = checkout },
        };
        using Process python = Process.Start(start)!;
        string output = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        if (python.ExitCode != 0)
        {
            throw new InvalidOperationException($"datasketch runner exited with {python.ExitCode}");
        }

        return System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("sign_ms").GetDouble();
    }

    // One core streaming a buffer far larger than the caches: the per-core bound on reading text that is not cached.
    private static double MemoryReadGigabytesPerSecond(int repetitions)
    {
        var buffer = new ulong[512 << 17];
        Array.Fill(buffer, 1UL); // touched once, so the timing reads memory rather than fresh pages
        ulong total = 0;
        double ms = Best(repetitions, () =>
        {
            Vector256<ulong> sum = Vector256<ulong>.Zero;
            foreach (Vector256<ulong> lane in MemoryMarshal.Cast<ulong, Vector256<ulong>>(buffer))
            {
                sum += lane;
            }

            total = Vector256.Sum(sum);
        });
        Debug.Assert(total == (ulong)buffer.Length, "every element summed once");
        return buffer.Length * sizeof(ulong) / 1e9 / (ms / 1000);
    }

    private static double Best(int repetitions, Action action)
    {
        // Warm up until the stage has not got faster for a second (at least twice, at most ten seconds): the JIT's tiers.
        // A method is recompiled with full optimisation only after 30 calls and a quiet 100 ms, and each of a stage's methods
        // goes through its tiers in turn: signing BBC took 11.5 ms a pass after half a second, 9.9 ms after 1.5 s and 8.6 ms
        // from about 3 s on, so a fixed second of warm-up timed code the JIT had not finished with.
        var warming = Stopwatch.StartNew();
        double warmBest = double.MaxValue;
        long improvedAt = 0;
        for (int i = 0; i < 2 || (warming.ElapsedMilliseconds - improvedAt < 1_000 && warming.ElapsedMilliseconds < 10_000); i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            double elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (elapsed < warmBest * 0.99)
            {
                (warmBest, improvedAt) = (elapsed, warming.ElapsedMilliseconds);
            }
        }

        double best = double.MaxValue;
        for (int i = 0; i < repetitions; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, stopwatch.Elapsed.TotalMilliseconds);
        }

        return best;
    }
}
