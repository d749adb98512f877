using Compare.Server.Storage.Local;
using Compare.Server.Storage.Sqlite;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Win32.SafeHandles;

namespace Compare.Server.Tests;

/// <summary>
/// SQLite's log synced apart from the commits (WalDurability): a call is answered only once the disk has synced what it
/// wrote, the next batch is written meanwhile, and a failed sync refuses every later write until a restart.
/// </summary>
public sealed class SqliteDurabilityTests
{
    private const string Collection = "news";

    [Fact]
    public async Task StreamUpsert_WritesTheNextMessageWhileTheDiskSyncsTheLast_AndAnswersOnlyOnceBothAreSynced()
    {
        using var data = new TempDirectory();
        var disk = new SlowDisk();
        (WebApplication app, GrpcChannel channel) = await StartWithCollectionAsync(data.Path, disk.Sync);
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            string[] texts = [.. TestData.BbcCorpus().Take(40).Select(d => d.Text)];
            int syncsBefore = disk.Syncs;
            disk.Hold();

            using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call = documents.StreamUpsertDocuments();
            await call.RequestStream.WriteAsync(Message("first", texts[..20]));
            await call.RequestStream.WriteAsync(Message("second", texts[20..]));
            await call.RequestStream.CompleteAsync();

            // The first message's sync is held; the second message is written (and readable) all the same.
            await disk.Held.WaitAsync(TimeSpan.FromSeconds(30));
            await WaitUntilStoredAsync(documents, "second-19");
            await Task.Delay(200);
            Assert.False(call.ResponseAsync.IsCompleted, "the call was answered before its messages were synced");

            disk.Release();
            StreamUpsertDocumentsResponse summary = await call.ResponseAsync;
            Assert.Equal(40, summary.CreatedCount);
            Assert.Equal(2, summary.MessageCount);
            // One sync per message at most: a sync covers every commit made before it began.
            Assert.InRange(disk.Syncs - syncsBefore, 1, 2);
        }
    }

    [Fact]
    public async Task Upsert_AnsweredOnlyAfterItsSync_AndAReadSyncsNothing()
    {
        using var data = new TempDirectory();
        var disk = new SlowDisk();
        (WebApplication app, GrpcChannel channel) = await StartWithCollectionAsync(data.Path, disk.Sync);
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            string text = TestData.BbcCorpus()[0].Text;
            disk.Hold();

            AsyncUnaryCall<UpsertDocumentsResponse> upsert = documents.UpsertDocumentsAsync(ServerFixture.Batch(Collection, [("a", text)]));
            await disk.Held.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(200);
            Assert.False(upsert.ResponseAsync.IsCompleted, "the upsert was answered before its sync");
            disk.Release();
            Assert.Equal(UpsertStatus.Created, Assert.Single((await upsert).Results).Status);

            int syncs = disk.Syncs;
            await documents.GetDocumentAsync(new GetDocumentRequest { Collection = Collection, Id = "a", IncludeText = true });
            await new SimilarityService.SimilarityServiceClient(channel).FindSimilarAsync(new FindSimilarRequest { Collection = Collection, Query = new DocumentRef { Text = text } });
            Assert.Equal(syncs, disk.Syncs);
        }
    }

    [Fact]
    public async Task AFailedSync_IsUnavailable_AndRefusesEveryLaterWriteUntilARestart_WhileReadsGoOn()
    {
        using var data = new TempDirectory();
        string[] texts = [.. TestData.BbcCorpus().Take(3).Select(d => d.Text)];
        var disk = new FailingDisk();
        (WebApplication app, GrpcChannel channel) = await StartWithCollectionAsync(data.Path, disk.Sync);
        await using (app)
        using (channel)
        {
            var collections = new CollectionService.CollectionServiceClient(channel);
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(Collection, [("kept", texts[0])]));
            disk.Fail = true;

            RpcException failed = await RpcAssert.FailsAsync(StatusCode.Unavailable,
                async () => await documents.UpsertDocumentsAsync(ServerFixture.Batch(Collection, [("lost", texts[1])])));
            Assert.Contains("sync", failed.Status.Detail, StringComparison.Ordinal);
            disk.Fail = false;

            // The disk answers again, but what it dropped is unknown: no write is taken until a restart.
            await RpcAssert.FailsAsync(StatusCode.Unavailable,
                async () => await documents.UpsertDocumentsAsync(ServerFixture.Batch(Collection, [("later", texts[2])])));
            await RpcAssert.FailsAsync(StatusCode.Unavailable,
                async () => await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = Collection, Ids = { "kept" } }));
            await RpcAssert.FailsAsync(StatusCode.Unavailable, async () => await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "other" }));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
            Assert.Equal(texts[0], (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = Collection, Id = "kept", IncludeText = true })).Document.Text);
            await app.StopAsync();
        }

        (app, channel) = await StartAsync(data.Path, RandomAccess.FlushToDisk);
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch(Collection, [("later", texts[2])]));
            ListDocumentsResponse listed = await documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = Collection });
            Assert.Contains("kept", listed.Documents.Select(d => d.Id));
            Assert.Contains("later", listed.Documents.Select(d => d.Id));
        }
    }

    private static Task<(WebApplication App, GrpcChannel Channel)> StartAsync(string path, Action<SafeFileHandle> sync) =>
        ServerFixture.StartAsync(
            services => services.AddSingleton<IDocumentRecords>(new SqliteDocumentRecords(path, null, sync)),
            new Dictionary<string, string?> { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = path });

    /// <summary>A server on SQLite records in <paramref name="path"/> whose log <paramref name="sync"/> syncs, with the collection the tests write.</summary>
    private static async Task<(WebApplication App, GrpcChannel Channel)> StartWithCollectionAsync(string path, Action<SafeFileHandle> sync)
    {
        (WebApplication app, GrpcChannel channel) = await StartAsync(path, sync);
        await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = Collection });
        return (app, channel);
    }

    private static StreamUpsertDocumentsRequest Message(string prefix, string[] texts)
    {
        var message = new StreamUpsertDocumentsRequest { Collection = Collection };
        message.Documents.Add(texts.Select((text, i) => new Document { Id = $"{prefix}-{i}", Text = text }));
        return message;
    }

    private static async Task WaitUntilStoredAsync(DocumentService.DocumentServiceClient documents, string id)
    {
        for (int attempt = 0; attempt < 300; attempt++)
        {
            try
            {
                await documents.GetDocumentAsync(new GetDocumentRequest { Collection = Collection, Id = id });
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                await Task.Delay(100);
            }
        }

        Assert.Fail($"{id} was not written while the sync before it was held");
    }

    /// <summary>A disk whose syncs wait, once held, until released; it counts them.</summary>
    private sealed class SlowDisk
    {
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile TaskCompletionSource? _gate;
        private int _syncs;

        /// <summary>Completes when a sync first waits.</summary>
        public Task Held => _held.Task;

        public int Syncs => Volatile.Read(ref _syncs);

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate?.TrySetResult();

        public void Sync(SafeFileHandle log)
        {
            if (_gate is { Task.IsCompleted: false } gate)
            {
                _held.TrySetResult();
                gate.Task.Wait(TimeSpan.FromSeconds(60));
            }

            RandomAccess.FlushToDisk(log);
            Interlocked.Increment(ref _syncs);
        }
    }

    /// <summary>A disk whose syncs fail while <see cref="Fail"/> is set, as fsync does on EIO.</summary>
    private sealed class FailingDisk
    {
        public volatile bool Fail;

        public void Sync(SafeFileHandle log)
        {
            if (Fail)
            {
                throw new IOException("Input/output error");
            }

            RandomAccess.FlushToDisk(log);
        }
    }
}
