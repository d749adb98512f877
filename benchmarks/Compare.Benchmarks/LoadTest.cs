using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compare.Benchmarks;

/// <summary>
/// A closed-loop load test against the real server executable on loopback (SQLite store): workers
/// send a mix of FindSimilar (60%), Compare (25%) and UpsertDocuments (15%, edits of stored stories) as fast as answers come
/// back, for a bounded time. Every 30 s it prints throughput, p50/p99 per method, errors, and the
/// server's working set scraped from its Prometheus endpoint; at the end, a summary table.
/// </summary>
internal static partial class LoadTest
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(TimeSpan duration, int workers, int preload)
    {
        string[] corpus = ServiceBenchmark.SyntheticNews(preload * 2, seed: 7);
        string data = Directory.CreateTempSubdirectory("compare-load-").FullName;
        int port = StorageBenchmark.FreePort();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Compare.Server.dll"), "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Storage__Path"] = data,
                // One console line per call would measure the console; the lines stay on for errors.
                ["Logging__LogLevel__Compare.Server.Requests"] = "Warning",
            },
        };
        using Process server = Process.Start(start)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
        using var http = new HttpClient();
        try
        {
            await WaitForServerAsync(channel);
            await StorageBenchmark.IngestAsync(channel, corpus[..preload]);
            Console.WriteLine($"Load: {workers} workers for {duration.TotalMinutes:F0} min against {preload:N0} preloaded documents (SQLite); 60% FindSimilar, 25% Compare, 15% UpsertDocuments of 10.");
            Console.WriteLine("| minute | calls/s | FindSimilar p50 / p99 ms | Compare p50 / p99 ms | Upsert p50 / p99 ms | errors | server working set MB | GC heap after last collection MB |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");

            var latencies = new ConcurrentDictionary<string, ConcurrentQueue<double>>();
            var windowLatencies = new ConcurrentDictionary<string, ConcurrentQueue<double>>();
            var errors = new ConcurrentDictionary<string, int>();
            long calls = 0;
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource(duration);
            Task[] loops = [.. Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                var random = new Random(w);
                var documents = new DocumentService.DocumentServiceClient(channel);
                var similarity = new SimilarityService.SimilarityServiceClient(channel);
                while (!stop.IsCancellationRequested)
                {
                    int pick = random.Next(100);
                    string method = pick < 60 ? "FindSimilar" : pick < 85 ? "Compare" : "Upsert";
                    long started = Stopwatch.GetTimestamp();
                    try
                    {
                        switch (method)
                        {
                            case "FindSimilar":
                                await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = Edited(corpus[random.Next(preload)], random) }, TopK = 10 });
                                break;
                            case "Compare":
                                await similarity.CompareAsync(new CompareRequest
                                {
                                    Left = new DocumentRef { Id = $"doc-{random.Next(preload):D7}" },
                                    Right = new DocumentRef { Text = Edited(corpus[random.Next(preload)], random) },
                                });
                                break;
                            default:
                                // Re-publications: ten distinct stored stories come back edited, so the collection keeps its size.
                                var batch = new UpsertDocumentsRequest();
                                foreach (int id in Enumerable.Range(0, 30).Select(_ => random.Next(preload)).Distinct().Take(10))
                                {
                                    batch.Documents.Add(new Document { Id = $"doc-{id:D7}", Text = Edited(corpus[random.Next(corpus.Length)], random) });
                                }

                                await documents.UpsertDocumentsAsync(batch);
                                break;
                        }

                        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        latencies.GetOrAdd(method, _ => new()).Enqueue(ms);
                        windowLatencies.GetOrAdd(method, _ => new()).Enqueue(ms);
                        Interlocked.Increment(ref calls);
                    }
                    catch (RpcException e)
                    {
                        errors.AddOrUpdate($"{method} {e.StatusCode}", 1, (_, n) => n + 1);
                    }
                }
            }))];

            var memory = new List<double>();
            var heap = new List<double>();
            long lastCalls = 0;
            TimeSpan windowStart = TimeSpan.Zero;
            while (clock.Elapsed < duration)
            {
                await Task.WhenAny(Task.Delay(Window), Task.WhenAll(loops));
                TimeSpan now = clock.Elapsed;
                (double workingSet, double heapAfterGc) = await MemoryMegabytesAsync(http, port);
                memory.Add(workingSet);
                heap.Add(heapAfterGc);
                long total = Interlocked.Read(ref calls);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {now.TotalMinutes:F1} | {(total - lastCalls) / (now - windowStart).TotalSeconds:N0} | {Pair(windowLatencies, "FindSimilar")} | {Pair(windowLatencies, "Compare")} | {Pair(windowLatencies, "Upsert")} | {errors.Values.Sum()} | {workingSet:N0} | {heapAfterGc:N0} |"));
                lastCalls = total;
                windowStart = now;
                windowLatencies.Clear();
            }

            await Task.WhenAll(loops);
            Console.WriteLine();
            Console.WriteLine("| method | calls | calls/s | p50 ms | p99 ms | max ms |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach ((string method, ConcurrentQueue<double> values) in latencies.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                List<double> all = [.. values];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {method} | {all.Count:N0} | {all.Count / clock.Elapsed.TotalSeconds:N0} | {ServiceBenchmark.Percentile(all, 0.5):F2} | {ServiceBenchmark.Percentile(all, 0.99):F2} | {all.Max():F1} |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Errors: {(errors.IsEmpty ? "none" : string.Join(", ", errors.Select(e => $"{e.Key} × {e.Value}")))}."));
            int warm = Math.Min(2, memory.Count - 1);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Server working set: {memory[warm]:N0} MB after warm-up (window {warm + 1}), {memory[^1]:N0} MB at the end, peak {memory.Max():N0} MB. GC heap after the last collection: {heap[warm]:N0} MB after warm-up, {heap[^1]:N0} MB at the end, peak {heap.Max():N0} MB."));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>A document with a few words changed, as a re-published story would be.</summary>
    private static string Edited(string text, Random random)
    {
        string[] words = text.Split(' ');
        for (int e = random.Next(0, 4); e > 0; e--)
        {
            words[random.Next(words.Length)] = "edited";
        }

        return string.Join(' ', words);
    }

    private static string Pair(ConcurrentDictionary<string, ConcurrentQueue<double>> latencies, string method) =>
        latencies.TryGetValue(method, out ConcurrentQueue<double>? values) && !values.IsEmpty
            ? string.Create(CultureInfo.InvariantCulture, $"{ServiceBenchmark.Percentile([.. values], 0.5):F2} / {ServiceBenchmark.Percentile([.. values], 0.99):F2}")
            : "-";

    /// <summary>The server's working set, and its managed heap as the last garbage collection left it (every generation).</summary>
    private static async Task<(double WorkingSet, double HeapAfterGc)> MemoryMegabytesAsync(HttpClient http, int port)
    {
        string scrape = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Match workingSet = WorkingSet().Match(scrape);
        double heap = HeapAfterGc().Matches(scrape).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        return (workingSet.Success ? double.Parse(workingSet.Groups[1].Value, CultureInfo.InvariantCulture) / 1e6 : double.NaN, heap / 1e6);
    }

    private static async Task WaitForServerAsync(GrpcChannel channel)
    {
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        for (int attempt = 0; attempt < 300; attempt++)
        {
            try
            {
                if ((await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest())).Status == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException)
            {
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("The server did not start.");
    }

    [GeneratedRegex(@"(?m)^dotnet_process_memory_working_set_bytes(?:\{[^}]*\})? ([0-9.e+]+)")]
    private static partial Regex WorkingSet();

    [GeneratedRegex(@"(?m)^dotnet_gc_last_collection_heap_size_bytes\{[^}]*\} ([0-9.e+]+)")]
    private static partial Regex HeapAfterGc();
}
