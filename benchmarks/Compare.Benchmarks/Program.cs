using BenchmarkDotNet.Running;
using Compare.Benchmarks;

// "e2e [repetitions]" runs the whole-corpus Stopwatch runner, "service [documents]" the gRPC
// service runner, "storage [documents] [Memory|SQLite|Redis ...]" the stores side by side (COMPARE_BENCH_ROUNDS=N: N ingests, the last one measured),
// "thresholds [documents] [queries] [store]" FindSimilar's recall, candidates and latency against threshold,
// "passages [sizes,...] [queries] [store]" FindSharedPassages against the empty RPC and exhaustive FindSimilar,
// "containment [documents] [queries] [store]" containment search both ways against the exhaustive answer,
// "ingest-executable DIR[,DIR...] [documents] [turns]" StreamUpsertDocuments into published servers started fresh, taking turns,
// "restart DIR [times]" the server executable's restart on kept SQLite files, "query-redis HOST:PORT JSONL" FindSimilar on a filled Redis, "load [seconds] [workers]" a mixed load on the server executable,
// "writers [clients] [documents a call] [seconds]" concurrent UpsertDocuments of small batches into SQLite,
// "process NATIVE_COMPARE [repetitions]" whole dedup processes (native, JIT, datasketch with DATASKETCH=<checkout>),
// "band-adds [documents]" a band index's adds a thousand at a time (median, p99, slowest),
// "scale [sizes...]" batch dedup with recall on the synthetic corpus, "generate N FILE" writes that
// corpus as JSONL for the CLI; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "scale")
{
    ScaleBenchmark.Run(args.Length > 1 ? [.. args[1..].Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture))] : [10_000, 100_000]);
    return;
}

if (args.Length > 0 && args[0] == "band-adds")
{
    BandAddBenchmark.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 300_000, 3);
    return;
}

if (args.Length > 0 && args[0] == "generate")
{
    SyntheticCorpus.WriteJsonLines(args[2], int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), seed: 2014);
    return;
}

if (args.Length > 0 && args[0] == "storage")
{
    await StorageBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000, args.Length > 2 ? args[2..] : []);
    return;
}

if (args.Length > 0 && args[0] == "thresholds")
{
    await ThresholdBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 40, args.Length > 3 ? args[3] : "Sqlite");
    return;
}

if (args.Length > 0 && args[0] == "containment")
{
    await ContainmentBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 40, args.Length > 3 ? args[3] : "Sqlite");
    return;
}

if (args.Length > 0 && args[0] == "passages")
{
    PassageBenchmark.PrintHeader();
    foreach (string size in args.Length > 1 ? args[1].Split(',') : ["20000"])
    {
        await PassageBenchmark.RunAsync(int.Parse(size, System.Globalization.CultureInfo.InvariantCulture),
            args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100, args.Length > 3 ? args[3] : "Sqlite");
    }

    return;
}

if (args.Length > 1 && args[0] == "ingest-executable")
{
    await ExecutableIngestBenchmark.RunAsync(args[1].Split(','), args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args.Length > 0 && args[0] == "restart")
{
    await StorageBenchmark.RestartAsync(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args.Length > 0 && args[0] == "query-redis")
{
    await StorageBenchmark.QueryRedisAsync(args[1], args[2]);
    return;
}

if (args.Length > 0 && args[0] == "service")
{
    await ServiceBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
    return;
}

if (args.Length > 0 && args[0] == "load")
{
    await LoadTest.RunAsync(TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 600),
        workers: args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 8, preload: 20_000);
    return;
}

if (args.Length > 0 && args[0] == "writers")
{
    await WritersBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10,
        TimeSpan.FromSeconds(args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 20));
    return;
}

if (args.Length > 0 && args[0] == "process")
{
    ProcessBenchmark.Run(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10);
    return;
}

if (args.Length > 0 && args[0] == "reuse-peer")
{
    ReusePeerBenchmark.Run(args[1], args[2], args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}

if (args.Length > 0 && args[0] == "e2e")
{
    EndToEnd.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(EndToEnd).Assembly).Run(args);
