using System.Diagnostics;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;

namespace Compare.Server.Tests;

/// <summary>The SQLite store on a file system that fills up (a small tmpfs the test mounts), then gets room again.</summary>
public sealed class DiskFullTests
{
    // More than the 64 new documents from which a commit fills their buckets beside the records (LocalDocumentStore).
    private const int BatchSize = 80;

    [Fact]
    public async Task Upserts_OnAFullDisk_AreResourceExhaustedWithNoPathAndHealthSaysSoUntilSpaceReturns()
    {
        using var mount = new TempDirectory();
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mount.Path);
        try
        {
            await using ServerProcess server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = mount.Path });
            var documents = server.Documents;
            var stored = new List<string>();
            UpsertDocumentsRequest? refused = null;
            RpcException? full = null;
            int batch = 0;
            for (; batch < 100; batch++)
            {
                var request = new UpsertDocumentsRequest();
                request.Documents.AddRange(TestData.BbcCorpus().Skip(batch * BatchSize % 2000).Take(BatchSize).Select((d, i) => new Document { Id = $"b{batch}-{i}", Text = d.Text }));
                try
                {
                    await documents.UpsertDocumentsAsync(request);
                    stored.AddRange(request.Documents.Select(d => d.Id));
                }
                catch (RpcException e)
                {
                    (full, refused) = (e, request);
                    break;
                }
            }

            Assert.NotNull(full);
            Assert.Equal(StatusCode.ResourceExhausted, full.StatusCode);
            Assert.Contains("disk under the store is full", full.Status.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(mount.Path, full.Status.Detail, StringComparison.Ordinal);
            var health = new Health.HealthClient(server.Channel);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
            Assert.NotEmpty(stored);
            Assert.Equal(stored[^1], (await documents.GetDocumentAsync(new GetDocumentRequest { Id = stored[^1] })).Document.Id);

            // Room again: writes go on by themselves, health recovers, and everything acknowledged is there.
            await RunAsync("mount", "-o", "remount,size=64m", mount.Path);
            Assert.Equal(1, (await documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Documents = { new Document { Id = "after", Text = TestData.Seed2014 } } })).CreatedCount);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
            Assert.Equal(stored.Count + 1, (await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1 })).TotalCount);
            foreach (string id in new[] { stored[0], stored[^1], "after" })
            {
                Assert.Equal(id, (await documents.GetDocumentAsync(new GetDocumentRequest { Id = id })).Document.Id);
            }

            // Nothing of the refused batch was stored, nor left in the index's buckets: it goes in whole when sent again.
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Id = $"b{batch}-0" }).ResponseAsync);
            var collections = new CollectionService.CollectionServiceClient(server.Channel);
            Assert.Equal(stored.Count + 1, (await collections.GetCollectionAsync(new GetCollectionRequest())).Collection.DocumentCount);
            Assert.Equal(BatchSize, (await documents.UpsertDocumentsAsync(refused!)).CreatedCount);
            Assert.Equal(stored.Count + 1 + BatchSize, (await collections.GetCollectionAsync(new GetCollectionRequest())).Collection.DocumentCount);
            FindSimilarResponse similar = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Id = $"b{batch}-0" }, IncludeSelf = true });
            Assert.Contains(similar.Matches, m => m.Id == $"b{batch}-0");
        }
        finally
        {
            await RunAsync("umount", "-l", mount.Path);
        }
    }

    private static async Task RunAsync(string command, params string[] arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)}: {error}");
    }
}
