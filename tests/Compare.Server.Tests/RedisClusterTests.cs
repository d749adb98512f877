using Compare.V1;
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
                await documents.UpsertDocumentsAsync(ServerFixture.Batch($"news-{c}", corpus.Skip(c).Take(3)));
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
            var health = new Health.HealthClient(channel);
            // Any node: once the others mark it failed, the cluster refuses every key (CLUSTERDOWN), not only its own.
            RedisServer killed = cluster.Nodes[1];
            await OutageDrill.RunAsync(channel, writers: 3, acknowledgedEachSide: 60, killed.StopAsync, async () =>
            {
                // Whichever node it was, the cluster is soon down as a whole, and health says so.
                for (var deadline = DateTime.UtcNow.AddSeconds(30); (await health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.NotServing;
                    await Task.Delay(50))
                {
                    Assert.True(DateTime.UtcNow < deadline, "health still SERVING 30 s after a node of the cluster died");
                }
            }, () => killed.StartAgainAsync());
        }
    }
}
