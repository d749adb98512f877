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
    private const int MaxAttempts = 8;

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
    public async Task<IReadOnlyList<DocumentWriteResult>> UpsertAsync(string collection, CollectionSettings settings, IReadOnlyList<DocumentWrite> documents,
        NearDuplicateCheck? check, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            RedisCollection record = await RequireForWriteAsync(collection, settings).ConfigureAwait(false);
            if (await TryUpsertAsync(record, settings, documents, check).ConfigureAwait(false) is { } results)
            {
                return results;
            }
        }

        throw new CollectionChangedException(collection);
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
    public async Task<IReadOnlyList<string>> DeleteDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        string[] distinct = [.. ids.Distinct(StringComparer.Ordinal)];
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            RedisCollection record = await RequireForWriteAsync(collection).ConfigureAwait(false);
            CollectionSettings settings = record.Settings;
            var keys = new CollectionKeys(keyPrefix, record);
            RedisValue[] fields = [.. distinct.Select(id => (RedisValue)id)];
            RedisValue[] versions = fields.Length == 0 ? [] : await Db.HashGetAsync(keys.Versions, fields).ConfigureAwait(false);
            RedisValue[] sketches = fields.Length == 0 ? [] : await Db.HashGetAsync(keys.Sketches, fields).ConfigureAwait(false);
            ITransaction transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(keys.Config, record.Serialize()));
            var present = new HashSet<string>(StringComparer.Ordinal);
            var frequencies = new FrequencyChanges();
            for (int i = 0; i < distinct.Length; i++)
            {
                if (versions[i].IsNull)
                {
                    transaction.AddCondition(Condition.HashNotExists(keys.Versions, distinct[i]));
                    continue;
                }

                present.Add(distinct[i]);
                transaction.AddCondition(Condition.HashEqual(keys.Versions, distinct[i], versions[i]));
                RemoveDocument(transaction, keys, settings, distinct[i], Version.Parse(versions[i]!), sketches[i], frequencies);
            }

            frequencies.WriteTo(transaction, keys.Frequencies);
            if (await transaction.ExecuteAsync().ConfigureAwait(false))
            {
                return [.. ids.Where(id => !present.Contains(id))];
            }
        }

        throw new CollectionChangedException(collection);
    }

    /// <inheritdoc/>
    public async Task<(string Text, DocumentSketch Sketch)?> GetTextAndSketchAsync(string collection, string id, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
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
    public async Task<QueryResult> FindSimilarAsync(string collection, DocumentSketch query, SimilarityQuery options, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        CollectionSettings settings = record.Settings;
        if (query.Signature.Length != settings.Parameters.NumPermutations)
        {
            throw new CollectionChangedException(collection);
        }

        var keys = new CollectionKeys(keyPrefix, record);
        using SimilarityIndex candidates = options.Exhaustive
            ? await LoadAllAsync(keys, settings, cancellationToken).ConfigureAwait(false)
            : await LoadCandidatesAsync(keys, settings, query, options.ExcludeId).ConfigureAwait(false);
        // The candidates are verified exactly, as the local index verifies its own.
        QueryResult result = candidates.Query(query, options.Threshold, options.TopK, options.ExcludeId, exhaustive: true, cancellationToken);
        return result;
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
    public async Task<IndexClusteringResult> DeduplicateAsync(string collection, double threshold, RepresentativePolicy policy,
        IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        using SimilarityIndex index = await LoadAllAsync(new CollectionKeys(keyPrefix, record), record.Settings, cancellationToken).ConfigureAwait(false);
        return index.Deduplicate(threshold, policy, progress, cancellationToken);
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

    private async Task<IReadOnlyList<DocumentWriteResult>?> TryUpsertAsync(RedisCollection record, CollectionSettings settings,
        IReadOnlyList<DocumentWrite> documents, NearDuplicateCheck? check)
    {
        var keys = new CollectionKeys(keyPrefix, record);
        RedisValue[] fields = [.. documents.Select(d => (RedisValue)d.Id).Distinct()];
        RedisValue[] read = fields.Length == 0 ? [] : await Db.HashGetAsync(keys.Versions, fields).ConfigureAwait(false);
        var versions = new Dictionary<string, RedisValue>(StringComparer.Ordinal);
        for (int i = 0; i < fields.Length; i++)
        {
            versions[fields[i]!] = read[i];
        }

        ITransaction transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.StringEqual(keys.Config, record.Serialize()));
        foreach ((string id, RedisValue version) in versions)
        {
            transaction.AddCondition(version.IsNull ? Condition.HashNotExists(keys.Versions, id) : Condition.HashEqual(keys.Versions, id, version));
        }

        // Documents written earlier in this batch: later ones are checked against them too.
        using var written = new SimilarityIndex(settings.Parameters, settings.Threshold, settings.Lsh);
        var frequencies = new FrequencyChanges();
        var current = versions.ToDictionary(kv => kv.Key, kv => kv.Value.IsNull ? null : Version.Parse(kv.Value!), StringComparer.Ordinal);
        var results = new DocumentWriteResult[documents.Count];
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long textBytes = 0;
        bool any = false;
        for (int i = 0; i < documents.Count; i++)
        {
            DocumentWrite d = documents[i];
            Version? old = current[d.Id];
            IReadOnlyList<SimilarityMatch> near = check is null ? [] : await NearDuplicatesAsync(keys, settings, d, check, written).ConfigureAwait(false);
            if (WriteRules.NotWritten(d, old?.ContentHash, old?.Utf8Length ?? 0, check, near) is { } notWritten)
            {
                results[i] = notWritten;
                continue;
            }

            // The new version overwrites the old one's fields; only its buckets must go.
            if (written.TryGetSketch(d.Id, out DocumentSketch? earlier))
            {
                Unindex(transaction, keys, settings, d.Id, earlier, frequencies);
            }
            else if (old is not null && await Db.HashGetAsync(keys.Sketches, d.Id).ConfigureAwait(false) is { IsNull: false } stored)
            {
                Unindex(transaction, keys, settings, d.Id, SketchCodec.Decode((byte[])stored!, settings.Parameters), frequencies);
            }

            written.Upsert(d.Id, d.Sketch);
            var version = new Version(d.ContentHash, d.Utf8Length, old?.CreateTime ?? now);
            current[d.Id] = version;
            textBytes += d.Utf8Length - (old?.Utf8Length ?? 0);
            _ = transaction.HashSetAsync(keys.Versions, d.Id, version.ToString());
            _ = transaction.HashSetAsync(keys.Documents, d.Id, new StoredRecord(d.Text, new Dictionary<string, string>(d.Metadata, StringComparer.Ordinal),
                d.Sketch.Shingles.Length, d.Length, d.ContentHash, version.CreateTime, now).Serialize());
            _ = transaction.HashSetAsync(keys.Sketches, d.Id, SketchCodec.Encode(d.Sketch, settings.Parameters));
            _ = transaction.SortedSetAddAsync(keys.Ids, d.Id, 0);
            for (int band = 0; band < settings.Lsh.Bands; band++)
            {
                _ = transaction.SetAddAsync(keys.Bucket(band, LshIndex.BandKey(d.Sketch.Signature, band, settings.Lsh.Rows)), d.Id);
            }

            frequencies.Count(d.Sketch.Shingles, +1);

            any = true;
            results[i] = new DocumentWriteResult(old is null ? WriteOutcome.Created : WriteOutcome.Updated, near);
        }

        if (!any)
        {
            return results;
        }

        _ = transaction.StringIncrementAsync(keys.TextBytes, textBytes);
        frequencies.WriteTo(transaction, keys.Frequencies);
        return await transaction.ExecuteAsync().ConfigureAwait(false) ? results : null;
    }

    private async Task<IReadOnlyList<SimilarityMatch>> NearDuplicatesAsync(CollectionKeys keys, CollectionSettings settings, DocumentWrite d,
        NearDuplicateCheck check, SimilarityIndex written)
    {
        using SimilarityIndex stored = await LoadCandidatesAsync(keys, settings, d.Sketch, d.Id).ConfigureAwait(false);
        // A stored version that this batch rewrote is superseded by the batch's own.
        IEnumerable<SimilarityMatch> matches = stored.Query(d.Sketch, check.Threshold, 0, d.Id, exhaustive: true).Matches.Where(m => !written.Contains(m.Id))
            .Concat(written.Query(d.Sketch, check.Threshold, 0, d.Id).Matches);
        return [.. matches.OrderByDescending(m => m.Jaccard).ThenByDescending(m => m.EstimatedJaccard).ThenBy(m => m.Id, StringComparer.Ordinal).Take(check.MaxMatches)];
    }

    private static void RemoveDocument(ITransaction transaction, CollectionKeys keys, CollectionSettings settings, string id, Version old, RedisValue sketch,
        FrequencyChanges frequencies)
    {
        if (!sketch.IsNull)
        {
            Unindex(transaction, keys, settings, id, SketchCodec.Decode((byte[])sketch!, settings.Parameters), frequencies);
        }

        _ = transaction.HashDeleteAsync(keys.Versions, id);
        _ = transaction.HashDeleteAsync(keys.Documents, id);
        _ = transaction.HashDeleteAsync(keys.Sketches, id);
        _ = transaction.SortedSetRemoveAsync(keys.Ids, id);
        _ = transaction.StringDecrementAsync(keys.TextBytes, old.Utf8Length);
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

    private async Task<SimilarityIndex> LoadCandidatesAsync(CollectionKeys keys, CollectionSettings settings, DocumentSketch query, string? excludeId)
    {
        IBatch batch = Db.CreateBatch();
        var members = new Task<RedisValue[]>[settings.Lsh.Bands];
        for (int band = 0; band < members.Length; band++)
        {
            members[band] = batch.SetMembersAsync(keys.Bucket(band, LshIndex.BandKey(query.Signature, band, settings.Lsh.Rows)));
        }

        batch.Execute();
        var ids = new HashSet<RedisValue>();
        foreach (Task<RedisValue[]> band in members)
        {
            ids.UnionWith(await band.ConfigureAwait(false));
        }

        if (excludeId is not null)
        {
            ids.Remove(excludeId);
        }

        RedisValue[] candidates = [.. ids];
        RedisValue[] sketches = candidates.Length == 0 ? [] : await Db.HashGetAsync(keys.Sketches, candidates).ConfigureAwait(false);
        var index = new SimilarityIndex(settings.Parameters, settings.Threshold, settings.Lsh);
        for (int i = 0; i < candidates.Length; i++)
        {
            if (!sketches[i].IsNull)
            {
                index.Upsert(candidates[i]!, SketchCodec.Decode((byte[])sketches[i]!, settings.Parameters));
            }
        }

        return index;
    }

    // Every document in insertion order (by creation time, then id), for exhaustive queries and Deduplicate.
    private async Task<SimilarityIndex> LoadAllAsync(CollectionKeys keys, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var order = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Versions, pageSize: 1000).ConfigureAwait(false))
        {
            order[entry.Name!] = Version.Parse(entry.Value!).CreateTime;
        }

        var sketches = new List<(string Id, DocumentSketch Sketch)>(order.Count);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Sketches, pageSize: 500).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            sketches.Add((entry.Name!, SketchCodec.Decode((byte[])entry.Value!, settings.Parameters)));
        }

        var index = new SimilarityIndex(settings.Parameters, settings.Threshold, settings.Lsh);
        foreach ((string id, DocumentSketch sketch) in sketches.OrderBy(s => order.GetValueOrDefault(s.Id)).ThenBy(s => s.Id, StringComparer.Ordinal))
        {
            index.Upsert(id, sketch);
        }

        return index;
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

    /// <summary>What a write checks and WATCHes: content hash, UTF-8 size, creation time.</summary>
    private sealed record Version(ulong ContentHash, int Utf8Length, long CreateTime)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ContentHash:x16}:{Utf8Length}:{CreateTime}");

        public static Version Parse(string value)
        {
            string[] parts = value.Split(':');
            return new Version(ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
        }
    }

    private sealed record StoredRecord(string Text, Dictionary<string, string> Metadata, int ShingleCount, int Length, ulong ContentHash, long CreateTime, long UpdateTime)
    {
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

        public RedisKey Bucket(int band, ulong key) => string.Create(CultureInfo.InvariantCulture, $"{Tag}:b{band}:{key:x16}");
    }
}
