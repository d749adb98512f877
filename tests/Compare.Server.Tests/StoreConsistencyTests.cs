using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

/// <summary>The three stores give the same answers to the same calls.</summary>
public sealed class StoreConsistencyTests
{
    [Fact]
    public async Task ListDocuments_IdsAboveTheBasicPlane_PageInCodePointOrderWithEveryStore()
    {
        // U+1F600 sorts before U+FFFD by UTF-16 unit but after it by code point.
        string[] ids = ["b", "a\uFFFD", "a\U0001F600", "a", "A", "a\u00E9", "a-1"];
        string[] expected = [.. ids.OrderBy(id => id, Comparer<string>.Create((x, y) =>
            string.CompareOrdinal(string.Join(",", x.EnumerateRunes().Select(r => r.Value.ToString("x6", null))),
                                  string.Join(",", y.EnumerateRunes().Select(r => r.Value.ToString("x6", null))))))];
        Assert.Equal(["A", "a", "a-1", "a\u00E9", "a\uFFFD", "a\U0001F600", "b"], expected);

        using var data = new TempDirectory();
        await using RedisServer redis = await RedisServer.StartAsync();
        foreach (Dictionary<string, string?> settings in new Dictionary<string, string?>[]
        {
            new() { ["Storage:Provider"] = "Memory" },
            new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = data.Path },
            new() { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = redis.Configuration },
        })
        {
            (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: settings);
            await using (app)
            using (channel)
            {
                var documents = new DocumentService.DocumentServiceClient(channel);
                var request = new UpsertDocumentsRequest();
                request.Documents.AddRange(ids.Select(id => new Document { Id = id, Text = "text of " + id }));
                await documents.UpsertDocumentsAsync(request);

                var listed = new List<string>();
                string token = string.Empty;
                do
                {
                    ListDocumentsResponse page = await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 2, PageToken = token });
                    listed.AddRange(page.Documents.Select(d => d.Id));
                    Assert.Equal(ids.Length, page.TotalCount);
                    token = page.NextPageToken;
                }
                while (token.Length > 0);

                Assert.True(expected.SequenceEqual(listed), $"{settings["Storage:Provider"]}: {string.Join(" ", listed)}");
            }
        }
    }
}
