using Compare.Server.Tests.Contract;
using Compare.V1;
using Google.Rpc;
using Grpc.Core;

namespace Compare.Server.Tests;

/// <summary>compare.v1.SimilarityService's contract, run against every store.</summary>
public abstract class SimilarityServiceTests(StoreReplicas server)
{
    private static DocumentRef Text(string text) => new() { Text = text };

    private static DocumentRef Id(string id) => new() { Id = id };

    [Fact]
    public async Task Compare_SeedsById_FindsTheRecurringWordingAtTheRightOffsetsOnBothSides()
    {
        string c = await server.SeedsCollectionAsync();

        CompareResponse r = await server.Similarity.CompareAsync(new CompareRequest { Collection = c, Left = Id("2014"), Right = Id("2016") });

        string left = TestData.Seed2014, right = TestData.Seed2016;
        foreach (string expected in new[] { "construction of the Silk Road Economic Belt", "Shanghai Cooperation Organization (SCO)" })
        {
            SharedPhrase phrase = Assert.Single(r.SharedPhrases, p => p.Text.Contains(expected, StringComparison.Ordinal));
            Assert.Equal(phrase.Text, TestData.SliceCodePoints(left, phrase.Left.Start, phrase.Left.End));
            Assert.Contains(expected, TestData.SliceCodePoints(right, phrase.Right.Start, phrase.Right.End), StringComparison.OrdinalIgnoreCase);
        }

        Assert.All(r.SharedPhrases, p => Assert.True(p.WordCount >= 3));
        Assert.Equal(r.SharedPhrases.OrderByDescending(p => Math.Max(p.WordCount, p.RightWordCount)).Select(p => p.WordCount), r.SharedPhrases.Select(p => p.WordCount));
        Assert.All(r.SharedPhrases, p => Assert.Equal((p.Left, p.Right), (p.LeftOccurrences[0], p.RightOccurrences[0])));
        Assert.Equal(ReferenceJaccard.Jaccard(left, right), r.Jaccard, 9);
        Assert.InRange(r.EstimatedJaccard, 0, 1);
        Assert.InRange(r.LeftCoverage, 0.01, 1);
        Assert.InRange(r.RightCoverage, 0.01, 1);
        Assert.Equal((double)r.SharedShingleCount / r.LeftShingleCount, r.ContainmentLeft, 12);
        Assert.Equal((double)r.SharedShingleCount / r.RightShingleCount, r.ContainmentRight, 12);
        Assert.NotNull(r.Fuzzy);
        Assert.InRange(r.Fuzzy.TokenSetRatio, 1, 100);
        Assert.Equal((10_000, 200), (r.Fuzzy.MaxCharacters, r.Fuzzy.MaxPartialCharacters));
        Assert.True(left.Length < 10_000 && right.Length < 10_000);
        Assert.Equal(FuzzySharp.Fuzz.TokenSortRatio(left, right), r.Fuzzy.TokenSortRatio);
        Assert.Equal(FuzzySharp.Fuzz.Ratio(left, right), r.Fuzzy.Ratio);
        Assert.Empty(r.Diff);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 0)]
    [InlineData(3, 2)]
    public async Task Compare_InlineTextBothWays_SwapsTheSidesOfEveryPassageAndChangesNothingElse(int minWords, int bridge)
    {
        CompareResponse ab = await server.Similarity.CompareAsync(new CompareRequest { Left = Text(TestData.Seed2014), Right = Text(TestData.Seed2016), MinPhraseWords = minWords, MaxBridgeWords = bridge });
        CompareResponse ba = await server.Similarity.CompareAsync(new CompareRequest { Left = Text(TestData.Seed2016), Right = Text(TestData.Seed2014), MinPhraseWords = minWords, MaxBridgeWords = bridge });

        Assert.True(ab.SharedPhrases.Count >= 5);
        Assert.Equal(ab.SharedPhrases.Count, ba.SharedPhrases.Count);
        for (int k = 0; k < ab.SharedPhrases.Count; k++)
        {
            SharedPhrase x = ab.SharedPhrases[k], y = ba.SharedPhrases[k];
            Assert.Equal((x.Text, x.RightText, x.WordCount, x.RightWordCount, x.Left, x.Right), (y.RightText, y.Text, y.RightWordCount, y.WordCount, y.Right, y.Left));
            Assert.Equal(x.LeftOccurrences, y.RightOccurrences);
            Assert.Equal(x.RightOccurrences, y.LeftOccurrences);
        }

        Assert.Equal(ab.LeftShared, ba.RightShared);
        Assert.Equal(ab.RightShared, ba.LeftShared);
        Assert.False(ab.PhrasesTruncated);

        Assert.Equal(ab.Jaccard, ba.Jaccard);
        Assert.Equal(ab.EstimatedJaccard, ba.EstimatedJaccard);
        Assert.Equal(ab.ContainmentLeft, ba.ContainmentRight);
        Assert.Equal(ab.LeftCoverage, ba.RightCoverage);
        Assert.Equal(ab.Fuzzy.TokenSortRatio, ba.Fuzzy.TokenSortRatio);
        Assert.Equal(ab.RightCoverage, ba.LeftCoverage);
    }

    [Fact]
    public async Task Compare_MaxPhrases_KeepsTheLongestAndNeverChangesTheCoverage()
    {
        var request = new CompareRequest { Left = Text(TestData.Seed2014), Right = Text(TestData.Seed2016), MinPhraseWords = 3 };
        CompareResponse all = await server.Similarity.CompareAsync(request);
        CompareResponse one = await server.Similarity.CompareAsync(new CompareRequest(request) { MaxPhrases = 1 });

        Assert.True(all.SharedPhrases.Count > 5);
        Assert.Equal(all.SharedPhrases[0], Assert.Single(one.SharedPhrases));
        Assert.Equal((all.TotalPhraseCount, all.LeftCoverage, all.RightCoverage), (one.TotalPhraseCount, one.LeftCoverage, one.RightCoverage));
        Assert.Equal(all.LeftShared, one.LeftShared);
        Assert.Equal(all.RightShared, one.RightShared);
    }

    [Fact]
    public async Task Compare_AstralCharactersBeforeAPhrase_CountsOffsetsInCodePoints()
    {
        CompareResponse r = await server.Similarity.CompareAsync(new CompareRequest
        {
            Left = Text("😀😀 the quick brown fox jumps"),
            Right = Text("the quick brown fox jumps 🎉"),
        });

        SharedPhrase p = Assert.Single(r.SharedPhrases);
        Assert.Equal(("the quick brown fox jumps", 3, 28), (p.Text, p.Left.Start, p.Left.End));
        Assert.Equal((0, 25), (p.Right.Start, p.Right.End));
        Assert.Equal(1.0, r.Jaccard);
    }

    [Fact]
    public async Task Compare_DiffAndSimilarSentencesRequested_ReturnsBoth()
    {
        const string Left = "The minister met the press on Monday. Prices rose sharply in March. Nothing else happened.";
        const string Right = "The minister met the press on Tuesday. Prices rose sharply in March. Nothing else happened.";

        CompareResponse r = await server.Similarity.CompareAsync(new CompareRequest
        {
            Left = Text(Left),
            Right = Text(Right),
            IncludeDiff = true,
            IncludeSimilarSentences = true,
            IncludeFuzzy = false,
        });

        Assert.Null(r.Fuzzy);
        DiffSegment deleted = Assert.Single(r.Diff, d => d.Operation == DiffOperation.Delete);
        DiffSegment inserted = Assert.Single(r.Diff, d => d.Operation == DiffOperation.Insert);
        Assert.Equal("Monday", deleted.Text);
        Assert.Equal("Tuesday", inserted.Text);
        Assert.Equal("Monday", Left[deleted.Left.Start..deleted.Left.End]);
        Assert.Equal("Tuesday", Right[inserted.Right.Start..inserted.Right.End]);
        Assert.Equal(3, r.SimilarSentences.Count);
        SentencePair edited = Assert.Single(r.SimilarSentences, s => s.Ratio < 100);
        Assert.Equal("The minister met the press on Monday.", edited.LeftText);
        Assert.Equal("The minister met the press on Tuesday.", edited.RightText);
        Assert.Equal(edited.RightText, Right[edited.Right.Start..edited.Right.End]);
        Assert.InRange(edited.Ratio, 80, 99);
    }

    [Fact]
    public async Task Compare_MinPhraseWordsAndMaxPhrases_LimitThePhrases()
    {
        var request = new CompareRequest { Left = Text(TestData.Seed2014), Right = Text(TestData.Seed2016), MinPhraseWords = 6, MaxPhrases = 2 };

        CompareResponse r = await server.Similarity.CompareAsync(request);

        Assert.Equal(2, r.SharedPhrases.Count);
        Assert.True(r.TotalPhraseCount >= 2);
        Assert.All(r.SharedPhrases, p => Assert.True(p.WordCount >= 6));
    }

    [Fact]
    public async Task WordlessText_CompareFindSimilarAndUpsert_AnswerZerosWithoutError()
    {
        string c = await server.NewCollectionAsync();
        var upsert = new UpsertDocumentsRequest { Collection = c, IncludeNearDuplicates = true };
        upsert.Documents.Add(new Document { Id = "punct", Text = "!!! ... ???" });

        UpsertResult stored = Assert.Single((await server.Documents.UpsertDocumentsAsync(upsert)).Results);
        CompareResponse compared = await server.Similarity.CompareAsync(new CompareRequest { Collection = c, Left = Id("punct"), Right = Text("— … —") });
        FindSimilarResponse found = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = Text("?!"), Threshold = 0, Exhaustive = true });

        Assert.Equal((UpsertStatus.Created, 0), (stored.Status, stored.ShingleCount));
        Assert.Equal((0.0, 0.0, 0), (compared.Jaccard, compared.LeftCoverage, compared.SharedPhrases.Count));
        Assert.Empty(found.Matches);
    }

    [Fact]
    public async Task Compare_BadRequests_FailNamingTheField()
    {
        await RpcAssert.InvalidFieldAsync("right", () => server.Similarity.CompareAsync(new CompareRequest { Left = Text("some text") }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("left.text", () => server.Similarity.CompareAsync(new CompareRequest { Left = Text(""), Right = Text("x") }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("min_phrase_words",
            () => server.Similarity.CompareAsync(new CompareRequest { Left = Text("a"), Right = Text("b"), MinPhraseWords = -1 }).ResponseAsync);
        BadRequest.Types.FieldViolation bridge = await RpcAssert.InvalidFieldAsync("max_bridge_words",
            () => server.Similarity.CompareAsync(new CompareRequest { Left = Text("a"), Right = Text("b"), MaxBridgeWords = 50 }).ResponseAsync);
        Assert.Equal("must be at most 10, was 50.", bridge.Description);
        BadRequest.Types.FieldViolation phrases = await RpcAssert.InvalidFieldAsync("max_phrases",
            () => server.Similarity.CompareAsync(new CompareRequest { Left = Text("a"), Right = Text("b"), MaxPhrases = int.MaxValue }).ResponseAsync);
        Assert.StartsWith("must be at most ", phrases.Description, StringComparison.Ordinal);
        Assert.EndsWith(" (the server's Limits:MaxPhrases), was 2147483647.", phrases.Description, StringComparison.Ordinal);
        RpcException e = await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => server.Similarity.CompareAsync(new CompareRequest { Left = Id("no-such-document"), Right = Text("b") }).ResponseAsync);
        Assert.Contains("left.id", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindSimilar_EditedArticle_RanksTheOriginalFirstWithExactScores()
    {
        string c = await server.SeedsCollectionAsync();
        string edited = TestData.Seed2014.Replace("Xi Jinping", "President Xi", StringComparison.Ordinal);

        FindSimilarResponse r = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = Text(edited), Threshold = 0.5 });

        SimilarityMatch best = Assert.Single(r.Matches);
        Assert.Equal("2014", best.Id);
        Assert.Equal(ReferenceJaccard.Jaccard(edited, TestData.Seed2014), best.Jaccard, 9);
        Assert.InRange(Math.Abs(best.EstimatedJaccard - best.Jaccard), 0, 0.2);
        Assert.InRange(best.ContainmentOfQuery, best.Jaccard, 1);
        Assert.True(r.CandidatesExamined >= 1);
        Assert.Equal(0.5, r.Threshold);
    }

    [Fact]
    public async Task FindSimilar_ById_LeavesTheQueryOutUnlessAsked()
    {
        string c = await server.SeedsCollectionAsync();

        FindSimilarResponse without = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = Id("2014"), Threshold = 0.9 });
        FindSimilarResponse with = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = Id("2014"), Threshold = 0.9, IncludeSelf = true });

        Assert.Empty(without.Matches);
        SimilarityMatch self = Assert.Single(with.Matches);
        Assert.Equal(("2014", 1.0, 1.0), (self.Id, self.Jaccard, self.EstimatedJaccard));
    }

    [Fact]
    public async Task FindSimilar_ExhaustiveLowThreshold_FindsWhatBandsTunedFor08Miss()
    {
        string c = await server.SeedsCollectionAsync();
        double j = ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2016);

        FindSimilarResponse r = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = Id("2014"), Threshold = 0, Exhaustive = true });

        SimilarityMatch m = Assert.Single(r.Matches);
        Assert.Equal("2016", m.Id);
        Assert.Equal(j, m.Jaccard, 9);
        Assert.Equal(1, r.CandidatesExamined);
    }

    [Fact]
    public async Task FindSimilar_TopK_ReturnsTheBestKRanked()
    {
        string c = await server.NewCollectionAsync();
        string baseText = TestData.Seed2014;
        string[] sentences = baseText.Split(". ");
        var request = new UpsertDocumentsRequest { Collection = c };
        // Each variant drops a different number of sentences from the end: similarity falls with i.
        for (int i = 1; i <= 6; i++)
        {
            request.Documents.Add(new Document { Id = $"v{i}", Text = string.Join(". ", sentences[..^i]) });
        }

        await server.Documents.UpsertDocumentsAsync(request);

        FindSimilarResponse r = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = Text(baseText), Threshold = 0.3, TopK = 3, Exhaustive = true });

        Assert.Equal(["v1", "v2", "v3"], r.Matches.Select(m => m.Id));
        Assert.Equal(r.Matches.Select(m => m.Jaccard).OrderDescending(), r.Matches.Select(m => m.Jaccard));
        Assert.All(r.Matches, m => Assert.Equal(1.0, m.ContainmentOfMatch));
    }

    [Fact]
    public async Task FindSimilar_BadRequests_FailNamingTheField()
    {
        await RpcAssert.InvalidFieldAsync("threshold",
            () => server.Similarity.FindSimilarAsync(new FindSimilarRequest { Query = Text("x"), Threshold = 1.5 }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("threshold",
            () => server.Similarity.FindSimilarAsync(new FindSimilarRequest { Query = Text("x"), Threshold = double.NaN }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("top_k",
            () => server.Similarity.FindSimilarAsync(new FindSimilarRequest { Query = Text("x"), TopK = -1 }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("top_k",
            () => server.Similarity.FindSimilarAsync(new FindSimilarRequest { Query = Text("x"), TopK = 1_000_000 }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("query", () => server.Similarity.FindSimilarAsync(new FindSimilarRequest()).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = "nope", Query = Text("x") }).ResponseAsync);
    }
}

public sealed class SimilarityServiceTestsOnMemory(MemoryReplicas server) : SimilarityServiceTests(server), IClassFixture<MemoryReplicas>;

public sealed class SimilarityServiceTestsOnSqlite(SqliteReplicas server) : SimilarityServiceTests(server), IClassFixture<SqliteReplicas>;

public sealed class SimilarityServiceTestsOnRedis(RedisReplicas server) : SimilarityServiceTests(server), IClassFixture<RedisReplicas>;
