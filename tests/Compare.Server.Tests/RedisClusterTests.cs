using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using StackExchange.Redis;

namespace Compare.Server.Tests;

/// <summary>
/// Scale-out over a Redis Cluster of three primaries (the contract suite runs every RPC's behaviour on one too): where a
/// collection's keys live, and what callers see when a node dies and comes back.
/// </summary>
public sealed class RedisClusterTests
{
    private static Dictionary<string, string?> ClusterAt(RedisCluster cluster, string prefix) => new()
    {
        ["Storage:Provider"] = "Redis",
        ["Redis:Configuration"] = cluster.Configuration,
        ["Redis:KeyPrefix"] = prefix,
    };

    private static UpsertDocumentsRequest Batch(string collection, IEnumerable<(string Id, string Text)> documents)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.AddRange(documents.Select(d => new Document { Id = d.Id, Text = d.Text }));
        return request;
    }

    [Fact]
    public async Task Collections_SpreadOverTheNodes_EachWholeOnOneNode()
    {
        await using RedisCluster cluster = await RedisCluster.StartAsync();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: ClusterAt(cluster, "spread"));
        await using (app)
        using (channel)
        {
            var collections = new CollectionService.CollectionServiceClient(channel);
            var documents = new DocumentService.DocumentServiceClient(channel);
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Take(14)];
            for (int c = 0; c < 12; c++)
            {
                await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = $"news-{c}", Config = new CollectionConfig() });
                await documents.UpsertDocumentsAsync(Batch($"news-{c}", corpus.Skip(c).Take(3)));
            }

            // Each node's keys, by the collection (hash tag) they belong to.
            await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(cluster.Configuration);
            var tagsByNode = new List<HashSet<string>>();
            foreach (RedisServer node in cluster.Nodes)
            {
                var tags = new HashSet<string>(StringComparer.Ordinal);
                await foreach (RedisKey key in admin.GetServer(node.Configuration).KeysAsync(pattern: "{spread:*"))
                {
                    tags.Add(((string)key!)[..(((string)key!).IndexOf('}', StringComparison.Ordinal) + 1)]);
                }

                tagsByNode.Add(tags);
            }

            Assert.Equal(12, tagsByNode.Sum(t => t.Count));
            Assert.Equal(12, tagsByNode.SelectMany(t => t).Distinct().Count());
            Assert.True(tagsByNode.Count(t => t.Count > 0) >= 2, $"collections per node: {string.Join(", ", tagsByNode.Select(t => t.Count))}");
            for (int c = 0; c < 12; c++)
            {
                Assert.Equal(3, (await collections.GetCollectionAsync(new GetCollectionRequest { Name = $"news-{c}" })).Collection.DocumentCount);
            }
        }
    }

    [Fact]
    public async Task NodeKilledUnderConcurrentWriters_CallsAreOkOrUnavailable_HealthSaysSo_AndNoAcknowledgedWriteIsLost()
    {
        await using RedisCluster cluster = await RedisCluster.StartAsync(nodeTimeoutMilliseconds: 2000);
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: ClusterAt(cluster, "outage"));
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var health = new Health.HealthClient(channel);
            string[] texts = [.. TestData.BbcCorpus().Take(300).Select(d => d.Text)];
            var acknowledged = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var refusals = new System.Collections.Concurrent.ConcurrentDictionary<StatusCode, int>();
            using var stop = new CancellationTokenSource();
            Task[] writers = [.. Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
            {
                for (int n = 0; !stop.IsCancellationRequested; n++)
                {
                    string id = $"w{w}-{n}";
                    try
                    {
                        await documents.UpsertDocumentsAsync(Batch(string.Empty, [(id, texts[(w * 97 + n) % texts.Length])]), deadline: DateTime.UtcNow.AddSeconds(10));
                        acknowledged.Enqueue(id);
                    }
                    catch (RpcException e)
                    {
                        refusals.AddOrUpdate(e.StatusCode, 1, (_, c) => c + 1);
                        await Task.Delay(20);
                    }
                }
            }))];

            await WaitForAsync(() => acknowledged.Count >= 60);
            // Any node: once the others mark it failed, the cluster refuses every key (CLUSTERDOWN), not only its own.
            RedisServer killed = cluster.Nodes[1];
            await killed.StopAsync();
            await WaitForAsync(() => refusals.Values.Sum() >= 20);
            // Whichever node it was, the cluster is soon down as a whole, and health says so.
            for (var deadline = DateTime.UtcNow.AddSeconds(30); (await health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.NotServing;
                await Task.Delay(50))
            {
                Assert.True(DateTime.UtcNow < deadline, "health still SERVING 30 s after a node of the cluster died");
            }

            await killed.StartAgainAsync();
            await ServerFixture.WaitUntilServingAsync(channel);
            int recovered = acknowledged.Count;
            await WaitForAsync(() => acknowledged.Count >= recovered + 60);
            await stop.CancelAsync();
            await Task.WhenAll(writers);

            Assert.Equal([StatusCode.Unavailable], refusals.Keys);
            var stored = new HashSet<string>();
            string token = string.Empty;
            do
            {
                ListDocumentsResponse page = await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1000, PageToken = token });
                stored.UnionWith(page.Documents.Select(d => d.Id));
                token = page.NextPageToken;
            }
            while (token.Length > 0);
            Assert.Subset(stored, acknowledged.ToHashSet());
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !condition(); await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the writers");
        }
    }
}
