namespace Compare.Server.Hosting;

/// <summary>Compiled log messages: no formatting cost when the level is off.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Compare {Version} is serving compare.v1 on {Urls} (store: {Store}; at most {MaxConnections} connections): gRPC, the JSON routes under /v1, the browser view at /, probes at /healthz and /readyz, metrics at /metrics.")]
    public static partial void Started(ILogger logger, string version, string urls, string store, long? maxConnections);

    [LoggerMessage(2, LogLevel.Error, "{Method} failed unexpectedly.")]
    public static partial void Unexpected(ILogger logger, string method, Exception exception);

    [LoggerMessage(3, LogLevel.Information, "Collection {Name} created: {Settings}.")]
    public static partial void CollectionCreated(ILogger logger, string name, string settings);

    [LoggerMessage(4, LogLevel.Information, "Collection {Name} deleted with {Documents} documents.")]
    public static partial void CollectionDeleted(ILogger logger, string name, long documents);

    [LoggerMessage(5, LogLevel.Information, "Deduplicate over {Collection} at {Threshold}: {Documents} documents, {Clusters} clusters, {Duplicates} duplicates in {ElapsedMs} ms.")]
    public static partial void Deduplicated(ILogger logger, string collection, double threshold, int documents, int clusters, int duplicates, long elapsedMs);

    [LoggerMessage(6, LogLevel.Information, "Deduplicate over {Collection} cancelled by the caller.")]
    public static partial void DeduplicateCancelled(ILogger logger, string collection);

    [LoggerMessage(7, LogLevel.Information, "Loading the index from {Records}: {Collections} collections, {Documents} documents.")]
    public static partial void LoadStarted(ILogger logger, string records, int collections, long documents);

    [LoggerMessage(8, LogLevel.Information, "Loaded {Loaded} of {Total} documents in {ElapsedMs} ms.")]
    public static partial void LoadProgress(ILogger logger, long loaded, long total, long elapsedMs);

    [LoggerMessage(9, LogLevel.Information, "Index ready: {Documents} documents in {Collections} collections loaded in {ElapsedMs} ms.")]
    public static partial void LoadFinished(ILogger logger, long documents, int collections, long elapsedMs);

    [LoggerMessage(10, LogLevel.Critical, "The store failed to load; every call will answer UNAVAILABLE.")]
    public static partial void LoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "{Method} answered UNAVAILABLE: {Reason}")]
    public static partial void StoreUnavailable(ILogger logger, string method, string reason);

    [LoggerMessage(12, LogLevel.Warning, "The result cache failed ({Reason}); computing instead.")]
    public static partial void CacheFailed(ILogger logger, string reason);

    [LoggerMessage(13, LogLevel.Information, "Collection {Name}: index rebuilt from {Documents} stored signatures.")]
    public static partial void IndexRebuilt(ILogger logger, string name, long documents);

    [LoggerMessage(14, LogLevel.Information, "{Method} {Status} in {ElapsedMs:F1} ms ({Caller}).")]
    public static partial void Call(ILogger logger, string method, Grpc.Core.StatusCode status, double elapsedMs, string caller);

    [LoggerMessage(15, LogLevel.Warning, "No API key is configured: any caller may use compare.v1. Set Security__ApiKeys__0 (and __1, ...) to require one.")]
    public static partial void NoApiKeys(ILogger logger);

    [LoggerMessage(16, LogLevel.Information, "API keys required on compare.v1 ({Count} configured); health open: {HealthOpen}, reflection open: {ReflectionOpen}, metrics open: {MetricsOpen}.")]
    public static partial void ApiKeysRequired(ILogger logger, int count, bool healthOpen, bool reflectionOpen, bool metricsOpen);

    [LoggerMessage(18, LogLevel.Information, "Stopping: {InFlight} calls in flight get up to {TimeoutSeconds} s to finish; running Deduplicate jobs are stopped.")]
    public static partial void Stopping(ILogger logger, long inFlight, double timeoutSeconds);

    [LoggerMessage(19, LogLevel.Information, "Stopped: every committed write is in the store.")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(20, LogLevel.Warning, "The result of the Deduplicate of collection '{Collection}' was streamed but not saved for GetLastDeduplicate: {Reason}")]
    public static partial void DeduplicateResultNotSaved(ILogger logger, string collection, string reason);

    [LoggerMessage(21, LogLevel.Information, "A batch for collection '{Collection}' lost its write lock to another writer before committing (attempt {Attempt}); checking and writing it again.")]
    public static partial void WriteRetried(ILogger logger, string collection, int attempt);

    [LoggerMessage(22, LogLevel.Warning, "Document '{Id}' of collection key {CollectionKey} in {Store} is damaged: {Reason}. Calls that read it alone answer DATA_LOSS; an upsert of its text repairs it.")]
    public static partial void DocumentDamaged(ILogger logger, string id, long collectionKey, string store, string reason);

    [LoggerMessage(23, LogLevel.Error, "{Method} answered DATA_LOSS: {Reason}")]
    public static partial void DataLoss(ILogger logger, string method, string reason);

    [LoggerMessage(24, LogLevel.Warning, "The collections' figures for /metrics could not be read ({Reason}); the last reading stays until a read succeeds.")]
    public static partial void FiguresNotRead(ILogger logger, string reason);

    [LoggerMessage(25, LogLevel.Information, "The collections' figures for /metrics are read again.")]
    public static partial void FiguresReadAgain(ILogger logger);

    [LoggerMessage(26, LogLevel.Warning, "Redis evicts keys when it reaches its maxmemory of {MaxMemory} bytes (maxmemory-policy {Policy}): it would drop Compare's documents and index entries without a word. Set maxmemory-policy noeviction, under which a write that does not fit is refused and nothing is lost.")]
    public static partial void RedisEvicts(ILogger logger, string policy, long maxMemory);

    [LoggerMessage(27, LogLevel.Warning, "Copying SQLite's write-ahead log into the database file failed ({Reason}); every commit stays in the log, and the next commit tries again.")]
    public static partial void CheckpointFailed(ILogger logger, string reason);
}
