using Compare.Core.Clustering;
using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Core.Tests;

public sealed class ReuseFinderTests
{
    [Fact]
    public void ForEachPair_MoreCandidatesThanOneBatchOfComparisons_HandsEveryPairOnceAsItsLaterDocumentIsRead()
    {
        // 400 copies of one short text: 79,800 pairs, more than the 65,536 compared before they are handed over.
        string[] texts = [.. Enumerable.Repeat("the minister said on tuesday that the talks would go on until the end of the week", 400)];
        var handed = new List<(int, int)>();

        ReuseCounts counts = ReuseFinder.ForEachPair(new InMemoryCorpus(texts), pair => handed.Add((pair.Left, pair.Right)),
            new ReuseOptions { MaxDocumentsPerFingerprint = 1000 });

        (int, int)[] everyPair = [.. from b in Enumerable.Range(0, 400) from a in Enumerable.Range(0, b) select (a, b)];
        Assert.Equal(everyPair, handed);
        Assert.Equal(everyPair.Length, counts.PairsFound);
        Assert.Equal(everyPair.Length, counts.CandidatePairs);
    }

    [Fact]
    public void Find_WordingInMoreDocumentsThanTheBudgetAllows_IsRefusedWithTheCountBeforeAnyPairIsMade()
    {
        // k copies: every fingerprint of the text is held by all k, so each makes k(k-1)/2 pairs.
        const int Copies = 30;
        string text = string.Join(' ', TestData.BbcCorpus()[5].Text.Split(' ').Take(60));
        long perFingerprint = Copies * (Copies - 1) / 2, expected = PassageFingerprints.Of(text, NormalizationOptions.Default).Distinct().Count() * perFingerprint;
        var corpus = new InMemoryCorpus([.. Enumerable.Repeat(text, Copies)]);

        var refused = Assert.Throws<TooManyReusePairsException>(() => ReuseFinder.Find(corpus, new ReuseOptions { MaxCandidatePairs = (int)expected - 1 }));
        ReuseResult atTheLimit = ReuseFinder.Find(corpus, new ReuseOptions { MaxCandidatePairs = (int)expected });

        Assert.Equal(expected, refused.Pairs);
        Assert.Equal(expected - 1, refused.Limit);
        Assert.Equal(perFingerprint, atTheLimit.Pairs.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Find_EveryPairOfACorpusWithQuotes_IsWhatComparingEveryPairWordByWordFinds(int bridge)
    {
        // Articles and new texts quoting them, some quotes lightly edited (a word replaced every 6 to 9): the pairs and
        // passages reuse reports must be those of comparing every pair of documents, one pair at a time.
        var random = new Random(2016);
        List<string> texts = [.. TestData.BbcCorpus().Skip(700).Take(160).Select(d => d.Text)];
        for (int q = 0; q < 40; q++)
        {
            string[] source = texts[random.Next(160)].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int length = random.Next(5, 30), start = random.Next(source.Length - length);
            string[] quote = source[start..(start + length)];
            if (q % 3 == 0)
            {
                for (int k = random.Next(6, 10); k < quote.Length; k += random.Next(6, 10))
                {
                    quote[k] = "edited" + k;
                }
            }

            texts.Add($"{Filler(random, 25)} {string.Join(' ', quote)} {Filler(random, 25)}");
        }

        var options = new ReuseOptions { MaxBridgeWords = bridge, MaxDocumentsPerFingerprint = 10_000 };
        ReuseResult result = ReuseFinder.Find(new InMemoryCorpus(texts), options);

        List<string> expected = EveryPairComparedWhole(texts, options, Describe);

        Assert.True(expected.Count >= 40, $"{expected.Count} pairs");
        Assert.True(result.CandidatePairs > 2 * expected.Count, $"{result.CandidatePairs} candidate pairs for {expected.Count} sharing");
        Assert.Equal(expected, result.Pairs.Select(p => Describe(p.Left, p.Right, p.Shared)));
    }

    // Read as a stream, a document is dropped once its last partner is read: quotes of sources near and far, across the
    // reading batches of 512, must give what holding every document at once gives, pair for pair and passage for passage.
    [Fact]
    public void ForEachPair_StreamWithQuotesNearAndFarAcrossBatches_MatchesEveryDocumentHeldAtOnce()
    {
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text).Where(t => t.Length > 1500).DistinctBy(t => t[..200]).Take(1100)];
        Assert.Equal(1100, texts.Length);
        (int Source, int Quoting)[] quotes = [(0, 1099), (0, 1), (510, 511), (511, 512), (300, 900), (1023, 1024), (1097, 1098), (2, 1099)];
        foreach ((int source, int quoting) in quotes)
        {
            string[] words = texts[source].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            texts[quoting] += " as was said: " + string.Join(' ', words[40..60]);
        }

        var options = new ReuseOptions { MaxDocumentsPerFingerprint = 10_000 };
        var streamed = new List<ReusePair>();
        var corpus = new StreamOnlyCorpus(texts);
        ReuseCounts counts = ReuseFinder.ForEachPair(corpus, streamed.Add, options);
        ReuseResult heldAtOnce = ReuseFinder.Find(new InMemoryCorpus(texts), options);

        Assert.Equal(heldAtOnce.Pairs.Select(p => Describe(p.Left, p.Right, p.Shared)), streamed.Select(p => Describe(p.Left, p.Right, p.Shared)));
        Assert.Equal(streamed.Count, counts.PairsFound);
        Assert.All(quotes, q => Assert.Contains(streamed, p => (p.Left, p.Right) == q && p.Shared.Phrases.Any(f => f.WordCount >= 18)));
        Assert.Equal(streamed.OrderBy(p => p.Right).ThenBy(p => p.Left), streamed);
        Assert.Equal(corpus.Reread.Order(), corpus.Reread);
    }

