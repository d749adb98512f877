using Compare.Server.Storage;
using Compare.Server.Storage.Local;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using DocumentSketch = Compare.Core.Indexing.DocumentSketch;
using IndexedSketch = Compare.Core.Indexing.IndexedSketch;

namespace Compare.Server.Tests;

[Collection(ServerTestGroup.Name)]
public sealed class DeduplicateTests(ServerFixture server)
{
    private async Task<(string Collection, IReadOnlyList<(string Id, string Text)> Corpus)> BbcCollectionAsync()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        string c = await server.NewCollectionAsync();
        using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call = server.Documents.StreamUpsertDocuments();
        foreach ((string Id, string Text)[] chunk in corpus.Chunk(250))
        {
            var message = new StreamUpsertDocumentsRequest { Collection = c };
            message.Documents.AddRange(chunk.Select(d => new Document { Id = d.Id, Text = d.Text }));
            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        StreamUpsertDocumentsResponse summary = await call;
        Assert.Equal(corpus.Count, summary.CreatedCount);
        return (c, corpus);
    }

    private static async Task<List<DeduplicateResponse>> ReadAllAsync(AsyncServerStreamingCall<DeduplicateResponse> call)
    {
        var events = new List<DeduplicateResponse>();
        await foreach (DeduplicateResponse e in call.ResponseStream.ReadAllAsync())
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Deduplicate_MoreCandidatePairsThanTheBudget_IsResourceExhaustedBeforeVerifyingAndSaysHowToNarrow()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxDeduplicatePairs"] = "3" });
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            // Three copies of one article: three candidate pairs, at the budget; a fourth copy makes six.
            string text = TestData.BbcCorpus()[0].Text;
            await documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Documents = { Enumerable.Range(0, 3).Select(i => new Document { Id = $"copy-{i}", Text = text + $" Copy {i}." }) } });
            Assert.Single(await ReadAllAsync(similarity.Deduplicate(new DeduplicateRequest())), e => e.Cluster is not null);

            await documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Documents = { new Document { Id = "copy-3", Text = text + " Copy 3." } } });
            RpcException e = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => ReadAllAsync(similarity.Deduplicate(new DeduplicateRequest())));
            Assert.Contains("6 candidate pairs, over Limits:MaxDeduplicatePairs (3)", e.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("higher threshold", e.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Deduplicate_BbcCorpus_FindsEveryKnownPairAndStreamsProgressClustersThenSummary()
    {
        (string c, IReadOnlyList<(string Id, string Text)> corpus) = await BbcCollectionAsync();
        Dictionary<(int, int), double> reference = ReferenceJaccard.Pairs([.. corpus.Select(d => d.Text)], 0.3);
        var position = corpus.Select((d, i) => (d.Id, i)).ToDictionary(x => x.Id, x => x.i);

        using AsyncServerStreamingCall<DeduplicateResponse> call = server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c, Threshold = 0.8, IncludePairs = true });
        List<DeduplicateResponse> events = await ReadAllAsync(call);

        // Order: progress first, then clusters, then pairs, then exactly one summary at the end.
        DeduplicateResponse.EventOneofCase[] kinds = [.. events.Select(e => e.EventCase)];
        Assert.Equal(DeduplicateResponse.EventOneofCase.Progress, kinds[0]);
        Assert.Equal(DeduplicateResponse.EventOneofCase.Summary, kinds[^1]);
        Assert.Equal(kinds.OrderBy(k => k switch
        {
            DeduplicateResponse.EventOneofCase.Progress => 0,
            DeduplicateResponse.EventOneofCase.Cluster => 1,
            DeduplicateResponse.EventOneofCase.Pair => 2,
            _ => 3,
        }), kinds);

        var clusterOf = new Dictionary<string, int>();
        List<DuplicateCluster> clusters = [.. events.Where(e => e.Cluster is not null).Select(e => e.Cluster)];
        for (int i = 0; i < clusters.Count; i++)
        {
            Assert.Equal(clusters[i].RepresentativeId, clusters[i].Members[0].Id);
            foreach (ClusterMember m in clusters[i].Members)
            {
                Assert.True(clusterOf.TryAdd(m.Id, i), $"{m.Id} is in two clusters");
            }
        }

        var mustFind = reference.Where(kv => kv.Value >= 0.85).Select(kv => kv.Key).ToList();
        Assert.True(mustFind.Count > 100, $"the BBC corpus holds over a hundred pairs at J ≥ 0.85, found {mustFind.Count}");
        foreach ((int a, int b) in mustFind)
        {
            string ida = corpus[a].Id, idb = corpus[b].Id;
            Assert.True(clusterOf.TryGetValue(ida, out int ca) && clusterOf.TryGetValue(idb, out int cb) && ca == cb, $"{ida} and {idb} (J = {reference[(a, b)]:F3}) not clustered together");
        }

        List<DuplicatePair> pairs = [.. events.Where(e => e.Pair is not null).Select(e => e.Pair)];
        Assert.All(pairs, p =>
        {
            (int a, int b) = (position[p.LeftId], position[p.RightId]);
            Assert.Equal(reference[(Math.Min(a, b), Math.Max(a, b))], p.Jaccard, 2);
            Assert.True(p.Jaccard >= 0.8);
        });

        DeduplicateSummary summary = events[^1].Summary;
        Assert.Equal(corpus.Count, summary.DocumentCount);
        Assert.Equal(clusters.Count, summary.ClusterCount);
        Assert.Equal(clusters.Sum(x => x.Members.Count - 1), summary.DuplicateCount);
        Assert.Equal(pairs.Count, summary.VerifiedPairCount);
        Assert.True(summary.CandidatePairCount >= summary.VerifiedPairCount);
        Assert.Equal(0.8, summary.Threshold);
        Assert.True(summary.Elapsed.ToTimeSpan() > TimeSpan.Zero);

        FindSimilarResponse similar = await server.Similarity.FindSimilarAsync(new FindSimilarRequest
        {
            Collection = c,
            Query = new DocumentRef { Id = corpus[mustFind[0].Item1].Id },
            Threshold = 0.85,
        });
        Assert.Contains(similar.Matches, m => m.Id == corpus[mustFind[0].Item2].Id);
    }

    [Fact]
    public async Task Deduplicate_LongestPolicy_PicksTheLongestMemberAsRepresentative()
    {
        string c = await server.NewCollectionAsync();
        string text = TestData.Seed2014;
        var request = new UpsertDocumentsRequest { Collection = c };
        request.Documents.Add(new Document { Id = "short", Text = text });
        request.Documents.Add(new Document { Id = "long", Text = text + " The talks lasted for two hours and ended with a joint statement." });
        request.Documents.Add(new Document { Id = "other", Text = TestData.Seed2016 });
        await server.Documents.UpsertDocumentsAsync(request);

        List<DeduplicateResponse> first = await ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c }));
        List<DeduplicateResponse> longest = await ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest
        {
            Collection = c,
            Representative = RepresentativePolicy.Longest,
        }));

        Assert.Equal("short", Assert.Single(first, e => e.Cluster is not null).Cluster.RepresentativeId);
        DuplicateCluster cluster = Assert.Single(longest, e => e.Cluster is not null).Cluster;
        Assert.Equal("long", cluster.RepresentativeId);
        Assert.Equal(["long", "short"], cluster.Members.Select(m => m.Id));
        Assert.Equal(1.0, cluster.Members[0].Jaccard);
        Assert.Equal(ReferenceJaccard.Jaccard(text, text + " The talks lasted for two hours and ended with a joint statement."), cluster.Members[1].Jaccard, 9);
        Assert.Equal(1, longest[^1].Summary.DuplicateCount);
    }

    [Fact]
    public async Task Deduplicate_CancelledByTheClient_EndsCancelledAndTheServerStaysHealthy()
    {
        (string c, _) = await BbcCollectionAsync();
        using var cts = new CancellationTokenSource();
        using AsyncServerStreamingCall<DeduplicateResponse> call = server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c, Threshold = 0.1 }, cancellationToken: cts.Token);
        await cts.CancelAsync();

        await RpcAssert.FailsAsync(StatusCode.Cancelled, async () => await ReadAllAsync(call));

        var health = new Health.HealthClient(server.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        List<DeduplicateResponse> again = await ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c }));
        Assert.NotNull(again[^1].Summary);
    }

    [Fact]
    public async Task Deduplicate_CancelledMidJob_CancelsTheRunningJob()
    {
        var store = new JobThatWaitsForCancellation(await StartedMemoryStoreAsync());
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(services => services.AddSingleton<IDocumentStore>(store));
        await using (app)
        using (channel)
        {
            using var cts = new CancellationTokenSource();
            using AsyncServerStreamingCall<DeduplicateResponse> call = new SimilarityService.SimilarityServiceClient(channel)
                .Deduplicate(new DeduplicateRequest(), cancellationToken: cts.Token);

            // The job is running and has reported progress: cancel it there.
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(DeduplicateStage.Loading, call.ResponseStream.Current.Progress.Stage);
            await cts.CancelAsync();

            await RpcAssert.FailsAsync(StatusCode.Cancelled, () => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Same(store.Cancelled.Task, await Task.WhenAny(store.Cancelled.Task, Task.Delay(TimeSpan.FromSeconds(10))));
        }
    }

    [Fact]
    public async Task Deduplicate_MoreJobsThanSlots_RefusesTheExtraOneUntilASlotIsFree()
    {
        var store = new JobThatWaitsForCancellation(await StartedMemoryStoreAsync());
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(services => services.AddSingleton<IDocumentStore>(store),
            new() { ["Limits:MaxConcurrentDeduplicateJobs"] = "1" });
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            using var first = new CancellationTokenSource();
            using AsyncServerStreamingCall<DeduplicateResponse> running = similarity.Deduplicate(new DeduplicateRequest(), cancellationToken: first.Token);
            Assert.True(await running.ResponseStream.MoveNext(CancellationToken.None));

            using AsyncServerStreamingCall<DeduplicateResponse> refused = similarity.Deduplicate(new DeduplicateRequest());
            RpcException e = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => refused.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Contains("Limits:MaxConcurrentDeduplicateJobs", e.Status.Detail, StringComparison.Ordinal);

            await first.CancelAsync();
            await store.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(await RetryUntilAdmittedAsync(() => similarity.Deduplicate(new DeduplicateRequest())));
        }
    }

    [Fact]
    public async Task Deduplicate_AClientThatNeverReads_IsAbortedAfterTheStallTimeoutAndHoldsNoJobSlot()
    {
        var logs = new CapturedLogs();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(logs, new() { ["Limits:MaxConcurrentDeduplicateJobs"] = "1", ["Limits:StalledStreamTimeout"] = "00:00:02" });
        await using (app)
        using (channel)
        {
            // 600 stories stored twice under long ids: 600 clusters and pairs, over a megabyte of stream, where the client's
            // HTTP/2 window holds 64 KB until it reads.
            List<(string Id, string Text)> stories = [.. TestData.BbcCorpus().Take(600)];
            var documents = new DocumentService.DocumentServiceClient(channel);
            foreach (int copy in new[] { 1, 2 })
            {
                var request = new UpsertDocumentsRequest();
                request.Documents.AddRange(stories.Select(d => new Document { Id = $"{d.Id}/copy-{copy}/{new string('x', 400)}", Text = d.Text }));
                await documents.UpsertDocumentsAsync(request);
            }

            var similarity = new SimilarityService.SimilarityServiceClient(channel);

            using AsyncServerStreamingCall<DeduplicateResponse> neverRead = similarity.Deduplicate(new DeduplicateRequest { IncludePairs = true });
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string? ended = null;
            while (ended is null && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
                ended = logs.Lines.Select(l => l.Message).FirstOrDefault(m => m.StartsWith("/compare.v1.SimilarityService/Deduplicate ", StringComparison.Ordinal));
            }

            Assert.NotNull(ended);
            Assert.True(ended.StartsWith("/compare.v1.SimilarityService/Deduplicate Cancelled", StringComparison.Ordinal), logs.All);
            Assert.DoesNotContain(logs.Lines, l => l.Message.Contains("unexpected", StringComparison.OrdinalIgnoreCase));

            // The only job slot is free, and a client that reads gets the whole answer.
            List<DeduplicateResponse> events = await similarity.Deduplicate(new DeduplicateRequest { IncludePairs = true }).ResponseStream.ReadAllAsync().ToListAsync();
            Assert.True(events.Single(e => e.Summary is not null).Summary.DuplicateCount >= 600);
        }
    }

    [Fact]
    public async Task Deduplicate_ServerStopping_TellsTheStreamUnavailableAndStopsWithinTheTimeout()
    {
        var store = new JobThatWaitsForCancellation(await StartedMemoryStoreAsync());
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(services => services.AddSingleton<IDocumentStore>(store),
            new() { ["Limits:ShutdownTimeout"] = "00:00:10" });
        await using (app)
        using (channel)
        {
            using AsyncServerStreamingCall<DeduplicateResponse> running = new SimilarityService.SimilarityServiceClient(channel).Deduplicate(new DeduplicateRequest());
            Assert.True(await running.ResponseStream.MoveNext(CancellationToken.None));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            Task stopping = app.StopAsync();
            RpcException e = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => running.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Contains("shutting down", e.Status.Detail, StringComparison.Ordinal);
            await stopping;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopped in {clock.Elapsed}");
            Assert.True(store.Cancelled.Task.IsCompleted);
        }
    }

    // The first slot is released when the cancelled call's handler returns, a moment after the job stops.
    private static async Task<bool> RetryUntilAdmittedAsync(Func<AsyncServerStreamingCall<DeduplicateResponse>> start)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            using AsyncServerStreamingCall<DeduplicateResponse> call = start();
            try
            {
                return await call.ResponseStream.MoveNext(CancellationToken.None);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    /// <summary>A store whose Deduplicate reports progress, then works until its token is cancelled.</summary>
    private static async Task<LocalDocumentStore> StartedMemoryStoreAsync()
    {
        var store = new LocalDocumentStore(new MemoryDocumentRecords(), TimeProvider.System, NullLogger<LocalDocumentStore>.Instance);
        await store.StartAsync(CancellationToken.None);
        await store.Loading;
        return store;
    }

    /// <summary>A store whose candidate pairs take until the call is cancelled to load.</summary>
    private sealed class JobThatWaitsForCancellation(IDocumentStore inner) : IDocumentStore
    {
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<Core.Clustering.IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, int depth, CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled.SetResult();
                throw;
            }

            throw new InvalidOperationException("unreachable");
        }

        public Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken) => inner.GetStatusAsync(cancellationToken);

        public Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken) => inner.RebuildIndexAsync(collection, cancellationToken);

        public Task<(Core.Shingling.DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken) =>
            inner.GetDocumentFrequenciesAsync(collection, cancellationToken);

        public Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken) =>
            inner.SaveDeduplicateResultAsync(collection, result, cancellationToken);

        public Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken) => inner.GetDeduplicateResultAsync(collection, cancellationToken);

        public Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken) =>
            inner.CreateCollectionAsync(name, settings, cancellationToken);

        public Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken) => inner.GetCollectionAsync(name, cancellationToken);

        public Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken) => inner.ListCollectionsAsync(cancellationToken);

        public Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken) => inner.DeleteCollectionAsync(name, cancellationToken);

        public Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken) =>
            inner.BeginWriteAsync(collection, settings, cancellationToken);

        public Task EnsureDurableAsync(CancellationToken cancellationToken) => inner.EnsureDurableAsync(cancellationToken);

        public Task<Storage.StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken) =>
            inner.GetDocumentAsync(collection, id, includeText, cancellationToken);

        public Task<ulong?> GetContentHashAsync(string collection, string id, CancellationToken cancellationToken) =>
            inner.GetContentHashAsync(collection, id, cancellationToken);

        public Task<IReadOnlyList<Storage.StoredDocument>> GetDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
            inner.GetDocumentsAsync(collection, ids, cancellationToken);

        public Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken) =>
            inner.ListDocumentsAsync(collection, afterId, limit, includeText, cancellationToken);

        public Task<(Storage.StoredDocument Document, DocumentSketch Sketch)?> GetDocumentAndSketchAsync(string collection, CollectionSettings settings, string id,
            CancellationToken cancellationToken) => inner.GetDocumentAndSketchAsync(collection, settings, id, cancellationToken);

        public Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken) =>
            inner.GetAllSketchesAsync(collection, settings, cancellationToken);

        public Task<Core.Phrases.PassageCandidates> GetPassageCandidatesAsync(string collection, CollectionSettings settings, uint[] fingerprints,
            int maxDocumentsPerFingerprint, bool withOwnCounts, int ranked, CancellationToken cancellationToken) =>
            inner.GetPassageCandidatesAsync(collection, settings, fingerprints, maxDocumentsPerFingerprint, withOwnCounts, ranked, cancellationToken);

        public Task<IReadOnlyDictionary<string, DocumentSketch>> GetSketchesAsync(string collection, CollectionSettings settings, IReadOnlyCollection<string> ids,
            CancellationToken cancellationToken) => inner.GetSketchesAsync(collection, settings, ids, cancellationToken);

        public Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, int depth,
            CancellationToken cancellationToken) => inner.GetCandidatesAsync(collection, settings, signature, depth, cancellationToken);
    }

    [Fact]
    public async Task Deduplicate_BadRequests_FailBeforeStreaming()
    {
        await RpcAssert.InvalidFieldAsync("threshold", () => ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest { Threshold = 2 })));
        await RpcAssert.InvalidFieldAsync("representative",
            () => ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest { Representative = (RepresentativePolicy)9 })));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest { Collection = "missing" })));
    }

    /// <summary>The seeds, an edited copy of each, and an unrelated text: two clusters at 0.5.</summary>
    private static UpsertDocumentsRequest TwoClusters(string collection)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.Add(new Document { Id = "2014", Text = TestData.Seed2014 });
        request.Documents.Add(new Document { Id = "2014-copy", Text = TestData.Seed2014.Replace("Xi Jinping", "Xi", StringComparison.Ordinal) });
        request.Documents.Add(new Document { Id = "2016", Text = TestData.Seed2016 });
        request.Documents.Add(new Document { Id = "2016-copy", Text = TestData.Seed2016.Replace("Kazakhstan", "Kazakstan", StringComparison.Ordinal) });
        request.Documents.Add(new Document { Id = "other", Text = "An unrelated story about the weather in a small town by the sea." });
        return request;
    }

    [Fact]
    public async Task GetLastDeduplicate_AfterARun_AnswersWhatTheRunStreamed()
    {
        string c = await server.NewCollectionAsync();
        await server.Documents.UpsertDocumentsAsync(TwoClusters(c));
        RpcException none = await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c }).ResponseAsync);
        Assert.Contains("run one", none.Status.Detail, StringComparison.Ordinal);

        DateTime before = DateTime.UtcNow;
        List<DeduplicateResponse> events = await ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest
        {
            Collection = c,
            Threshold = 0.5,
            Representative = RepresentativePolicy.Longest,
        }));
        GetLastDeduplicateResponse last = await server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c });

        Assert.Equal(events.Where(e => e.Cluster is not null).Select(e => e.Cluster), last.Clusters);
        Assert.Equal(2, last.Clusters.Count);
        Assert.Equal(events[^1].Summary, last.Summary);
        Assert.Equal((RepresentativePolicy.Longest, false), (last.Representative, last.Truncated));
        Assert.InRange(last.FinishTime.ToDateTime(), before, DateTime.UtcNow);

        // A refused run changes nothing; a collection made again under the name starts with none.
        await RpcAssert.InvalidFieldAsync("threshold", () => ReadAllAsync(server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c, Threshold = 3 })));
        Assert.Equal(last, await server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c }));
        await server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = c });
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c }).ResponseAsync);
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = c });
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c }).ResponseAsync);
        await RpcAssert.InvalidFieldAsync("collection", () => server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = "bad name!" }).ResponseAsync);
    }

    [Fact]
    public async Task GetLastDeduplicate_MoreClustersThanTheLimit_KeepsTheFirstAndSaysSo()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxRememberedClusters"] = "1" });
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(TwoClusters(""));
            List<DeduplicateResponse> events = await ReadAllAsync(similarity.Deduplicate(new DeduplicateRequest { Threshold = 0.5 }));

            GetLastDeduplicateResponse last = await similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest());

            Assert.True(last.Truncated);
            Assert.Equal(events.First(e => e.Cluster is not null).Cluster, Assert.Single(last.Clusters));
            Assert.Equal(2, last.Summary.ClusterCount);
        }
    }
}
