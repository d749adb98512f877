using Compare.Core;
using Compare.Core.Indexing;
using Compare.Server.Storage;
using Compare.Server.Storage.Local;
using Compare.Server.Storage.Sqlite;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using StoredDocument = Compare.V1.StoredDocument;

namespace Compare.Server.Tests;

/// <summary>The embedded default: documents survive restarts and kill -9, and a foreign data file is refused.</summary>
public sealed class SqliteStoreTests
{
    private static Dictionary<string, string?> SqliteAt(string path) => new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = path };

    private static UpsertDocumentsRequest Batch(string collection, IEnumerable<(string Id, string Text)> documents)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        foreach ((string id, string text) in documents)
        {
            request.Documents.Add(new Document { Id = id, Text = text, Metadata = { ["source"] = "bbc" } });
        }

        return request;
    }

    private static async Task<List<(string Id, double Jaccard)>> SimilarAsync(SimilarityService.SimilarityServiceClient client, string collection, string text)
    {
        FindSimilarResponse found = await client.FindSimilarAsync(new FindSimilarRequest
        {
            Collection = collection,
            Query = new DocumentRef { Text = text },
            Threshold = 0.3,
            TopK = 20,
        });
        return [.. found.Matches.Select(m => (m.Id, m.Jaccard))];
    }

    [Fact]
    public async Task Restart_AfterWritesUpdatesAndDeletes_ServesTheSameDocumentsAndMatches()
    {
        using var data = new TempDirectory();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(300)];
        var config = new CollectionConfig { Threshold = 0.5, ShingleSize = 3, NumPerm = 64 };
        List<(string, double)> before;
        StoredDocument beforeDoc;
        Collection beforeCollection;
        GetLastDeduplicateResponse lastDeduplicate;

        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "news", Config = config });
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(Batch("news", corpus));
            await documents.UpsertDocumentsAsync(Batch("news", [(corpus[0].Id, corpus[1].Text + " An update.")]));
            await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "news", Ids = { corpus[2].Id } });
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "gone" });
            await documents.UpsertDocumentsAsync(Batch("gone", corpus.Take(3)));
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await foreach (DeduplicateResponse _ in similarity.Deduplicate(new DeduplicateRequest { Collection = "gone" }).ResponseStream.ReadAllAsync())
            {
            }

            await new CollectionService.CollectionServiceClient(channel).DeleteCollectionAsync(new DeleteCollectionRequest { Name = "gone" });
            await foreach (DeduplicateResponse _ in similarity.Deduplicate(new DeduplicateRequest { Collection = "news", Threshold = 0.3 }).ResponseStream.ReadAllAsync())
            {
            }

            lastDeduplicate = await similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = "news" });
            before = await SimilarAsync(new SimilarityService.SimilarityServiceClient(channel), "news", corpus[1].Text);
            beforeDoc = (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = corpus[0].Id, IncludeText = true })).Document;
            beforeCollection = (await new CollectionService.CollectionServiceClient(channel).GetCollectionAsync(new GetCollectionRequest { Name = "news" })).Collection;
            await app.StopAsync();
        }

        (app, channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            var collections = new CollectionService.CollectionServiceClient(channel);
            Collection after = (await collections.GetCollectionAsync(new GetCollectionRequest { Name = "news" })).Collection;
            Assert.Equal(beforeCollection, after);
            Assert.Equal(corpus.Count - 1, after.DocumentCount);
            Assert.DoesNotContain((await collections.ListCollectionsAsync(new ListCollectionsRequest())).Collections, c => c.Name == "gone");

            var documents = new DocumentService.DocumentServiceClient(channel);
            StoredDocument afterDoc = (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = corpus[0].Id, IncludeText = true })).Document;
            Assert.Equal(beforeDoc, afterDoc);
            Assert.Equal(corpus[1].Text + " An update.", afterDoc.Text);
            await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = corpus[2].Id }));
            Assert.Equal(before, await SimilarAsync(new SimilarityService.SimilarityServiceClient(channel), "news", corpus[1].Text));
            Assert.Contains(before, m => m.Item1 == corpus[0].Id);

            UpsertDocumentsResponse again = await documents.UpsertDocumentsAsync(Batch("news", corpus.Skip(10).Take(5)));
            Assert.All(again.Results, r => Assert.Equal(UpsertStatus.Unchanged, r.Status));

            // The last Deduplicate survives the restart; the deleted collection's went with it, even if a new one gets its key.
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            Assert.NotEmpty(lastDeduplicate.Clusters);
            Assert.Equal(lastDeduplicate, await similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = "news" }));
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "gone" });
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = "gone" }).ResponseAsync);
        }
    }

    [Fact]
    public async Task Restart_OfMoreRowsThanOneLoadChunk_BuildsTheSameCandidatesAndOrderOfWrites()
    {
        using var data = new TempDirectory();
        // 10,000 documents: the load reads them in chunks of 4,096 rows, hashed on another thread, then builds in bulk.
        List<SyntheticDocument> corpus = [.. SyntheticCorpus.Generate(10_000, seed: 15)];
        SyntheticDocument[] planted = [.. corpus.Where(d => d.DuplicateOf is not null).Take(25)];
        List<List<(string, double)>> before = [];
        List<DeduplicateResponse> clustersBefore;
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            foreach (SyntheticDocument[] batch in corpus.Chunk(1_000))
            {
                await documents.UpsertDocumentsAsync(Batch(string.Empty, batch.Select(d => (d.Id, d.Text))));
            }

            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            foreach (SyntheticDocument d in planted)
            {
                before.Add(await SimilarAsync(similarity, string.Empty, d.Text));
            }

            clustersBefore = await similarity.Deduplicate(new DeduplicateRequest()).ResponseStream.ReadAllAsync().Where(e => e.Cluster is not null).ToListAsync();
            await app.StopAsync();
        }

        (app, channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            for (int i = 0; i < planted.Length; i++)
            {
                List<(string, double)> after = await SimilarAsync(similarity, string.Empty, planted[i].Text);
                Assert.Equal(before[i], after);
                Assert.Contains(after, m => m.Item1 == planted[i].DuplicateOf);
            }

            // Clusters and their representatives (the first written) depend on the buckets and on the order of writes.
            Assert.True(clustersBefore.Count > 100);
            Assert.Equal(clustersBefore, await similarity.Deduplicate(new DeduplicateRequest()).ResponseStream.ReadAllAsync().Where(e => e.Cluster is not null).ToListAsync());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Restart_FileOfFormatVersion1_IsUpgradedWithSignaturesFromTheSketchesAndAnswersAlike(bool withPartialTable)
    {
        using var data = new TempDirectory();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(120)];
        corpus.Add(("copy", corpus[5].Text + " Copied."));
        List<(string, double)> before;
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(Batch(string.Empty, corpus));
            before = await SimilarAsync(new SimilarityService.SimilarityServiceClient(channel), string.Empty, corpus[5].Text);
            await app.StopAsync();
        }

        Assert.Equal(corpus.Count, SqliteCount(data.Path, "document_signatures"));
        Assert.Equal(SqliteDocumentRecords.FormatVersion, SqliteScalar(data.Path, "PRAGMA user_version"));
        // Version 1 had no signatures table; a pre-release build kept one alongside, possibly missing rows.
        SqliteExecute(data.Path, (withPartialTable ? "DELETE FROM document_signatures WHERE id IN (SELECT id FROM document_signatures LIMIT 7);" : "DROP TABLE document_signatures;") +
            "PRAGMA user_version = 1;");

        (app, channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            Assert.Equal(before, await SimilarAsync(new SimilarityService.SimilarityServiceClient(channel), string.Empty, corpus[5].Text));
            Assert.Contains(before, m => m.Item1 == "copy");
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(Batch(string.Empty, [(corpus[0].Id, corpus[0].Text + " Updated.")]));
            await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Ids = { corpus[1].Id } });
            await app.StopAsync();
        }

        // One signature per document, before and after an update and a delete.
        Assert.Equal(SqliteDocumentRecords.FormatVersion, SqliteScalar(data.Path, "PRAGMA user_version"));
        Assert.Equal(corpus.Count - 1, SqliteCount(data.Path, "document_signatures"));
        Assert.Equal(corpus.Count - 1, SqliteCount(data.Path, "documents"));
    }

    [Fact]
    public async Task Restart_FileOfFormatVersion2WithSmallerPages_KeepsReadingItsStoredSketchesAndItsPageSize_AndWritesNewDocumentsWithoutSketches()
    {
        using var data = new TempDirectory();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(150)];
        corpus.Add(("copy", corpus[5].Text + " Copied."));
        corpus.Add(("contained", string.Join(' ', corpus[9].Text.Split(' ').Take(60))));
        List<(string, double)> before;
        List<string> clustersBefore;
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(Batch(string.Empty, corpus));
            (before, clustersBefore) = await AnswersAsync(new SimilarityService.SimilarityServiceClient(channel));
            await app.StopAsync();
        }

        Assert.Contains(before, m => m.Item1 == "copy");
        Assert.Contains(before, m => m == ("contained", 1.0));
        Assert.NotEmpty(clustersBefore);

        // Format 3 keeps no shingle set: every row's sketch is empty. Format 2 kept the whole sketch in the row; written so here.
        Assert.Equal(corpus.Count, SqliteScalar(data.Path, "SELECT count(*) FROM documents WHERE length(sketch) = 0"));
        DocumentSketcher sketcher = new(CollectionSettings.Default.Parameters);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(data.Path, SqliteDocumentRecords.FileName)};Pooling=false"))
        {
            connection.Open();
            using SqliteCommand update = connection.CreateCommand();
            update.CommandText = "UPDATE documents SET sketch = $sketch WHERE id = $id";
            SqliteParameter sketch = update.Parameters.Add("$sketch", SqliteType.Blob), id = update.Parameters.Add("$id", SqliteType.Text);
            foreach ((string Id, string Text) d in corpus)
            {
                (sketch.Value, id.Value) = (SketchCodec.Encode(sketcher.Sketch(d.Text), CollectionSettings.Default.Parameters), d.Id);
                Assert.Equal(1, update.ExecuteNonQuery());
            }
        }

        // Servers of format 2 made files of 4 KiB pages; a file keeps its page size.
        Assert.Equal(16384, SqliteScalar(data.Path, "PRAGMA page_size"));
        SqliteExecute(data.Path, "PRAGMA user_version = 2; PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM; PRAGMA journal_mode = WAL;");
        Assert.Equal(4096, SqliteScalar(data.Path, "PRAGMA page_size"));
        (app, channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            (List<(string, double)> after, List<string> clustersAfter) = await AnswersAsync(similarity);
            Assert.Equal(before, after);
            Assert.Equal(clustersBefore, clustersAfter);
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(Batch(string.Empty, [(corpus[0].Id, corpus[0].Text + " Updated."), ("new", corpus[5].Text)]));
            Assert.Contains((await SimilarAsync(similarity, string.Empty, corpus[5].Text)), m => m == ("new", 1.0));
            await app.StopAsync();
        }

        Assert.Equal(SqliteDocumentRecords.FormatVersion, SqliteScalar(data.Path, "PRAGMA user_version"));
        Assert.Equal(4096, SqliteScalar(data.Path, "PRAGMA page_size"));
        Assert.Equal(2, SqliteScalar(data.Path, "SELECT count(*) FROM documents WHERE length(sketch) = 0"));
        Assert.Equal(corpus.Count - 1, SqliteScalar(data.Path, "SELECT count(*) FROM documents WHERE length(sketch) > 0"));

        // Near-duplicates (verified against the sketches), containment, and Deduplicate's clusters.
        async Task<(List<(string, double)>, List<string>)> AnswersAsync(SimilarityService.SimilarityServiceClient similarity)
        {
            List<(string, double)> similar = await SimilarAsync(similarity, string.Empty, corpus[5].Text);
            FindSimilarResponse contained = await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = corpus[9].Text }, MinContainmentOfMatch = 0.9 });
            similar.AddRange(contained.Matches.Select(m => (m.Id, m.ContainmentOfMatch)));
            List<string> clusters = [.. (await similarity.Deduplicate(new DeduplicateRequest { Threshold = 0.5 }).ResponseStream.ReadAllAsync().Where(e => e.Cluster is not null).ToListAsync())
                .Select(e => e.Cluster.ToString())];
            return (similar, clusters);
        }
    }

    [Fact]
    public async Task Restart_FileWithoutPassageRows_MakesThemFromTheTextsOnTheFirstPassageQuery_AndKeepsThemWithEveryWrite()
    {
        using var data = new TempDirectory();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(60)];
        corpus.Add(("quote", "Someone wrote: " + string.Join(' ', corpus[7].Text.Split(' ').Skip(20).Take(12)) + " and that was all."));
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(Batch(string.Empty, corpus));
            await app.StopAsync();
        }

        // As a file written before passages were indexed (or by an older server) has it: the table, but no rows.
        Assert.Equal(corpus.Count, SqliteCount(data.Path, "document_passages"));
        SqliteExecute(data.Path, "DELETE FROM document_passages;");

        (app, channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            FindSharedPassagesResponse found = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Id = "quote" } });
            Assert.Equal(corpus[7].Id, Assert.Single(found.Matches).Id);
            Assert.InRange(found.Matches[0].Passages[0].WordCount, 12, 14); // the quote, and what may happen to surround it in both
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(Batch(string.Empty, [(corpus[0].Id, corpus[0].Text + " Updated.")]));
            await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Ids = { corpus[7].Id } });
            Assert.Empty((await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Id = "quote" } })).Matches);
            await app.StopAsync();
        }

        // One passage row per document, made at the first query and kept through an update and a delete.
        Assert.Equal(corpus.Count - 1, SqliteCount(data.Path, "document_passages"));
        Assert.Equal(0, SqliteScalar(data.Path, "SELECT count(*) FROM document_passages p LEFT JOIN documents d ON d.seq = p.seq WHERE d.seq IS NULL"));

        (app, channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            var collections = new CollectionService.CollectionServiceClient(channel);
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "other" });
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(Batch("other", corpus.Take(5)));
            Assert.Equal(corpus.Count + 4, SqliteCount(data.Path, "document_passages"));
            await collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = "other" });
            await app.StopAsync();
        }

        // A deleted collection takes its passage rows with it.
        Assert.Equal(corpus.Count - 1, SqliteCount(data.Path, "document_passages"));
    }

    private static long SqliteCount(string directory, string table) => SqliteScalar(directory, $"SELECT count(*) FROM {table}");

    private static long SqliteScalar(string directory, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(directory, SqliteDocumentRecords.FileName)};Pooling=false");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private static void SqliteExecute(string directory, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(directory, SqliteDocumentRecords.FileName)};Pooling=false");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public async Task KillDashNine_DuringAStreamOfUpserts_LosesNoAcknowledgedDocument()
    {
        using var data = new TempDirectory();
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        var acknowledged = new List<(string Id, string Text)>();
        var env = new Dictionary<string, string> { ["Storage__Path"] = data.Path };
        List<(string, double)> before;

        await using (ServerProcess server = await ServerProcess.StartAsync(env))
        {
            DocumentService.DocumentServiceClient documents = server.Documents;
            await documents.UpsertDocumentsAsync(Batch(string.Empty, corpus.Take(50)));
            acknowledged.AddRange(corpus.Take(50));
            before = await SimilarAsync(server.Similarity, string.Empty, corpus[7].Text);

            // Batches of 10 go out back to back; the process is killed while one is in flight.
            using var stop = new CancellationTokenSource();
            Task writer = Task.Run(async () =>
            {
                for (int start = 50; start + 10 <= corpus.Count && !stop.IsCancellationRequested; start += 10)
                {
                    (string Id, string Text)[] batch = [.. corpus.Skip(start).Take(10)];
                    try
                    {
                        await documents.UpsertDocumentsAsync(Batch(string.Empty, batch));
                    }
                    catch (RpcException)
                    {
                        return;
                    }

                    lock (acknowledged)
                    {
                        acknowledged.AddRange(batch);
                    }
                }
            });
            while (Count(acknowledged) < 400 && !writer.IsCompleted)
            {
                await Task.Delay(10);
            }

            await server.KillAsync();
            await stop.CancelAsync();
            await writer;
        }

        Assert.True(acknowledged.Count >= 400, $"only {acknowledged.Count} acknowledged before the kill");
        await using (ServerProcess restarted = await ServerProcess.StartAsync(env))
        {
            var stored = new Dictionary<string, string>();
            string token = string.Empty;
            do
            {
                ListDocumentsResponse page = await restarted.Documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1000, PageToken = token, IncludeText = true });
                foreach (StoredDocument d in page.Documents)
                {
                    stored[d.Id] = d.Text;
                }

                token = page.NextPageToken;
            }
            while (token.Length > 0);

            Assert.All(acknowledged, d => Assert.Equal(d.Text, stored.GetValueOrDefault(d.Id)));
            Assert.Equal(before.Where(m => acknowledged.Take(50).Any(a => a.Id == m.Item1)),
                (await SimilarAsync(restarted.Similarity, string.Empty, corpus[7].Text)).Where(m => acknowledged.Take(50).Any(a => a.Id == m.Item1)));
            Assert.Contains(await SimilarAsync(restarted.Similarity, string.Empty, acknowledged[^1].Text), m => m.Item1 == acknowledged[^1].Id && m.Item2 == 1);
        }

        static int Count(List<(string, string)> list)
        {
            lock (list)
            {
                return list.Count;
            }
        }
    }

    [Fact]
    public async Task Commits_AreCopiedIntoTheDatabaseFileBesideTheWrites_WithoutAFlushOrAFullLog()
    {
        // The writer's own automatic checkpoint is off; a thread of the store copies the log after each commit. SQLite's
        // would copy nothing here: 40 documents are far from its 1,000 pages.
        using var directory = new TempDirectory();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(directory.Path));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(Batch(string.Empty, TestData.BbcCorpus().Take(40)));

            // The database file alone (a copy without its log) holds them soon after, while the server still runs.
            long copied = 0;
            for (int attempt = 0; attempt < 100 && copied < 40; attempt++)
            {
                await Task.Delay(50);
                copied = CountInFileAlone(Path.Combine(directory.Path, SqliteDocumentRecords.FileName));
            }

            Assert.Equal(40, copied);
        }

        static long CountInFileAlone(string file)
        {
            using var copy = new TempDirectory();
            string alone = Path.Combine(copy.Path, "copy.db");
            File.Copy(file, alone);
            try
            {
                using var connection = new SqliteConnection($"Data Source={alone};Pooling=False");
                connection.Open();
                using SqliteCommand count = connection.CreateCommand();
                count.CommandText = "SELECT count(*) FROM documents";
                return (long)count.ExecuteScalar()!;
            }
            catch (SqliteException)
            {
                return 0; // copied halfway through a checkpoint, or before the tables were: try again
            }
        }
    }

    [Fact]
    public async Task Start_DataFromAnotherFormatVersion_FailsNamingTheVersions()
    {
        using var data = new TempDirectory();
        WriteDataOfFormatVersion(data.Path, 99);

        StoreFormatException e = await Assert.ThrowsAsync<StoreFormatException>(() => ServerFixture.StartAsync(settings: SqliteAt(data.Path)));

        Assert.Contains("store format version 99", e.Message, StringComparison.Ordinal);
        Assert.Contains($"reads version {SqliteDocumentRecords.FormatVersion}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_AFileThatIsNotCompares_FailsAndLeavesItAlone()
    {
        using var data = new TempDirectory();
        string file = Path.Combine(data.Path, SqliteDocumentRecords.FileName);
        await File.WriteAllTextAsync(file, "these are someone else's notes, not a database");

        StoreFormatException e = await Assert.ThrowsAsync<StoreFormatException>(() => ServerFixture.StartAsync(settings: SqliteAt(data.Path)));

        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Equal("these are someone else's notes, not a database", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task Executable_DataFromAnotherFormatVersion_ExitsWithTheReason()
    {
        using var data = new TempDirectory();
        WriteDataOfFormatVersion(data.Path, 7);

        await using ServerProcess server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = data.Path }, waitUntilServing: false);
        int exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("store format version 7", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_WhileTheIndexLoads_AnswersNotServingAndCallsUnavailable()
    {
        var records = new GatedRecords(new MemoryDocumentRecords());
        (WebApplication app, GrpcChannel channel) = await StartWithoutWaitingAsync(records);
        await using (app)
        using (channel)
        {
            var health = new Health.HealthClient(channel);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
            RpcException e = await RpcAssert.FailsAsync(StatusCode.Unavailable,
                async () => await new CollectionService.CollectionServiceClient(channel).ListCollectionsAsync(new ListCollectionsRequest()));
            Assert.Contains("loading", e.Status.Detail, StringComparison.Ordinal);

            records.Release.SetResult();
            await ServerFixture.WaitUntilServingAsync(channel);
            Assert.NotEmpty((await new CollectionService.CollectionServiceClient(channel).ListCollectionsAsync(new ListCollectionsRequest())).Collections);
        }
    }

    [Fact]
    public async Task WarmingTheSignatures_SplitsTheCollectionIntoOrderedRangesThatTogetherHoldEveryRowFromTheFirstBound()
    {
        // Ids in an order unrelated to the order of writes, and another collection's documents between them.
        using var data = new TempDirectory();
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text)];
        string[] ids = [.. Enumerable.Range(0, 1500).Select(i => Guid.NewGuid().ToString("N"))];
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(data.Path));
        await using (app)
        using (channel)
        {
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "other" });
            var documents = new DocumentService.DocumentServiceClient(channel);
            for (int start = 0; start < ids.Length; start += 100)
            {
                string[] chunk = ids[start..(start + 100)];
                await documents.UpsertDocumentsAsync(Batch(string.Empty, chunk.Select((id, i) => (id, texts[(start + i) % texts.Length]))));
                await documents.UpsertDocumentsAsync(Batch("other", chunk.Take(30).Select(id => ("o" + id, texts[0]))));
            }
        }

        using var records = new SqliteDocumentRecords(data.Path);
        records.Open();
        long key = records.ListCollections().Single(c => c.Name == CollectionNames.Default).Key;
        (string[] bounds, long rows) = records.WarmSignatures(key, evenWhenCached: true, CancellationToken.None);

        Assert.InRange(bounds.Length, 16, 32);
        Assert.Equal(bounds.Order(StringComparer.Ordinal), bounds);
        Assert.Equal(bounds.Length, bounds.Distinct().Count());
        Assert.Subset(ids.ToHashSet(), bounds.ToHashSet());
        Assert.Equal(ids.Count(id => string.CompareOrdinal(id, bounds[0]) >= 0), rows);
    }

    /// <summary>A valid data file whose recorded store format version is <paramref name="version"/>.</summary>
    private static void WriteDataOfFormatVersion(string directory, int version)
    {
        using (var records = new SqliteDocumentRecords(directory))
        {
            records.Open();
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(directory, SqliteDocumentRecords.FileName)};Pooling=false");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"PRAGMA user_version = {version}";
        command.ExecuteNonQuery();
    }

    private static async Task<(WebApplication, GrpcChannel)> StartWithoutWaitingAsync(IDocumentRecords records)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        Hosting.CompareServerExtensions.AddCompareServer(builder);
        builder.Services.AddSingleton(records);
        WebApplication app = builder.Build();
        Hosting.CompareServerExtensions.MapCompareServer(app);
        await app.StartAsync();
        return (app, GrpcChannel.ForAddress(app.Urls.Single()));
    }

    /// <summary>Records whose load waits until the test releases it.</summary>
    private sealed class GatedRecords(MemoryDocumentRecords inner) : IDocumentRecords
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Description => "gated memory";

        public void Flush() => inner.Flush();

        public Task EnsureDurableAsync() => inner.EnsureDurableAsync();

        public string? Failure => inner.Failure;

        public void LoadSketches(long key, SketchParameters parameters, Action<string, DocumentSketch, int> onDocument, CancellationToken cancellationToken) =>
            Release.Task.Wait(cancellationToken);

        public void LoadSignatures(long key, SketchParameters parameters, StoredSignatureAction onDocument, CancellationToken cancellationToken) =>
            Release.Task.Wait(cancellationToken);

        public void LoadPassages(long key, SketchParameters parameters, Core.Phrases.PassageVisitor onDocument, CancellationToken cancellationToken) =>
            inner.LoadPassages(key, parameters, onDocument, cancellationToken);

        public Dictionary<string, DocumentSketch> GetSketches(long key, SketchParameters parameters, IEnumerable<string> ids) => inner.GetSketches(key, parameters, ids);

        public Dictionary<string, uint[]> GetIndexedSignatures(long key, SketchParameters parameters, IEnumerable<string> ids) =>
            inner.GetIndexedSignatures(key, parameters, ids);

        public void Open() => inner.Open();

        public IReadOnlyList<CollectionRecord> ListCollections() => inner.ListCollections();

        public CollectionRecord CreateCollection(string name, CollectionSettings settings, DateTimeOffset createTime) => inner.CreateCollection(name, settings, createTime);

        public void DeleteCollection(long key) => inner.DeleteCollection(key);

        public long CountDocuments(long key) => inner.CountDocuments(key);

        public void SaveDeduplicateResult(long key, byte[] result) => inner.SaveDeduplicateResult(key, result);

        public byte[]? LoadDeduplicateResult(long key) => inner.LoadDeduplicateResult(key);

        public Dictionary<string, DocumentVersion> Find(long key, IEnumerable<string> ids) => inner.Find(key, ids);

        public void Commit(CollectionRecord collection, IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes) => inner.Commit(collection, writes, deletes);

        public Storage.StoredDocument? GetDocument(long key, string id, bool includeText) => inner.GetDocument(key, id, includeText);

        public IReadOnlyList<Storage.StoredDocument> GetDocuments(long key, IReadOnlyList<string> ids) => inner.GetDocuments(key, ids);

        public (IReadOnlyList<Storage.StoredDocument> Documents, bool HasMore) ListDocuments(long key, string? afterId, int limit, bool includeText) =>
            inner.ListDocuments(key, afterId, limit, includeText);


        public void Dispose() => inner.Dispose();
    }
}
