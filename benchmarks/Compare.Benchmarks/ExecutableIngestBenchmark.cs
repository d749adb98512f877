using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;

namespace Compare.Benchmarks;

/// <summary>
/// StreamUpsertDocuments into the server as it is deployed: a published folder's Compare.Server started fresh in its own
/// process on an empty SQLite directory, fed by this process over loopback. Several folders (builds to compare) take turns
/// within one run, so that each is measured beside the others at the same hour of this machine. A folder may carry runtime
/// settings for its server after a '?' (DIR?DOTNET_gcServer=0&amp;DOTNET_GCgen0size=4000000), to measure them the same way.
/// </summary>
internal static class ExecutableIngestBenchmark
{
    public static async Task RunAsync(string[] folders, int documentCount, int turns)
    {
        string[] documents = ServiceBenchmark.SyntheticNews(documentCount, seed: 2016);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Synthetic corpus: {documents.Length:N0} documents, {Corpus.Utf8Bytes(documents) / 1e6:F1} MB; a fresh server each time, one stream of messages of 1,000"));
        Console.WriteLine("| build | turn | to SERVING s | ingest docs/s | server CPU µs/doc | of it, JIT · GC | server page faults/doc | client CPU µs/doc |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (int turn = 1; turn <= turns; turn++)
        {
            foreach (string folder in folders)
            {
                string data = Directory.CreateTempSubdirectory("compare-ingest-").FullName;
                var clock = Stopwatch.StartNew();
                string[] parts = folder.Split('?', 2);
                Dictionary<string, string> environment = parts.Length > 1
                    ? parts[1].Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1])
                    : [];
                (Process server, GrpcChannel channel) = await StorageBenchmark.StartExecutableAsync(Path.Combine(parts[0], "Compare.Server.dll"), data, environment);
                double toServing = clock.Elapsed.TotalSeconds;
                try
                {
                    (TimeSpan serverBefore, long faultsBefore) = ProcessorTime(server.Id);
                    (TimeSpan jitBefore, TimeSpan gcBefore) = JitAndGcTime(server.Id);
                    TimeSpan clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    double rate = await StorageBenchmark.IngestAsync(channel, documents);
                    (TimeSpan serverAfter, long faultsAfter) = ProcessorTime(server.Id);
                    (TimeSpan jitAfter, TimeSpan gcAfter) = JitAndGcTime(server.Id);
                    double serverCpu = (serverAfter - serverBefore).TotalMicroseconds / documents.Length;
                    double clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientBefore).TotalMicroseconds / documents.Length;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {folder} | {turn} | {toServing:F2} | {rate:N0} | {serverCpu:F0} | {(jitAfter - jitBefore).TotalMicroseconds / documents.Length:F0} · {(gcAfter - gcBefore).TotalMicroseconds / documents.Length:F0} | {(faultsAfter - faultsBefore) / (double)documents.Length:F1} | {clientCpu:F0} |"));
                }
                finally
                {
                    await StorageBenchmark.StopExecutableAsync(server, channel);
                    Directory.Delete(data, recursive: true);
                }
            }
        }
    }

    // CPU time of the server's threads that compile methods (tiered compilation's background worker) and that collect
    // garbage, summed over the threads alive now (/proc/PID/task): a thread that ended between two readings is not counted.
    private static (TimeSpan Jit, TimeSpan Gc) JitAndGcTime(int pid)
    {
        long jit = 0, gc = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                jit += name.StartsWith(".NET Tiered Com", StringComparison.Ordinal) ? ticks : 0;
                gc += name.Contains("GC", StringComparison.Ordinal) ? ticks : 0;
            }
            catch (IOException)
            {
                // The thread ended while it was read.
            }
        }

        return (TimeSpan.FromMilliseconds(jit * 10), TimeSpan.FromMilliseconds(gc * 10));
    }

    // User and system time, and minor page faults, of another process from /proc/PID/stat (fields 14 and 15 in clock ticks of
    // 1/100 s on Linux, and field 10). A fault on memory never touched before costs this VM about 5 µs a 4 KiB page.
    private static (TimeSpan Processor, long MinorFaults) ProcessorTime(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (TimeSpan.FromMilliseconds(ticks * 10), long.Parse(fields[7], CultureInfo.InvariantCulture));
    }
}
