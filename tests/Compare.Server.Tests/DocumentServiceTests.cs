using Compare.Server.Tests.Contract;
using Compare.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Compare.Server.Tests;

/// <summary>compare.v1.DocumentService's contract, run against every store.</summary>
public abstract class DocumentServiceTests(StoreReplicas server)
{
    private static Document Doc(string id, string text, params (string Key, string Value)[] metadata)
    {
        var d = new Document { Id = id, Text = text };
        foreach ((string key, string value) in metadata)
        {
            d.Metadata[key] = value;
        }

        return d;
    }

    /// <summary>The documented content hash, built byte by byte: XXH3 of the UTF-8 text, then per entry (ordinal key order) both UTF-8 lengths as little-endian int32 and the UTF-8 key and value.</summary>
    private static string ExpectedContentHash(string text, params (string Key, string Value)[] metadata)
    {
        var bytes = new List<byte>(System.Text.Encoding.UTF8.GetBytes(text));
        foreach ((string key, string value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            byte[] k = System.Text.Encoding.UTF8.GetBytes(key), v = System.Text.Encoding.UTF8.GetBytes(value);
            bytes.AddRange([(byte)k.Length, 0, 0, 0, (byte)v.Length, 0, 0, 0]);
            bytes.AddRange(k);
            bytes.AddRange(v);
        }

        return System.IO.Hashing.XxHash3.HashToUInt64([.. bytes]).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static UpsertDocumentsRequest Batch(string collection, params Document[] documents)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.AddRange(documents);
        return request;
    }

    private static StreamUpsertDocumentsRequest StreamBatch(string collection, params Document[] documents)
    {
        var request = new StreamUpsertDocumentsRequest { Collection = collection };
        request.Documents.AddRange(documents);
        return request;
    }

    [Fact]
    public async Task UpsertDocuments_NewChangedAndSameDocuments_ReportsCreatedUpdatedUnchanged()
    {
        string c = await server.NewCollectionAsync();
        // Seven words make three word 5-shingles.
        UpsertDocumentsResponse first = await server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", "one two three four five six seven"), Doc("b", "alpha beta")));
        UpsertDocumentsResponse second = await server.Documents.UpsertDocumentsAsync(Batch(c,
            Doc("a", "one two three four five six seven"), Doc("b", "alpha beta gamma"), Doc("c", "x")));
        UpsertDocumentsResponse third = await server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", "one two three four five six seven", ("source", "wire"))));

        Assert.Equal([UpsertStatus.Created, UpsertStatus.Created], first.Results.Select(r => r.Status));
        Assert.Equal([3, 1], first.Results.Select(r => r.ShingleCount));
        Assert.Equal((2, 0, 0), (first.CreatedCount, first.UpdatedCount, first.UnchangedCount));
        Assert.Equal([UpsertStatus.Unchanged, UpsertStatus.Updated, UpsertStatus.Created], second.Results.Select(r => r.Status));
        Assert.Equal(["a", "b", "c"], second.Results.Select(r => r.Id));
        Assert.Equal(UpsertStatus.Updated, Assert.Single(third.Results).Status);
        Collection info = (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection;
        Assert.Equal(3, info.DocumentCount);
        Assert.Equal("one two three four five six seven".Length + "alpha beta gamma".Length + 1, info.TextBytes);
    }

    [Fact]
    public async Task GetDocument_WithAndWithoutText_ReturnsMetadataLengthInCodePointsAndStableHash()
    {
        string c = await server.NewCollectionAsync();
        const string Text = "Emoji 😀 count as one code point 🎉 each, not two.";
        await server.Documents.UpsertDocumentsAsync(Batch(c, Doc("e", Text, ("lang", "en"), ("source", "test"))));

        StoredDocument withText = (await server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = "e", IncludeText = true })).Document;
        StoredDocument without = (await server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = "e" })).Document;

        Assert.Equal(Text, withText.Text);
        Assert.Equal(string.Empty, without.Text);
        Assert.Equal(Text.EnumerateRunes().Count(), withText.Length);
        Assert.Equal(Text.Length - 2, withText.Length);
        Assert.Equal("en", withText.Metadata["lang"]);
        Assert.Equal(2, without.Metadata.Count);
        Assert.Equal(withText.ContentHash, without.ContentHash);
        Assert.Equal(ExpectedContentHash(Text, ("lang", "en"), ("source", "test")), withText.ContentHash);
        Assert.Equal(withText.CreateTime, withText.UpdateTime);
    }

    [Fact]
    public async Task GetDocument_Missing_FailsNotFound()
    {
        string c = await server.NewCollectionAsync();

        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = "nope" }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = "no-such", Id = "x" }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("id", () => server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c }).ResponseAsync);
    }

    [Fact]
    public async Task ListDocuments_Pages_VisitsEveryIdOnceInOrdinalOrder()
    {
        string c = await server.NewCollectionAsync();
        string[] ids = [.. Enumerable.Range(0, 25).Select(i => $"doc-{i * 7 % 25:D2}"), "Zed", "ünï"];
        await server.Documents.UpsertDocumentsAsync(Batch(c, [.. ids.Select(id => Doc(id, $"text of {id}"))]));

        var seen = new List<string>();
        string token = string.Empty;
        int pages = 0;
        do
        {
            ListDocumentsResponse page = await server.Documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = c, PageSize = 10, PageToken = token });
            Assert.Equal(27, page.TotalCount);
            Assert.InRange(page.Documents.Count, 1, 10);
            seen.AddRange(page.Documents.Select(d => d.Id));
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task ListDocuments_BadTokenOrNegativeSize_FailsInvalidArgument()
    {
        string c = await server.NewCollectionAsync();

        await RpcAssert.InvalidFieldAsync("page_token", () => server.Documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = c, PageToken = "!!not a token" }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("page_size", () => server.Documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = c, PageSize = -1 }).ResponseAsync);
    }

    [Fact]
    public async Task DeleteDocuments_SomeMissing_DeletesTheRestAndReportsMissing()
    {
        string c = await server.NewCollectionAsync();
        await server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", "first text here"), Doc("b", "second text here")));

        var request = new DeleteDocumentsRequest { Collection = c };
        request.Ids.AddRange(["a", "ghost", "a"]);
        DeleteDocumentsResponse response = await server.Documents.DeleteDocumentsAsync(request);

        Assert.Equal(1, response.DeletedCount);
        Assert.Equal(["ghost"], response.NotFoundIds);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = "a" }).ResponseAsync);
        Assert.Equal(1, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
        await RpcAssert.InvalidFieldAsync("ids", () => server.Documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = c }).ResponseAsync);
    }

    [Fact]
    public async Task UpsertDocuments_OneBadDocument_RejectsTheWholeBatchNamingTheField()
    {
        string c = await server.NewCollectionAsync();

        await RpcAssert.InvalidFieldAsync("documents[2].text",
            () => server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", "good text one"), Doc("b", "good text two"), Doc("c", ""))).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("documents[1].id",
            () => server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", "good text one"), Doc("", "no id"))).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("documents[2].id",
            () => server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", "one"), Doc("b", "two"), Doc("a", "again"))).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("documents", () => server.Documents.UpsertDocumentsAsync(Batch(c)).ResponseAsync);

        Assert.Equal(0, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
    }

    [Fact]
    public async Task UpsertDocuments_OverTheSizeLimit_FailsInvalidArgumentNamingTheLimit()
    {
        string c = await server.NewCollectionAsync();
        // 10 MB of UTF-8 plus one byte; 'é' is two bytes, so UTF-16 length alone would pass.
        string text = new string('é', (10 * 1024 * 1024 / 2) + 1);

        var violation = await RpcAssert.InvalidFieldAsync("documents[1].text",
            () => server.Documents.UpsertDocumentsAsync(Batch(c, Doc("ok", "small"), Doc("big", text))).ResponseAsync);

        Assert.Contains("10485760", violation.Description, StringComparison.Ordinal);
        Assert.Contains("Limits:MaxDocumentBytes", violation.Description, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
    }

    [Fact]
    public async Task UpsertDocuments_BadCollectionOrThreshold_FailsWithTheRightStatus()
    {
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Documents.UpsertDocumentsAsync(Batch("missing-collection", Doc("a", "text"))).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("collection", () => server.Documents.UpsertDocumentsAsync(Batch("bad name", Doc("a", "text"))).ResponseAsync);
        UpsertDocumentsRequest request = Batch(await server.NewCollectionAsync(), Doc("a", "text"));
        request.IncludeNearDuplicates = true;
        request.NearDuplicateThreshold = -0.1;
        await RpcAssert.InvalidFieldAsync("near_duplicate_threshold", () => server.Documents.UpsertDocumentsAsync(request).ResponseAsync);
    }

    [Fact]
    public async Task UpsertDocuments_IncludeNearDuplicates_ReportsIndexedNearDuplicatesWithExactJaccard()
    {
        string c = await server.NewCollectionAsync();
        string original = TestData.Seed2014;
        string edited = original.Replace("Xi Jinping", "President Xi", StringComparison.Ordinal).Replace("Astana", "the capital", StringComparison.Ordinal);
        await server.Documents.UpsertDocumentsAsync(Batch(c, Doc("original", original), Doc("other", TestData.Seed2016)));

        UpsertDocumentsRequest request = Batch(c, Doc("edited", edited));
        request.IncludeNearDuplicates = true;
        request.NearDuplicateThreshold = 0.5;
        UpsertResult result = Assert.Single((await server.Documents.UpsertDocumentsAsync(request)).Results);

        Assert.Equal(UpsertStatus.Created, result.Status);
        SimilarityMatch match = Assert.Single(result.NearDuplicates);
        Assert.Equal("original", match.Id);
        Assert.Equal(ReferenceJaccard.Jaccard(edited, original), match.Jaccard, 9);
    }

    [Fact]
    public async Task UpsertDocuments_SkipIfDuplicate_StoresOnlyUniqueDocumentsIncludingWithinTheBatch()
    {
        string c = await server.NewCollectionAsync();
        string a = TestData.Seed2014;
        await server.Documents.UpsertDocumentsAsync(Batch(c, Doc("a", a)));

        UpsertDocumentsRequest request = Batch(c,
            Doc("a-copy", a + " Reported by the wire."),
            Doc("b", TestData.Seed2016),
            Doc("b-copy", TestData.Seed2016.Replace("Nazarbayev", "Nazarbaev", StringComparison.Ordinal)));
        request.SkipIfDuplicate = true;
        UpsertDocumentsResponse response = await server.Documents.UpsertDocumentsAsync(request);

        Assert.Equal([UpsertStatus.SkippedDuplicate, UpsertStatus.Created, UpsertStatus.SkippedDuplicate], response.Results.Select(r => r.Status));
        Assert.Equal("a", response.Results[0].NearDuplicates.Single().Id);
        Assert.Equal("b", response.Results[2].NearDuplicates.Single().Id);
        Assert.Equal((1, 2), (response.CreatedCount, response.SkippedCount));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = "a-copy" }).ResponseAsync);
        Assert.Equal(2, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
    }

    [Fact]
    public async Task StreamUpsertDocuments_ManyMessages_StoresEveryDocumentAndSummarises()
    {
        string c = await server.NewCollectionAsync();
        using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call = server.Documents.StreamUpsertDocuments();
        for (int m = 0; m < 5; m++)
        {
            await call.RequestStream.WriteAsync(StreamBatch(c, [.. Enumerable.Range(0, 20).Select(i => Doc($"m{m}-d{i}", $"message {m} document {i} with some words"))]));
        }

        await call.RequestStream.WriteAsync(StreamBatch(c, Doc("m0-d0", "message 0 document 0 with some words")));
        await call.RequestStream.CompleteAsync();
        StreamUpsertDocumentsResponse summary = await call;

        Assert.Equal((6, 101, 100, 0, 1), (summary.MessageCount, summary.DocumentCount, summary.CreatedCount, summary.UpdatedCount, summary.UnchangedCount));
        Assert.Equal(100, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
    }

    [Fact]
    public async Task StreamUpsertDocuments_FromAClientBuiltBeforeItsOwnRequestMessage_IsUnderstood()
    {
        // Until StreamUpsertDocumentsRequest existed, the stream carried UpsertDocumentsRequest: such a
        // client still works, because the two messages have the same fields under the same numbers.
        var olderMethod = new Method<UpsertDocumentsRequest, StreamUpsertDocumentsResponse>(
            MethodType.ClientStreaming, DocumentService.Descriptor.FullName, "StreamUpsertDocuments",
            Marshallers.Create(m => m.ToByteArray(), UpsertDocumentsRequest.Parser.ParseFrom),
            Marshallers.Create(m => m.ToByteArray(), StreamUpsertDocumentsResponse.Parser.ParseFrom));
        string c = await server.NewCollectionAsync();
        using AsyncClientStreamingCall<UpsertDocumentsRequest, StreamUpsertDocumentsResponse> call =
            server.A.CreateCallInvoker().AsyncClientStreamingCall(olderMethod, null, new CallOptions());
        await call.RequestStream.WriteAsync(Batch(c, Doc("a", TestData.Seed2014), Doc("b", "a second, unrelated text")));
        UpsertDocumentsRequest duplicate = Batch(c, Doc("copy", TestData.Seed2014));
        duplicate.SkipIfDuplicate = true;
        duplicate.NearDuplicateThreshold = 0.9;
        await call.RequestStream.WriteAsync(duplicate);
        await call.RequestStream.CompleteAsync();
        StreamUpsertDocumentsResponse summary = await call;

        Assert.Equal((2, 3, 2, 1), (summary.MessageCount, summary.DocumentCount, summary.CreatedCount, summary.SkippedCount));
        Assert.Equal(["copy"], summary.SkippedIds);
        Assert.Equal(2, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
    }

    [Fact]
    public async Task StreamUpsertDocuments_BadMessage_FailsNamingItAndKeepsEarlierMessages()
    {
        string c = await server.NewCollectionAsync();
        using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call = server.Documents.StreamUpsertDocuments();
        // More good messages than the server commits at once, then a bad one, then one it must not store.
        for (int m = 0; m < 5; m++)
        {
            await call.RequestStream.WriteAsync(StreamBatch(c, Doc($"m{m}", $"message {m} of the stream"), Doc($"m{m}-second", $"the second document of message {m}")));
        }

        await call.RequestStream.WriteAsync(StreamBatch(c, Doc("b", "second message"), Doc("c", "")));
        try
        {
            await call.RequestStream.WriteAsync(StreamBatch(c, Doc("after", "a message after the bad one")));
        }
        catch (RpcException)
        {
            // The call may have ended with the bad message's error already.
        }

        await RpcAssert.InvalidFieldAsync("messages[5].documents[1].text", () => call.ResponseAsync);

        Assert.Equal(10, (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
        await server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = "m4-second" });
    }
}

public sealed class DocumentServiceTestsOnMemory(MemoryReplicas server) : DocumentServiceTests(server), IClassFixture<MemoryReplicas>;

public sealed class DocumentServiceTestsOnSqlite(SqliteReplicas server) : DocumentServiceTests(server), IClassFixture<SqliteReplicas>;

public sealed class DocumentServiceTestsOnRedis(RedisReplicas server) : DocumentServiceTests(server), IClassFixture<RedisReplicas>;
