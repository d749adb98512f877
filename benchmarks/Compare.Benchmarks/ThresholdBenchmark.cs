using System.Diagnostics;
using System.Globalization;
using Compare.V1;

namespace Compare.Benchmarks;

/// <summary>
/// FindSimilar at thresholds below and at the collection's (0.8): recall, candidates examined and latency of the indexed
/// query against the exhaustive one (every document verified) and the empty RPC, in the same run on the same server.
/// Queries are indexed articles with a growing share of their words replaced, so that their true matches spread over
/// every Jaccard; the exhaustive answer is the truth.
/// </summary>
internal static class ThresholdBenchmark
{
    public static async Task RunAsync(int documentCount, int queryCount, string store)
    {
        await using LoadedServer server = await LoadedServer.StartAsync(documentCount, store);
        string[] documents = server.Documents;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{store}, {documents.Length:N0} synthetic news documents, ingested at {server.IngestRate:N0} docs/s; {queryCount} queries"));
        var random = new Random(18);
        string[] queries = [.. Enumerable.Range(0, queryCount).Select(q => QueryTexts.Edit(documents[random.Next(documents.Length)], q % 10 * 0.03, random))];
        SimilarityService.SimilarityServiceClient similarity = server.Similarity;
        // The truth, and the baseline's latency: every document verified, at the lowest threshold.
        var truth = new List<Dictionary<string, double>>();
        var exhaustive = new List<double>();
        foreach (string query in queries)
        {
            long start = Stopwatch.GetTimestamp();
            FindSimilarResponse all = await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = query }, Threshold = 0.2, Exhaustive = true });
            exhaustive.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            truth.Add(all.Matches.ToDictionary(m => m.Id, m => m.Jaccard));
        }

        Console.WriteLine("| threshold | probe depth | pairs ≥ t + 0.05 | recall | candidates examined (mean) | FindSimilar p50 µs | vs empty RPC | vs exhaustive |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        double forestBytes = 0;
        foreach (double threshold in new[] { 0.2, 0.3, 0.5, 0.7, 0.8 })
        {
            double built = await server.HeapPerDocumentAsync(() => FindSimilarAsync(similarity, queries[0], threshold)); // the first query below 0.8 builds the forest
            if (built > 1)
            {
                forestBytes = built;
            }

            int due = 0, found = 0;
            long examined = 0;
            List<double> indexed = [], empty = [];
            for (int q = 0; q < queries.Length; q++)
            {
                empty.Add(await server.EmptyRpcAsync());
                long start = Stopwatch.GetTimestamp();
                FindSimilarResponse answer = await FindSimilarAsync(similarity, queries[q], threshold);
                indexed.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                examined += answer.CandidatesExamined;
                HashSet<string> ids = [.. answer.Matches.Select(m => m.Id)];
                foreach (string id in truth[q].Where(t => t.Value >= threshold + 0.05).Select(t => t.Key))
                {
                    due++;
                    found += ids.Contains(id) ? 1 : 0;
                }
            }

            double median = LoadedServer.Median(indexed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {threshold} | {Compare.Server.Storage.CollectionSettings.Default.Lsh.ProbeDepth(threshold)} | {due} | {(due == 0 ? 1 : (double)found / due):F4} | {examined / (double)queries.Length:N1} of {documents.Length:N0} | {median:F0} | {median / LoadedServer.Median(empty):F2}× | {median / LoadedServer.Median(exhaustive):P2} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Exhaustive FindSimilar p50: {LoadedServer.Median(exhaustive):N0} µs. The prefix forest, built by the first query below 0.8: {forestBytes:F0} B/doc of managed heap."));
    }

    private static async Task<FindSimilarResponse> FindSimilarAsync(SimilarityService.SimilarityServiceClient similarity, string query, double threshold) =>
        await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = query }, Threshold = threshold });
}
