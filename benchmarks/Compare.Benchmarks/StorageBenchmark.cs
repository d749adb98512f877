using System.Diagnostics;
using System.Globalization;
using Compare.Server.Hosting;
using Compare.V1;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Compare.Benchmarks;

/// <summary>
/// The stores side by side on one corpus: ingest rate, FindSimilar p50 against the empty RPC of the
/// same server, SQLite's restart time and bytes per document on disk, Redis's memory per document.
/// Redis runs as a redis-server child process with AOF (appendfsync everysec) in a temporary directory.
/// </summary>
internal static class StorageBenchmark
{
    /// <summary>Runs the stores named in <paramref name="stores"/> (all three when empty).</summary>
    public static async Task RunAsync(int documentCount, string[] stores)
    {
        string[] documents = ServiceBenchmark.SyntheticNews(documentCount, seed: 2016);
        double megabytes = Corpus.Utf8Bytes(documents) / 1e6;
        Console.WriteLine($"Synthetic corpus: {documents.Length:N0} documents built from BBC sentences, {megabytes:F1} MB");
        // COMPARE_BENCH_DATA keeps the stores' files there after the run, to time restarts on them again ("restart DIR").
        string? kept = Environment.GetEnvironmentVariable("COMPARE_BENCH_DATA");
        string root = kept is { Length: > 0 } ? Directory.CreateDirectory(kept).FullName : Directory.CreateTempSubdirectory("compare-bench-").FullName;
        int redisPort = FreePort();
        // A redis-server only when Redis is measured: the SQLite and Memory rows need nothing installed.
        using Process? redis = stores.Length == 0 || stores.Contains("Redis", StringComparer.OrdinalIgnoreCase) ? StartRedis(redisPort, root) : null;
        try
        {
            Console.WriteLine("| store | ingest docs/s | FindSimilar p50 µs | empty RPC p50 µs | FindSimilar vs empty | notes |");
            Console.WriteLine("|---|---:|---:|---:|---:|---|");
            foreach ((string name, Dictionary<string, string?> settings) in new[]
            {
                ("Memory", new Dictionary<string, string?> { ["Storage:Provider"] = "Memory" }),
                ("SQLite", new Dictionary<string, string?> { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = Path.Combine(root, "sqlite") }),
                ("Redis", new Dictionary<string, string?> { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = $"127.0.0.1:{redisPort}" }),
            }.Where(s => stores.Length == 0 || stores.Contains(s.Item1, StringComparer.OrdinalIgnoreCase)))
            {
                (WebApplication app, GrpcChannel channel) = await StartAsync(settings);
                // COMPARE_BENCH_ROUNDS=N ingests the same documents into N - 1 collections of their own first: the last round,
                // into the default collection, is then a settled server's (the JIT done), and the figures below are of it.
                int rounds = int.TryParse(Environment.GetEnvironmentVariable("COMPARE_BENCH_ROUNDS"), out int r) ? Math.Max(1, r) : 1;
                for (int round = 1; round < rounds; round++)
                {
                    await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = $"round-{round}" });
                    (double earlierRate, string earlierCost) = await MeasuredIngestAsync(channel, documents, $"round-{round}");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}, ingest round {round} of {rounds}: {earlierRate:N0} docs/s; {earlierCost}"));
                }

