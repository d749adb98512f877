using Compare.Server.Application;
using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Compare.Server.Tests.Contract;

/// <summary>
/// Two ways into one store, for the contract suite: two replicas over one Redis, or two channels to the one
/// server that owns a memory or SQLite store (the local stores are one process by design).
/// </summary>
public abstract class StoreReplicas : IAsyncLifetime
{
    private readonly List<WebApplication> _apps = [];
    private readonly List<GrpcChannel> _channels = [];

    /// <summary>The store's name, for messages.</summary>
    public abstract string Store { get; }

    /// <summary>The first way in.</summary>
    public GrpcChannel A => _channels[0];

    /// <summary>The second way in: another replica where the store is shared.</summary>
    public GrpcChannel B => _channels[1];

    public async Task InitializeAsync()
    {
        await StartBackingAsync();
        foreach (Dictionary<string, string?> settings in ReplicaSettings())
        {
            (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: settings);
            _apps.Add(app);
            _channels.Add(channel);
        }

        if (_channels.Count == 1)
        {
            _channels.Add(GrpcChannel.ForAddress(_apps[0].Urls.Single(), new GrpcChannelOptions { MaxReceiveMessageSize = null }));
        }
    }

    public async Task DisposeAsync()
    {
        _channels.ForEach(c => c.Dispose());
        foreach (WebApplication app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await StopBackingAsync();
    }

    /// <summary>The long texts the server behind the second way in keeps prepared for FindSharedPassages.</summary>
    internal LongPassageTexts LongTextsOfB => _apps[^1].Services.GetRequiredService<LongPassageTexts>();

    /// <summary>The first way in, as the single-server tests name it.</summary>
    public GrpcChannel Channel => A;

    public CollectionService.CollectionServiceClient Collections => new(A);

    public DocumentService.DocumentServiceClient Documents => new(A);

    public SimilarityService.SimilarityServiceClient Similarity => new(A);

    /// <summary>A fresh collection (the default configuration unless given), so tests do not see each other's documents.</summary>
    public async Task<string> NewCollectionAsync(CollectionConfig? config = null)
    {
        string name = "c-" + Guid.NewGuid().ToString("N")[..12];
        await Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Config = config ?? new CollectionConfig() });
        return name;
    }

    /// <summary>A fresh collection holding the seeds (and any <paramref name="extra"/> documents).</summary>
    public async Task<string> SeedsCollectionAsync(params (string Id, string Text)[] extra)
    {
        string c = await NewCollectionAsync();
        await Documents.UpsertDocumentsAsync(ServerFixture.Seeds(c, extra));
        return c;
    }

    /// <summary>Configuration of each server to start: one for a local store, two for a shared one.</summary>
    protected abstract IEnumerable<Dictionary<string, string?>> ReplicaSettings();

    protected virtual Task StartBackingAsync() => Task.CompletedTask;

    protected virtual Task StopBackingAsync() => Task.CompletedTask;
}

public sealed class MemoryReplicas : StoreReplicas
{
    public override string Store => "Memory";

    protected override IEnumerable<Dictionary<string, string?>> ReplicaSettings() => [new() { ["Storage:Provider"] = "Memory" }];
}

public sealed class SqliteReplicas : StoreReplicas
{
    private readonly string _data = Directory.CreateTempSubdirectory("compare-contract-").FullName;

    public override string Store => "SQLite";

    protected override IEnumerable<Dictionary<string, string?>> ReplicaSettings() => [new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = _data }];

    protected override Task StopBackingAsync()
    {
        TempDirectory.Delete(_data);
        return Task.CompletedTask;
    }
}

public sealed class RedisReplicas : StoreReplicas
{
    private RedisServer? _redis;

    public override string Store => "Redis";

    protected override async Task StartBackingAsync() => _redis = await RedisServer.StartAsync();

    protected override IEnumerable<Dictionary<string, string?>> ReplicaSettings()
    {
        var settings = new Dictionary<string, string?> { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = _redis!.Configuration, ["Redis:KeyPrefix"] = "contract" };
        return [settings, new(settings)];
    }

    protected override async Task StopBackingAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>
/// Two replicas over a Redis Cluster of three primaries: each collection's keys share one hash tag, so they live on one
/// node, while the collections' records, and other collections, live on others.
/// </summary>
public sealed class RedisClusterReplicas : StoreReplicas
{
    private RedisCluster? _cluster;

    public override string Store => "Redis Cluster";

    protected override async Task StartBackingAsync() => _cluster = await RedisCluster.StartAsync();

    protected override IEnumerable<Dictionary<string, string?>> ReplicaSettings()
    {
        var settings = new Dictionary<string, string?> { ["Storage:Provider"] = "Redis", ["Redis:Configuration"] = _cluster!.Configuration, ["Redis:KeyPrefix"] = "contract" };
        return [settings, new(settings)];
    }

    protected override async Task StopBackingAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
