using Compare.Server.Storage.Sqlite;
using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace Compare.Server.Tests;

/// <summary>
/// The backup README's Storage section gives for SQLite: <c>VACUUM INTO</c> from another process while the server
/// serves and writes, and a server started on the copy answers as the original did for every document the copy holds.
/// </summary>
public sealed class BackupTests
{
    [Fact]
    public async Task SqliteVacuumInto_WhileTheServerWrites_IsAConsistentCopyThatAServerServesAlike()
    {
        using var original = new TempDirectory();
        using var backup = new TempDirectory();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus()];
        var config = new CollectionConfig { Threshold = 0.6, Seed = 42, Normalization = new Normalization { FoldDigits = true } };

        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(original.Path));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "news", Config = config });
            await documents.UpsertDocumentsAsync(Batch(corpus.Take(1000)));

            // The copy is taken while batches keep arriving: it holds the first thousand and some whole batches after them.
            using var stop = new CancellationTokenSource();
            Task writer = Task.Run(async () =>
            {
                foreach ((string Id, string Text)[] batch in corpus.Skip(1000).Chunk(25))
                {
                    await documents.UpsertDocumentsAsync(Batch(batch));
                }
            });
            await Task.Delay(50);
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(original.Path, SqliteDocumentRecords.FileName), Pooling = false }.ToString()))
            {
                connection.Open();
                using SqliteCommand vacuum = connection.CreateCommand();
                vacuum.CommandText = "VACUUM INTO $copy";
                vacuum.Parameters.AddWithValue("$copy", Path.Combine(backup.Path, SqliteDocumentRecords.FileName));
                vacuum.ExecuteNonQuery();
            }

            await writer;
            Dictionary<string, StoredDocument> served = await AllAsync(documents);

            (WebApplication copyApp, GrpcChannel copyChannel) = await ServerFixture.StartAsync(settings: SqliteAt(backup.Path));
            await using (copyApp)
            using (copyChannel)
            {
                var copyDocuments = new DocumentService.DocumentServiceClient(copyChannel);
                Collection copied = (await new CollectionService.CollectionServiceClient(copyChannel).GetCollectionAsync(new GetCollectionRequest { Name = "news" })).Collection;
                Dictionary<string, StoredDocument> held = await AllAsync(copyDocuments);

                Assert.Equal(config.Seed, copied.Config.Seed);
                Assert.True(copied.Config.Normalization.FoldDigits);
                Assert.InRange(held.Count, 1000, corpus.Count);
                Assert.Equal(0, (held.Count - 1000) % 25); // whole batches only
                Assert.All(corpus.Take(1000), d => Assert.True(held.ContainsKey(d.Id), d.Id));
                Assert.All(held.Values, d => Assert.Equal(served[d.Id].ContentHash, d.ContentHash));

                // Near-duplicate queries on the copy find what the original finds among the documents the copy holds.
                var similarity = new SimilarityService.SimilarityServiceClient(channel);
                var copySimilarity = new SimilarityService.SimilarityServiceClient(copyChannel);
                foreach ((string Id, string Text) query in corpus.Where((_, i) => i % 97 == 0))
                {
                    var request = new FindSimilarRequest { Collection = "news", Query = new DocumentRef { Text = query.Text + " An added closing line." }, Threshold = 0.5, TopK = 1000 };
                    string[] expected = [.. (await similarity.FindSimilarAsync(request)).Matches.Where(m => held.ContainsKey(m.Id)).Select(m => $"{m.Id} {m.Jaccard:R}")];
                    string[] answered = [.. (await copySimilarity.FindSimilarAsync(request)).Matches.Select(m => $"{m.Id} {m.Jaccard:R}")];
                    Assert.Equal(expected, answered);
                    Assert.Equal(held.ContainsKey(query.Id), answered.Any(a => a.StartsWith(query.Id + " ", StringComparison.Ordinal)));
                }

                await copyApp.StopAsync();
            }

            await app.StopAsync();
        }

        SqliteConnection.ClearAllPools();
    }

    private static Dictionary<string, string?> SqliteAt(string path) => new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = path };

    private static UpsertDocumentsRequest Batch(IEnumerable<(string Id, string Text)> documents)
    {
        var request = new UpsertDocumentsRequest { Collection = "news" };
        request.Documents.AddRange(documents.Select(d => new Document { Id = d.Id, Text = d.Text }));
        return request;
    }

    private static async Task<Dictionary<string, StoredDocument>> AllAsync(DocumentService.DocumentServiceClient documents)
    {
        var all = new Dictionary<string, StoredDocument>(StringComparer.Ordinal);
        var request = new ListDocumentsRequest { Collection = "news", PageSize = 1000 };
        do
        {
            ListDocumentsResponse page = await documents.ListDocumentsAsync(request);
            foreach (StoredDocument document in page.Documents)
            {
                all.Add(document.Id, document);
            }

            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return all;
    }
}