                (double ingestRate, string ingestCost) = await MeasuredIngestAsync(channel, documents, collection: "");
                (double similarP50, double emptyP50) = await LatencyAsync(channel, documents);
                await app.StopAsync();
                await app.DisposeAsync();
                channel.Dispose();
                string notes = name switch
                {
                    "SQLite" => await SqliteNotesAsync(settings, documents.Length * rounds),
                    "Redis" => await RedisNotesAsync(redisPort, [.. Enumerable.Repeat(documents, rounds).SelectMany(d => d)]),
                    _ => "baseline: nothing durable",
                };
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {ingestRate:N0} | {similarP50:F0} | {emptyP50:F0} | {similarP50 / emptyP50:F2}× | {(rounds > 1 ? $"round {rounds} of {rounds}; " : "")}{ingestCost}; {notes} |"));
            }
        }
        finally
        {
            if (redis is not null)
            {
                redis.Kill();
                await redis.WaitForExitAsync();
            }

            if (kept is not { Length: > 0 })
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>
    /// FindSimilar against the empty RPC on a Redis already filled (by `compare index` of <paramref name="jsonl"/>, as
    /// benchmarks/redis-memory.sh does), asking for the first 256 of its documents less their last sentence; then the
    /// same queries at 0.5, below the collection's threshold (the prefix forest, whose groups past 262,144 documents take
    /// several ranges), each of which must find the document it was cut from.
    /// </summary>
    public static async Task QueryRedisAsync(string configuration, string jsonl)
    {
        (string Id, string Text)[] sources = [.. File.ReadLines(jsonl).Take(256).Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement)
            .Select(d => (d.GetProperty("id").GetString()!, d.GetProperty("text").GetString()!))];
        (WebApplication app, GrpcChannel channel) = await StartAsync(new() { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = configuration });
        (double similarP50, double emptyP50) = await LatencyAsync(channel, [.. sources.Select(s => s.Text)]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FindSimilar p50 {similarP50:F0} µs, empty RPC p50 {emptyP50:F0} µs: {similarP50 / emptyP50:F2}×"));
        var similarity = new SimilarityService.SimilarityServiceClient(channel);
        int found = 0;
        var below = Stopwatch.StartNew();
        foreach ((string id, string text) in sources)
        {
            FindSimilarResponse answer = await similarity.FindSimilarAsync(new FindSimilarRequest
            {
                Query = new DocumentRef { Text = text[..text.LastIndexOf(". ", StringComparison.Ordinal)] },
                Threshold = 0.5,
                TopK = 10,
            });
            found += answer.Matches.Any(m => m.Id == id) ? 1 : 0;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"at 0.5 (the forest): {found} of {sources.Length} found the document they were cut from, {below.Elapsed.TotalMicroseconds / sources.Length:F0} µs a query"));
        await app.StopAsync();
        await app.DisposeAsync();
        channel.Dispose();
    }

    /// <summary>Times the server executable to SERVING on the SQLite files under <paramref name="data"/>, <paramref name="times"/> times, with its resident memory.</summary>
    public static async Task RestartAsync(string data, int times)
    {
        for (int i = 0; i < times; i++)
        {
            (double seconds, long resident) = await ExecutableRestartAsync(data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restart to SERVING {seconds:F2} s, resident {resident / 1e6:N0} MB"));
        }
    }

    private static async Task<string> SqliteNotesAsync(Dictionary<string, string?> settings, int count)
    {
        long fileBytes = Directory.GetFiles(settings["Storage:Path"]!).Sum(f => new FileInfo(f).Length);
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var restart = Stopwatch.StartNew();
        (WebApplication app, GrpcChannel channel) = await StartAsync(settings);
        restart.Stop();
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        await app.StopAsync();
        await app.DisposeAsync();
        channel.Dispose();

        // The server executable as deployed, restarted on the same file, against the same executable on an empty directory.
        string empty = Directory.CreateTempSubdirectory("compare-bench-empty-").FullName;
        (double _, long emptyResident) = await ExecutableRestartAsync(empty);
        (double seconds, long resident) = await ExecutableRestartAsync(settings["Storage:Path"]!);
        Directory.Delete(empty, recursive: true);
        return string.Create(CultureInfo.InvariantCulture,
            $"restart to SERVING {restart.Elapsed.TotalSeconds:F1} s in process, {seconds:F1} s as the executable; {fileBytes / (double)count:N0} B/doc on disk; " +
            $"{(heapAfter - heapBefore) / (double)count:N0} B/doc of managed heap after load; the executable's resident memory {resident / 1e6:N0} MB, " +
            $"{(resident - emptyResident) / (double)count:N0} B/doc above its {emptyResident / 1e6:N0} MB on an empty directory");
    }

    /// <summary>Starts Compare.Server on <paramref name="data"/>, times it to SERVING, reads its resident set (VmRSS) after a settle, and stops it.</summary>
    private static async Task<(double Seconds, long ResidentBytes)> ExecutableRestartAsync(string data)
    {
        var clock = Stopwatch.StartNew();
        (Process server, GrpcChannel channel) = await StartExecutableAsync(Path.Combine(AppContext.BaseDirectory, "Compare.Server.dll"), data);
        double seconds = clock.Elapsed.TotalSeconds;
        try
        {
            // What a loaded server holds once the load's garbage is collected: the runtime trims after a full GC.
            await Task.Delay(TimeSpan.FromSeconds(5));
            string status = await File.ReadAllTextAsync($"/proc/{server.Id}/status");
            long kilobytes = long.Parse(status.Split('\n').First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return (seconds, kilobytes * 1024);
        }
        finally
        {
            await StopExecutableAsync(server, channel);
        }
    }

    /// <summary>Starts the server executable <paramref name="serverDll"/> (run by `dotnet`) on a loopback port with its SQLite files under <paramref name="data"/>, once it serves.</summary>
    internal static async Task<(Process Server, GrpcChannel Channel)> StartExecutableAsync(
        string serverDll, string data, IReadOnlyDictionary<string, string>? environment = null)
    {
        int port = FreePort();
        var start = new ProcessStartInfo("dotnet", [serverDll, "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["Storage__Path"] = data },
        };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        Process server = Process.Start(start)!;
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });
        var health = new Health.HealthClient(channel);
        while (true)
        {
            try
            {
                if ((await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return (server, channel);
                }
            }
            catch (Grpc.Core.RpcException) when (!server.HasExited)
            {
            }

            await Task.Delay(20);
        }
    }

    internal static async Task StopExecutableAsync(Process server, GrpcChannel channel)
    {
        channel.Dispose();
        server.Kill();
        await server.WaitForExitAsync();
        server.Dispose();
    }

    private static async Task<string> RedisNotesAsync(int port, string[] documents)
    {
        int count = documents.Length;
        long textBytes = Corpus.Utf8Bytes(documents);
        await using StackExchange.Redis.ConnectionMultiplexer direct = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true");
        string info = (await direct.GetDatabase().ExecuteAsync("INFO", "memory")).ToString();
        long used = long.Parse(info.Split('\n').First(l => l.StartsWith("used_memory:", StringComparison.Ordinal)).Split(':')[1].Trim(), CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{used / (double)count:N0} B/doc of Redis memory, {(used - textBytes) / (double)count:N0} B/doc besides the texts' {textBytes / (double)count:N0} B");
    }

    /// <summary>The real server in-process on a loopback port with <paramref name="settings"/>, once it serves.</summary>
    internal static async Task<(WebApplication, GrpcChannel)> StartAsync(Dictionary<string, string?> settings)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        // As the server's appsettings.json does: Kestrel warns that cleartext HTTP/2 needs TLS, but the server's
        // prior-knowledge middleware serves it (the warning was wrong here, where appsettings.json is not read).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddCompareServer();
        WebApplication app = builder.Build();
        app.MapCompareServer();
        await app.StartAsync();
        var channel = GrpcChannel.ForAddress(app.Urls.Single(), new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });
        var health = new Health.HealthClient(channel);
        while ((await health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            await Task.Delay(20);
        }

        return (app, channel);
    }

    /// <summary>
    /// <see cref="IngestAsync"/> with what it cost the process a document (client and server share it): CPU, to show how
    /// close the ingest comes to the cores' bound, and bytes passed to write calls (Linux), to show what the store writes.
    /// </summary>
    private static async Task<(double Rate, string Cost)> MeasuredIngestAsync(GrpcChannel channel, string[] documents, string collection)
    {
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long? writtenBefore = BytesWritten();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        double rate = await IngestAsync(channel, documents, collection);
        double allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / 1024.0 / documents.Length;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / documents.Length;
        string written = BytesWritten() - writtenBefore is long bytes ? string.Create(CultureInfo.InvariantCulture, $", {bytes / 1024.0 / documents.Length:F1} KiB written") : "";
        return (rate, string.Create(CultureInfo.InvariantCulture, $"ingest: {cpu:F0} µs of CPU{written}, {allocated:F1} KiB allocated a document"));
    }

    // The bytes this process has passed to write calls (files and sockets), from /proc/self/io; null where there is none.
    private static long? BytesWritten() => File.Exists("/proc/self/io")
        ? long.Parse(File.ReadLines("/proc/self/io").First(l => l.StartsWith("wchar:", StringComparison.Ordinal))[6..].Trim(), CultureInfo.InvariantCulture)
        : null;

    /// <summary>Streams <paramref name="documents"/> in messages of 1,000 into <paramref name="collection"/> (the default when empty); returns documents per second.</summary>
    internal static async Task<double> IngestAsync(GrpcChannel channel, string[] documents, string collection = "")
    {
        var clock = Stopwatch.StartNew();
        using (var call = new DocumentService.DocumentServiceClient(channel).StreamUpsertDocuments())
        {
            foreach (int[] chunk in Enumerable.Range(0, documents.Length).Chunk(1_000))
            {
                var message = new StreamUpsertDocumentsRequest { Collection = collection };
                message.Documents.AddRange(chunk.Select(i => new Document { Id = $"doc-{i:D7}", Text = documents[i] }));
                await call.RequestStream.WriteAsync(message);
            }

            await call.RequestStream.CompleteAsync();
            await call;
        }

        return documents.Length / clock.Elapsed.TotalSeconds;
    }

    // Interleaved rounds of FindSimilar (an indexed document less its last sentence) and the empty RPC.
    private static async Task<(double FindSimilar, double Empty)> LatencyAsync(GrpcChannel channel, string[] documents)
    {
        var similarity = new SimilarityService.SimilarityServiceClient(channel);
        var health = new Health.HealthClient(channel);
        var random = new Random(7);
        FindSimilarRequest[] queries = [.. Enumerable.Range(0, 256).Select(_ =>
        {
            string text = documents[random.Next(documents.Length)];
            return new FindSimilarRequest { Query = new DocumentRef { Text = text[..text.LastIndexOf(". ", StringComparison.Ordinal)] }, TopK = 10 };
        })];
        List<double> similar = [], empty = [];
        for (int round = 0; round < 6; round++)
        {
            for (int i = 0; i < 500; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await health.CheckAsync(new HealthCheckRequest());
                double e = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                start = Stopwatch.GetTimestamp();
                await similarity.FindSimilarAsync(queries[i % queries.Length]);
                double s = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (round > 0)
                {
                    empty.Add(e);
                    similar.Add(s);
                }
            }
        }

        return (Median(similar), Median(empty));
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>A redis-server child on <paramref name="port"/> keeping its AOF (appendfsync everysec) in <paramref name="directory"/>.</summary>
    internal static Process StartRedis(int port, string directory) =>
        Process.Start(new ProcessStartInfo("redis-server",
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--dir", directory, "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""])
        { RedirectStandardOutput = true })!;

    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
