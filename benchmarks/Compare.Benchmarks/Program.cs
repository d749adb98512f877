using BenchmarkDotNet.Running;
using Compare.Benchmarks;

// "e2e [repetitions]" runs the whole-corpus Stopwatch runner, "service [documents]" the gRPC
// service runner, "storage [documents] [Memory|SQLite|Redis ...]" the stores side by side;
// anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "storage")
{
    await StorageBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000, args.Length > 2 ? args[2..] : []);
    return;
}

if (args.Length > 0 && args[0] == "service")
{
    await ServiceBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
    return;
}

if (args.Length > 0 && args[0] == "e2e")
{
    EndToEnd.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(EndToEnd).Assembly).Run(args);
