using System.Diagnostics;
using System.Globalization;
using Compare.V1;

namespace Compare.Benchmarks;

/// <summary>
/// FindSharedPassages on a collection of synthetic news: queries are new articles quoting two indexed ones (12 to 30 words
/// of each amid words no article has). Its latency against the empty RPC (a health check) and against what answering the
/// same question took before, an exhaustive FindSimilar at a tiny threshold, in the same run; and how many quotes a match shares.
/// </summary>
internal static class PassageBenchmark
{
    private const int WarmUpQueries = 5_000;
    private const int WideTopK = 1000;

    public static async Task RunAsync(int documentCount, int queryCount, string store)
    {
        await using LoadedServer server = await LoadedServer.StartAsync(documentCount, store);
        string[] documents = server.Documents;
        var random = new Random(1803);
        var queries = new List<(string Text, string[] Quotes)>();
        for (int q = 0; q < queryCount; q++)
        {
            string first = Quote(documents[random.Next(documents.Length)], random), second = Quote(documents[random.Next(documents.Length)], random);
            queries.Add(($"{QueryTexts.Filler(random, 40)} {first} {QueryTexts.Filler(random, 40)} {second} {QueryTexts.Filler(random, 40)}", [first, second]));
        }

        SimilarityService.SimilarityServiceClient similarity = server.Similarity;
        double indexBytes = await server.HeapPerDocumentAsync(async () =>
            await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Text = queries[0].Text } })); // builds the index
        // Untimed first, as a server that has run a while: the JIT's tiers take about 4,000 queries to settle here (server
        // side, comparing a query's candidates took ~640 µs in the first thousand, ~230 µs after). And the empty RPC is not
        // timed just after a wide query's garbage.
        for (int q = 0; q < WarmUpQueries; q++)
        {
            await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Text = queries[q % queries.Count].Text } });
            await server.EmptyRpcAsync();
        }

        List<double> passages = [], empty = [], exhaustive = [];
        long verified = 0, candidates = 0;
        foreach ((string text, _) in queries)
        {
            empty.Add(await server.EmptyRpcAsync());
            long start = Stopwatch.GetTimestamp();
            FindSharedPassagesResponse answer = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Text = text } });
            passages.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            verified += answer.CandidatesVerified;
            candidates += answer.CandidatesFound;
        }

        // A quote is found when a match shares it. In this corpus, made of BBC sentences, dozens of documents may hold each
        // quote, so ten matches can all share the longer one: asked apart, after the timed queries, with room for every holder.
        // A quote no match shares is outranked, not missed, when the answer is full and every match in it shares at least as
        // many of the query's words as the quote has (matches are ranked by words shared: top_k's own semantics); it is left
        // by the verification budget when the answer says it is truncated (more candidates found than verified); and it is
        // boilerplate, not missed, when every fingerprint of it is held by more documents than a query follows (the service's
        // documented bound, 1,000; asked with the quote alone): at a million documents of BBC sentences, a common sentence is.
        int quotes = 0, found = 0, outranked = 0, beyondBudget = 0;
        var unfound = new List<string>();
        foreach ((string text, string[] quoted) in queries)
        {
            FindSharedPassagesResponse wide = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Text = text }, TopK = WideTopK });
            int fewestShared = wide.Matches.Count == WideTopK ? wide.Matches.Min(m => m.SharedWordCount) : 0;
            string[] passageWords = [.. wide.Matches.SelectMany(m => m.Passages).Select(p => Words(p.Text))];
            foreach (string quote in quoted)
            {
                quotes++;
                string words = Words(quote);
                if (passageWords.Any(passage => passage.Contains(words, StringComparison.Ordinal)))
                {
                    found++;
                }
                else if (fewestShared >= words.Count(c => c == ' ') - 1) // Words puts a space before each word and after the last
                {
                    outranked++;
                }
                else if (wide.Truncated)
                {
                    beyondBudget++;
                }
                else
                {
                    unfound.Add(quote);
                }
            }
        }

        int boilerplate = 0, missed = 0;
        foreach (string quote in unfound)
        {
            FindSharedPassagesResponse alone = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Text = quote } });
            if (alone.CandidatesFound == 0 && alone.CommonFingerprints > 0)
            {
                boilerplate++;
            }
            else if (++missed <= 5)
            {
                Console.Error.WriteLine($"missed: \"{quote}\"; asked alone: {alone.CandidatesFound} candidates, {alone.Matches.Count} matches, {alone.CommonFingerprints} common fingerprints");
            }
        }

        // The baseline: the same question asked the only way there was before, a few times (it reads every document: about a
        // minute a query at 1M documents, so COMPARE_EXHAUSTIVE_QUERIES may ask fewer than 10).
        int exhaustiveQueries = int.TryParse(Environment.GetEnvironmentVariable("COMPARE_EXHAUSTIVE_QUERIES"), out int asked) && asked > 0 ? asked : 10;
        foreach ((string text, _) in queries.Take(Math.Min(exhaustiveQueries, queries.Count)))
        {
            long start = Stopwatch.GetTimestamp();
            await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = text }, Threshold = 0.0001, Exhaustive = true });
            exhaustive.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        double median = LoadedServer.Median(passages), emptyMedian = LoadedServer.Median(empty), exhaustiveMedian = LoadedServer.Median(exhaustive);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {store} | {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} | {documents.Length:N0} | {server.IngestRate:N0} | {median:F0} | {emptyMedian:F0} | {median / emptyMedian:F2}× | {exhaustiveMedian:N0} | {median / exhaustiveMedian:P2} | {(double)found / quotes:F4} | {(double)outranked / quotes:F4} | {(double)beyondBudget / quotes:F4} | {(double)boilerplate / quotes:F4} | {(double)missed / quotes:F4} | {candidates / (double)queries.Count:F1} | {verified / (double)queries.Count:F1} | {indexBytes:F0} |"));
    }

    public static void PrintHeader()
    {
        Console.WriteLine("| store | GC | documents | ingest docs/s | FindSharedPassages p50 µs | empty RPC p50 µs | vs empty | exhaustive FindSimilar p50 µs | vs exhaustive | quotes found (top_k 1000) | outranked by 1000 matches sharing as many words | beyond the budget of a truncated answer | every fingerprint held by over 1,000 documents (boilerplate) | missed | candidates found | candidates verified | passage index, heap B/doc |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }

    // Words only, lower case: a passage starts and ends at words, a quote cut from a text may carry punctuation at either end.
    private static string Words(string text) =>
        " " + string.Join(' ', System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), @"\w+").Select(m => m.Value)) + " ";

    private static string Quote(string text, Random random)
    {
        string[] words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int length = Math.Min(words.Length, random.Next(12, 31)), start = random.Next(words.Length - length + 1);
        return string.Join(' ', words[start..(start + length)]);
    }
}
