using System.Diagnostics;
using System.Globalization;
using System.Text;
using Compare.V1;
using Google.Protobuf;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Benchmarks;

/// <summary>
/// The service path over loopback: ingest throughput, then latency (p50/p99) and throughput of
/// FindSimilar and Compare against an empty unary RPC (health Check) on the same server and channel,
/// measured in interleaved rounds so that machine noise hits all of them alike.
/// </summary>
internal static class ServiceBenchmark
{
    private const int Rounds = 5;
    private const int CallsPerRound = 1_000;
    private const int Concurrency = 8;
    private static readonly TimeSpan ThroughputWindow = TimeSpan.FromSeconds(3);

    public static async Task RunAsync(int documentCount)
    {
        string[] documents = SyntheticNews(documentCount, seed: 2016);
        Console.WriteLine($"Synthetic corpus: {documents.Length:N0} documents built from BBC sentences, {Corpus.Utf8Bytes(documents) / 1e6:F1} MB");

        // The service path without storage costs (the storage benchmark compares the stores), and
        // without the result cache, which would answer the repeated Compare calls below.
        (WebApplication app, GrpcChannel channel) = await StorageBenchmark.StartAsync(new() { ["Storage:Provider"] = "Memory", ["Cache:Enabled"] = "false" });
        await using WebApplication server = app;
        using GrpcChannel client = channel;
        var similarity = new SimilarityService.SimilarityServiceClient(channel);
        var health = new Health.HealthClient(channel);

        var ingest = Stopwatch.StartNew();
        await StorageBenchmark.IngestAsync(channel, documents);
        ingest.Stop();
        Console.WriteLine($"Ingest (StreamUpsertDocuments, batches of 1,000): {ingest.Elapsed.TotalSeconds:F1} s, {documents.Length / ingest.Elapsed.TotalSeconds:N0} documents/s");

        // Queries: indexed documents with their last sentence dropped, so each has a near-duplicate.
        var random = new Random(7);
        FindSimilarRequest[] queries = [.. Enumerable.Range(0, 256).Select(_ =>
        {
            string text = documents[random.Next(documents.Length)];
            return new FindSimilarRequest { Query = new DocumentRef { Text = text[..text.LastIndexOf(". ", StringComparison.Ordinal)] }, TopK = 10 };
        })];
        string[] bbc = Corpus.Bbc();
        CompareRequest[] comparisons = [.. Enumerable.Range(0, 64).Select(i => new CompareRequest
        {
            Left = new DocumentRef { Text = bbc[i] },
            Right = new DocumentRef { Text = bbc[i + 1] },
        })];
        CompareRequest[] withoutFuzzy = [.. comparisons.Select(c => new CompareRequest(c) { IncludeFuzzy = false })];
        int hits = 0;
        foreach (FindSimilarRequest q in queries)
        {
            hits += (await similarity.FindSimilarAsync(q)).Matches.Count > 0 ? 1 : 0;
        }

        Console.WriteLine($"FindSimilar sanity: {hits}/{queries.Length} edited queries found a match at the collection's 0.8 threshold");

        // The same calls as HTTP/1.1 JSON routes on the same port (gRPC JSON transcoding), as curl and the browser view make them.
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        string[] jsonQueries = [.. queries.Select(q => JsonFormatter.Default.Format(q))];
        string[] jsonComparisons = [.. withoutFuzzy.Select(c => JsonFormatter.Default.Format(c))];
        async Task PostAsync(string route, string json)
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await http.PostAsync(route, content);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsStringAsync();
        }

        // Fuzzy ratios are quadratic in text length: that row gets fewer calls.
        var calls = new (string Name, int PerRound, Func<int, Task> Call)[]
        {
            ("Empty unary RPC (health Check)", CallsPerRound, async i => await health.CheckAsync(new HealthCheckRequest())),
            ("FindSimilar (text, top 10)", CallsPerRound, async i => await similarity.FindSimilarAsync(queries[i % queries.Length])),
            ("Compare (two BBC articles, text, fuzzy off)", CallsPerRound, async i => await similarity.CompareAsync(withoutFuzzy[i % withoutFuzzy.Length])),
            ("Compare (two BBC articles, text, fuzzy on)", 20, async i => await similarity.CompareAsync(comparisons[i % comparisons.Length])),
            ("FindSimilar as POST /v1/similar (HTTP/1.1 JSON)", CallsPerRound, i => PostAsync("/v1/similar", jsonQueries[i % jsonQueries.Length])),
            ("Compare as POST /v1/compare (HTTP/1.1 JSON, fuzzy off)", CallsPerRound, i => PostAsync("/v1/compare", jsonComparisons[i % jsonComparisons.Length])),
        };
        var latencies = calls.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < Rounds + 1; round++)
        {
            for (int c = 0; c < calls.Length; c++)
            {
                for (int i = 0; i < calls[c].PerRound; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    await calls[c].Call(i);
                    if (round > 0)
                    {
                        latencies[c].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                    }
                }
            }
        }

        double[] throughput = new double[calls.Length];
        for (int c = 0; c < calls.Length; c++)
        {
            throughput[c] = await ThroughputAsync(calls[c].Call);
        }

        double baseP50 = Percentile(latencies[0], 0.5), baseThroughput = throughput[0];
        Console.WriteLine();
        Console.WriteLine($"| call | p50 µs | p99 µs | p50 vs empty | calls/s ({Concurrency} concurrent) | throughput vs empty |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        for (int c = 0; c < calls.Length; c++)
        {
            double p50 = Percentile(latencies[c], 0.5), p99 = Percentile(latencies[c], 0.99);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {calls[c].Name} | {p50:F0} | {p99:F0} | {p50 / baseP50:F2}× | {throughput[c]:N0} | {throughput[c] / baseThroughput:F2}× |"));
        }

        await app.StopAsync();
    }

    private static async Task<double> ThroughputAsync(Func<int, Task> call)
    {
        long completed = 0;
        var window = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async worker =>
        {
            for (int i = worker; window.Elapsed < ThroughputWindow; i += Concurrency)
            {
                await call(i);
                Interlocked.Increment(ref completed);
            }
        }));
        return completed / window.Elapsed.TotalSeconds;
    }

    internal static double Percentile(List<double> values, double p)
    {
        double[] sorted = [.. values.Order()];
        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }

    /// <summary>News-like documents of 8 to 24 BBC sentences drawn at random (seeded), so that almost none duplicate each other.</summary>
    internal static string[] SyntheticNews(int count, int seed)
    {
        string[] sentences = [.. Corpus.Bbc().SelectMany(t => t.Split(". ", StringSplitOptions.RemoveEmptyEntries)).Where(s => s.Length > 40)];
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => string.Join(". ", Enumerable.Range(0, random.Next(8, 25)).Select(_ => sentences[random.Next(sentences.Length)])) + ".")];
    }
}
