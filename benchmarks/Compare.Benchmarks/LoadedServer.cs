using System.Diagnostics;
using Compare.V1;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Benchmarks;

/// <summary>
/// A server on a store of the given kind in a temporary directory, holding the synthetic news corpus, for the runners
/// that query a loaded collection; disposing stops it and deletes the directory. "Redis" starts a redis-server of its own there.
/// </summary>
internal sealed class LoadedServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _root;
    private readonly Process? _redis;

    private LoadedServer(WebApplication app, GrpcChannel channel, string root, Process? redis, string[] documents, double ingest)
    {
        (_app, Channel, _root, _redis, Documents, IngestRate) = (app, channel, root, redis, documents, ingest);
        Similarity = new SimilarityService.SimilarityServiceClient(channel);
        Health = new Health.HealthClient(channel);
    }

    public GrpcChannel Channel { get; }

    public string[] Documents { get; }

    public double IngestRate { get; }

    public SimilarityService.SimilarityServiceClient Similarity { get; }

    public Health.HealthClient Health { get; }

    /// <summary>Starts the server and streams <paramref name="documentCount"/> synthetic news documents into its default collection.</summary>
    public static async Task<LoadedServer> StartAsync(int documentCount, string store)
    {
        string[] documents = ServiceBenchmark.SyntheticNews(documentCount, seed: 2016);
        string root = Directory.CreateTempSubdirectory("compare-bench-").FullName;
        var settings = new Dictionary<string, string?> { ["Storage:Provider"] = store, ["Storage:Path"] = Path.Combine(root, "data") };
        Process? redis = null;
        if (string.Equals(store, "Redis", StringComparison.OrdinalIgnoreCase))
        {
            int port = StorageBenchmark.FreePort();
            redis = StorageBenchmark.StartRedis(port, root);
            settings["Redis:Configuration"] = $"127.0.0.1:{port}";
        }

        (WebApplication app, GrpcChannel channel) = await StorageBenchmark.StartAsync(settings);
        return new LoadedServer(app, channel, root, redis, documents, await StorageBenchmark.IngestAsync(channel, documents));
    }

    /// <summary>Microseconds an empty RPC (a health check) takes now.</summary>
    public async Task<double> EmptyRpcAsync()
    {
        long start = Stopwatch.GetTimestamp();
        await Health.CheckAsync(new HealthCheckRequest());
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    /// <summary>
    /// Bytes of managed heap that <paramref name="build"/> leaves behind, a document: what a structure built on first use
    /// (the prefix forest, the passage index) costs the server, which runs in this process.
    /// </summary>
    public async Task<double> HeapPerDocumentAsync(Func<Task> build)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        await build();
        return (GC.GetTotalMemory(forceFullCollection: true) - before) / (double)Documents.Length;
    }

    public static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Channel.Dispose();
        if (_redis is not null)
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
            _redis.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }
}
