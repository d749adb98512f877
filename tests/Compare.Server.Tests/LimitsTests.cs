using System.Text;
using Compare.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

[Collection(TimingSensitive.Name)]
public sealed class LimitsTests
{
    private const int OneMegabyte = 1024 * 1024;

    private static UpsertDocumentsRequest OneDocument(string id, string text) => new() { Documents = { new Document { Id = id, Text = text } } };

    [Fact]
    public async Task Compare_MaxPhrases_CapsTheAnswerAndRefusesMoreThanTheLimit()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxPhrases"] = "2" });
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            var request = new CompareRequest { Left = new DocumentRef { Text = TestData.Seed2014 }, Right = new DocumentRef { Text = TestData.Seed2016 }, IncludeFuzzy = false };

            CompareResponse capped = await similarity.CompareAsync(request);
            Assert.Equal(2, capped.SharedPhrases.Count);
            Assert.True(capped.TotalPhraseCount > 2, $"{capped.TotalPhraseCount} phrases in all");

            request.MaxPhrases = 3;
            Google.Rpc.BadRequest.Types.FieldViolation violation = await RpcAssert.InvalidFieldAsync("max_phrases", () => similarity.CompareAsync(request).ResponseAsync);
            Assert.Contains("Limits:MaxPhrases", violation.Description, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Compare_DeadlinePassesDuringALongComparison_TheServerStopsTheWork()
    {
        var logs = new CapturedLogs();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(logs);
        await using (app)
        using (channel)
        {
            var random = new Random(5);
            string Words() => string.Join(' ', Enumerable.Range(0, 4_800_000).Select(_ => "abcdef"[random.Next(6)].ToString()));
            var request = new CompareRequest { Left = new DocumentRef { Text = Words() }, Right = new DocumentRef { Text = Words() }, IncludeDiff = true, MaxBridgeWords = 3 };

            await RpcAssert.FailsAsync(StatusCode.DeadlineExceeded,
                () => new SimilarityService.SimilarityServiceClient(channel).CompareAsync(request, deadline: DateTime.UtcNow.AddSeconds(2)).ResponseAsync);

            // The server's own line for the call: it ended when the deadline passed, not when the work would have
            // (sketching, phrases and the diff of these texts take over 12 s uncancelled).
            (string _, string line) = await EventuallyAsync(() => logs.Lines.FirstOrDefault(l => l.Message.StartsWith("/compare.v1.SimilarityService/Compare ", StringComparison.Ordinal)));
            Assert.Matches(@"^/compare\.v1\.SimilarityService/Compare (Cancelled|DeadlineExceeded) in \d+(\.\d)? ms", line);
            double elapsed = double.Parse(System.Text.RegularExpressions.Regex.Match(line, @" in ([\d.]+) ms").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(elapsed < 6000, line);
        }
    }

    [Fact]
    public async Task StreamUpsert_TheClientResetsTheStream_IsLoggedAsCancelledNotAsAnUnexpectedFailure()
    {
        var logs = new CapturedLogs();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(logs);
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            using (var cancel = new CancellationTokenSource())
            {
                // One batch sent, then the client goes away mid-stream: HTTP/2 resets the stream.
                using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call = documents.StreamUpsertDocuments(cancellationToken: cancel.Token);
                await call.RequestStream.WriteAsync(new StreamUpsertDocumentsRequest { Documents = { new Document { Id = "first", Text = TestData.Seed2014 } } });
                for (int attempt = 0; attempt < 100 && (await documents.ListDocumentsAsync(new ListDocumentsRequest())).Documents.Count == 0; attempt++)
                {
                    await Task.Delay(50);
                }

                await cancel.CancelAsync();
            }

            (string _, string line) = await EventuallyAsync(() => logs.Lines.FirstOrDefault(l => l.Message.StartsWith("/compare.v1.DocumentService/StreamUpsertDocuments ", StringComparison.Ordinal)));
            Assert.True(line.StartsWith("/compare.v1.DocumentService/StreamUpsertDocuments Cancelled", StringComparison.Ordinal), logs.All);
            Assert.DoesNotContain(logs.Lines, l => l.Message.Contains("unexpected", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("first", (await documents.GetDocumentAsync(new GetDocumentRequest { Id = "first" })).Document.Id);
        }
    }

    private static async Task<(string, string)> EventuallyAsync(Func<(string Category, string Message)> find)
    {
        for (int attempt = 0; attempt < 300; attempt++, await Task.Delay(100))
        {
            if (find() is { Message: not null } found)
            {
                return found;
            }
        }

        throw new TimeoutException("the server logged no line for the call");
    }

    [Fact]
    public async Task Upsert_GzipRequestThatInflatesPastTheLimit_IsResourceExhaustedAndStoresNothing()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxReceiveMessageBytes"] = OneMegabyte.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var gzip = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
            string bomb = string.Concat(Enumerable.Repeat("word ", 20 * OneMegabyte / 5));

            RpcException e = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => documents.UpsertDocumentsAsync(OneDocument("bomb", bomb), gzip).ResponseAsync);
            Assert.Contains("Limits:MaxReceiveMessageBytes", e.Status.Detail, StringComparison.Ordinal);
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Id = "bomb" }).ResponseAsync);

            // Compressed requests under the limit are served, and an uncompressed one over it is refused too.
            string fine = string.Concat(Enumerable.Repeat("word ", OneMegabyte / 10));
            Assert.Equal(1, (await documents.UpsertDocumentsAsync(OneDocument("fine", fine), gzip)).CreatedCount);
            await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => documents.UpsertDocumentsAsync(OneDocument("big", bomb[..(2 * OneMegabyte)])).ResponseAsync);
        }
    }

    [Fact]
    public async Task Upsert_MetadataOverTheByteLimit_IsInvalidArgumentNamingTheFieldAndStoresNothing()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxMetadataBytes"] = "1000" });
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var request = new UpsertDocumentsRequest { Documents = { new Document { Id = "small", Text = "a short text" }, new Document { Id = "heavy", Text = "nine byte" } } };
            request.Documents[1].Metadata.Add("source", new string('é', 500)); // 6 + 1,000 bytes of UTF-8

            RpcException e = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => documents.UpsertDocumentsAsync(request).ResponseAsync);
            Assert.StartsWith("documents[1].metadata: is 1006 bytes", e.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("Limits:MaxMetadataBytes", e.Status.Detail, StringComparison.Ordinal);
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Id = "small" }).ResponseAsync);

            request.Documents[1].Metadata["source"] = new string('é', 497); // 6 + 994 bytes: at the limit
            Assert.Equal(2, (await documents.UpsertDocumentsAsync(request)).CreatedCount);
        }
    }

    [Fact]
    public async Task Deduplicate_AClusterLargerThanTheByteBudget_ComesInPartsThatEachFitAndTogetherHoldEveryMember()
    {
        const int budget = 4000;
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxResponseBytes"] = "4000" });
        await using (app)
        using (channel)
        {
            // 300 copies of one story under long ids: one cluster of about 17 KB of members.
            var request = new UpsertDocumentsRequest();
            string[] ids = [.. Enumerable.Range(0, 300).Select(i => $"syndicated/copy-of-the-same-story-{i:D4}")];
            request.Documents.AddRange(ids.Select(id => new Document { Id = id, Text = TestData.Seed2014 }));
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(request);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);

            List<DeduplicateResponse> events = await similarity.Deduplicate(new DeduplicateRequest()).ResponseStream.ReadAllAsync().ToListAsync();
            DuplicateCluster[] parts = [.. events.Where(e => e.Cluster is not null).Select(e => e.Cluster)];
            Assert.True(parts.Length >= 4, $"{parts.Length} parts");
            Assert.All(parts, p => Assert.True(new DeduplicateResponse { Cluster = p }.CalculateSize() <= budget, $"a part of {p.CalculateSize()} bytes"));
            Assert.Equal(Enumerable.Range(0, parts.Length), parts.Select(p => p.Part));
            Assert.All(parts, p => Assert.Equal((parts.Length, parts[0].RepresentativeId), (p.PartCount, p.RepresentativeId)));
            Assert.Equal(ids.Order(StringComparer.Ordinal), parts.SelectMany(p => p.Members).Select(m => m.Id).Order(StringComparer.Ordinal));
            Assert.Equal(parts[0].RepresentativeId, parts[0].Members[0].Id);
            Assert.Equal(1, events.Single(e => e.Summary is not null).Summary.ClusterCount);

            // What the collection remembers fits the same budget: the cluster's first members, in parts as streamed.
            GetLastDeduplicateResponse last = await similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest());
            Assert.True(last.CalculateSize() <= budget, $"{last.CalculateSize()} bytes");
            Assert.True(last.Truncated);
            Assert.NotEmpty(last.Clusters);
            Assert.Equal(Enumerable.Range(0, last.Clusters.Count), last.Clusters.Select(p => p.Part));
            ClusterMember[] streamed = [.. parts.SelectMany(p => p.Members)];
            Assert.Equal(streamed.Take(last.Clusters.Sum(p => p.Members.Count)), last.Clusters.SelectMany(p => p.Members));
        }
    }

    [Fact]
    public async Task Compare_AnAnswerOverTheByteBudget_IsCutToItWithWholeScoresAndSaysSo()
    {
        const int budget = 6000;
        // Each sentence of the story repeated, against the story: many passages and many occurrences, and a long diff.
        string left = string.Join(" ", Enumerable.Repeat(TestData.Seed2014, 4));
        var request = new CompareRequest { Left = new DocumentRef { Text = left }, Right = new DocumentRef { Text = TestData.Seed2016 + " " + TestData.Seed2014 }, IncludeDiff = true, IncludeSimilarSentences = true };
        CompareResponse whole;
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        {
            whole = await new SimilarityService.SimilarityServiceClient(channel).CompareAsync(request);
        }

        Assert.False(whole.Truncated);
        Assert.True(whole.CalculateSize() > 4 * budget, $"the whole answer is {whole.CalculateSize()} bytes");
        (app, channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxResponseBytes"] = "6000" });
        await using (app)
        using (channel)
        {
            CompareResponse cut = await new SimilarityService.SimilarityServiceClient(channel).CompareAsync(request);
            Assert.True(cut.Truncated);
            Assert.True(cut.CalculateSize() <= budget, $"{cut.CalculateSize()} bytes");
            Assert.Equal((whole.Jaccard, whole.LeftCoverage, whole.RightCoverage, whole.TotalPhraseCount, whole.Fuzzy),
                (cut.Jaccard, cut.LeftCoverage, cut.RightCoverage, cut.TotalPhraseCount, cut.Fuzzy));
            // Kept in order of priority, each list a prefix of the whole one.
            Assert.Equal(whole.LeftShared.Take(cut.LeftShared.Count), cut.LeftShared);
            Assert.Equal(whole.SharedPhrases.Take(cut.SharedPhrases.Count), cut.SharedPhrases);
            Assert.Equal(whole.Diff.Take(cut.Diff.Count), cut.Diff);
            Assert.True(cut.Diff.Count < whole.Diff.Count || cut.SimilarSentences.Count < whole.SimilarSentences.Count);
        }
    }

    [Fact]
    public async Task ListDocuments_WithTextsOverTheByteBudget_EndsEachPageAtItAndPagesThroughEveryDocumentOnce()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxResponseBytes"] = "10000" });
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(40)];
            var request = new UpsertDocumentsRequest();
            request.Documents.AddRange(corpus.Select(d => new Document { Id = d.Id, Text = d.Text }));
            await documents.UpsertDocumentsAsync(request);

            var seen = new List<string>();
            string token = string.Empty;
            int pages = 0;
            do
            {
                ListDocumentsResponse page = await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 100, PageToken = token, IncludeText = true });
                long textBytes = page.Documents.Sum(d => (long)System.Text.Encoding.UTF8.GetByteCount(d.Text));
                Assert.True(page.Documents.Count == 1 || textBytes <= 10_000, $"a page of {page.Documents.Count} documents holds {textBytes} bytes of text");
                Assert.All(page.Documents, d => Assert.Equal(corpus.Single(c => c.Id == d.Id).Text, d.Text));
                seen.AddRange(page.Documents.Select(d => d.Id));
                token = page.NextPageToken;
                pages++;
            }
            while (token.Length > 0);

            Assert.Equal(corpus.Select(d => d.Id).Order(StringComparer.Ordinal), seen);
            Assert.True(pages >= 8, $"{pages} pages");
            Assert.Equal(40, (await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 100 })).Documents.Count);
        }
    }

    [Fact]
    public async Task Upsert_NearDuplicateListsOverTheByteBudget_AreCutWithEveryResultKept()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxResponseBytes"] = "3000" });
        await using (app)
        using (channel)
        {
            // 60 copies of one story: each later copy has every earlier one as a near-duplicate, about 60 KB of lists.
            var request = new UpsertDocumentsRequest { IncludeNearDuplicates = true, MaxNearDuplicates = 100 };
            request.Documents.AddRange(Enumerable.Range(0, 60).Select(i => new Document { Id = $"copy-{i:D2}", Text = TestData.Seed2014 }));
            UpsertDocumentsResponse response = await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(request);

            Assert.True(response.CalculateSize() <= 3000, $"{response.CalculateSize()} bytes");
            Assert.True(response.NearDuplicatesTruncated);
            Assert.Equal(60, response.CreatedCount);
            Assert.Equal(request.Documents.Select(d => d.Id), response.Results.Select(r => r.Id));
            // The lists kept are whole, in order, up to the first cut one.
            int listed = response.Results.TakeWhile(r => r.NearDuplicates.Count == int.Parse(r.Id[5..], System.Globalization.CultureInfo.InvariantCulture)).Count();
            Assert.InRange(listed, 2, 59);
            Assert.All(response.Results.Skip(listed + 1), r => Assert.Empty(r.NearDuplicates));
        }
    }

    [Fact]
    public async Task Upsert_IdLength_IsCountedInCharactersNotUtf16Units()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            // 300 emoji are 600 UTF-16 units and 300 characters: within the 512 limit.
            string emoji = string.Concat(Enumerable.Repeat("\U0001F600", 300));
            Assert.Equal(1, (await documents.UpsertDocumentsAsync(OneDocument(emoji, "some text"))).CreatedCount);
            RpcException e = await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
                () => documents.UpsertDocumentsAsync(OneDocument(string.Concat(Enumerable.Repeat("\U0001F600", 513)), "some text")).ResponseAsync);
            Assert.Contains("is 513 characters long; the limit is 512", e.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("news/../sport")]
    [InlineData("news/./001")]
    [InlineData("news/..")]
    public async Task Upsert_AnIdWithADotSegment_IsInvalidArgumentBecauseUrlsWouldAliasIt(string id)
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            RpcException e = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => documents.UpsertDocumentsAsync(OneDocument(id, "some text")).ResponseAsync);
            Assert.StartsWith("documents[0].id:", e.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("path segment", e.Status.Detail, StringComparison.Ordinal);

            // Dots inside a segment are fine, and so are names that only look like dot segments.
            var fine = new UpsertDocumentsRequest { Documents = { new Document { Id = "a.b", Text = "one" }, new Document { Id = "..a/b..", Text = "two" }, new Document { Id = "x/...", Text = "three" } } };
            Assert.Equal(3, (await documents.UpsertDocumentsAsync(fine)).CreatedCount);
            var collections = new CollectionService.CollectionServiceClient(channel);
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => collections.CreateCollectionAsync(new CreateCollectionRequest { Name = id.Contains('/', StringComparison.Ordinal) ? ".." : id }).ResponseAsync);
            Assert.Equal("news.v2", (await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "news.v2" })).Collection.Name);
        }
    }

    [Fact]
    public async Task StreamUpsert_SkippingMoreIdsThanTheByteBudget_ListsUpToItAndCountsThemAll()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxListedIdBytes"] = "1000" });
        await using (app)
        using (channel)
        {
            // 60 copies of one article under 100-character ids: the first is stored, 59 are skipped, about 5,900 bytes of ids.
            string text = TestData.BbcCorpus()[3].Text;
            using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call = new DocumentService.DocumentServiceClient(channel).StreamUpsertDocuments();
            for (int message = 0; message < 3; message++)
            {
                var request = new StreamUpsertDocumentsRequest { SkipIfDuplicate = true };
                request.Documents.AddRange(Enumerable.Range(0, 20).Select(i => new Document { Id = $"{message * 20 + i:D3}".PadLeft(100, 'x'), Text = text }));
                await call.RequestStream.WriteAsync(request);
            }

            await call.RequestStream.CompleteAsync();
            StreamUpsertDocumentsResponse summary = await call;

            Assert.Equal(59, summary.SkippedCount);
            Assert.True(summary.SkippedIdsTruncated);
            Assert.Equal(9, summary.SkippedIds.Count); // 9 × 103 bytes fit in 1,000, 10 do not
            Assert.Equal(Enumerable.Range(1, 9).Select(i => $"{i:D3}".PadLeft(100, 'x')), summary.SkippedIds);
        }
    }

    [Fact]
    public async Task Upsert_InvalidUtf8OnTheWire_IsInvalidArgumentAndStoresNothing()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        {
            byte[] valid = OneDocument("bad-bytes", "café au lait").ToByteArray();
            byte[] invalid = [.. valid];
            int at = Encoding.UTF8.GetBytes("café au lait") is var text ? valid.AsSpan().IndexOf(text) : -1;
            invalid[at + 3] = 0xFF; // the first byte of "é" becomes a byte UTF-8 never uses
            var method = new Method<byte[], byte[]>(MethodType.Unary, "compare.v1.DocumentService", "UpsertDocuments",
                Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

            RpcException e = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(), invalid).ResponseAsync);
            Assert.Contains("UTF-8", e.Status.Detail, StringComparison.Ordinal);
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => new DocumentService.DocumentServiceClient(channel).GetDocumentAsync(new GetDocumentRequest { Id = "bad-bytes" }).ResponseAsync);
        }
    }
}
