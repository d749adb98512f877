using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Shingling;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// The Redis store as the rest of the server sees it: every Redis fault that a retry later can cure (no connection,
/// a timeout, a server still loading its data set or failing over) becomes <see cref="StoreUnavailableException"/>, and
/// a write refused because Redis is at its maxmemory becomes <see cref="StoreFullException"/>, so nothing above the
/// storage layer knows Redis.
/// </summary>
public sealed class RedisFaultTranslation(IDocumentStore redis) : IDocumentStore
{
    /// <summary>The store's view of a fault: unavailable, full, or not a Redis fault at all (null).</summary>
    public static Exception? Translate(Exception exception) => exception switch
    {
        // A command refused because the node is at its maxmemory (with the noeviction policy): Redis ran none of it.
        RedisServerException e when e.Message.StartsWith("OOM", StringComparison.Ordinal) => Full(e),
        RedisConnectionException or RedisTimeoutException => new StoreUnavailableException($"Redis is unreachable; retry later. ({exception.Message})", exception),
        RedisServerException e when e.Message.StartsWith("LOADING", StringComparison.Ordinal) || e.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
            || e.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || e.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
            => new StoreUnavailableException($"Redis cannot serve yet; retry later. ({e.Message})", e),
        // A transaction Redis discarded whole at EXEC because it refused a command while queueing it: the store queues only
        // well-formed commands on one slot, so the refusal was the server's state (a cluster failing over answers CLUSTERDOWN
        // or TRYAGAIN to the queued command, and only EXECABORT reaches the caller). Nothing of the write was stored. One
        // refused for memory is told apart by the store, which asks the node (RedisDocumentStore.ExecuteAsync).
        RedisServerException e when e.Message.StartsWith("EXECABORT", StringComparison.Ordinal)
            => new StoreUnavailableException($"Redis refused the write while it was queued and stored none of it; retry later. ({e.Message})", e),
        _ => null,
    };

    /// <summary>The store's fault for a write Redis refused at its maxmemory; <paramref name="usage"/> says how full it is, when known.</summary>
    public static StoreFullException Full(RedisServerException refusal, string? usage = null) =>
        new($"Redis is at its maxmemory{usage}: nothing of this write was stored. Free memory in Redis or raise its maxmemory, then retry. ({refusal.Message})", refusal);

    public Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken) => redis.GetStatusAsync(cancellationToken);

    public Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken) =>
        Run(() => redis.CreateCollectionAsync(name, settings, cancellationToken));

    public Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken) => Run(() => redis.GetCollectionAsync(name, cancellationToken));

    public Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken) => Run(() => redis.ListCollectionsAsync(cancellationToken));

    public Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken) => Run(() => redis.DeleteCollectionAsync(name, cancellationToken));

    public Task EnsureDurableAsync(CancellationToken cancellationToken) =>
        Run(async () =>
        {
            await redis.EnsureDurableAsync(cancellationToken).ConfigureAwait(false);
            return true;
        });

    public async Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken) =>
        new Writer(await Run(() => redis.BeginWriteAsync(collection, settings, cancellationToken)).ConfigureAwait(false));

    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken) =>
        Run(() => redis.GetDocumentAsync(collection, id, includeText, cancellationToken));

    public Task<ulong?> GetContentHashAsync(string collection, string id, CancellationToken cancellationToken) =>
        Run(() => redis.GetContentHashAsync(collection, id, cancellationToken));

    public Task<IReadOnlyList<StoredDocument>> GetDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Run(() => redis.GetDocumentsAsync(collection, ids, cancellationToken));

    public Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken) =>
        Run(() => redis.ListDocumentsAsync(collection, afterId, limit, includeText, cancellationToken));

    public Task<(StoredDocument Document, DocumentSketch Sketch)?> GetDocumentAndSketchAsync(string collection, CollectionSettings settings, string id,
        CancellationToken cancellationToken) => Run(() => redis.GetDocumentAndSketchAsync(collection, settings, id, cancellationToken));

    public Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, int depth,
        CancellationToken cancellationToken) => Run(() => redis.GetCandidatesAsync(collection, settings, signature, depth, cancellationToken));

    public Task<IReadOnlyDictionary<string, DocumentSketch>> GetSketchesAsync(string collection, CollectionSettings settings, IReadOnlyCollection<string> ids,
        CancellationToken cancellationToken) => Run(() => redis.GetSketchesAsync(collection, settings, ids, cancellationToken));

    public Task<PassageCandidates> GetPassageCandidatesAsync(string collection, CollectionSettings settings, uint[] fingerprints, int maxDocumentsPerFingerprint, bool withOwnCounts, int ranked,
        CancellationToken cancellationToken) =>
        Run(() => redis.GetPassageCandidatesAsync(collection, settings, fingerprints, maxDocumentsPerFingerprint, withOwnCounts, ranked, cancellationToken));

    public Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken) =>
        Run(() => redis.GetAllSketchesAsync(collection, settings, cancellationToken));

    public Task<IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, int depth, CancellationToken cancellationToken) =>
        Run(() => redis.GetCandidatePairsAsync(collection, settings, depth, cancellationToken));

    public Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken) =>
        Run(() => redis.GetDocumentFrequenciesAsync(collection, cancellationToken));

    public Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken) => Run(() => redis.RebuildIndexAsync(collection, cancellationToken));

    public Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken) =>
        Run(async () =>
        {
            await redis.SaveDeduplicateResultAsync(collection, result, cancellationToken).ConfigureAwait(false);
            return true;
        });

    public Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken) => Run(() => redis.GetDeduplicateResultAsync(collection, cancellationToken));

    private static async Task<T> Run<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e) is { } fault)
        {
            throw fault;
        }
    }

    private sealed class Writer(IDocumentWriter inner) : IDocumentWriter
    {
        public Task<IReadOnlyDictionary<string, DocumentVersion>> GetVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
            Run(() => inner.GetVersionsAsync(ids, cancellationToken));

        public Task CommitAsync(IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes, CancellationToken cancellationToken) =>
            Run(async () =>
            {
                await inner.CommitAsync(writes, deletes, cancellationToken).ConfigureAwait(false);
                return true;
            });

        public async ValueTask DisposeAsync() =>
            await Run(async () =>
            {
                await inner.DisposeAsync().ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
    }
}
