using Compare.V1;
using Grpc.Health.V1;

namespace Compare.Server.Tests;

/// <summary>
/// Inputs built to hurt: every one is answered (or refused with the right status) within a
/// deadline, and the server stays healthy for the next caller.
/// </summary>
[Collection(ServerTestGroup.Name)]
public sealed class PathologicalInputTests(ServerFixture server)
{
    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(60);

    [Fact]
    public async Task Upsert_TenMegabytesOfOneRepeatedWord_IsIndexedComparedAndFound()
    {
        string collection = await server.NewCollectionAsync();
        string text = string.Concat(Enumerable.Repeat("buffalo ", 10_000_000 / 8));
        await server.Documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Collection = collection, Documents = { new Document { Id = "buffalo", Text = text } } }, deadline: Deadline);

        CompareResponse compared = await server.Similarity.CompareAsync(new CompareRequest
        {
            Collection = collection,
            Left = new DocumentRef { Id = "buffalo" },
            Right = new DocumentRef { Text = text[..^8] + "bison" },
            IncludeDiff = true,
            IncludeSimilarSentences = true,
        }, deadline: Deadline);
        FindSimilarResponse found = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = collection, Query = new DocumentRef { Text = "buffalo buffalo buffalo buffalo buffalo buffalo" } }, deadline: Deadline);

        // One shingle ("buffalo" five times) against two: the left's and "buffalo buffalo buffalo buffalo bison".
        Assert.Equal(0.5, compared.Jaccard);
        // The one passage is the whole 10 MB text: it is counted and covered, but its text does not fit the 3 MB answer.
        Assert.Equal(1, compared.TotalPhraseCount);
        Assert.True(compared.Truncated);
        Assert.Empty(compared.SharedPhrases);
        Assert.Equal(1.0, compared.LeftCoverage);
        Assert.True(compared.CalculateSize() <= 3 * 1024 * 1024);
        Assert.Equal("buffalo", Assert.Single(found.Matches).Id);
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task Compare_HundredThousandDistinctWordsAgainstTheirReversal_Answers()
    {
        string words = string.Join(' ', Enumerable.Range(0, 100_000).Select(i => $"w{i}"));
        string reversed = string.Join(' ', Enumerable.Range(0, 100_000).Reverse().Select(i => $"w{i}"));

        CompareResponse compared = await server.Similarity.CompareAsync(new CompareRequest
        {
            Left = new DocumentRef { Text = words },
            Right = new DocumentRef { Text = reversed },
            IncludeDiff = true,
            MaxBridgeWords = 3,
        }, deadline: Deadline);

        // Same words, no word 5-gram and no three-word phrase in common.
        Assert.Equal(0, compared.Jaccard);
        Assert.Empty(compared.SharedPhrases);
        Assert.Equal(100_000, compared.LeftWordCount);
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task Compare_DeeplyRepetitivePhrases_Answers()
    {
        string left = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 40_000));
        string right = string.Concat(Enumerable.Repeat("the cat sat on the mat today. ", 35_000));

        CompareResponse compared = await server.Similarity.CompareAsync(new CompareRequest
        {
            Left = new DocumentRef { Text = left },
            Right = new DocumentRef { Text = right },
            IncludeDiff = true,
            IncludeSimilarSentences = true,
            MaxBridgeWords = 3,
        }, deadline: Deadline);

        Assert.NotEmpty(compared.SharedPhrases);
        Assert.InRange(compared.LeftCoverage, 0.5, 1);
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task Upsert_ControlCharactersAndInvisibles_AreStoredAsSentAndCompared()
    {
        string collection = await server.NewCollectionAsync();
        string text = "Xi Jinping\0met\u0001Nursultan\u001F Nazarbayev \u200B\u200D\uFEFF in Astana\u2028on Monday\r\n\u007F(SCO) \U0001F600 e\u0301";
        await server.Documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Collection = collection, Documents = { new Document { Id = "controls", Text = text } } }, deadline: Deadline);

        GetDocumentResponse stored = await server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = collection, Id = "controls", IncludeText = true }, deadline: Deadline);
        CompareResponse compared = await server.Similarity.CompareAsync(new CompareRequest { Collection = collection, Left = new DocumentRef { Id = "controls" }, Right = new DocumentRef { Text = text } }, deadline: Deadline);

        Assert.Equal(text, stored.Document.Text);
        Assert.Equal(1.0, compared.Jaccard);
        await AssertHealthyAsync();
    }

    private async Task AssertHealthyAsync() =>
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest())).Status);
}
