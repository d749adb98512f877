using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Shingling;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// Everything in one Redis shared by every replica: collection configurations, documents,
/// sketches and LSH band buckets. A collection's keys share the hash tag {prefix:c:name:generation},
/// so a Redis Cluster keeps them on one node and a batch is one MULTI/EXEC there. Each batch is
/// guarded by WATCH on the versions it read: a concurrent writer makes it retry, never interleave.
/// Queries read the buckets and sketches straight from Redis, so a write through one replica is
/// seen by the next query through any other.
/// </summary>
public sealed class RedisDocumentStore(IConnectionMultiplexer redis, string keyPrefix, TimeProvider time) : IDocumentStore
{
    // A writer's lease on its collection, renewed while the writer works: a replica killed (or cut off) while
    // holding it holds up the others for at most this long. Every commit is fenced by it.
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan MaxLockWait = TimeSpan.FromSeconds(60);

    private IDatabase Db => redis.GetDatabase();

    private RedisKey CollectionsKey => $"{keyPrefix}:collections";

    /// <inheritdoc/>
    public async Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            TimeSpan latency = await Db.PingAsync().ConfigureAwait(false);
            return new StoreStatus(true, $"Redis answered in {latency.TotalMilliseconds:F1} ms.");
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            return new StoreStatus(false, $"Redis is unreachable: {e.Message}");
        }
    }

    /// <inheritdoc/>
    public async Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var record = new RedisCollection(name, CollectionSettingsCodec.Encode(settings), time.GetUtcNow().ToUnixTimeMilliseconds(), Guid.NewGuid().ToString("N"));
        if (!await Db.HashSetAsync(CollectionsKey, name, record.Serialize(), When.NotExists).ConfigureAwait(false))
        {
            throw new CollectionExistsException(name);
        }

        return await InfoAsync(record).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken) =>
        await FindAsync(name).ConfigureAwait(false) is { } record ? await InfoAsync(record).ConfigureAwait(false) : null;

    /// <inheritdoc/>
    public async Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken)
    {
        await FindAsync(CollectionNames.Default).ConfigureAwait(false);
        HashEntry[] entries = await Db.HashGetAllAsync(CollectionsKey).ConfigureAwait(false);
        var infos = new List<CollectionInfo>(entries.Length);
        foreach (HashEntry e in entries.OrderBy(e => (string)e.Name!, StringComparer.Ordinal))
        {
            infos.Add(await InfoAsync(RedisCollection.Deserialize(e.Value!)).ConfigureAwait(false));
        }

        return infos;
    }

    /// <inheritdoc/>
    public async Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken)
    {
        if (await FindAsync(name).ConfigureAwait(false) is not { } record)
        {
            return null;
        }

        var keys = new CollectionKeys(keyPrefix, record);
        long count = await Db.SortedSetLengthAsync(keys.Ids).ConfigureAwait(false);
        ITransaction transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.HashEqual(CollectionsKey, name, record.Serialize()));
        _ = transaction.HashDeleteAsync(CollectionsKey, name);
        if (!await transaction.ExecuteAsync().ConfigureAwait(false))
        {
            return null;
        }

        // The record is gone, so no call can reach these keys any more; they are removed at leisure.
        foreach (IServer server in redis.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            var batch = new List<RedisKey>();
            await foreach (RedisKey key in server.KeysAsync(pattern: keys.Tag + "*", pageSize: 1000).ConfigureAwait(false))
            {
                batch.Add(key);
                if (batch.Count == 1000)
                {
                    await Db.KeyDeleteAsync([.. batch]).ConfigureAwait(false);
                    batch.Clear();
                }
            }

            if (batch.Count > 0)
            {
                await Db.KeyDeleteAsync([.. batch]).ConfigureAwait(false);
            }
        }

        return count;
    }

    /// <inheritdoc/>
    public async Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireForWriteAsync(collection, settings).ConfigureAwait(false);
        var keys = new CollectionKeys(keyPrefix, record);
        RedisValue lease = Guid.NewGuid().ToString("N");
        using var waited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waited.CancelAfter(MaxLockWait);
        for (int attempt = 0; !await Db.LockTakeAsync(keys.WriteLock, lease, LeaseTime).ConfigureAwait(false); attempt++)
        {
            try
            {
                // Batches commit in milliseconds: wait a little, a little longer each time, with jitter so waiters spread out.
                await Task.Delay(Random.Shared.Next(1, 2 + Math.Min(attempt, 20)), waited.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new StoreUnavailableException(
                    $"Collection '{collection}' has been locked by another writer for {MaxLockWait.TotalSeconds:F0} s; retry later.");
            }
        }

        return new Writer(this, record, keys, lease);
    }

    /// <inheritdoc/>
    public async Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection).ConfigureAwait(false));
        RedisValue value = await Db.HashGetAsync(keys.Documents, id).ConfigureAwait(false);
        return value.IsNull ? null : StoredRecord.Deserialize(value!).ToStored(id, includeText);
    }

    /// <inheritdoc/>
    public async Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection).ConfigureAwait(false));
        RedisValue[] ids = await Db.SortedSetRangeByValueAsync(keys.Ids, afterId is null ? default : afterId, default,
            afterId is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, limit + 1).ConfigureAwait(false);
        RedisValue[] page = ids.Length > limit ? ids[..limit] : ids;
        RedisValue[] values = page.Length == 0 ? [] : await Db.HashGetAsync(keys.Documents, page).ConfigureAwait(false);
        var documents = new List<StoredDocument>(page.Length);
        for (int i = 0; i < page.Length; i++)
        {
            if (!values[i].IsNull)
            {
                documents.Add(StoredRecord.Deserialize(values[i]!).ToStored(page[i]!, includeText));
            }
        }

        return new DocumentPage(documents, ids.Length > limit, await Db.SortedSetLengthAsync(keys.Ids).ConfigureAwait(false));
    }

    /// <inheritdoc/>
    public async Task<(string Text, DocumentSketch Sketch)?> GetTextAndSketchAsync(string collection, CollectionSettings settings, string id,
        CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection, settings).ConfigureAwait(false);
        var keys = new CollectionKeys(keyPrefix, record);
        Task<RedisValue> document = Db.HashGetAsync(keys.Documents, id);
        Task<RedisValue> sketch = Db.HashGetAsync(keys.Sketches, id);
        if ((await document.ConfigureAwait(false)).IsNull || (await sketch.ConfigureAwait(false)).IsNull)
        {
            return null;
        }

        return (StoredRecord.Deserialize(document.Result!).Text, SketchCodec.Decode((byte[])sketch.Result!, record.Settings.Parameters));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection, settings).ConfigureAwait(false);
        var keys = new CollectionKeys(keyPrefix, record);
        IBatch batch = Db.CreateBatch();
        var members = new Task<RedisValue[]>[settings.Lsh.Bands];
        for (int band = 0; band < members.Length; band++)
        {
            members[band] = batch.SetMembersAsync(keys.Bucket(band, LshIndex.BandKey(signature, band, settings.Lsh.Rows)));
        }

        batch.Execute();
        var ids = new HashSet<RedisValue>();
        foreach (Task<RedisValue[]> band in members)
        {
            ids.UnionWith(await band.ConfigureAwait(false));
        }

        RedisValue[] candidates = [.. ids];
        RedisValue[] sketches = candidates.Length == 0 ? [] : await Db.HashGetAsync(keys.Sketches, candidates).ConfigureAwait(false);
        var found = new List<IndexedSketch>(candidates.Length);
        for (int i = 0; i < candidates.Length; i++)
        {
            if (!sketches[i].IsNull)
            {
                found.Add(new IndexedSketch(candidates[i]!, SketchCodec.Decode((byte[])sketches[i]!, settings.Parameters)));
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, DocumentSketch>> GetSketchesAsync(string collection, CollectionSettings settings, IReadOnlyCollection<string> ids,
        CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        var found = new Dictionary<string, DocumentSketch>(StringComparer.Ordinal);
        foreach (string[] chunk in ids.Chunk(1000))
        {
            cancellationToken.ThrowIfCancellationRequested();
            RedisValue[] sketches = await Db.HashGetAsync(keys.Sketches, [.. chunk.Select(id => (RedisValue)id)]).ConfigureAwait(false);
            for (int i = 0; i < chunk.Length; i++)
            {
                if (!sketches[i].IsNull)
                {
                    found[chunk[i]] = SketchCodec.Decode((byte[])sketches[i]!, settings.Parameters);
                }
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public async Task<IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        // The buckets live as sets keyed by band and key: banding the stored signatures again finds the same pairs in one pass.
        IReadOnlyList<IndexedSketch> all = await GetAllSketchesAsync(collection, settings, cancellationToken).ConfigureAwait(false);
        ulong[] pairs = Clusterer.CandidatePairs([.. all.Select(d => d.Sketch.Signature)], settings.Lsh, cancellationToken);
        return new IndexCandidatePairs([.. all.Select(d => d.Id)], pairs);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        var order = new Dictionary<string, Version>(StringComparer.Ordinal);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Versions, pageSize: 1000).ConfigureAwait(false))
        {
            order[entry.Name!] = Version.Parse(entry.Value!);
        }

        var sketches = new List<(Version Version, IndexedSketch Document)>(order.Count);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Sketches, pageSize: 500).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (order.TryGetValue(entry.Name!, out Version? version))
            {
                sketches.Add((version, new IndexedSketch(entry.Name!, SketchCodec.Decode((byte[])entry.Value!, settings.Parameters))));
            }
        }

        // The order of the writes: their sequence numbers (documents written before there were any by creation time).
        return [.. sketches.OrderBy(s => s.Version.Sequence).ThenBy(s => s.Version.CreateTime).ThenBy(s => s.Document.Id, StringComparer.Ordinal).Select(s => s.Document)];
    }

    /// <inheritdoc/>
    public async Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        // Only while the collection is the one read: a result must not land under a deleted or recreated collection.
        ITransaction transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.HashEqual(CollectionsKey, collection, record.Serialize()));
        _ = transaction.StringSetAsync(new CollectionKeys(keyPrefix, record).DeduplicateResult, result);
        if (!await transaction.ExecuteAsync().ConfigureAwait(false))
        {
            throw new CollectionNotFoundException(collection);
        }
    }

    /// <inheritdoc/>
    public async Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        return await Db.StringGetAsync(new CollectionKeys(keyPrefix, record).DeduplicateResult).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection).ConfigureAwait(false));
        Task<RedisValue> stored = Db.StringGetAsync(keys.Frequencies);
        Task<long> count = Db.SortedSetLengthAsync(keys.Ids);
        byte[]? counters = await stored.ConfigureAwait(false);
        return (DocumentFrequencySketch.FromBigEndian(counters ?? []), await count.ConfigureAwait(false));
    }

    /// <summary>
    /// Re-adds every stored sketch to its band buckets and recounts the shingles' document frequencies:
    /// after a failover lost some writes that the documents kept. Returns how many documents were re-bucketed.
    /// </summary>
    public async Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        var keys = new CollectionKeys(keyPrefix, record);
        LshParameters lsh = record.Settings.Lsh;
        long count = 0;
        var frequencies = new DocumentFrequencySketch();
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Sketches, pageSize: 500).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            DocumentSketch sketch = SketchCodec.Decode((byte[])entry.Value!, record.Settings.Parameters);
            frequencies.Add(sketch.Shingles);
            IBatch batch = Db.CreateBatch();
            var adds = new List<Task>(lsh.Bands);
            for (int band = 0; band < lsh.Bands; band++)
            {
                adds.Add(batch.SetAddAsync(keys.Bucket(band, LshIndex.BandKey(sketch.Signature, band, lsh.Rows)), entry.Name));
            }

            batch.Execute();
            await Task.WhenAll(adds).ConfigureAwait(false);
            count++;
        }

        // Writes that land during the scan are counted twice or not at all: an estimate either way.
        await Db.StringSetAsync(keys.Frequencies, frequencies.ToBigEndian()).ConfigureAwait(false);
        return count;
    }

    private static void RemoveDocument(ITransaction transaction, CollectionKeys keys, string id)
    {
        _ = transaction.HashDeleteAsync(keys.Versions, id);
        _ = transaction.HashDeleteAsync(keys.Documents, id);
        _ = transaction.HashDeleteAsync(keys.Sketches, id);
        _ = transaction.SortedSetRemoveAsync(keys.Ids, id);
    }

    /// <summary>A sketch leaves the index: its band buckets, and its shingles' document frequencies.</summary>
    private static void Unindex(ITransaction transaction, CollectionKeys keys, CollectionSettings settings, string id, DocumentSketch sketch,
        FrequencyChanges frequencies)
    {
        for (int band = 0; band < settings.Lsh.Bands; band++)
        {
            _ = transaction.SetRemoveAsync(keys.Bucket(band, LshIndex.BandKey(sketch.Signature, band, settings.Lsh.Rows)), id);
        }

        frequencies.Count(sketch.Shingles, -1);
    }

    /// <summary>
    /// A transaction's changes to the collection's <see cref="DocumentFrequencySketch"/>, kept as one string of
    /// big-endian 32-bit counters: summed per counter over the whole batch (a batch of articles touches each
    /// counter many times), then written by one BITFIELD that saturates as the sketch does.
    /// </summary>
    private sealed class FrequencyChanges
    {
        private readonly Dictionary<int, int> _deltas = [];

        public void Count(ulong[] shingles, int delta)
        {
            Span<int> cells = stackalloc int[DocumentFrequencySketch.Depth];
            foreach (ulong shingle in shingles)
            {
                DocumentFrequencySketch.Cells(shingle, cells);
                foreach (int cell in cells)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(_deltas, cell, out _) += delta;
                }
            }
        }

        public void WriteTo(ITransaction transaction, RedisKey key)
        {
            var args = new List<object>(3 + (_deltas.Count * 4)) { key, "OVERFLOW", "SAT" };
            foreach ((int cell, int delta) in _deltas.Where(static d => d.Value != 0).OrderBy(static d => d.Key))
            {
                args.Add("INCRBY");
                args.Add("u32");
                args.Add(string.Create(CultureInfo.InvariantCulture, $"#{cell}"));
                args.Add(delta);
            }

            if (args.Count > 3)
            {
                _ = transaction.ExecuteAsync("BITFIELD", args);
            }
        }
    }

    private async Task<RedisCollection?> FindAsync(string name)
    {
        RedisValue value = await Db.HashGetAsync(CollectionsKey, name).ConfigureAwait(false);
        if (!value.IsNull)
        {
            return RedisCollection.Deserialize(value!);
        }

        if (name != CollectionNames.Default)
        {
            return null;
        }

        // The default collection always exists: the first replica to look creates it.
        var record = new RedisCollection(name, CollectionSettingsCodec.Encode(CollectionSettings.Default), time.GetUtcNow().ToUnixTimeMilliseconds(), "default");
        await Db.HashSetAsync(CollectionsKey, name, record.Serialize(), When.NotExists).ConfigureAwait(false);
        return await FindAsync(name).ConfigureAwait(false);
    }

    private async Task<RedisCollection> RequireAsync(string name, CollectionSettings? expected = null)
    {
        RedisCollection record = await FindAsync(name).ConfigureAwait(false) ?? throw new CollectionNotFoundException(name);
        return expected is null || record.Settings == expected ? record : throw new CollectionChangedException(name);
    }

    // The collection's own copy of its record, which write transactions WATCH: it lives in the collection's
    // slot. Only writers need it, so reads do not pay the round trip.
    private async Task<RedisCollection> RequireForWriteAsync(string name, CollectionSettings? expected = null)
    {
        RedisCollection record = await RequireAsync(name, expected).ConfigureAwait(false);
        await Db.StringSetAsync(new CollectionKeys(keyPrefix, record).Config, record.Serialize(), when: When.NotExists).ConfigureAwait(false);
        return record;
    }

    private async Task<CollectionInfo> InfoAsync(RedisCollection record)
    {
        var keys = new CollectionKeys(keyPrefix, record);
        Task<long> count = Db.SortedSetLengthAsync(keys.Ids);
        Task<RedisValue> bytes = Db.StringGetAsync(keys.TextBytes);
        return new CollectionInfo(record.Name, record.Settings, DateTimeOffset.FromUnixTimeMilliseconds(record.CreateTime),
            await count.ConfigureAwait(false), (long?)await bytes.ConfigureAwait(false) ?? 0);
    }

    /// <summary>A collection as stored in the collections hash; the generation keeps a recreated collection's keys apart from its predecessor's.</summary>
    private sealed record RedisCollection(string Name, string SettingsJson, long CreateTime, string Generation)
    {
        public CollectionSettings Settings { get; } = CollectionSettingsCodec.Decode(SettingsJson);

        public string Serialize() => JsonSerializer.Serialize(new[] { Name, SettingsJson, CreateTime.ToString(CultureInfo.InvariantCulture), Generation });

        public static RedisCollection Deserialize(string json)
        {
            string[] parts = JsonSerializer.Deserialize<string[]>(json) ?? throw new StoreFormatException("A stored collection record is empty.");
            return new RedisCollection(parts[0], parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), parts[3]);
        }
    }

    /// <summary>What a write needs of the stored version: content hash, UTF-8 size, creation time, and the sequence number of its write.</summary>
    private sealed record Version(ulong ContentHash, int Utf8Length, long CreateTime, long Sequence)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ContentHash:x16}:{Utf8Length}:{CreateTime}:{Sequence}");

        // Versions written before sequence numbers have three parts; they sort first, by creation time.
        public static Version Parse(string value)
        {
            string[] parts = value.Split(':');
            return new Version(ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture),
                parts.Length > 3 ? long.Parse(parts[3], CultureInfo.InvariantCulture) : 0);
        }

        public DocumentVersion ToDocumentVersion() => new(ContentHash, Utf8Length, DateTimeOffset.FromUnixTimeMilliseconds(CreateTime));
    }

    private sealed record StoredRecord(string Text, Dictionary<string, string> Metadata, int ShingleCount, int Length, ulong ContentHash, long CreateTime, long UpdateTime)
    {
        public static StoredRecord From(DocumentWrite w) =>
            new(w.Content.Text, new Dictionary<string, string>(w.Content.Metadata, StringComparer.Ordinal), w.Sketch.Shingles.Length, w.Content.Length,
                w.Content.ContentHash, w.CreateTime.ToUnixTimeMilliseconds(), w.UpdateTime.ToUnixTimeMilliseconds());

        public string Serialize() => JsonSerializer.Serialize(this);

        public static StoredRecord Deserialize(string json) =>
            JsonSerializer.Deserialize<StoredRecord>(json) ?? throw new StoreFormatException("A stored document record is empty.");

        public StoredDocument ToStored(string id, bool includeText) =>
            new(id, includeText ? Text : null, Metadata, ShingleCount, Length, ContentHash,
                DateTimeOffset.FromUnixTimeMilliseconds(CreateTime), DateTimeOffset.FromUnixTimeMilliseconds(UpdateTime));
    }

    /// <summary>A collection's keys, all under one hash tag.</summary>
    private readonly struct CollectionKeys(string prefix, RedisCollection record)
    {
        public string Tag { get; } = $"{{{prefix}:c:{record.Name}:{record.Generation}}}";

        public RedisKey Config => Tag + ":config";

        public RedisKey Versions => Tag + ":versions";

        public RedisKey Documents => Tag + ":docs";

        public RedisKey Sketches => Tag + ":sketches";

        public RedisKey Ids => Tag + ":ids";

        public RedisKey TextBytes => Tag + ":text-bytes";

        public RedisKey DeduplicateResult => Tag + ":deduplicate-result";

        public RedisKey Frequencies => Tag + ":frequencies";

        public RedisKey WriteLock => Tag + ":write-lock";

        public RedisKey Sequence => Tag + ":sequence";

        public RedisKey Bucket(int band, ulong key) => string.Create(CultureInfo.InvariantCulture, $"{Tag}:b{band}:{key:x16}");
    }

    /// <summary>
    /// Holds the collection's write lease. A commit is one MULTI/EXEC that runs only while the lease is still
    /// this writer's and the collection is still the one it opened: a writer whose lease ran out writes nothing.
    /// </summary>
    private sealed class Writer : IDocumentWriter
    {
        private readonly RedisDocumentStore _store;
        private readonly RedisCollection _record;
        private readonly CollectionKeys _keys;
        private readonly RedisValue _lease;
        private readonly CancellationTokenSource _done = new();
        private readonly Task _renewing;

        public Writer(RedisDocumentStore store, RedisCollection record, CollectionKeys keys, RedisValue lease)
        {
            (_store, _record, _keys, _lease) = (store, record, keys, lease);
            _renewing = RenewAsync(_done.Token);
        }

        private IDatabase Db => _store.Db;

        public async Task<IReadOnlyDictionary<string, DocumentVersion>> GetVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
        {
            RedisValue[] fields = [.. ids.Select(id => (RedisValue)id)];
            RedisValue[] versions = fields.Length == 0 ? [] : await Db.HashGetAsync(_keys.Versions, fields).ConfigureAwait(false);
            var found = new Dictionary<string, DocumentVersion>(StringComparer.Ordinal);
            for (int i = 0; i < fields.Length; i++)
            {
                if (!versions[i].IsNull)
                {
                    found[fields[i]!] = Version.Parse(versions[i]!).ToDocumentVersion();
                }
            }

            return found;
        }

        public async Task CommitAsync(IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes, CancellationToken cancellationToken)
        {
            CollectionSettings settings = _record.Settings;
            RedisValue[] fields = [.. writes.Select(w => (RedisValue)w.Id).Concat(deletes.Select(id => (RedisValue)id))];
            if (fields.Length == 0)
            {
                return;
            }

            Task<RedisValue[]> versions = Db.HashGetAsync(_keys.Versions, fields);
            Task<RedisValue[]> sketches = Db.HashGetAsync(_keys.Sketches, fields);
            Task<RedisValue> sequence = Db.StringGetAsync(_keys.Sequence);
            RedisValue[] oldVersions = await versions.ConfigureAwait(false);
            RedisValue[] oldSketches = await sketches.ConfigureAwait(false);
            long next = (long?)await sequence.ConfigureAwait(false) ?? 0;

            ITransaction transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(_keys.Config, _record.Serialize()));
            transaction.AddCondition(Condition.StringEqual(_keys.WriteLock, _lease));
            var frequencies = new FrequencyChanges();
            long textBytes = 0;
            for (int i = 0; i < fields.Length; i++)
            {
                string id = fields[i]!;
                if (!oldSketches[i].IsNull)
                {
                    // A new version overwrites the old one's fields; only its buckets and counts must go.
                    Unindex(transaction, _keys, settings, id, SketchCodec.Decode((byte[])oldSketches[i]!, settings.Parameters), frequencies);
                }

                Version? old = oldVersions[i].IsNull ? null : Version.Parse(oldVersions[i]!);
                textBytes -= old?.Utf8Length ?? 0;
                if (i >= writes.Count)
                {
                    RemoveDocument(transaction, _keys, id);
                    continue;
                }

                DocumentWrite w = writes[i];
                var version = new Version(w.Content.ContentHash, w.Content.Utf8Length, w.CreateTime.ToUnixTimeMilliseconds(), ++next);
                textBytes += w.Content.Utf8Length;
                _ = transaction.HashSetAsync(_keys.Versions, id, version.ToString());
                _ = transaction.HashSetAsync(_keys.Documents, id, StoredRecord.From(w).Serialize());
                _ = transaction.HashSetAsync(_keys.Sketches, id, SketchCodec.Encode(w.Sketch, settings.Parameters));
                _ = transaction.SortedSetAddAsync(_keys.Ids, id, 0);
                for (int band = 0; band < settings.Lsh.Bands; band++)
                {
                    _ = transaction.SetAddAsync(_keys.Bucket(band, LshIndex.BandKey(w.Sketch.Signature, band, settings.Lsh.Rows)), id);
                }

                frequencies.Count(w.Sketch.Shingles, +1);
            }

            _ = transaction.StringSetAsync(_keys.Sequence, next);
            _ = transaction.StringIncrementAsync(_keys.TextBytes, textBytes);
            frequencies.WriteTo(transaction, _keys.Frequencies);
            if (await transaction.ExecuteAsync().ConfigureAwait(false))
            {
                return;
            }

            throw await Db.StringGetAsync(_keys.Config).ConfigureAwait(false) == _record.Serialize()
                ? new WriteConflictException(_record.Name)
                : new CollectionChangedException(_record.Name);
        }

        public async ValueTask DisposeAsync()
        {
            await _done.CancelAsync().ConfigureAwait(false);
            await _renewing.ConfigureAwait(false);
            _done.Dispose();
            try
            {
                await Db.LockReleaseAsync(_keys.WriteLock, _lease).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                // The lease runs out by itself.
            }
        }

        // Extends the lease every third of its time until the writer is done. A lease that could not be
        // extended is simply lost: the commit's fence then fails and the batch is tried again.
        private async Task RenewAsync(CancellationToken done)
        {
            using var timer = new PeriodicTimer(LeaseTime / 3);
            try
            {
                while (await timer.WaitForNextTickAsync(done).ConfigureAwait(false)
                    && await Db.LockExtendAsync(_keys.WriteLock, _lease, LeaseTime).ConfigureAwait(false))
                {
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
            }
        }
    }
}
