using System.Diagnostics;
using System.Globalization;
using Compare.V1;

namespace Compare.Benchmarks;

/// <summary>
/// Containment search on a collection of synthetic news, both ways, against the exhaustive answer (every document
/// verified) as truth and baseline, and the empty RPC, in the same run. "Which documents contain this?": the query is a
/// stretch of 10 to 100 % of an indexed article with 3 % of its words replaced (a press release the article carried).
/// "Which documents does this contain?": the query is three indexed articles, each lightly edited, in a round-up with
/// filler around them. Recall counts documents at least 0.05 above the containment asked.
/// </summary>
internal static class ContainmentBenchmark
{
    public static async Task RunAsync(int documentCount, int queryCount, string store)
    {
        await using LoadedServer server = await LoadedServer.StartAsync(documentCount, store);
        string[] documents = server.Documents;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{store}, {documents.Length:N0} synthetic news documents, ingested at {server.IngestRate:N0} docs/s; {queryCount} queries a direction"));
        var random = new Random(2016);
        string[] releases = [.. Enumerable.Range(0, queryCount).Select(_ => QueryTexts.Edit(Stretch(documents[random.Next(documents.Length)], random), 0.03, random))];
        string[] roundUps = [.. Enumerable.Range(0, queryCount).Select(_ => string.Join(' ',
            Enumerable.Range(0, 3).SelectMany(_ => new[] { QueryTexts.Filler(random, 60), QueryTexts.Edit(documents[random.Next(documents.Length)], 0.03, random) })))];
        Console.WriteLine("| asked | containment | documents ≥ c + 0.05 | recall | candidates examined (mean) | truncated | p50 µs | vs empty RPC | exhaustive p50 µs | vs exhaustive |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (double containment in new[] { 0.5, 0.8 })
        {
            await MeasureAsync(server, "documents containing the query", releases, containment, ofQuery: true);
            await MeasureAsync(server, "documents the query contains", roundUps, containment, ofQuery: false);
        }
    }

    private static async Task MeasureAsync(LoadedServer server, string asked, string[] queries, double containment, bool ofQuery)
    {
        int due = 0, found = 0, truncated = 0;
        long examined = 0;
        List<double> indexed = [], exhaustive = [], empty = [];
        foreach (string query in queries)
        {
            long start = Stopwatch.GetTimestamp();
            FindSimilarResponse all = await server.Similarity.FindSimilarAsync(Request(query, containment, ofQuery, exhaustive: true));
            exhaustive.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            empty.Add(await server.EmptyRpcAsync());
            start = Stopwatch.GetTimestamp();
            FindSimilarResponse answer = await server.Similarity.FindSimilarAsync(Request(query, containment, ofQuery, exhaustive: false));
            indexed.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            examined += answer.CandidatesExamined;
            truncated += answer.Truncated ? 1 : 0;
            HashSet<string> ids = [.. answer.Matches.Select(m => m.Id)];
            foreach (SimilarityMatch match in all.Matches.Where(m => (ofQuery ? m.ContainmentOfQuery : m.ContainmentOfMatch) >= containment + 0.05))
            {
                due++;
                found += ids.Contains(match.Id) ? 1 : 0;
            }
        }

        double median = LoadedServer.Median(indexed), exhaustiveMedian = LoadedServer.Median(exhaustive);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {asked} | {containment} | {due} | {(due == 0 ? 1 : (double)found / due):F4} | {examined / (double)queries.Length:N1} | {truncated} | {median:F0} | {median / LoadedServer.Median(empty):F2}× | {exhaustiveMedian:N0} | {median / exhaustiveMedian:P2} |"));
    }

    // Top 1000: recall is about what the index finds, not how many a caller keeps.
    private static FindSimilarRequest Request(string query, double containment, bool ofQuery, bool exhaustive)
    {
        var request = new FindSimilarRequest { Query = new DocumentRef { Text = query }, TopK = 1000, Exhaustive = exhaustive };
        if (ofQuery)
        {
            request.MinContainmentOfQuery = containment;
        }
        else
        {
            request.MinContainmentOfMatch = containment;
        }

        return request;
    }

    private static string Stretch(string text, Random random)
    {
        string[] words = text.Split(' ');
        int length = Math.Max(10, (int)(words.Length * (0.1 + (0.9 * random.NextDouble())))), start = random.Next(Math.Max(1, words.Length - length + 1));
        return string.Join(' ', words.Skip(start).Take(length));
    }
}
