using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

/// <summary>A Redis collection past the first range of handles: tens of thousands of documents, so it runs alone (<see cref="HeavyLoad"/>).</summary>
[Collection(HeavyLoad.Name)]
public sealed class RedisRangeTests
{
    [Fact]
    public async Task ACollectionPastOneRangeOfHandles_FindsPassagesAndDuplicatesInEveryRange_AndForgetsADeletedOne()
    {
        // Passage entries are grouped by doubling ranges of handles, the first of 32,768 (PassageEntry), and bucket and
        // forest entries by ranges too: documents past the first range are found, and removed, as those in it. Short texts of words drawn from a large made-up vocabulary share no
        // passage by chance; two of them, one in each range, carry a quote.
        const int Count = 33_500;
        var random = new Random(32_768);
        string[] vocabulary = [.. Enumerable.Range(0, 20_000).Select(_ => new string([.. Enumerable.Range(0, random.Next(4, 9)).Select(_ => (char)('a' + random.Next(26)))]))];
        string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => vocabulary[random.Next(vocabulary.Length)]));
        string first = Words(20), second = Words(20);
        const int InFirstRange = 1_000, InSecondRange = 33_000;
        string[] texts = [.. Enumerable.Range(0, Count).Select(i => i switch
        {
            InFirstRange => $"{Words(15)} {first} {Words(15)}",
            InSecondRange => $"{Words(15)} {second} {Words(15)}",
            _ => Words(40),
        })];

        await using RedisServer redis = await RedisServer.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new Dictionary<string, string?> { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = redis.Configuration, ["Redis:KeyPrefix"] = "ranges" });
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            foreach (int[] chunk in Enumerable.Range(0, Count).Chunk(5_000))
            {
                await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, chunk.Select(i => ($"d{i}", texts[i]))));
            }

            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            var query = new FindSharedPassagesRequest { Query = new DocumentRef { Text = $"{Words(30)} {first} {Words(30)} {second} {Words(30)}" }, TopK = 10 };
            FindSharedPassagesResponse found = await similarity.FindSharedPassagesAsync(query);
            Assert.Equal(["d1000", "d33000"], found.Matches.Select(m => m.Id).Order(StringComparer.Ordinal));
            Assert.All(found.Matches, m => Assert.Equal(20, m.SharedWordCount));

            // Near-duplicates past the first range too: each text finds itself whole.
            foreach (int i in new[] { 5, InSecondRange, Count - 1 })
            {
                FindSimilarResponse similar = await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = texts[i] }, Threshold = 0.5, TopK = 50 });
                Assert.Equal($"d{i}", Assert.Single(similar.Matches).Id);
            }

            await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Ids = { "d33000" } });
            Assert.Equal("d1000", Assert.Single((await similarity.FindSharedPassagesAsync(query)).Matches).Id);
        }
    }
}
