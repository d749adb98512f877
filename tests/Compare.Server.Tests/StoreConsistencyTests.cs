using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

/// <summary>The three stores give the same answers to the same calls.</summary>
public sealed class StoreConsistencyTests
{
    /// <summary>The server's settings for each store: memory, SQLite in <paramref name="data"/>, and <paramref name="redis"/>.</summary>
    private static Dictionary<string, string?>[] EveryStore(TempDirectory data, RedisServer redis) =>
    [
        new() { ["Storage:Provider"] = "Memory" },
        new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = data.Path },
        new() { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = redis.Configuration },
    ];

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
        foreach (Dictionary<string, string?> settings in EveryStore(data, redis))
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

    private const string Footer = "Copyright 2005 BBC News. All rights reserved. Reproduction of this article in any form without written permission is prohibited.";

    [Fact]
    public async Task Compare_FooterOfEveryArticle_IsBoilerplateWithEveryStoreAndStopsBeingSoWhenArticlesDropIt()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        // The quote stands away from the footer in both texts (a passage running on into the footer is kept).
        string source = corpus[10].Text, quote = source.Split("\n\n").SkipLast(1).OrderByDescending(p => p.Length).First();
        string other = corpus[400].Text;
        int middle = other.IndexOf("\n\n", other.Length / 3, StringComparison.Ordinal);
        Assert.True(middle > 0);
        string quoting = other[..middle] + "\n\nAs an earlier report put it: " + quote + other[middle..];
        using var data = new TempDirectory();
        await using RedisServer redis = await RedisServer.StartAsync();
        foreach (Dictionary<string, string?> settings in EveryStore(data, redis))
        {
            string store = settings["Storage:Provider"]!;
            (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: settings);
            await using (app)
            using (channel)
            {
                var documents = new DocumentService.DocumentServiceClient(channel);
                var similarity = new SimilarityService.SimilarityServiceClient(channel);
                await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest
                {
                    Name = "news",
                    Config = new CollectionConfig { MaxPhraseDocumentFrequency = 0.5 },
                });
                var upsert = new UpsertDocumentsRequest { Collection = "news" };
                upsert.Documents.Add(new Document { Id = "source", Text = source + "\n\n" + Footer });
                upsert.Documents.Add(new Document { Id = "quoting", Text = quoting + "\n\n" + Footer });
                upsert.Documents.AddRange(corpus.Skip(1000).Take(10).Select(d => new Document { Id = d.Id, Text = d.Text + "\n\n" + Footer }));
                await documents.UpsertDocumentsAsync(upsert);
                var compare = new CompareRequest { Collection = "news", Left = new DocumentRef { Id = "source" }, Right = new DocumentRef { Id = "quoting" } };

                // The collection's default (0.5): the footer, in 12 of 12 documents, is left out; the quote stays.
                CompareResponse filtered = await similarity.CompareAsync(compare);
                CompareResponse everything = await similarity.CompareAsync(new CompareRequest(compare) { MaxPhraseDocumentFrequency = 1 });
                CompareResponse swapped = await similarity.CompareAsync(new CompareRequest(compare) { Left = compare.Right, Right = compare.Left });
                Assert.True(everything.SharedPhrases.Any(p => p.Text.Contains("All rights reserved", StringComparison.Ordinal)), store);
                Assert.DoesNotContain(filtered.SharedPhrases, p => p.Text.Contains("All rights reserved", StringComparison.Ordinal));
                Assert.Contains(filtered.SharedPhrases, p => quote.StartsWith(p.Text, StringComparison.Ordinal) && p.WordCount > 50);
                Assert.Equal(1, filtered.BoilerplatePhraseCount);
                Assert.Equal(0, everything.BoilerplatePhraseCount);
                int footerWords = Core.Text.Tokenizer.Tokenize(Footer, Core.Text.NormalizationOptions.Default, 1).Length;
                Assert.Equal(everything.LeftCoverage * everything.LeftWordCount - footerWords, filtered.LeftCoverage * filtered.LeftWordCount, 6);
                Assert.Equal((filtered.LeftCoverage, filtered.RightCoverage, filtered.BoilerplatePhraseCount), (swapped.RightCoverage, swapped.LeftCoverage, swapped.BoilerplatePhraseCount));

                // Ten articles rewritten without the footer: it is in 2 of 12 documents, telling again.
                var rewrite = new UpsertDocumentsRequest { Collection = "news" };
                rewrite.Documents.AddRange(corpus.Skip(1000).Take(10).Select(d => new Document { Id = d.Id, Text = d.Text }));
                await documents.UpsertDocumentsAsync(rewrite);
                CompareResponse telling = await similarity.CompareAsync(compare);
                Assert.Equal(0, telling.BoilerplatePhraseCount);
                Assert.Contains(telling.SharedPhrases, p => p.Text.Contains("All rights reserved", StringComparison.Ordinal));

                // At 10 %, more than one document of twelve: the footer and the quote, each in two, are both boilerplate;
                // once "quoting" is deleted each is in one document only, and telling again.
                var inline = new CompareRequest(compare) { Right = new DocumentRef { Text = quoting + "\n\n" + Footer }, MaxPhraseDocumentFrequency = 0.1 };
                Assert.Equal(2, (await similarity.CompareAsync(inline)).BoilerplatePhraseCount);
                await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = "news", Ids = { "quoting" } });
                CompareResponse afterDelete = await similarity.CompareAsync(inline);
                Assert.Equal(0, afterDelete.BoilerplatePhraseCount);
                Assert.Equal(everything.LeftCoverage, afterDelete.LeftCoverage);
                await RpcAssert.InvalidFieldAsync("max_phrase_document_frequency",
                    () => similarity.CompareAsync(new CompareRequest(compare) { MaxPhraseDocumentFrequency = 0 }).ResponseAsync);
            }
        }
    }
}
