using System.Diagnostics;
using System.Globalization;
using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Benchmarks;

/// <summary>
/// Concurrent writers of small batches: each of N clients upserts batches of new documents into one SQLite collection, one
/// call after another, for a bounded time. What a service sees from many producers: every call waits for its commit to
/// be on disk, so how commits share syncs (group commit) decides the rate. Prints documents/s and UpsertDocuments' p50/p99.
/// </summary>
internal static class WritersBenchmark
{
    public static async Task RunAsync(int writers, int batchSize, TimeSpan duration)
    {
        string[] texts = ServiceBenchmark.SyntheticNews(20_000, seed: 2018);
        string root = Directory.CreateTempSubdirectory("compare-writers-").FullName;
        try
        {
            (WebApplication app, GrpcChannel channel) = await StorageBenchmark.StartAsync(
                new Dictionary<string, string?> { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = Path.Combine(root, "sqlite") });
            await using (app)
            using (channel)
            {
                var client = new DocumentService.DocumentServiceClient(channel);
                // Warm up (JIT, the collection's first pages) with the same calls, untimed.
                await WriteAsync(client, writers, batchSize, texts, "warm", TimeSpan.FromSeconds(3));
                (long documents, List<double> latencies) = await WriteAsync(client, writers, batchSize, texts, "timed", duration);
                latencies.Sort();
                Console.WriteLine("| writers | documents a call | documents/s | calls/s | UpsertDocuments p50 ms | p99 ms |");
                Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {writers} | {batchSize} | {documents / duration.TotalSeconds:N0} | {latencies.Count / duration.TotalSeconds:N0} | {latencies[latencies.Count / 2]:F2} | {latencies[(int)(latencies.Count * 0.99)]:F2} |"));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(long Documents, List<double> Latencies)> WriteAsync(DocumentService.DocumentServiceClient client, int writers, int batchSize,
        string[] texts, string prefix, TimeSpan duration)
    {
        long documents = 0;
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            var mine = new List<double>();
            for (int call = 0; clock.Elapsed < duration; call++)
            {
                var request = new UpsertDocumentsRequest();
                for (int i = 0; i < batchSize; i++)
                {
                    int n = (call * batchSize) + i;
                    request.Documents.Add(new Document { Id = $"{prefix}-{writer}-{n}", Text = texts[((writer * 7919) + n) % texts.Length] });
                }

                long start = Stopwatch.GetTimestamp();
                await client.UpsertDocumentsAsync(request);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Add(ref documents, batchSize);
            }

            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        })));
        return (documents, latencies);
    }
}
