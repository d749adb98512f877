using Compare.Server.Storage;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Compare.Server.Tests;

/// <summary>Scale-out: replicas sharing one real redis-server.</summary>
public sealed class RedisStoreTests
{
    private static Dictionary<string, string?> RedisAt(RedisServer redis, string prefix) => new()
    {
        ["Storage:Provider"] = "Redis",
        ["Redis:Configuration"] = redis.Configuration,
        ["Redis:KeyPrefix"] = prefix,
    };

    private static FindSimilarRequest Similar(string collection, string text) =>
        new() { Collection = collection, Query = new DocumentRef { Text = text }, Threshold = 0.5, TopK = 50 };

    [Fact]
    public async Task TwoReplicas_WriteThroughOne_ReadQueryAndDeduplicateThroughTheOther()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(400)];
        (WebApplication appA, GrpcChannel a) = await ServerFixture.StartAsync(settings: RedisAt(redis, "two"));
        (WebApplication appB, GrpcChannel b) = await ServerFixture.StartAsync(settings: RedisAt(redis, "two"));
        await using (appA)
        await using (appB)
        using (a)
        using (b)
        {
            await new CollectionService.CollectionServiceClient(a).CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
            Collection seenByB = (await new CollectionService.CollectionServiceClient(b).GetCollectionAsync(new GetCollectionRequest { Name = "news" })).Collection;
            Assert.Equal(0, seenByB.DocumentCount);

            UpsertDocumentsResponse written = await new DocumentService.DocumentServiceClient(a).UpsertDocumentsAsync(ServerFixture.Batch("news", corpus));
            Assert.Equal(corpus.Count, written.CreatedCount);

            // Every document is found through the other replica at once, with the same answer a local index gives.
            var similarB = new SimilarityService.SimilarityServiceClient(b);
            foreach ((string id, string text) in corpus.Take(40))
            {
                FindSimilarResponse found = await similarB.FindSimilarAsync(Similar("news", text));
                Assert.Contains(found.Matches, m => m.Id == id && m.Jaccard == 1);
                Assert.All(found.Matches, m => Assert.InRange(m.Jaccard, 0.5, 1));
                Assert.Equal(found.Matches.Select(m => m.Id).Distinct().Count(), found.Matches.Count);
                Assert.Equal(found.Matches.OrderByDescending(m => m.Jaccard).Select(m => m.Jaccard), found.Matches.Select(m => m.Jaccard));
            }

            // The same pairs as the engine-free reference at 0.85, through replica B.
            var clustered = new HashSet<(string, string)>();
            var clusters = new List<DuplicateCluster>();
            using (AsyncServerStreamingCall<DeduplicateResponse> call = similarB.Deduplicate(new DeduplicateRequest { Collection = "news", Threshold = 0.8, IncludePairs = true }))
            {
                await foreach (DeduplicateResponse r in call.ResponseStream.ReadAllAsync())
                {
                    if (r.Pair is { } p)
                    {
                        clustered.Add(string.CompareOrdinal(p.LeftId, p.RightId) < 0 ? (p.LeftId, p.RightId) : (p.RightId, p.LeftId));
                    }

                    if (r.Cluster is { } cluster)
                    {
                        clusters.Add(cluster);
                    }
                }
            }

            // The run through B is what A answers as the collection's last Deduplicate.
            GetLastDeduplicateResponse last = await new SimilarityService.SimilarityServiceClient(a).GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = "news" });
            Assert.NotEmpty(clusters);
            Assert.Equal(clusters, last.Clusters);

            Dictionary<(int, int), double> reference = ReferenceJaccard.Pairs([.. corpus.Select(d => d.Text)], 0.85);
            Assert.NotEmpty(reference);
            foreach ((int i, int j) in reference.Keys)
            {
                (string left, string right) = (corpus[i].Id, corpus[j].Id);
                Assert.Contains(string.CompareOrdinal(left, right) < 0 ? (left, right) : (right, left), clustered);
            }

            // Retrying a batch after a failover is a no-op.
            UpsertDocumentsResponse retried = await new DocumentService.DocumentServiceClient(b).UpsertDocumentsAsync(ServerFixture.Batch("news", corpus.Take(20)));
            Assert.All(retried.Results, r => Assert.Equal(UpsertStatus.Unchanged, r.Status));

            // An update and a delete through B are seen by A.
            var documentsB = new DocumentService.DocumentServiceClient(b);
            await documentsB.UpsertDocumentsAsync(ServerFixture.Batch("news", [(corpus[0].Id, corpus[1].Text)]));
            await documentsB.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "news", Ids = { corpus[1].Id } });
            FindSimilarResponse afterEdit = await new SimilarityService.SimilarityServiceClient(a).FindSimilarAsync(Similar("news", corpus[1].Text));
            Assert.Contains(afterEdit.Matches, m => m.Id == corpus[0].Id && m.Jaccard == 1);
            Assert.DoesNotContain(afterEdit.Matches, m => m.Id == corpus[1].Id);
            FindSimilarResponse oldText = await new SimilarityService.SimilarityServiceClient(a).FindSimilarAsync(Similar("news", corpus[0].Text));
            Assert.DoesNotContain(oldText.Matches, m => m.Id == corpus[0].Id);

            ListDocumentsResponse page = await new DocumentService.DocumentServiceClient(a).ListDocumentsAsync(new ListDocumentsRequest { Collection = "news", PageSize = 1000 });
            Assert.Equal(corpus.Count - 1, page.TotalCount);
            Collection stats = (await new CollectionService.CollectionServiceClient(a).GetCollectionAsync(new GetCollectionRequest { Name = "news" })).Collection;
            Assert.Equal(corpus.Count - 1, stats.DocumentCount);
            Assert.Equal(corpus.Skip(2).Sum(d => (long)System.Text.Encoding.UTF8.GetByteCount(d.Text)) + System.Text.Encoding.UTF8.GetByteCount(corpus[1].Text), stats.TextBytes);
            Assert.Equal(page.Documents.Select(d => d.Id).Order(StringComparer.Ordinal), page.Documents.Select(d => d.Id));
        }
    }

    [Fact]
    public async Task RebuildCollectionIndex_AfterBucketsAndPassagesAreLost_FindsEveryDocumentAndItsPassagesAgain()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(50)];
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "rebuild"));
        await using (app)
        using (channel)
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus));
            await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
            {
                // The grouped band buckets and the handles they hold: what a failover may lose while documents survive.
                // And the passage strings (a range of handles and a group of fingerprints).
                IServer server = direct.GetServer(redis.Configuration);
                RedisKey[] buckets = [.. server.Keys(pattern: "*}g*:*:*"), .. server.Keys(pattern: "*}h*")];
                RedisKey[] passages = [.. server.Keys(pattern: "*}q*:*")];
                Assert.True(buckets.Length > 18);
                Assert.True(passages.Length > 100);
                await direct.GetDatabase().KeyDeleteAsync([.. buckets, .. passages]);
            }

            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            var passagesOf = new FindSharedPassagesRequest { Query = new DocumentRef { Text = corpus[3].Text } };
            Assert.Empty((await similarity.FindSimilarAsync(Similar(string.Empty, corpus[3].Text))).Matches);
            Assert.Empty((await similarity.FindSharedPassagesAsync(passagesOf)).Matches);

            RebuildCollectionIndexResponse rebuilt = await new CollectionService.CollectionServiceClient(channel).RebuildCollectionIndexAsync(new RebuildCollectionIndexRequest());

            Assert.Equal(corpus.Count, rebuilt.IndexedDocumentCount);
            Assert.Contains((await similarity.FindSimilarAsync(Similar(string.Empty, corpus[3].Text))).Matches, m => m.Id == corpus[3].Id);
            FindSharedPassagesResponse afterRebuild = await similarity.FindSharedPassagesAsync(passagesOf);
            Assert.Equal(corpus[3].Id, afterRebuild.Matches[0].Id);

            // A rebuild of an index that lost nothing adds nothing: each passage entry is held once.
            long held = await PassageBytesAsync(redis);
            await new CollectionService.CollectionServiceClient(channel).RebuildCollectionIndexAsync(new RebuildCollectionIndexRequest());
            Assert.Equal(held, await PassageBytesAsync(redis));
            Assert.Equal(afterRebuild.Matches, (await similarity.FindSharedPassagesAsync(passagesOf)).Matches);
        }
    }

    /// <summary>The bytes of every passage string in <paramref name="redis"/>.</summary>
    private static async Task<long> PassageBytesAsync(RedisServer redis)
    {
        await using ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        long bytes = 0;
        foreach (RedisKey key in direct.GetServer(redis.Configuration).Keys(pattern: "*}q*:*"))
        {
            bytes += await direct.GetDatabase().StringLengthAsync(key);
        }

        return bytes;
    }

    [Fact]
    public async Task RedisStoppedAndRestarted_CallsAreUnavailableThenTheServerRecoversByItself()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "outage"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("seed-2014", TestData.Seed2014)]));

            await redis.StopAsync();

            RpcException e = await RpcAssert.FailsAsync(StatusCode.Unavailable,
                async () => await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("seed-2016", TestData.Seed2016)])));
            Assert.Contains("Redis", e.Status.Detail, StringComparison.Ordinal);
            var health = new Health.HealthClient(channel);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);

            await redis.StartAgainAsync();
            await ServerFixture.WaitUntilServingAsync(channel);

            // Nothing acknowledged before the outage was lost (AOF), and writes work again.
            GetDocumentResponse kept = await documents.GetDocumentAsync(new GetDocumentRequest { Id = "seed-2014", IncludeText = true });
            Assert.Equal(TestData.Seed2014, kept.Document.Text);
            UpsertDocumentsResponse again = await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("seed-2016", TestData.Seed2016)]));
            Assert.Equal(1, again.CreatedCount);
        }
    }

    [Fact]
    public async Task RedisRestartedFromAnOlderSnapshot_PassageSearchesFindTheDocumentsWrittenSince()
    {
        // Without AOF a restart brings back the last snapshot: the writes acknowledged after it are lost, and their handles
        // are given again to the documents written next. A replica that remembered which id each handle named forgets it.
        await using RedisServer redis = await RedisServer.StartAsync(null, "--appendonly", "no");
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "snapshot"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Skip(1600).Take(90)];
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus.Take(30)));
            await using (ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync($"{redis.Configuration},allowAdmin=true"))
            {
                await admin.GetDatabase().ExecuteAsync("SAVE");
            }

            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus.Skip(30).Take(30).Select(d => ("lost-" + d.Id, d.Text))));
            foreach ((string id, string text) in corpus.Skip(30).Take(30))
            {
                Assert.Contains(await PassagesOfAsync(text), m => m == "lost-" + id);
            }

            await redis.StopAsync();
            await redis.StartAgainAsync();
            await ServerFixture.WaitUntilServingAsync(channel);

            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus.Skip(60).Select(d => ("new-" + d.Id, d.Text))));
            foreach ((string id, string text) in corpus.Skip(60))
            {
                string[] found = await PassagesOfAsync(text);
                Assert.Contains("new-" + id, found);
                Assert.DoesNotContain(found, m => m.StartsWith("lost-", StringComparison.Ordinal));
            }
        }

        async Task<string[]> PassagesOfAsync(string text) => [.. (await new SimilarityService.SimilarityServiceClient(channel).FindSharedPassagesAsync(
            new FindSharedPassagesRequest { Query = new DocumentRef { Text = text } })).Matches.Select(m => m.Id)];
    }

    [Fact]
    public async Task RedisAtItsMaxmemory_WritesAreResourceExhaustedStoringNothing_AndGoOnOnceRaised()
    {
        await using RedisServer redis = await RedisServer.StartAsync(null, "--maxmemory", "24mb", "--maxmemory-policy", "noeviction");
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "full"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var collections = new CollectionService.CollectionServiceClient(channel);
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus()];
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "spare" });
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("spare", corpus.Take(200)));
            var stored = new List<string>();
            RpcException? full = null;
            int batch = 0;
            for (; batch < 200 && full is null; batch++)
            {
                UpsertDocumentsRequest request = ServerFixture.Batch(string.Empty, corpus.Skip(batch * 50 % 2200).Take(50).Select((d, i) => ($"b{batch}-{i}", d.Text)));
                try
                {
                    await documents.UpsertDocumentsAsync(request);
                    stored.AddRange(request.Documents.Select(d => d.Id));
                }
                catch (RpcException e)
                {
                    full = e;
                }
            }

            // Refused as full, not as a fault of the server or a store that is down; and nothing of the refused batch was stored.
            Assert.NotNull(full);
            Assert.Equal(StatusCode.ResourceExhausted, full.StatusCode);
            Assert.Contains("maxmemory", full.Status.Detail, StringComparison.Ordinal);
            Assert.True(stored.Count >= 1000, $"only {stored.Count} documents fit before the refusal: {full.Status.Detail}");
            string refused = $"b{batch - 1}-0";
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Id = refused }).ResponseAsync);
            Assert.Equal(stored.Count, (await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1 })).TotalCount);

            // Past maxmemory (lowered under what is used), a single command is refused too (no transaction): the same status.
            await using ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
            await direct.GetServer(redis.Configuration).ConfigSetAsync("maxmemory", "2mb");
            RpcException create = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted,
                () => collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "another" }).ResponseAsync);
            Assert.Contains("maxmemory", create.Status.Detail, StringComparison.Ordinal);
            await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("one-more", TestData.Seed2014)])).ResponseAsync);

            // Health says so meanwhile, as with a full disk; reads go on: everything acknowledged is there and found.
            var health = new Health.HealthClient(channel);
            HealthCheckResponse.Types.ServingStatus Health() => health.Check(new HealthCheckRequest()).Status;
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, Health());
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            FindSimilarResponse found = await similarity.FindSimilarAsync(Similar(string.Empty, corpus[0].Text));
            Assert.Contains(found.Matches, m => m.Id == "b0-0" && m.Jaccard == 1);

            // Deleting documents works even so (Redis refuses every command queued in a MULTI there, even HDEL): it makes room,
            // and the documents leave every answer. 300 of them, more than one command of the script takes.
            string[] dropped = [.. stored.Take(300)];
            long usedBefore = await UsedMemoryAsync();
            DeleteDocumentsResponse deleted = await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Ids = { dropped } });
            Assert.Equal(300, deleted.DeletedCount);
            Assert.True(await UsedMemoryAsync() < usedBefore, "deleting documents freed nothing");
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Id = dropped[0] }).ResponseAsync);
            Assert.Equal(stored.Count - 300, (await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1 })).TotalCount);
            FindSimilarResponse afterDeletes = await similarity.FindSimilarAsync(Similar(string.Empty, corpus[0].Text));
            Assert.DoesNotContain(afterDeletes.Matches, m => dropped.Contains(m.Id));
            await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("one-more", TestData.Seed2014)])).ResponseAsync);

            // Deleting a collection works even so, and makes room.
            usedBefore = await UsedMemoryAsync();
            Assert.Equal(200, (await collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = "spare" })).DeletedDocumentCount);
            Assert.True(await UsedMemoryAsync() < usedBefore, "deleting a collection freed nothing");

            // Room again: the refused batch is written whole.
            await direct.GetServer(redis.Configuration).ConfigSetAsync("maxmemory", "0");

            UpsertDocumentsResponse again = await documents.UpsertDocumentsAsync(
                ServerFixture.Batch(string.Empty, corpus.Skip((batch - 1) * 50 % 2200).Take(50).Select((d, i) => ($"b{batch - 1}-{i}", d.Text))));
            Assert.Equal(50, again.CreatedCount);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, Health());

            async Task<long> UsedMemoryAsync() =>
                long.Parse((await direct.GetServer(redis.Configuration).InfoAsync("memory")).SelectMany(g => g).Single(p => p.Key == "used_memory").Value,
                    System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(stored.Count - 300 + 50, (await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1 })).TotalCount);
        }
    }

    [Fact]
    public async Task ADeleteWhoseWriterLostItsLease_OrWhoseCollectionWasRecreated_DeletesNothing()
    {
        // A commit that only deletes runs as a script, not a fenced MULTI: it checks the same fence itself.
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "fence"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var collections = new CollectionService.CollectionServiceClient(channel);
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(3)];
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("news", corpus));
            IDocumentStore store = app.Services.GetRequiredService<IDocumentStore>();
            CollectionSettings settings = (await store.GetCollectionAsync("news", CancellationToken.None))!.Settings;
            await using ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
            IDatabase db = direct.GetDatabase();

            // Another writer took the lease (this one's ran out): nothing is deleted, and releasing leaves the other's lease alone.
            IDocumentWriter writer = await store.BeginWriteAsync("news", settings, CancellationToken.None);
            RedisKey writeLock = direct.GetServer(redis.Configuration).Keys(pattern: "*write-lock").Single();
            await db.StringSetAsync(writeLock, "another writer");
            await Assert.ThrowsAsync<WriteConflictException>(() => writer.CommitAsync([], [corpus[0].Id], CancellationToken.None));
            await writer.DisposeAsync();
            Assert.Equal("another writer", (string?)await db.StringGetAsync(writeLock));
            await db.KeyDeleteAsync(writeLock);
            Assert.Equal(corpus[0].Text, (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = corpus[0].Id, IncludeText = true })).Document.Text);

            // The collection was deleted and recreated under its name meanwhile: the new one's document of that id stays.
            writer = await store.BeginWriteAsync("news", settings, CancellationToken.None);
            await collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = "news" });
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("news", [(corpus[0].Id, TestData.Seed2014)]));
            await Assert.ThrowsAsync<CollectionChangedException>(() => writer.CommitAsync([], [corpus[0].Id], CancellationToken.None));
            await writer.DisposeAsync();
            Assert.Equal(TestData.Seed2014, (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = corpus[0].Id, IncludeText = true })).Document.Text);

            // And with the fence whole, the same delete goes through.
            DeleteDocumentsResponse deleted = await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "news", Ids = { corpus[0].Id } });
            Assert.Equal(1, deleted.DeletedCount);
        }
    }

    [Theory]
    [InlineData("allkeys-lru", true)]
    [InlineData("noeviction", false)]
    public async Task ARedisThatEvictsKeysAtItsMaxmemory_IsWarnedAbout(string policy, bool warned)
    {
        await using RedisServer redis = await RedisServer.StartAsync(null, "--maxmemory", "100mb", "--maxmemory-policy", policy);
        var logs = new CapturedLogs();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(logs, RedisAt(redis, "evicting"));
        await using (app)
        using (channel)
        {
            await ServerFixture.WaitUntilServingAsync(channel);
            Assert.Equal(warned, logs.All.Contains($"maxmemory-policy {policy}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task RedisKilledUnderConcurrentWriters_CallsAreOkOrUnavailableAndNoAcknowledgedWriteIsLost()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "midload"));
        await using (app)
        using (channel)
        {
            await OutageDrill.RunAsync(channel, writers: 4, acknowledgedEachSide: 100, redis.StopAsync, () => Task.CompletedTask, () => redis.StartAgainAsync());
        }
    }

    [Fact]
    public async Task RedisRestartingAndLoadingItsData_CallsAreOkOrUnavailableNeverInternalOrAborted()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "loading"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(200)];
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("news", corpus.Take(50)));
            await redis.FillAsync(200_000);

            var acknowledged = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var answers = new System.Collections.Concurrent.ConcurrentDictionary<(string Call, StatusCode Status), int>();
            var details = new System.Collections.Concurrent.ConcurrentBag<string>();
            using var stop = new CancellationTokenSource();
            Task[] workers = [.. Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (int n = 0; !stop.IsCancellationRequested; n++)
                {
                    (string Id, string Text) document = corpus[(w * 53 + n) % corpus.Count];
                    (string call, Func<Task> run) = (n % 4) switch
                    {
                        0 => ("upsert", (Func<Task>)(async () =>
                        {
                            await documents.UpsertDocumentsAsync(ServerFixture.Batch("news", [($"w{w}-{n}", document.Text)]), deadline: DateTime.UtcNow.AddSeconds(10));
                            acknowledged.Enqueue($"w{w}-{n}");
                        })),
                        1 => ("find", async () => await similarity.FindSimilarAsync(Similar("news", document.Text), deadline: DateTime.UtcNow.AddSeconds(10))),
                        2 => ("get", async () => await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = corpus[n % 50].Id }, deadline: DateTime.UtcNow.AddSeconds(10))),
                        _ => ("compare", async () => await similarity.CompareAsync(new CompareRequest
                        {
                            Collection = "news", Left = new DocumentRef { Id = corpus[n % 50].Id }, Right = new DocumentRef { Text = document.Text },
                        }, deadline: DateTime.UtcNow.AddSeconds(10))),
                    };
                    try
                    {
                        await run();
                        answers.AddOrUpdate((call, StatusCode.OK), 1, (_, c) => c + 1);
                    }
                    catch (RpcException e)
                    {
                        answers.AddOrUpdate((call, e.StatusCode), 1, (_, c) => c + 1);
                        details.Add($"{call} {e.StatusCode}: {e.Status.Detail}");
                        await Task.Delay(10);
                    }
                }
            }))];

            await OutageDrill.WaitForAsync(() => acknowledged.Count >= 20);
            await redis.StopAsync();
            await redis.StartAgainAsync(slowLoading: true);
            int answeredBeforeLoaded = answers.Values.Sum();
            bool loading = await redis.WaitUntilLoadedAsync();
            int answeredWhileLoading = answers.Values.Sum() - answeredBeforeLoaded;
            await ServerFixture.WaitUntilServingAsync(channel);
            int recovered = acknowledged.Count;
            await OutageDrill.WaitForAsync(() => acknowledged.Count >= recovered + 40);
            await stop.CancelAsync();
            await Task.WhenAll(workers);

            Assert.True(answers.Keys.All(k => k.Status is StatusCode.OK or StatusCode.Unavailable),
                string.Join(Environment.NewLine, answers.Select(a => $"{a.Key}: {a.Value}").Concat(details.Distinct().Take(20))));
            // While Redis loads, a call meets "unreachable" until the client library has reconnected, and LOADING after
            // (RedisFaultTranslationTests holds its translation): which one, and for how long, is the library's timing, so
            // the drill asserts that calls were answered while Redis was loading and that every refusal says to retry.
            Assert.True(loading && answeredWhileLoading >= 20, $"loading seen: {loading}; {answeredWhileLoading} calls answered meanwhile");
            Assert.All(details, d => Assert.Contains("retry later", d, StringComparison.Ordinal));
            var stored = (await documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = "news", PageSize = 1000 })).Documents.Select(d => d.Id).ToHashSet();
            Assert.Subset(stored, acknowledged.ToHashSet());
        }
    }

    [Fact]
    public async Task ACollectionOfANewerRedisLayout_IsFailedPreconditionNamingTheLayout()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "future"));
        await using (app)
        using (channel)
        {
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
            await using (StackExchange.Redis.ConnectionMultiplexer direct = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration))
            {
                // The record's last part is its layout: as a later version of Compare would have written it.
                StackExchange.Redis.IDatabase db = direct.GetDatabase();
                string[] record = System.Text.Json.JsonSerializer.Deserialize<string[]>((string)(await db.HashGetAsync("future:collections", "news"))!)!;
                record[^1] = (Storage.Redis.RedisDocumentStore.Layout + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await db.HashSetAsync("future:collections", "news", System.Text.Json.JsonSerializer.Serialize(record));
            }

            RpcException e = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, async () =>
                await new SimilarityService.SimilarityServiceClient(channel).FindSimilarAsync(Similar("news", TestData.Seed2014)));
            Assert.Contains($"layout {Storage.Redis.RedisDocumentStore.Layout + 1}", e.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Compare_SecondIdenticalCall_IsServedFromTheCacheAndAChangedDocumentIsNot(bool redisCache)
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: redisCache
            ? new() { ["Redis:Configuration"] = redis.Configuration, ["Redis:KeyPrefix"] = "cache" }
            : null);
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("left", TestData.Seed2014), ("right", TestData.Seed2016)]));
            var request = new CompareRequest { Left = new DocumentRef { Id = "left" }, Right = new DocumentRef { Id = "right" } };

            (CompareResponse first, string firstCache) = await CompareAsync(similarity, request);
            (CompareResponse second, string secondCache) = await CompareAsync(similarity, request);
            (_, string otherOptions) = await CompareAsync(similarity, new CompareRequest(request) { MinPhraseWords = 6 });
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("right", TestData.Seed2014)]));
            (CompareResponse changed, string changedCache) = await CompareAsync(similarity, request);

            Assert.Equal(("miss", "hit", "miss", "miss"), (firstCache, secondCache, otherOptions, changedCache));
            Assert.Equal(first, second);
            Assert.Equal(1, changed.Jaccard);
            Assert.True(first.Jaccard < 1);
        }
    }

    [Fact]
    public async Task Compare_CacheUnreachable_ComputesInstead()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(
            settings: new() { ["Redis:Configuration"] = redis.Configuration, ["Redis:KeyPrefix"] = "down" });
        await using (app)
        using (channel)
        {
            await redis.StopAsync();
            var request = new CompareRequest { Left = new DocumentRef { Text = TestData.Seed2014 }, Right = new DocumentRef { Text = TestData.Seed2016 } };

            (CompareResponse response, string cache) = await CompareAsync(new SimilarityService.SimilarityServiceClient(channel), request);

            Assert.Equal("miss", cache);
            Assert.Contains(response.SharedPhrases, p => p.Text.Contains("Silk Road Economic Belt", StringComparison.Ordinal));
        }
    }

    private static async Task<(CompareResponse Response, string Cache)> CompareAsync(SimilarityService.SimilarityServiceClient client, CompareRequest request)
    {
        using AsyncUnaryCall<CompareResponse> call = client.CompareAsync(request);
        CompareResponse response = await call;
        return (response, call.GetTrailers().GetValue("compare-cache") ?? "none");
    }

    [Fact]
    public async Task CollectionOfLayout1_IsUpgradedInPlaceOnFirstUse_AndAnswersAsOneWrittenNow()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(80)];
        corpus.Add(("copy", corpus[5].Text + " Copied."));
        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            await WriteLayout1Async(direct.GetDatabase(), "upgrade", "legacy", corpus);
        }

        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "upgrade"));
        await using (app)
        using (channel)
        {
            var collections = new CollectionService.CollectionServiceClient(channel);
            var documents = new DocumentService.DocumentServiceClient(channel);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "fresh" });
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("fresh", corpus));

            foreach (int probe in new[] { 5, 17, 80 })
            {
                FindSimilarResponse upgraded = await similarity.FindSimilarAsync(Similar("legacy", corpus[probe].Text));
                FindSimilarResponse fresh = await similarity.FindSimilarAsync(Similar("fresh", corpus[probe].Text));
                Assert.Equal(fresh.Matches.Select(m => (m.Id, m.Jaccard)), upgraded.Matches.Select(m => (m.Id, m.Jaccard)));
            }

            Assert.Contains((await similarity.FindSimilarAsync(Similar("legacy", corpus[80].Text))).Matches, m => m.Id == corpus[5].Id);
            List<DuplicateCluster> legacyClusters = await ClustersAsync(similarity, "legacy"), freshClusters = await ClustersAsync(similarity, "fresh");
            Assert.Equal(freshClusters.Single().Members.Select(m => m.Id).Order(StringComparer.Ordinal), legacyClusters.Single().Members.Select(m => m.Id).Order(StringComparer.Ordinal));
            // The order of writes survives the upgrade: versions from before sequence numbers come first, so the copy was seen first.
            Assert.Equal("copy", legacyClusters.Single().RepresentativeId);
            Assert.Equal(corpus[5].Id, freshClusters.Single().RepresentativeId);

            // Writes after the upgrade: a deleted original leaves the copy's answers, a new document joins them.
            await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "legacy", Ids = { corpus[5].Id } });
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("legacy", [("later", corpus[5].Text)]));
            Assert.Equal(["later"], (await similarity.FindSimilarAsync(Similar("legacy", corpus[80].Text))).Matches.Select(m => m.Id).Where(id => id != "copy"));
        }

        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
        {
            await AssertUpgradedAsync(direct, redis, "upgrade", "legacy", "{upgrade:c:legacy:g1}", corpus.Count);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task CollectionOfAnEarlierLayout_IsRebuiltInThisOneOnFirstUse_AndAnswersAsOneWrittenNow(int layout)
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(60)];
        // Copies with every twelfth word replaced: Jaccard about 0.4, found only below the banding's threshold.
        corpus.AddRange(corpus.Take(10).Select(d => ("edit-" + d.Id, string.Join(' ', d.Text.Split(' ').Select((w, i) => i % 12 == 0 ? "x" + i : w)))).ToList());
        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            await WriteLegacyAsync(direct.GetDatabase(), "two", "old", corpus, layout);
        }

        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "two"));
        await using (app)
        using (channel)
        {
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "fresh" });
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch("fresh", corpus));
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            foreach ((string id, string text) in corpus.Skip(60))
            {
                var query = new FindSimilarRequest { Query = new DocumentRef { Text = text }, Threshold = 0.2, TopK = 50 };
                FindSimilarResponse upgraded = await similarity.FindSimilarAsync(new FindSimilarRequest(query) { Collection = "old" });
                FindSimilarResponse fresh = await similarity.FindSimilarAsync(new FindSimilarRequest(query) { Collection = "fresh" });
                Assert.Equal(fresh.Matches.Select(m => (m.Id, m.Jaccard)), upgraded.Matches.Select(m => (m.Id, m.Jaccard)));
                Assert.Contains(upgraded.Matches, m => m.Id == id["edit-".Length..] && m.Jaccard < 0.5);
                var passages = new FindSharedPassagesRequest { Query = new DocumentRef { Text = text } };
                FindSharedPassagesResponse upgradedPassages = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest(passages) { Collection = "old" });
                FindSharedPassagesResponse freshPassages = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest(passages) { Collection = "fresh" });
                Assert.Equal(freshPassages.Matches, upgradedPassages.Matches);
                Assert.Contains(upgradedPassages.Matches, m => m.Id == id["edit-".Length..]);
            }

            // The order of writes survives: the legacy versions' order is the fresh collection's, so the clusters' representatives agree.
            List<DuplicateCluster> upgradedClusters = await ClustersAsync(similarity, "old", 0.3), freshClusters = await ClustersAsync(similarity, "fresh", 0.3);
            Assert.True(freshClusters.Count >= 10);
            Assert.Equal(freshClusters.Select(c => (c.RepresentativeId, string.Join(',', c.Members.Select(m => m.Id)))), upgradedClusters.Select(c => (c.RepresentativeId, string.Join(',', c.Members.Select(m => m.Id)))));
            var listed = await new DocumentService.DocumentServiceClient(channel).ListDocumentsAsync(new ListDocumentsRequest { Collection = "old", PageSize = 1000 });
            Assert.Equal(corpus.Select(d => d.Id).Order(StringComparer.Ordinal), listed.Documents.Select(d => d.Id));
        }

        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
        {
            await AssertUpgradedAsync(direct, redis, "two", "old", "{two:c:old:g1}", corpus.Count);
        }
    }

    [Fact]
    public async Task CollectionOfLayout5_HasItsPassageIndexRewrittenInPlace_AndAnswersAsOneWrittenNow()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(60)];
        string[] queries = [.. Enumerable.Range(0, 12).Select(q => QuotingText(corpus, new Random(q)))];
        (WebApplication first, GrpcChannel firstChannel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "five"));
        string tag;
        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
        {
            await using (first)
            using (firstChannel)
            {
                // Handles from 32,740 on: layout 5's first two ranges of 2^15 handles, and this layout's first two.
                await new CollectionService.CollectionServiceClient(firstChannel).CreateCollectionAsync(new CreateCollectionRequest { Name = "old" });
                tag = $"{{five:{System.Text.Json.JsonSerializer.Deserialize<string[]>((string)(await direct.GetDatabase().HashGetAsync("five:collections", "old"))!)![3]}}}";
                await direct.GetDatabase().StringSetAsync(tag + ":sequence", 32_740);
                await new DocumentService.DocumentServiceClient(firstChannel).UpsertDocumentsAsync(ServerFixture.Batch("old", corpus));
            }

            await WriteLayout5PassagesAsync(direct, redis, "five", "old", tag, corpus);
        }

        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "five"));
        await using (app)
        using (channel)
        {
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "fresh" });
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch("fresh", corpus));
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            foreach (string query in queries)
            {
                var request = new FindSharedPassagesRequest { Query = new DocumentRef { Text = query }, TopK = 20 };
                FindSharedPassagesResponse upgraded = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest(request) { Collection = "old" });
                Assert.Equal((await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest(request) { Collection = "fresh" })).Matches, upgraded.Matches);
                Assert.True(upgraded.Matches.Count >= 2, query);
            }

            // Writes after the upgrade take their entries out of the new strings.
            string gone = (await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = "old", Query = new DocumentRef { Text = queries[0] } })).Matches[0].Id;
            await new DocumentService.DocumentServiceClient(channel).DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "old", Ids = { gone } });
            Assert.DoesNotContain(gone, (await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = "old", Query = new DocumentRef { Text = queries[0] } })).Matches.Select(m => m.Id));
        }

        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
        {
            string record = (string)(await direct.GetDatabase().HashGetAsync("five:collections", "old"))!;
            Assert.EndsWith($",\"{Storage.Redis.RedisDocumentStore.Layout}\"]", record, StringComparison.Ordinal);
            Assert.Equal(record, (string)(await direct.GetDatabase().StringGetAsync(tag + ":config"))!);
            IServer server = direct.GetServer(redis.Configuration);
            string escaped = Literal(tag);
            Assert.Empty(server.Keys(pattern: escaped + "p*"));
            Assert.NotEmpty(server.Keys(pattern: escaped + "q*"));
        }
    }

    [Fact]
    public async Task PassagesHeldInEveryKindOfRange_AreFoundAsTheMemoryStoreFindsThem_AndLeaveWithTheirDocument()
    {
        // The collection's last handle set by hand to just below 2^15, 2^16, 2^31 and 2^34: each batch straddles two ranges
        // of passage groups, among them one whose group is the whole fingerprint (from 2^31) and 8-byte entries whose handles need all their bytes (near 2^34).
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(100)];
        long[] jumps = [0, 32_758, 65_526, (1L << 31) - 10, (1L << 34) - 10];
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RedisBesideMemory servers = await RedisBesideMemory.StartAsync(redis, "far");
        GrpcChannel onRedis = servers.OnRedis, inMemory = servers.InMemory;
        await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            GrpcChannel[] both = [onRedis, inMemory];
            await new CollectionService.CollectionServiceClient(onRedis).CreateCollectionAsync(new CreateCollectionRequest { Name = "far" });
            await new CollectionService.CollectionServiceClient(inMemory).CreateCollectionAsync(new CreateCollectionRequest { Name = "far" });
            string generation = System.Text.Json.JsonSerializer.Deserialize<string[]>((string)(await direct.GetDatabase().HashGetAsync("far:collections", "far"))!)![3];
            for (int j = 0; j < jumps.Length; j++)
            {
                if (jumps[j] > 0)
                {
                    await direct.GetDatabase().StringSetAsync($"{{far:{generation}}}:sequence", jumps[j]);
                }

                foreach (GrpcChannel channel in both)
                {
                    await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch("far", corpus.Skip(j * 20).Take(20)));
                }
            }

            // A rewrite and a delete in each batch, then every answer as the memory store gives it.
            foreach (GrpcChannel channel in both)
            {
                var documents = new DocumentService.DocumentServiceClient(channel);
                await documents.UpsertDocumentsAsync(ServerFixture.Batch("far", Enumerable.Range(0, jumps.Length).Select(j => (corpus[(j * 20) + 3].Id, corpus[(j * 20) + 3].Text[..200]))));
                await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "far", Ids = { Enumerable.Range(0, jumps.Length).Select(j => corpus[(j * 20) + 7].Id) } });
            }

            var random = new Random(33);
            string[] queries = [.. corpus.Select(d => d.Text), .. Enumerable.Range(0, 30).Select(_ => QuotingText(corpus, random))];
            for (int q = 0; q < queries.Length; q++)
            {
                var request = new FindSharedPassagesRequest { Collection = "far", Query = new DocumentRef { Text = queries[q] }, TopK = 50 };
                FindSharedPassagesResponse expected = await new SimilarityService.SimilarityServiceClient(inMemory).FindSharedPassagesAsync(request);
                Assert.Equal(expected.Matches, (await new SimilarityService.SimilarityServiceClient(onRedis).FindSharedPassagesAsync(request)).Matches);
                // An indexed text finds itself; a deleted one, or one rewritten as its first 200 characters, does not.
                if (q < corpus.Count)
                {
                    Assert.Equal(q % 20 is not (3 or 7), expected.Matches.Any(m => m.Id == corpus[q].Id && m.CoverageOfQuery == 1));
                }
            }
        }
    }

    [Fact]
    public async Task FindSharedPassages_WithMoreCandidatesThanItVerifies_AnswersAndCountsAsTheMemoryStore()
    {
        // Redis looks up the ids of the first candidates only (those that may be verified, ties included): the answer, the
        // candidates found and those verified are the memory store's, whose index names every candidate.
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(600)];
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RedisBesideMemory servers = await RedisBesideMemory.StartAsync(redis, "first");
        GrpcChannel onRedis = servers.OnRedis, inMemory = servers.InMemory;
        foreach (GrpcChannel channel in new[] { onRedis, inMemory })
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus));
        }

        int wide = 0;
        foreach ((string id, string text) in corpus.Take(120))
        {
            foreach (int topK in new[] { 1, 3 })
            {
                var byId = new FindSharedPassagesRequest { Query = new DocumentRef { Id = id }, TopK = topK, MinWords = 5 };
                var byText = new FindSharedPassagesRequest { Query = new DocumentRef { Text = text }, TopK = topK, MinWords = 5 };
                foreach (FindSharedPassagesRequest request in new[] { byId, byText })
                {
                    FindSharedPassagesResponse expected = await new SimilarityService.SimilarityServiceClient(inMemory).FindSharedPassagesAsync(request);
                    FindSharedPassagesResponse actual = await new SimilarityService.SimilarityServiceClient(onRedis).FindSharedPassagesAsync(request);
                    Assert.Equal(expected, actual);
                    wide += expected.CandidatesFound > (topK * 2) + 17 ? 1 : 0;
                }
            }
        }

        Assert.True(wide >= 20, $"{wide} queries had more candidates than they may verify");
    }

    /// <summary>A server over a Redis and one over the memory store, whose answers the Redis one's are compared with.</summary>
    private sealed class RedisBesideMemory : IAsyncDisposable
    {
        private WebApplication _redisApp = null!, _memoryApp = null!;

        public GrpcChannel OnRedis { get; private set; } = null!;

        public GrpcChannel InMemory { get; private set; } = null!;

        public static async Task<RedisBesideMemory> StartAsync(RedisServer redis, string prefix)
        {
            var servers = new RedisBesideMemory();
            (servers._redisApp, servers.OnRedis) = await ServerFixture.StartAsync(settings: RedisAt(redis, prefix));
            (servers._memoryApp, servers.InMemory) = await ServerFixture.StartAsync(settings: new() { ["Storage:Provider"] = "Memory" });
            return servers;
        }

        public async ValueTask DisposeAsync()
        {
            OnRedis.Dispose();
            InMemory.Dispose();
            await _redisApp.DisposeAsync();
            await _memoryApp.DisposeAsync();
        }
    }

    /// <summary>A collection's tag as the start of a SCAN pattern that matches it literally.</summary>
    private static string Literal(string tag) => tag.Replace("{", "\\{", StringComparison.Ordinal).Replace("}", "\\}", StringComparison.Ordinal);

    /// <summary>An article quoting 12 words of each of three others, amid words no article has.</summary>
    private static string QuotingText(List<(string Id, string Text)> corpus, Random random) => string.Join(" zqfiller ", Enumerable.Range(0, 3).Select(_ =>
    {
        string[] words = corpus[random.Next(corpus.Count)].Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int start = random.Next(words.Length - 12);
        return string.Join(' ', words[start..(start + 12)]);
    }));

    /// <summary>
    /// The passage index of collection <paramref name="name"/> as layout 5 kept it, in place of this layout's: a set per
    /// fingerprint's top 16 bits and range of 2^15 handles, of the fingerprint's low 16 bits above the handle's place in its
    /// range; and the collection's record and its copy saying layout 5.
    /// </summary>
    private static async Task WriteLayout5PassagesAsync(ConnectionMultiplexer direct, RedisServer redis, string prefix, string name, string tag, List<(string Id, string Text)> corpus)
    {
        IDatabase db = direct.GetDatabase();
        IServer server = direct.GetServer(redis.Configuration);
        string escaped = Literal(tag);
        var handles = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (RedisKey chunk in server.Keys(pattern: escaped + "h*"))
        {
            long number = long.Parse(((string)chunk!)[(tag.Length + 1)..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            foreach (HashEntry entry in await db.HashGetAllAsync(chunk))
            {
                handles[(string)entry.Value!] = (number << 7) | (long)entry.Name;
            }
        }

        Assert.Equal(corpus.Count, handles.Count);
        Assert.Contains(handles.Values, h => h >= 32_768);
        await db.KeyDeleteAsync([.. server.Keys(pattern: escaped + "q*")]);
        var sketcher = new Core.Indexing.DocumentSketcher(CollectionSettings.Default.Parameters);
        foreach ((string id, string text) in corpus)
        {
            long handle = handles[id];
            foreach (uint fingerprint in sketcher.SketchWithPassages(text).Passages)
            {
                await db.SetAddAsync($"{tag}p{fingerprint >> 16:x}:{handle >> 15:x}", ((long)(fingerprint & 0xFFFF) << 15) | (handle & 32_767));
            }
        }

        string[] record = System.Text.Json.JsonSerializer.Deserialize<string[]>((string)(await db.HashGetAsync($"{prefix}:collections", name))!)!;
        record[^1] = "5";
        string layout5 = System.Text.Json.JsonSerializer.Serialize(record);
        await db.HashSetAsync($"{prefix}:collections", name, layout5);
        await db.StringSetAsync(tag + ":config", layout5);
    }

    /// <summary>The collection is of this layout, under a new tag holding a handle a document; nothing is left under its old tag.</summary>
    private static async Task AssertUpgradedAsync(ConnectionMultiplexer direct, RedisServer redis, string prefix, string name, string oldTag, int documents)
    {
        string record = (string)(await direct.GetDatabase().HashGetAsync($"{prefix}:collections", name))!;
        Assert.EndsWith($",\"{Storage.Redis.RedisDocumentStore.Layout}\"]", record, StringComparison.Ordinal);
        string generation = System.Text.Json.JsonSerializer.Deserialize<string[]>(record)![3];
        IServer server = direct.GetServer(redis.Configuration);
        Assert.Empty(server.Keys(pattern: Literal(oldTag) + "*"));
        long handles = 0;
        foreach (RedisKey chunk in server.Keys(pattern: $"{{{prefix}:{generation}}}h*"))
        {
            handles += await direct.GetDatabase().HashLengthAsync(chunk);
        }

        Assert.Equal(documents, handles);
        Assert.NotEmpty(server.Keys(pattern: $"{{{prefix}:{generation}}}f*"));
        Assert.NotEmpty(server.Keys(pattern: $"{{{prefix}:{generation}}}q*"));
    }

    [Fact]
    public async Task DamagedRecordOrVersion_IsDataLossForThatDocumentOnly_AndAnUpsertRepairsIt()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(40)];
        (string Id, string Text) cutRecord = corpus[0], badVersion = corpus[1], intact = corpus[2];
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "damaged"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus));

            // A record cut short (a text whose UTF-8 ends mid-letter, or a header alone) and a version of the wrong size, as a
            // partial write or a stray client would leave them.
            await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
            {
                IServer server = direct.GetServer(redis.Configuration);
                RedisKey docs = server.Keys(pattern: "{damaged:*}:docs").Single(), versions = server.Keys(pattern: "{damaged:*}:versions").Single();
                byte[] record = (byte[])(await direct.GetDatabase().HashGetAsync(docs, cutRecord.Id))!;
                await direct.GetDatabase().HashSetAsync(docs, cutRecord.Id, record[..20]);
                await direct.GetDatabase().HashSetAsync(versions, badVersion.Id, "0123:45");
            }

            RpcException lost = await RpcAssert.FailsAsync(StatusCode.DataLoss,
                () => documents.GetDocumentAsync(new GetDocumentRequest { Id = cutRecord.Id, IncludeText = true }).ResponseAsync);
            Assert.Contains(cutRecord.Id, lost.Status.Detail, StringComparison.Ordinal);

            // Everything else is served; the cut record is left out of answers, the document without a version out of Deduplicate.
            Assert.Equal(intact.Text, (await documents.GetDocumentAsync(new GetDocumentRequest { Id = intact.Id, IncludeText = true })).Document.Text);
            Assert.DoesNotContain((await similarity.FindSimilarAsync(Similar(string.Empty, cutRecord.Text))).Matches, m => m.Id == cutRecord.Id);
            Assert.Equal(badVersion.Id, (await similarity.FindSimilarAsync(Similar(string.Empty, badVersion.Text))).Matches[0].Id);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [("copy", intact.Text), ("copy-of-bad", badVersion.Text)]));
            List<DuplicateCluster> clusters = await ClustersAsync(similarity, string.Empty);
            Assert.Contains(clusters, c => c.Members.Select(m => m.Id).Order(StringComparer.Ordinal).SequenceEqual([intact.Id, "copy"]));
            Assert.DoesNotContain(clusters, c => c.Members.Any(m => m.Id == badVersion.Id));

            // Upserting them again repairs both, and each is found once.
            UpsertDocumentsResponse repaired = await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [cutRecord, badVersion]));
            Assert.All(repaired.Results, r => Assert.NotEqual(UpsertStatus.Unchanged, r.Status));
            Assert.Equal(cutRecord.Text, (await documents.GetDocumentAsync(new GetDocumentRequest { Id = cutRecord.Id, IncludeText = true })).Document.Text);
            Assert.Equal([badVersion.Id, "copy-of-bad"], (await similarity.FindSimilarAsync(Similar(string.Empty, badVersion.Text))).Matches.Select(m => m.Id).Order(StringComparer.Ordinal));
            Assert.Single((await similarity.FindSimilarAsync(Similar(string.Empty, cutRecord.Text))).Matches, m => m.Id == cutRecord.Id);
        }
    }

    [Fact]
    public async Task ABucketOfMoreDocumentsThanRedisKeepsAsIntegers_IsFoundWhole()
    {
        // 700 copies share every band bucket: their groups pass Redis's 512-member intsets and become hash tables, which a
        // bucket's SSCAN may answer in several pages.
        await using RedisServer redis = await RedisServer.StartAsync();
        string text = TestData.BbcCorpus().First().Text;
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "crowd"));
        await using (app)
        using (channel)
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, Enumerable.Range(0, 700).Select(i => ($"copy-{i:d3}", text))));
            await using (ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
            {
                RedisKey group = direct.GetServer(redis.Configuration).Keys(pattern: "{crowd:*}g0:*").Single();
                Assert.Equal("hashtable", (string?)await direct.GetDatabase().ExecuteAsync("OBJECT", "ENCODING", group));
            }

            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            FindSimilarResponse found = await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = text }, TopK = 1000 });
            Assert.Equal(700, found.Matches.Count);
            Assert.Equal(700, (await ClustersAsync(similarity, string.Empty)).Single().Members.Count);
        }
    }

    [Fact]
    public async Task DocumentFrequencies_ALargeBatchThenSmallWritesAndDeletes_EqualTheSketchCountedLocally()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(260)];
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: RedisAt(redis, "frequencies"));
        await using (app)
        using (channel)
        {
            // 250 articles touch well over 32,768 counters (the sketch is written back whole); the writes after touch a few thousand (BITFIELD).
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus.Take(250)));
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, corpus.Skip(250)));
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [(corpus[0].Id, corpus[1].Text)]));
            await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Ids = { corpus[2].Id, corpus[3].Id } });
            var many = new DeleteDocumentsRequest();
            many.Ids.AddRange(corpus.Skip(10).Take(200).Select(d => d.Id));
            await documents.DeleteDocumentsAsync(many);

            var sketcher = new Core.Indexing.DocumentSketcher(CollectionSettings.Default.Parameters);
            var expected = new Core.Shingling.DocumentFrequencySketch();
            foreach (string text in corpus.Skip(4).Take(6).Concat(corpus.Skip(210)).Select(d => d.Text).Append(corpus[1].Text).Append(corpus[1].Text))
            {
                expected.Add(sketcher.Sketch(text).Shingles);
            }

            await using ConnectionMultiplexer direct = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
            RedisKey key = direct.GetServer(redis.Configuration).Keys(pattern: "*:frequencies").Single();
            byte[] stored = (byte[])(await direct.GetDatabase().StringGetAsync(key))!;
            Assert.Equal(expected.ToBigEndian(), Core.Shingling.DocumentFrequencySketch.FromBigEndian(stored).ToBigEndian());
        }
    }

    [Fact]
    public async Task Deduplicate_CollectionPastAGroupPerDocument_FindsThePairsTheMemoryStoreFinds()
    {
        // Past 4,096 documents Redis's groups are read by name, band by band, not found by SCAN: BBC and a copy of each
        // article with a sentence added, at the collection's threshold (buckets) and below it (the forest).
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus()];
        corpus.AddRange([.. corpus.Select(d => ("copy/" + d.Id, d.Text + " This article was updated after it was first published."))]);
        Assert.True(corpus.Count > 4096);
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RedisBesideMemory servers = await RedisBesideMemory.StartAsync(redis, "many");
        GrpcChannel onRedis = servers.OnRedis, inMemory = servers.InMemory;
        foreach (GrpcChannel channel in new[] { onRedis, inMemory })
        {
            foreach ((string Id, string Text)[] chunk in corpus.Chunk(500))
            {
                await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, chunk));
            }
        }

        foreach (double threshold in new[] { 0.8, 0.5 })
        {
            List<DuplicatePair> expected = await PairsAsync(new SimilarityService.SimilarityServiceClient(inMemory), threshold);
            List<DuplicatePair> actual = await PairsAsync(new SimilarityService.SimilarityServiceClient(onRedis), threshold);
            Assert.True(expected.Count > 2000, $"{expected.Count} pairs at {threshold}");
            Assert.Equal(expected.Select(p => (p.LeftId, p.RightId, p.Jaccard)), actual.Select(p => (p.LeftId, p.RightId, p.Jaccard)));
        }

        // A document past handle 4,095 rewritten and another deleted take out their own entries and no one else's (a
        // version's handle once came back as its low bits under a decimal mask: 4,100 as 4).
        var documents = new DocumentService.DocumentServiceClient(onRedis);
        await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [(corpus[4099].Id, corpus[2000].Text + " Rewritten.")]));
        await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Ids = { corpus[4100].Id } });
        var similarity = new SimilarityService.SimilarityServiceClient(onRedis);
        foreach ((string id, string text) in new[] { corpus[3], corpus[4], corpus[5], corpus[4101], (corpus[4099].Id, corpus[2000].Text) })
        {
            FindSimilarResponse found = await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = text }, TopK = 50 });
            Assert.Contains(id, found.Matches.Select(m => m.Id));
        }

        Assert.DoesNotContain(corpus[4100].Id, (await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = corpus[4100].Text }, TopK = 50 })).Matches.Select(m => m.Id));
        List<DuplicatePair> afterwards = await PairsAsync(similarity, 0.8);
        Assert.Contains(afterwards, p => (p.LeftId, p.RightId) == (corpus[2000].Id, corpus[4099].Id) || (p.LeftId, p.RightId) == (corpus[4099].Id, corpus[2000].Id));
    }

    private static async Task<List<DuplicatePair>> PairsAsync(SimilarityService.SimilarityServiceClient similarity, double threshold)
    {
        using AsyncServerStreamingCall<DeduplicateResponse> call = similarity.Deduplicate(new DeduplicateRequest { Threshold = threshold, IncludePairs = true });
        return [.. (await call.ResponseStream.ReadAllAsync().ToListAsync()).Where(e => e.Pair is not null).Select(e => e.Pair)
            .OrderBy(p => p.LeftId, StringComparer.Ordinal).ThenBy(p => p.RightId, StringComparer.Ordinal)];
    }

    private static async Task<List<DuplicateCluster>> ClustersAsync(SimilarityService.SimilarityServiceClient similarity, string collection, double? threshold = null)
    {
        var request = new DeduplicateRequest { Collection = collection };
        if (threshold is { } t)
        {
            request.Threshold = t;
        }

        using AsyncServerStreamingCall<DeduplicateResponse> call = similarity.Deduplicate(request);
        return [.. (await call.ResponseStream.ReadAllAsync().ToListAsync()).Where(e => e.Cluster is not null).Select(e => e.Cluster)];
    }

    /// <summary>A collection as the Redis store of layout 1 wrote it: a shingle set per document and a set per band bucket; half the versions from before sequence numbers.</summary>
    private static Task WriteLayout1Async(IDatabase db, string prefix, string name, List<(string Id, string Text)> corpus) => WriteLegacyAsync(db, prefix, name, corpus, 1);

    /// <summary>
    /// A collection as the Redis store of an earlier layout wrote it: JSON records and versions as text (layout 1: half of them
    /// from before sequence numbers, a shingle set per document and a set per band bucket; later: six-part versions, band keys and
    /// a group of each kind, which the upgrade must remove with the rest).
    /// </summary>
    private static async Task WriteLegacyAsync(IDatabase db, string prefix, string name, List<(string Id, string Text)> corpus, int layout)
    {
        CollectionSettings settings = CollectionSettings.Default;
        var sketcher = new Core.Indexing.DocumentSketcher(settings.Parameters);
        string tag = $"{{{prefix}:c:{name}:g1}}";
        string[] record = [name, CollectionSettingsCodec.Encode(settings), "1700000000000", "g1", layout.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        await db.HashSetAsync($"{prefix}:collections", name, System.Text.Json.JsonSerializer.Serialize(layout == 1 ? record[..4] : record));
        long sequence = 0;
        for (int i = 0; i < corpus.Count; i++)
        {
            (string id, string text) = corpus[i];
            Core.Indexing.DocumentSketch sketch = sketcher.Sketch(text);
            int utf8 = System.Text.Encoding.UTF8.GetByteCount(text);
            ulong contentHash = DocumentHash.Of(text, new Dictionary<string, string>());
            string version = layout == 1 && i % 2 == 0 ? $"{contentHash:x16}:{utf8}:{1700000000000 + i}"
                : layout == 1 ? $"{contentHash:x16}:{utf8}:{1700000000000 + i}:{++sequence}"
                : $"{contentHash:x16}:{utf8}:{1700000000000 + i}:{++sequence}:{sequence}:0";
            await db.HashSetAsync(tag + ":versions", id, version);
            await db.HashSetAsync(tag + ":docs", id, System.Text.Json.JsonSerializer.Serialize(new
            {
                Text = text,
                Metadata = new Dictionary<string, string>(),
                ShingleCount = sketch.Shingles.Length,
                Length = text.Length,
                ContentHash = contentHash,
                CreateTime = 1700000000000 + i,
                UpdateTime = 1700000000000 + i,
            }));
            await db.SortedSetAddAsync(tag + ":ids", id, 0);
            if (layout == 1)
            {
                await db.HashSetAsync(tag + ":sketches", id, Core.Indexing.SketchCodec.Encode(sketch, settings.Parameters));
                for (int band = 0; band < settings.Lsh.Bands; band++)
                {
                    await db.SetAddAsync($"{tag}:b{band}:{Core.Lsh.LshIndex.BandKey(sketch.Signature, band, settings.Lsh.Rows):x16}", id);
                }
            }
            else
            {
                await db.HashSetAsync(tag + ":bands", id, new byte[settings.Lsh.Bands * 8]);
                await db.HashSetAsync(tag + ":handles", sequence, id);
            }
        }

        if (layout > 1)
        {
            await db.SetAddAsync(tag + ":g3:00ab", 12345);
            await db.SetAddAsync(tag + ":f3:00ab", 12345);
            await db.SetAddAsync(tag + ":p00ab:0", 12345);
        }

        await db.StringSetAsync(tag + ":sequence", sequence);
    }
}
