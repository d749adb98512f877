using System.Text;
using Compare.Server.Storage.Sqlite;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace Compare.Server.Tests;

/// <summary>
/// Bytes altered inside the SQLite file: the damaged document answers DATA_LOSS on its own, everything else is served,
/// and an upsert of the original text repairs it.
/// </summary>
public sealed class DamagedRowTests
{
    private static Dictionary<string, string?> SqliteAt(string path) => new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = path };

    [Fact]
    public async Task DamagedRows_AreDataLossForThatDocumentOnly_AndAnUpsertOfTheOriginalRepairsThem()
    {
        using var data = new TempDirectory();
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(40)];
        (string Id, string Text) alteredText = corpus[0], unreadableSketch = corpus[1], intact = corpus[2];
        await WithServerAsync(data.Path, async (channel, documents) =>
        {
            var collections = new CollectionService.CollectionServiceClient(channel);
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "other" });
            await documents.UpsertDocumentsAsync(Batch("news", corpus));
            await documents.UpsertDocumentsAsync(Batch("other", corpus.Skip(2)));
        });

        // One letter of a stored text changed in the file, as a bad sector or a stray write would; and one document's
        // sketch and signature rows cut short.
        string file = Path.Combine(data.Path, SqliteDocumentRecords.FileName);
        ReplaceEverywhere(file, Encoding.UTF8.GetBytes(alteredText.Text[..60]), Encoding.UTF8.GetBytes(alteredText.Text[..59] + (alteredText.Text[59] == 'x' ? 'y' : 'x')));
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "UPDATE documents SET sketch = x'0102' WHERE id = $id; UPDATE document_signatures SET signature = x'03' WHERE id = $id";
            command.Parameters.AddWithValue("$id", unreadableSketch.Id);
            Assert.Equal(2, command.ExecuteNonQuery());
        }

        await WithServerAsync(data.Path, async (channel, documents) =>
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
            foreach (bool includeText in new[] { true, false })
            {
                RpcException lost = await RpcAssert.FailsAsync(StatusCode.DataLoss,
                    () => documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = alteredText.Id, IncludeText = includeText }).ResponseAsync);
                Assert.Contains(alteredText.Id, lost.Status.Detail, StringComparison.Ordinal);
                Assert.Contains("Upsert its text again", lost.Status.Detail, StringComparison.Ordinal);
                Assert.DoesNotContain(data.Path, lost.Status.Detail, StringComparison.Ordinal);
                Assert.DoesNotContain(".db", lost.Status.Detail, StringComparison.Ordinal);
            }

            await RpcAssert.FailsAsync(StatusCode.DataLoss, () => similarity.CompareAsync(new CompareRequest
            {
                Collection = "news",
                Left = new DocumentRef { Id = alteredText.Id },
                Right = new DocumentRef { Text = intact.Text },
            }).ResponseAsync);
            await RpcAssert.FailsAsync(StatusCode.DataLoss, () => similarity.FindSimilarAsync(new FindSimilarRequest
            {
                Collection = "news",
                Query = new DocumentRef { Id = unreadableSketch.Id },
            }).ResponseAsync);
            await RpcAssert.FailsAsync(StatusCode.DataLoss,
                () => documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = "news", IncludeText = true, PageSize = 100 }).ResponseAsync);

            // Everything else is served: the other documents, a listing without texts, the other collection, queries and Deduplicate.
            Assert.Equal(corpus.Count, (await documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = "news", PageSize = 100 })).Documents.Count);
            Assert.Equal(intact.Text, (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = intact.Id, IncludeText = true })).Document.Text);
            Assert.Equal(unreadableSketch.Text,
                (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = unreadableSketch.Id, IncludeText = true })).Document.Text);
            Assert.Equal(intact.Text, (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "other", Id = intact.Id, IncludeText = true })).Document.Text);
            Assert.Equal(intact.Id, (await Similar(similarity, intact.Text)).First().Id);
            Assert.DoesNotContain(await Similar(similarity, unreadableSketch.Text), m => m.Id == unreadableSketch.Id);
            await foreach (DeduplicateResponse _ in similarity.Deduplicate(new DeduplicateRequest { Collection = "news" }).ResponseStream.ReadAllAsync())
            {
            }

            // A passage search whose candidates (read together) include the altered text finds the others and leaves it out.
            string quoting = "One report said " + string.Join(' ', alteredText.Text.Split(' ')[20..40]) + " and another said "
                + string.Join(' ', intact.Text.Split(' ')[20..40]) + " in the end.";
            FindSharedPassagesResponse passages = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = "news", Query = new DocumentRef { Text = quoting } });
            Assert.Contains(passages.Matches, m => m.Id == intact.Id);
            Assert.DoesNotContain(passages.Matches, m => m.Id == alteredText.Id);
            Assert.True(passages.CandidatesVerified >= 2, $"{passages.CandidatesVerified} candidates verified");

            // The same text again is not UNCHANGED: the damaged copies are rewritten.
            UpsertDocumentsResponse repaired = await documents.UpsertDocumentsAsync(Batch("news", [alteredText, unreadableSketch, intact]));
            Assert.Equal([UpsertStatus.Updated, UpsertStatus.Updated, UpsertStatus.Unchanged], repaired.Results.Select(r => r.Status));
            Assert.Equal(alteredText.Text, (await documents.GetDocumentAsync(new GetDocumentRequest { Collection = "news", Id = alteredText.Id, IncludeText = true })).Document.Text);
            SimilarityMatch found = (await Similar(similarity, unreadableSketch.Text)).First();
            Assert.Equal((unreadableSketch.Id, 1.0), (found.Id, found.Jaccard));
            Assert.Equal(corpus.Count, (await documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = "news", IncludeText = true, PageSize = 100 })).Documents.Count);
        });

        // Repaired on disk too: a restart indexes every document again.
        await WithServerAsync(data.Path, async (channel, documents) =>
        {
            SimilarityMatch found = (await Similar(new SimilarityService.SimilarityServiceClient(channel), unreadableSketch.Text)).First();
            Assert.Equal((unreadableSketch.Id, 1.0), (found.Id, found.Jaccard));
            Assert.Equal(UpsertStatus.Unchanged, (await documents.UpsertDocumentsAsync(Batch("news", [alteredText]))).Results[0].Status);
        });
    }

    private static async Task WithServerAsync(string path, Func<GrpcChannel, DocumentService.DocumentServiceClient, Task> work)
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: SqliteAt(path));
        await using (app)
        using (channel)
        {
            await work(channel, new DocumentService.DocumentServiceClient(channel));
            await app.StopAsync();
        }

        SqliteConnection.ClearAllPools();
    }

    private static async Task<IReadOnlyList<SimilarityMatch>> Similar(SimilarityService.SimilarityServiceClient similarity, string text) =>
        (await similarity.FindSimilarAsync(new FindSimilarRequest { Collection = "news", Query = new DocumentRef { Text = text }, Threshold = 0.9 })).Matches;

    private static UpsertDocumentsRequest Batch(string collection, IEnumerable<(string Id, string Text)> documents)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.AddRange(documents.Select(d => new Document { Id = d.Id, Text = d.Text, Metadata = { ["source"] = "bbc" } }));
        return request;
    }

    /// <summary>
    /// Replaces every place <paramref name="find"/> occurs in the file's bytes: the row, and any stale copy a page split left in
    /// a page's free space (SQLite moves rows between pages without wiping where they were).
    /// </summary>
    private static void ReplaceEverywhere(string file, byte[] find, byte[] replacement)
    {
        byte[] bytes = File.ReadAllBytes(file);
        int replaced = 0;
        for (int at = bytes.AsSpan().IndexOf(find); at >= 0; at = bytes.AsSpan().IndexOf(find))
        {
            replacement.CopyTo(bytes, at);
            replaced++;
        }

        Assert.True(replaced > 0, "the text is in the file");
        File.WriteAllBytes(file, bytes);
    }
}