    // Quotes of sources anywhere before them, with a budget that holds a few dozen documents: the pairs are compared in
    // several readings and are, each once, those that holding every document at once finds.
    [Fact]
    public void ForEachPair_PairsFartherApartThanTheBudgetHolds_AreComparedInSeveralReadingsAndAllFound()
    {
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text).Where(t => t.Length > 1500).DistinctBy(t => t[..200]).Take(1100)];
        var random = new Random(2014);
        var quotes = new List<(int Source, int Quoting)>();
        for (int q = 0; q < 60; q++)
        {
            int quoting = random.Next(1, texts.Length), source = random.Next(quoting);
            texts[quoting] += " as was said: " + string.Join(' ', texts[source].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[40..60]);
            quotes.Add((source, quoting));
        }

        var corpus = new StreamOnlyCorpus(texts);
        var streamed = new List<ReusePair>();
        ReuseCounts counts = ReuseFinder.ForEachPair(corpus, streamed.Add,
            new ReuseOptions { MaxDocumentsPerFingerprint = 10_000, MaxHeldBytes = 40 * ReuseComparisons.HeldBytes(3000) });
        ReuseResult heldAtOnce = ReuseFinder.Find(new InMemoryCorpus(texts), new ReuseOptions { MaxDocumentsPerFingerprint = 10_000 });

        Assert.Equal(1, heldAtOnce.Readings);
        Assert.True(counts.Readings >= 3, $"{counts.Readings} readings");
        Assert.Equal(counts.Readings, corpus.Rereadings);
        Assert.Equal(heldAtOnce.Pairs.Select(p => Describe(p.Left, p.Right, p.Shared)).Order(), streamed.Select(p => Describe(p.Left, p.Right, p.Shared)).Order());
        Assert.All(quotes, q => Assert.Contains(streamed, p => (p.Left, p.Right) == q && p.Shared.Phrases.Any(f => f.WordCount >= 18)));
    }

    // A long document (a book of articles, one paragraph in it twice) and far shorter ones quoting it anywhere: at its very
    // start and end, across two of its articles, twice with one word between, the repeated paragraph, overlapping, and
    // two quotes that stand side by side in it.
    // Their pairs are searched in the stretches where their runs meet (RunWindows), with the long document on either
    // side: every pair, passage, occurrence and count must be what comparing the whole documents gives.
    [Fact]
    public void Find_LongDocumentQuotedByShortOnes_IsWhatComparingTheWholeDocumentsFinds()
    {
        var random = new Random(2014);
        string[] articles = [.. TestData.BbcCorpus().Skip(300).Take(40).Select(d => d.Text)];
        string repeated = string.Join(' ', articles[3].Split(' ').Take(30));
        string book = string.Join(' ', articles[..20]) + " " + repeated + " " + string.Join(' ', articles[20..]);
        string[] words = book.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string Quote(int start, int length) => string.Join(' ', words[start..(start + length)]);
        int seam = string.Join(' ', articles[..7]).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        string[] quoting =
        [
            Quote(0, 12), Quote(words.Length - 9, 9), Quote(seam - 6, 14), $"{Quote(500, 8)} unlike {Quote(509, 8)}", repeated,
            $"{Quote(1000, 20)} {Quote(1010, 20)}", Quote(2000, 7), Quote(3000, 6),
            $"{Quote(6008, 8)} {Filler(random, 5)} {Quote(6000, 8)}", // next to each other in the book, one shared stretch of it
        ];
        var texts = new List<string> { book };
        texts.AddRange(quoting.Select(q => $"{Filler(random, 30)} {q} {Filler(random, 30)}"));
        texts.Add(string.Join(' ', articles[5..25].Reverse()) + " " + Quote(4000, 15)); // a second long document, after them
        texts.Add($"{Filler(random, 40)} {Quote(4000, 15)} {Filler(random, 10)}");

        var options = new ReuseOptions { MaxDocumentsPerFingerprint = 10_000 };
        ReuseResult result = ReuseFinder.Find(new InMemoryCorpus(texts), options);

        List<string> expected = EveryPairComparedWhole(texts, options, DescribeWhole);

        Assert.Contains(expected, e => e.StartsWith("0-1 ", StringComparison.Ordinal));
        Assert.Contains(expected, e => e.StartsWith("10-11 ", StringComparison.Ordinal));
        Assert.DoesNotContain(expected, e => e.StartsWith("0-8 ", StringComparison.Ordinal)); // 6 words: shorter than a passage
        Assert.Equal(expected.Order(StringComparer.Ordinal), result.Pairs.Select(p => DescribeWhole(p.Left, p.Right, p.Shared)).Order(StringComparer.Ordinal));
    }

    // The same against whole-document comparisons on made-up text of a few words, so that runs recur all through the long
    // document and quotes of it overlap, touch, and begin or end at its edges.
    [Theory]
    [InlineData(6, 1)]
    [InlineData(12, 2)]
    [InlineData(40, 3)]
    [InlineData(400, 4)]
    public void Find_LongDocumentOfFewWordsQuotedInPieces_IsWhatComparingTheWholeDocumentsFinds(int vocabulary, int seed)
    {
        var random = new Random(seed);
        string[] words = [.. Enumerable.Range(0, vocabulary).Select(w => "w" + w.ToString(System.Globalization.CultureInfo.InvariantCulture) + "ord")];
        string[] book = [.. Enumerable.Range(0, 4000).Select(_ => words[random.Next(vocabulary)])];
        var texts = new List<string> { string.Join(' ', book) };
        for (int t = 0; t < 12; t++)
        {
            var quoting = new List<string>();
            for (int piece = random.Next(1, 5); piece > 0; piece--)
            {
                int length = random.Next(3, 40), start = random.Next(3) == 0 ? (random.Next(2) == 0 ? 0 : book.Length - length) : random.Next(book.Length - length);
                quoting.AddRange(book[start..(start + length)]);
                quoting.Add("x" + random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            texts.Add(string.Join(' ', quoting));
        }

        var options = new ReuseOptions { MaxDocumentsPerFingerprint = 10_000 };
        ReuseResult result = ReuseFinder.Find(new InMemoryCorpus(texts), options);

        List<string> expected = EveryPairComparedWhole(texts, options, DescribeWhole);
        Assert.Contains(expected, e => e.StartsWith("0-", StringComparison.Ordinal));
        Assert.Equal(expected, result.Pairs.Select(p => DescribeWhole(p.Left, p.Right, p.Shared)));
    }

    // The reference: every pair of documents compared whole, one pair at a time, in the order reuse hands pairs over.
    private static List<string> EveryPairComparedWhole(List<string> texts, ReuseOptions options, Func<int, int, SharedPhrases, string> describe)
    {
        var phraseOptions = new PhraseOptions { MinWords = options.MinWords, MaxBridgeWords = options.MaxBridgeWords, Normalization = options.Normalization };
        var described = new List<string>();
        for (int b = 0; b < texts.Count; b++)
        {
            for (int a = 0; a < b; a++)
            {
                SharedPhrases shared = SharedPhraseFinder.Find(texts[a], texts[b], phraseOptions);
                if (shared.Phrases.Count > 0)
                {
                    described.Add(describe(a, b, shared));
                }
            }
        }

        return described;
    }

    private static string DescribeWhole(int left, int right, SharedPhrases shared) =>
        $"{Describe(left, right, shared)} words {shared.LeftWordCount}/{shared.RightWordCount} complete {shared.Complete} ranges " +
        $"{string.Join(',', shared.LeftShared)};{string.Join(',', shared.RightShared)} occurrences " +
        string.Join(" | ", shared.Phrases.Select(p => $"{string.Join(',', p.LeftOccurrences)};{string.Join(',', p.RightOccurrences)} {p.RightWordCount} {p.RightText}"));

    private static string Describe(int left, int right, SharedPhrases shared) =>
        $"{left}-{right} {shared.LeftSharedWords}/{shared.RightSharedWords}: " + string.Join(" | ", shared.Phrases.Select(p => $"{p.Left}{p.Right} {p.WordCount} {p.Text}"));

    private static string Filler(Random random, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => "zq" + random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
