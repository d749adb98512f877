using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Phrases;
using Compare.Core.Shingling;
using Compare.Server.Hosting;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// Everything in one Redis shared by every replica: collection configurations, documents, signatures and LSH band
/// buckets. A collection's keys share the hash tag {prefix:c:name:generation}, so a Redis Cluster keeps them on one
/// node and a batch is one MULTI/EXEC there, fenced by the writer's lease on the collection. Queries read the buckets
/// straight from Redis, so a write through one replica is seen by the next query through any other.
/// Per document Redis holds its text and record, its band keys, its version and its handle, and 8 bytes per band in the buckets
/// and as many in the prefix forest's groups: no shingle set. Sketches for verification are made again from the candidates'
/// texts (a few tens of microseconds each), which kept a document at about 1.7 KB besides its text (300,000 documents,
/// layout 2, before the forest) where shingle sets took 10 KB.
/// </summary>
public sealed class RedisDocumentStore(IConnectionMultiplexer redis, string keyPrefix, TimeProvider time, SketcherCache sketchers, ILogger<RedisDocumentStore> logger)
    : IDocumentStore
{
    /// <summary>
    /// How a collection's keys are laid out. 1: a shingle set per document and a Redis set per band bucket;
    /// 2: band keys only, and band buckets grouped into sets of integers; 3: and the prefix forest's entries, grouped
    /// the same way (<see cref="PrefixForest"/>: queries below the banding's threshold). A collection of an earlier
    /// layout is upgraded in place the first time it is used. Layout 3 also keeps each document's passage fingerprints, grouped
    /// the same way (FindSharedPassages); 4 splits each passage group by range of handles (<see cref="PassageEntry"/>), so
    /// that its sets stay small enough for Redis to keep as 4-byte integers however large the collection grows.
    /// </summary>
    public const int Layout = 4;

    // A writer's lease on its collection, renewed while the writer works: a replica killed (or cut off) while
    // holding it holds up the others for at most this long. Every commit is fenced by it.
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan MaxLockWait = TimeSpan.FromSeconds(60);

    private IDatabase Db => redis.GetDatabase();

    private SketcherCache Sketchers => sketchers;

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
        var record = new RedisCollection(name, CollectionSettingsCodec.Encode(settings), time.GetUtcNow().ToUnixTimeMilliseconds(), Guid.NewGuid().ToString("N"), Layout);
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
        await DeleteKeysAsync(GlobEscape(keys.Tag) + "*").ConfigureAwait(false);
        return count;
    }

    /// <inheritdoc/>
    public async Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken) =>
        await OpenWriterAsync(await RequireForWriteAsync(collection, settings).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Takes the collection's write lease, waiting for the writer holding it, and holds it until the writer is disposed.</summary>
    private async Task<Writer> OpenWriterAsync(RedisCollection record, CancellationToken cancellationToken)
    {
        string collection = record.Name;
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
        return value.IsNull ? null : StoredRecord.Deserialize(value!, id).ToStored(id, includeText);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredDocument>> GetDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection).ConfigureAwait(false));
        RedisValue[] values = ids.Count == 0 ? [] : await Db.HashGetAsync(keys.Documents, [.. ids.Select(id => (RedisValue)id)]).ConfigureAwait(false);
        var documents = new List<StoredDocument>(ids.Count);
        for (int i = 0; i < values.Length; i++)
        {
            if (Readable(keys, ids[i], values[i]) is { } record)
            {
                documents.Add(record.ToStored(ids[i], includeText: true));
            }
        }

        return documents;
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
                documents.Add(StoredRecord.Deserialize(values[i]!, page[i]!).ToStored(page[i]!, includeText));
            }
        }

        return new DocumentPage(documents, ids.Length > limit, await Db.SortedSetLengthAsync(keys.Ids).ConfigureAwait(false));
    }

    /// <inheritdoc/>
    public async Task<(StoredDocument Document, DocumentSketch Sketch)?> GetDocumentAndSketchAsync(string collection, CollectionSettings settings, string id,
        CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        RedisValue value = await Db.HashGetAsync(keys.Documents, id).ConfigureAwait(false);
        if (value.IsNull)
        {
            return null;
        }

        StoredDocument document = StoredRecord.Deserialize(value!, id).ToStored(id, includeText: true);
        return (document, sketchers.For(settings.Parameters).Sketch(document.Text!));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, int depth,
        CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        bool buckets = depth >= settings.Lsh.Rows;
        IBatch batch = Db.CreateBatch();
        var groups = new (Task<RedisValue[]> Members, BucketEntry Entry)[settings.Lsh.Bands];
        for (int band = 0; band < groups.Length; band++)
        {
            BucketEntry entry = buckets ? BucketEntry.Of(band, LshIndex.BandKey(signature, band, settings.Lsh.Rows), handle: 0)
                : BucketEntry.OfPrefix(band, PrefixForest.PrefixKey(signature, band, settings.Lsh.Rows), handle: 0);
            groups[band] = (batch.SetMembersAsync(buckets ? keys.BucketGroup(entry) : keys.ForestGroup(entry)), entry);
        }

        batch.Execute();
        var handles = new HashSet<long>();
        foreach ((Task<RedisValue[]> members, BucketEntry entry) in groups)
        {
            foreach (RedisValue member in await members.ConfigureAwait(false))
            {
                if (buckets ? BucketEntry.TryMatch((long)member, entry.Tag, out long handle) : BucketEntry.TryMatchPrefix((long)member, entry.Tag, depth, out handle))
                {
                    handles.Add(handle);
                }
            }
        }

        RedisValue[] ids = handles.Count == 0 ? [] : await Db.HashGetAsync(keys.Handles, [.. handles.Select(h => (RedisValue)h)]).ConfigureAwait(false);
        return await SketchesAsync(keys, settings, [.. ids.Where(id => !id.IsNull).Select(id => (string)id!)]).ConfigureAwait(false);
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
            foreach (IndexedSketch sketch in await SketchesAsync(keys, settings, chunk).ConfigureAwait(false))
            {
                found[sketch.Id] = sketch.Sketch;
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public async Task<IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, int depth, CancellationToken cancellationToken)
    {
        // Sorting the stored band keys finds the pairs of the buckets in one pass, without reading a text.
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        Dictionary<string, Version> versions = await VersionsAsync(keys, cancellationToken).ConfigureAwait(false);
        if (depth < settings.Lsh.Rows)
        {
            return await PrefixPairsAsync(keys, versions, depth, cancellationToken).ConfigureAwait(false);
        }

        var documents = new List<(Version Version, string Id, ulong[] BandKeys)>(versions.Count);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.BandKeys, pageSize: 1000).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (versions.TryGetValue(entry.Name!, out Version? version))
            {
                if (DecodeBandKeys(entry.Value, settings.Lsh) is { } bandKeys)
                {
                    documents.Add((version, entry.Name!, bandKeys));
                }
                else
                {
                    Log.DocumentDamaged(logger, entry.Name!, 0, $"Redis {keys.Tag}", "its band keys have the wrong length; it is left out of Deduplicate");
                }
            }
        }

        documents.Sort((a, b) => a.Version.CompareTo(b.Version, a.Id, b.Id));
        ulong[] pairs = Clusterer.CandidatePairs([.. documents.Select(d => d.BandKeys)], settings.Lsh.Bands, cancellationToken);
        return new IndexCandidatePairs([.. documents.Select(d => d.Id)], pairs);
    }

    /// <inheritdoc/>
    public async Task<PassageCandidates> GetPassageCandidatesAsync(string collection, CollectionSettings settings, uint[] fingerprints, int maxDocumentsPerFingerprint,
        CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        IGrouping<int, uint>[] groups = [.. fingerprints.Distinct().GroupBy(PassageEntry.GroupOf)];
        // Every range of handles given so far: the sequence is the last handle.
        long ranges = PassageEntry.RangeOf((long?)await Db.StringGetAsync(keys.Sequence).ConfigureAwait(false) ?? 0) + 1;
        IBatch batch = Db.CreateBatch();
        Task<RedisValue[]>[][] members = [.. groups.Select(g => Enumerable.Range(0, (int)ranges).Select(r => batch.SetMembersAsync(keys.PassageGroup(g.Key, r))).ToArray())];
        batch.Execute();
        var shared = new Dictionary<long, int>();
        int common = 0;
        for (int i = 0; i < groups.Length; i++)
        {
            var held = new List<(long Tag, long Handle)>();
            for (int range = 0; range < ranges; range++)
            {
                held.AddRange((await members[i][range].ConfigureAwait(false)).Select(m => (PassageEntry.TagOf((long)m), PassageEntry.HandleOf((long)m, range))));
            }

            ILookup<long, long> holders = held.ToLookup(h => h.Tag, h => h.Handle);
            foreach (uint fingerprint in groups[i])
            {
                IEnumerable<long> handles = holders[PassageEntry.TagOf(fingerprint)];
                if (handles.Count() > maxDocumentsPerFingerprint)
                {
                    common++;
                    continue;
                }

                foreach (long handle in handles)
                {
                    shared[handle] = shared.GetValueOrDefault(handle) + 1;
                }
            }
        }

        long[] found = [.. shared.Keys];
        RedisValue[] ids = found.Length == 0 ? [] : await Db.HashGetAsync(keys.Handles, [.. found.Select(h => (RedisValue)h)]).ConfigureAwait(false);
        // A handle without an id is a document gone whose entries could not be removed (its text was unreadable).
        (string Id, int Shared)[] live = [.. found.Select((h, i) => (Id: ids[i], Shared: shared[h])).Where(e => !e.Id.IsNull).Select(e => ((string)e.Id!, e.Shared))];
        RedisValue[] versions = live.Length == 0 ? [] : await Db.HashGetAsync(keys.Versions, [.. live.Select(e => (RedisValue)e.Id)]).ConfigureAwait(false);
        return PassageCandidates.Ranked(live.Select((e, i) => new PassageCandidate(e.Id, e.Shared, versions[i].IsNull ? 0 : Version.Parse(versions[i]!).Passages)), common);
    }

    /// <summary>
    /// The pairs that share a band's <paramref name="depth"/>-value prefix, from the forest's groups themselves (a document
    /// keeps no prefix keys of its own): every group is read once, its members sorted by prefix within each band.
    /// </summary>
    private async Task<IndexCandidatePairs> PrefixPairsAsync(CollectionKeys keys, Dictionary<string, Version> versions, int depth, CancellationToken cancellationToken)
    {
        List<string> ids = [.. versions.Keys];
        ids.Sort((a, b) => versions[a].CompareTo(versions[b], a, b));
        Dictionary<long, int> positionOfHandle = [];
        for (int position = 0; position < ids.Count; position++)
        {
            positionOfHandle[versions[ids[position]].Handle] = position;
        }

        var entries = new List<(int Band, long Prefix, int Position)>();
        foreach (IServer server in redis.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            await foreach (RedisKey forestGroup in server.KeysAsync(pattern: keys.ForestPattern, pageSize: 1000).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                (int band, int number) = CollectionKeys.ParseForestGroup(forestGroup!);
                foreach (RedisValue member in await Db.SetMembersAsync(forestGroup).ConfigureAwait(false))
                {
                    if (positionOfHandle.TryGetValue((long)member & BucketEntry.MaxHandle, out int position))
                    {
                        entries.Add((band, ((long)number << 24) | BucketEntry.PrefixTag((long)member, depth), position));
                    }
                }
            }
        }

        entries.Sort();
        var pairs = new List<ulong>();
        var group = new List<int>();
        for (int start = 0, end; start < entries.Count; start = end)
        {
            for (end = start + 1; end < entries.Count && entries[end].Band == entries[start].Band && entries[end].Prefix == entries[start].Prefix; end++)
            {
            }

            if (end - start > 1)
            {
                group.Clear();
                group.AddRange(entries.Skip(start).Take(end - start).Select(e => e.Position));
                Clusterer.AddBucketPairs(group, pairs);
            }
        }

        return new IndexCandidatePairs([.. ids], Clusterer.SortDistinct(pairs));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var keys = new CollectionKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        var sketches = new List<(Version Version, IndexedSketch Document)>();
        await foreach ((string id, Version version, DocumentSketch sketch, _) in SketchEveryTextAsync(keys, settings, withPassages: false, cancellationToken).ConfigureAwait(false))
        {
            sketches.Add((version, new IndexedSketch(id, sketch)));
        }

        sketches.Sort((a, b) => a.Version.CompareTo(b.Version, a.Document.Id, b.Document.Id));
        return [.. sketches.Select(s => s.Document)];
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
    /// Sketches every stored text again into its band keys, handle and band buckets, and recounts the shingles' document
    /// frequencies: after a failover lost some writes that the documents kept. Returns how many documents were re-bucketed.
    /// </summary>
    public async Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        var keys = new CollectionKeys(keyPrefix, record);
        CollectionSettings settings = record.Settings;
        long count = 0;
        var frequencies = new DocumentFrequencySketch();
        await foreach ((string id, Version version, DocumentSketch sketch, uint[] passages) in SketchEveryTextAsync(keys, settings, withPassages: true, cancellationToken)
            .ConfigureAwait(false))
        {
            frequencies.Add(sketch.Shingles);
            ulong[] bandKeys = BandKeysOf(sketch.Signature, settings.Lsh);
            IBatch batch = Db.CreateBatch();
            var adds = new List<Task>(settings.Lsh.Bands + 2)
            {
                batch.HashSetAsync(keys.BandKeys, id, EncodeBandKeys(bandKeys)),
                batch.HashSetAsync(keys.Handles, version.Handle, id),
            };
            foreach (BucketEntry bucket in BucketEntry.All(bandKeys, version.Handle))
            {
                adds.Add(batch.SetAddAsync(keys.BucketGroup(bucket), bucket.Member));
            }

            foreach (BucketEntry prefix in BucketEntry.Prefixes(sketch.Signature, settings.Lsh, version.Handle))
            {
                adds.Add(batch.SetAddAsync(keys.ForestGroup(prefix), prefix.Member));
            }

            foreach (uint fingerprint in passages)
            {
                adds.Add(batch.SetAddAsync(keys.PassageGroupOf(fingerprint, version.Handle), PassageEntry.Member(fingerprint, version.Handle)));
            }

            batch.Execute();
            await Task.WhenAll(adds).ConfigureAwait(false);
            count++;
        }

        // Writes that land during the scan are counted twice or not at all: an estimate either way.
        await Db.StringSetAsync(keys.Frequencies, frequencies.ToBigEndian()).ConfigureAwait(false);
        return count;
    }

    /// <summary>
    /// Every stored document that has a version, with its sketch made again from its text, in pages; with its passage
    /// fingerprints from the same pass over its words when asked (else none).
    /// </summary>
    private async IAsyncEnumerable<(string Id, Version Version, DocumentSketch Sketch, uint[] Passages)> SketchEveryTextAsync(CollectionKeys keys,
        CollectionSettings settings, bool withPassages, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Dictionary<string, Version> versions = await VersionsAsync(keys, cancellationToken).ConfigureAwait(false);
        DocumentSketcher sketcher = sketchers.For(settings.Parameters);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Documents, pageSize: 500).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (versions.TryGetValue(entry.Name!, out Version? version) && Readable(keys, entry.Name!, entry.Value) is { } record)
            {
                if (withPassages)
                {
                    (DocumentSketch sketch, uint[] passages) = sketcher.SketchWithPassages(record.Text);
                    yield return (entry.Name!, version, sketch, passages);
                }
                else
                {
                    yield return (entry.Name!, version, sketcher.Sketch(record.Text), []);
                }
            }
        }
    }

    /// <summary>Every document's version, read in pages.</summary>
    private async Task<Dictionary<string, Version>> VersionsAsync(CollectionKeys keys, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, Version>(StringComparer.Ordinal);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Versions, pageSize: 1000).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            versions[entry.Name!] = Version.Parse(entry.Value!);
        }

        return versions;
    }

    /// <summary>The sketches of those of <paramref name="ids"/> that are stored, made again from their texts.</summary>
    private async Task<IReadOnlyList<IndexedSketch>> SketchesAsync(CollectionKeys keys, CollectionSettings settings, string[] ids)
    {
        RedisValue[] documents = ids.Length == 0 ? [] : await Db.HashGetAsync(keys.Documents, [.. ids.Select(id => (RedisValue)id)]).ConfigureAwait(false);
        DocumentSketcher sketcher = sketchers.For(settings.Parameters);
        var found = new List<IndexedSketch>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (Readable(keys, ids[i], documents[i]) is { } record)
            {
                found.Add(new IndexedSketch(ids[i], sketcher.Sketch(record.Text)));
            }
        }

        return found;
    }

    /// <summary>A stored record, or null when there is none or (logged) when it cannot be read: one damaged record never fails a read of many.</summary>
    private StoredRecord? Readable(CollectionKeys keys, string id, RedisValue value)
    {
        try
        {
            return value.IsNull ? null : StoredRecord.Deserialize(value!, id);
        }
        catch (DocumentDamagedException e)
        {
            Log.DocumentDamaged(logger, id, 0, $"Redis {keys.Tag}", e.Message);
            return null;
        }
    }

    private static ulong[] BandKeysOf(uint[] signature, LshParameters lsh)
    {
        var keys = new ulong[lsh.Bands];
        LshIndex.BandKeys(signature, lsh, keys);
        return keys;
    }

    private static byte[] EncodeBandKeys(ulong[] keys)
    {
        var bytes = new byte[keys.Length * sizeof(ulong)];
        for (int band = 0; band < keys.Length; band++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(band * sizeof(ulong)), keys[band]);
        }

        return bytes;
    }

    /// <summary>A document's band keys, or null when their bytes are damaged.</summary>
    private static ulong[]? DecodeBandKeys(RedisValue value, LshParameters lsh)
    {
        ReadOnlySpan<byte> bytes = ((ReadOnlyMemory<byte>)value).Span;
        if (bytes.Length != lsh.Bands * sizeof(ulong))
        {
            return null;
        }

        var keys = new ulong[lsh.Bands];
        for (int band = 0; band < keys.Length; band++)
        {
            keys[band] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(band * sizeof(ulong))..]);
        }

        return keys;
    }

    /// <summary>A document leaves the index: its handle, its band buckets, and its shingles' document frequencies.</summary>
    private static void Unindex(ITransaction transaction, CollectionKeys keys, CollectionSettings settings, Version version, ulong[]? bandKeys, string? text,
        DocumentSketcher sketcher, FrequencyChanges frequencies, SetChanges sets)
    {
        (DocumentSketch Sketch, uint[] Passages)? indexed = text is null ? null : sketcher.SketchWithPassages(text);
        LshParameters lsh = settings.Lsh;
        _ = transaction.HashDeleteAsync(keys.Handles, version.Handle);
        if (bandKeys is not null)
        {
            foreach (BucketEntry bucket in BucketEntry.All(bandKeys, version.Handle))
            {
                sets.Remove(keys.BucketGroup(bucket), bucket.Member);
            }
        }

        // A document whose text cannot be read keeps its forest entries: without its handle they lead nowhere.
        if (indexed is ({ } sketch, { } passages))
        {
            foreach (BucketEntry prefix in BucketEntry.Prefixes(sketch.Signature, lsh, version.Handle))
            {
                sets.Remove(keys.ForestGroup(prefix), prefix.Member);
            }

            foreach (uint fingerprint in passages)
            {
                sets.Remove(keys.PassageGroupOf(fingerprint, version.Handle), PassageEntry.Member(fingerprint, version.Handle));
            }

            frequencies.Count(sketch.Shingles, -1);
        }
    }

    /// <summary>
    /// A transaction's changes to the grouped integer sets (band buckets, forest, passages), one SREM and one SADD a key
    /// with all its members: a batch of 1,000 documents touches ~200,000 members, and as many commands made one EXEC
    /// outlast the client's timeout on a busy machine. Removals go first (a rewrite's new handle never equals its old one).
    /// </summary>
    private sealed class SetChanges
    {
        private readonly Dictionary<RedisKey, (List<RedisValue> Removed, List<RedisValue> Added)> _changes = [];

        public void Add(RedisKey key, RedisValue member) => Of(key).Added.Add(member);

        public void Remove(RedisKey key, RedisValue member) => Of(key).Removed.Add(member);

        public void WriteTo(ITransaction transaction)
        {
            foreach ((RedisKey key, (List<RedisValue> removed, List<RedisValue> added)) in _changes)
            {
                if (removed.Count > 0)
                {
                    _ = transaction.SetRemoveAsync(key, [.. removed]);
                }

                if (added.Count > 0)
                {
                    _ = transaction.SetAddAsync(key, [.. added]);
                }
            }
        }

        private (List<RedisValue> Removed, List<RedisValue> Added) Of(RedisKey key)
        {
            if (!_changes.TryGetValue(key, out (List<RedisValue> Removed, List<RedisValue> Added) change))
            {
                change = ([], []);
                _changes[key] = change;
            }

            return change;
        }
    }

    /// <summary>
    /// A transaction's changes to the collection's <see cref="DocumentFrequencySketch"/>, kept as one string of
    /// big-endian 32-bit counters: summed per counter over the whole batch (a batch of articles touches each
    /// counter many times), then written in one command that saturates as the sketch does.
    /// </summary>
    private sealed class FrequencyChanges
    {
        // Above this many cells, rewriting the whole sketch (2 MB both ways) sends less than a BITFIELD (about 60 bytes a cell).
        private const int MaxIncrements = 32_768;
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

        /// <summary>
        /// Queues the changes on <paramref name="transaction"/>: one BITFIELD of saturating increments for a few cells, or,
        /// when a large batch touches many (a BITFIELD of 200,000 cells is a 15 MB command that stalls Redis), the whole
        /// sketch read now and written back, 1 MB each way. Only the writer holding the lease writes it meanwhile.
        /// </summary>
        public async Task WriteToAsync(IDatabase db, ITransaction transaction, RedisKey key)
        {
            List<KeyValuePair<int, int>> changes = [.. _deltas.Where(static d => d.Value != 0).OrderBy(static d => d.Key)];
            if (changes.Count > MaxIncrements)
            {
                byte[] counters = (byte[]?)await db.StringGetAsync(key).ConfigureAwait(false) ?? [];
                Array.Resize(ref counters, Math.Max(counters.Length, DocumentFrequencySketch.Bytes));
                foreach ((int cell, int delta) in changes)
                {
                    Span<byte> counter = counters.AsSpan(cell * sizeof(uint), sizeof(uint));
                    BinaryPrimitives.WriteUInt32BigEndian(counter, (uint)Math.Clamp(BinaryPrimitives.ReadUInt32BigEndian(counter) + (long)delta, 0, uint.MaxValue));
                }

                _ = transaction.StringSetAsync(key, counters);
                return;
            }

            var args = new List<object>(3 + (changes.Count * 4)) { key, "OVERFLOW", "SAT" };
            foreach ((int cell, int delta) in changes)
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
        var record = new RedisCollection(name, CollectionSettingsCodec.Encode(CollectionSettings.Default), time.GetUtcNow().ToUnixTimeMilliseconds(), "default", Layout);
        await Db.HashSetAsync(CollectionsKey, name, record.Serialize(), When.NotExists).ConfigureAwait(false);
        return await FindAsync(name).ConfigureAwait(false);
    }

    private async Task<RedisCollection> RequireAsync(string name, CollectionSettings? expected = null)
    {
        RedisCollection record = await FindAsync(name).ConfigureAwait(false) ?? throw new CollectionNotFoundException(name);
        if (record.Layout < Layout)
        {
            await UpgradeAsync(record).ConfigureAwait(false);
            record = await FindAsync(name).ConfigureAwait(false) ?? throw new CollectionNotFoundException(name);
        }

        if (record.Layout != Layout)
        {
            throw new StoreFormatException($"Collection '{name}' is stored in Redis layout {record.Layout}; this server reads layout {Layout}. Run the version that wrote it.");
        }

        return expected is null || record.Settings == expected ? record : throw new CollectionChangedException(name);
    }

    /// <summary>
    /// An earlier layout to this one, in place, under the collection's write lease (writers wait; reads go on in the old
    /// layout until the record switches). From layout 1, each document gets a handle, its place in the order of writes (so
    /// a run resumed after a crash gives the same ones), its band keys and grouped buckets from its layout 1 sketch, and
    /// layout 1's keys are deleted at the end. From layout 1 or 2, each document gets its prefix forest entries (layout 2
    /// keeps no signature: its text is sketched again). From any, its passage fingerprints from its text, in layout 4's
    /// groups; layout 3's are deleted at the end. Then the record switches. Stop replicas of an older version first: they
    /// would write the old layout.
    /// </summary>
    private async Task UpgradeAsync(RedisCollection record)
    {
        var keys = new CollectionKeys(keyPrefix, record);
        await Db.StringSetAsync(keys.Config, record.Serialize(), when: When.NotExists).ConfigureAwait(false);
        await using Writer writer = await OpenWriterAsync(record, CancellationToken.None).ConfigureAwait(false);
        if ((await FindAsync(record.Name).ConfigureAwait(false))?.Serialize() != record.Serialize())
        {
            return; // upgraded, or deleted, while this call waited for the lease
        }

        LshParameters lsh = record.Settings.Lsh;
        Dictionary<string, Version> versions = await VersionsAsync(keys, CancellationToken.None).ConfigureAwait(false);
        List<string> order = [.. versions.Keys];
        order.Sort((a, b) => versions[a].CompareTo(versions[b], a, b));
        long handle = 0;
        foreach (string[] chunk in order.Chunk(256))
        {
            (uint[]? Signature, uint[] Passages)[] added = await UpgradedDocumentsAsync(keys, record, chunk).ConfigureAwait(false);
            ITransaction transaction = writer.FencedTransaction();
            var sets = new SetChanges();
            for (int i = 0; i < chunk.Length; i++)
            {
                long documentHandle = versions[chunk[i]].Handle;
                if (record.Layout == 1)
                {
                    documentHandle = ++handle;
                    _ = transaction.HashSetAsync(keys.Handles, handle, chunk[i]);
                }

                _ = transaction.HashSetAsync(keys.Versions, chunk[i], (versions[chunk[i]] with { Handle = documentHandle, Passages = added[i].Passages.Length }).ToString());

                foreach (uint fingerprint in added[i].Passages)
                {
                    sets.Add(keys.PassageGroupOf(fingerprint, documentHandle), PassageEntry.Member(fingerprint, documentHandle));
                }

                if (added[i].Signature is not { } signature)
                {
                    continue;
                }

                if (record.Layout == 1)
                {
                    ulong[] bandKeys = BandKeysOf(signature, lsh);
                    _ = transaction.HashSetAsync(keys.BandKeys, chunk[i], EncodeBandKeys(bandKeys));
                    foreach (BucketEntry bucket in BucketEntry.All(bandKeys, documentHandle))
                    {
                        sets.Add(keys.BucketGroup(bucket), bucket.Member);
                    }
                }

                foreach (BucketEntry prefix in BucketEntry.Prefixes(signature, lsh, documentHandle))
                {
                    sets.Add(keys.ForestGroup(prefix), prefix.Member);
                }
            }

            sets.WriteTo(transaction);
            if (!await transaction.ExecuteAsync().ConfigureAwait(false))
            {
                throw new StoreUnavailableException($"Upgrading collection '{record.Name}' to Redis layout {Layout} lost its lease; the next call resumes it.");
            }
        }

        // Later writes take their sequence numbers as handles: they must come after every handle given here.
        long sequence = (long?)await Db.StringGetAsync(keys.Sequence).ConfigureAwait(false) ?? 0;
        RedisCollection upgraded = record with { Layout = Layout };
        ITransaction switching = writer.FencedTransaction();
        switching.AddCondition(Condition.HashEqual(CollectionsKey, record.Name, record.Serialize()));
        _ = switching.HashSetAsync(CollectionsKey, record.Name, upgraded.Serialize());
        _ = switching.StringSetAsync(keys.Config, upgraded.Serialize());
        _ = switching.StringSetAsync(keys.Sequence, Math.Max(sequence, handle));
        if (!await switching.ExecuteAsync().ConfigureAwait(false))
        {
            return;
        }

        if (record.Layout == 1)
        {
            await DeleteKeysAsync(keys.Layout1BucketPattern).ConfigureAwait(false);
            await Db.KeyDeleteAsync(keys.Layout1Sketches).ConfigureAwait(false);
        }

        if (record.Layout == 3)
        {
            await DeleteKeysAsync(keys.Layout3PassagePattern).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What an upgrade adds for <paramref name="ids"/>: their signatures (layout 1's stored sketches, or the texts sketched
    /// again; null where there is none) and their passage fingerprints (from the texts; empty where there is none).
    /// </summary>
    private async Task<(uint[]? Signature, uint[] Passages)[]> UpgradedDocumentsAsync(CollectionKeys keys, RedisCollection record, string[] ids)
    {
        RedisValue[] fields = [.. ids.Select(id => (RedisValue)id)];
        RedisValue[] documents = await Db.HashGetAsync(keys.Documents, fields).ConfigureAwait(false);
        RedisValue[]? sketches = record.Layout == 1 ? await Db.HashGetAsync(keys.Layout1Sketches, fields).ConfigureAwait(false) : null;
        DocumentSketcher sketcher = sketchers.For(record.Settings.Parameters);
        return [.. ids.Select((id, i) =>
        {
            string? text = Readable(keys, id, documents[i])?.Text;
            if (record.Layout == 2 && text is not null)
            {
                // Layout 2 keeps no signature: the text is sketched again, in the pass that makes its fingerprints.
                (DocumentSketch sketch, uint[] passages) = sketcher.SketchWithPassages(text);
                return (sketch.Signature, passages);
            }

            // Layout 3 has its forest: only its passages move.
            uint[]? signature = record.Layout == 1 && !sketches![i].IsNull ? SketchCodec.Decode((byte[])sketches[i]!, record.Settings.Parameters).Signature : null;
            return (signature, text is null ? [] : PassageFingerprints.Of(text, record.Settings.Parameters.Normalization));
        })];
    }

    /// <summary>Deletes every key matching <paramref name="pattern"/> on every primary, a thousand at a time.</summary>
    private async Task DeleteKeysAsync(string pattern)
    {
        foreach (IServer server in redis.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            var batch = new List<RedisKey>();
            await foreach (RedisKey key in server.KeysAsync(pattern: pattern, pageSize: 1000).ConfigureAwait(false))
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
    }

    /// <summary>A key or tag as a SCAN pattern that matches it literally.</summary>
    private static string GlobEscape(string text)
    {
        var escaped = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
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

    /// <summary>
    /// A collection as stored in the collections hash; the generation keeps a recreated collection's keys apart from its
    /// predecessor's, and the layout says how its keys are laid out (records written before layouts are of layout 1).
    /// </summary>
    private sealed record RedisCollection(string Name, string SettingsJson, long CreateTime, string Generation, int Layout)
    {
        public CollectionSettings Settings { get; } = CollectionSettingsCodec.Decode(SettingsJson);

        // Exactly as stored, since transactions compare it: layout 1 records have four parts.
        public string Serialize() => JsonSerializer.Serialize(Layout == 1
            ? new[] { Name, SettingsJson, CreateTime.ToString(CultureInfo.InvariantCulture), Generation }
            : [Name, SettingsJson, CreateTime.ToString(CultureInfo.InvariantCulture), Generation, Layout.ToString(CultureInfo.InvariantCulture)]);

        public static RedisCollection Deserialize(string json)
        {
            string[] parts = JsonSerializer.Deserialize<string[]>(json) ?? throw new StoreFormatException("A stored collection record is empty.");
            return new RedisCollection(parts[0], parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), parts[3],
                parts.Length > 4 ? int.Parse(parts[4], CultureInfo.InvariantCulture) : 1);
        }
    }

    /// <summary>
    /// What a write needs of the stored version: content hash, UTF-8 size, creation time, the sequence number of its
    /// write (the order of writes) and its handle in the band buckets (the sequence number, unless upgraded from layout 1).
    /// </summary>
    private sealed record Version(ulong ContentHash, int Utf8Length, long CreateTime, long Sequence, long Handle, int Passages)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ContentHash:x16}:{Utf8Length}:{CreateTime}:{Sequence}:{Handle}:{Passages}");

        // Versions written before sequence numbers have three parts and sort first, by creation time; before handles, four;
        // before passage counts (0: not known), five.
        public static Version Parse(string value)
        {
            string[] parts = value.Split(':');
            long sequence = parts.Length > 3 ? long.Parse(parts[3], CultureInfo.InvariantCulture) : 0;
            return new Version(ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture),
                sequence, parts.Length > 4 ? long.Parse(parts[4], CultureInfo.InvariantCulture) : sequence,
                parts.Length > 5 ? int.Parse(parts[5], CultureInfo.InvariantCulture) : 0);
        }

        /// <summary>The order of writes: by sequence number, then creation time, then id.</summary>
        public int CompareTo(Version other, string id, string otherId)
        {
            int bySequence = Sequence.CompareTo(other.Sequence);
            int byCreation = CreateTime.CompareTo(other.CreateTime);
            return bySequence != 0 ? bySequence : byCreation != 0 ? byCreation : string.CompareOrdinal(id, otherId);
        }

        public DocumentVersion ToDocumentVersion() => new(ContentHash, Utf8Length, DateTimeOffset.FromUnixTimeMilliseconds(CreateTime));
    }

    /// <summary>
    /// A document's place in one band bucket. Buckets are grouped so that Redis keeps them as sets of integers (intsets,
    /// 8 bytes a member) rather than a key each: the group is the band and the bucket key's top 16 bits, and the member
    /// is the key's next 23 bits above the document's 40-bit handle. A member of the group with other key bits belongs to
    /// another bucket; two buckets alike in all 39 bits only add a candidate, which verification drops.
    /// </summary>
    private readonly record struct BucketEntry(int Band, int Group, long Tag, long Member)
    {
        public const long MaxHandle = (1L << HandleBits) - 1;
        private const int HandleBits = 40;

        public static BucketEntry Of(int band, ulong key, long handle)
        {
            Debug.Assert(handle is >= 0 and <= MaxHandle);
            long tag = (long)((key >> 25) & 0x7F_FFFF);
            return new BucketEntry(band, (int)(key >> 48), tag, (tag << HandleBits) | handle);
        }

        public static IEnumerable<BucketEntry> All(ulong[] bandKeys, long handle)
        {
            for (int band = 0; band < bandKeys.Length; band++)
            {
                yield return Of(band, bandKeys[band], handle);
            }
        }

        public static bool TryMatch(long member, long tag, out long handle)
        {
            handle = member & MaxHandle;
            return member >> HandleBits == tag;
        }

        /// <summary>
        /// A document's place in one band of the prefix forest, grouped as buckets are: the group is the band and the prefix
        /// key's top 16 bits, the member its next 23 bits above the handle (so that members stay positive). So the first
        /// value's prefix (24 bits) is compared whole, and deeper probes compare 39 bits; verification drops the rest.
        /// </summary>
        public static BucketEntry OfPrefix(int band, ulong prefixKey, long handle)
        {
            Debug.Assert(handle is >= 0 and <= MaxHandle);
            long tag = (long)((prefixKey >> 25) & 0x7F_FFFF);
            return new BucketEntry(band, (int)(prefixKey >> 48), tag, (tag << HandleBits) | handle);
        }

        public static IEnumerable<BucketEntry> Prefixes(uint[] signature, LshParameters lsh, long handle)
        {
            for (int band = 0; band < lsh.Bands; band++)
            {
                yield return OfPrefix(band, PrefixForest.PrefixKey(signature, band, lsh.Rows), handle);
            }
        }

        /// <summary>The bits of a forest member's tag that a probe of <paramref name="depth"/> values compares (the first value's 8 below the group's 16, or all 23).</summary>
        public static long PrefixTag(long member, int depth) => (member >> HandleBits) >> (depth == 1 ? 15 : 0);

        public static bool TryMatchPrefix(long member, long tag, int depth, out long handle)
        {
            Debug.Assert(member >= 0);
            handle = member & MaxHandle;
            return PrefixTag(member, depth) == (depth == 1 ? tag >> 15 : tag);
        }
    }

    /// <summary>
    /// A document's place under one passage fingerprint, grouped as buckets are: the group is the fingerprint's top 16 bits,
    /// the member its low 16 bits above the document's 40-bit handle, so Redis keeps each group as a set of integers.
    /// </summary>
    /// <summary>
    /// Where a passage fingerprint's holder is kept: a set per fingerprint's top 16 bits and range of 2^15 handles, holding
    /// the fingerprint's low 16 bits and the handle's place in its range, 31 bits: Redis keeps such a set as 4-byte integers
    /// while it has at most 512 members (set-max-intset-entries), which at 2^15 documents a range it has about 90 of on
    /// news. Layout 3's groups took every handle and grew past 512, where Redis spends about 50 bytes a member.
    /// </summary>
    private static class PassageEntry
    {
        public const int RangeBits = 15;

        private const long RangeMask = (1L << RangeBits) - 1;

        public static int GroupOf(uint fingerprint) => (int)(fingerprint >> 16);

        public static long RangeOf(long handle) => handle >> RangeBits;

        public static long TagOf(uint fingerprint) => fingerprint & 0xFFFF;

        public static long TagOf(long member) => member >> RangeBits;

        public static long Member(uint fingerprint, long handle) => (TagOf(fingerprint) << RangeBits) | (handle & RangeMask);

        public static long HandleOf(long member, long range) => (range << RangeBits) | (member & RangeMask);
    }

    private sealed record StoredRecord(string Text, Dictionary<string, string> Metadata, int ShingleCount, int Length, ulong ContentHash, long CreateTime, long UpdateTime)
    {
        public static StoredRecord From(DocumentWrite w) =>
            new(w.Content.Text, new Dictionary<string, string>(w.Content.Metadata, StringComparer.Ordinal), w.Sketch.Shingles.Length, w.Content.Length,
                w.Content.ContentHash, w.CreateTime.ToUnixTimeMilliseconds(), w.UpdateTime.ToUnixTimeMilliseconds());

        // The text is most of a record: escaped only where JSON requires (quotes, backslashes, controls), so a quote costs two
        // bytes and a non-ASCII letter its UTF-8 bytes, not the six of a \uXXXX escape. Read back by any JSON reader alike.
        private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public string Serialize() => JsonSerializer.Serialize(this, Compact);

        public static StoredRecord Deserialize(string json, string id)
        {
            try
            {
                return JsonSerializer.Deserialize<StoredRecord>(json) ?? throw new JsonException("The record is empty.");
            }
            catch (JsonException)
            {
                throw new DocumentDamagedException(id, "its record cannot be read");
            }
        }

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

        public RedisKey BandKeys => Tag + ":bands";

        public RedisKey Handles => Tag + ":handles";

        /// <summary>Layout 1's shingle sets and signatures, removed by the upgrade.</summary>
        public RedisKey Layout1Sketches => Tag + ":sketches";

        /// <summary>Layout 1's band buckets, a set each, as a SCAN pattern.</summary>
        public string Layout1BucketPattern => GlobEscape(Tag) + ":b[0-9]*:*";

        public RedisKey Ids => Tag + ":ids";

        public RedisKey TextBytes => Tag + ":text-bytes";

        public RedisKey DeduplicateResult => Tag + ":deduplicate-result";

        public RedisKey Frequencies => Tag + ":frequencies";

        public RedisKey WriteLock => Tag + ":write-lock";

        public RedisKey Sequence => Tag + ":sequence";

        public RedisKey BucketGroup(BucketEntry entry) => string.Create(CultureInfo.InvariantCulture, $"{Tag}:g{entry.Band}:{entry.Group:x4}");

        public RedisKey PassageGroup(int group, long range) => string.Create(CultureInfo.InvariantCulture, $"{Tag}:p{group:x4}:{range:x}");

        /// <summary>The set holding <paramref name="handle"/>'s entry for <paramref name="fingerprint"/>.</summary>
        public RedisKey PassageGroupOf(uint fingerprint, long handle) => PassageGroup(PassageEntry.GroupOf(fingerprint), PassageEntry.RangeOf(handle));

        /// <summary>Layout 3's passage groups, one per fingerprints' top 16 bits, as a SCAN pattern; removed by the upgrade.</summary>
        public string Layout3PassagePattern => GlobEscape(Tag) + ":p[0-9a-f][0-9a-f][0-9a-f][0-9a-f]";

        public RedisKey ForestGroup(BucketEntry entry) => string.Create(CultureInfo.InvariantCulture, $"{Tag}:f{entry.Band}:{entry.Group:x4}");

        /// <summary>Every forest group of the collection, as a SCAN pattern.</summary>
        public string ForestPattern => GlobEscape(Tag) + ":f[0-9]*:*";

        /// <summary>The band and group number of a key made by <see cref="ForestGroup"/>.</summary>
        public static (int Band, int Group) ParseForestGroup(string key)
        {
            int colon = key.LastIndexOf(':');
            int band = key.LastIndexOf(":f", colon - 1, StringComparison.Ordinal);
            return (int.Parse(key.AsSpan(band + 2, colon - band - 2), CultureInfo.InvariantCulture),
                int.Parse(key.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
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

        /// <summary>A transaction that runs only while this writer holds the lease.</summary>
        public ITransaction FencedTransaction()
        {
            ITransaction transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(_keys.WriteLock, _lease));
            return transaction;
        }

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

            // What leaves the index with a replaced or deleted version: its handle and buckets (from its band keys) and its
            // shingles' counts (from its text, sketched again).
            Task<RedisValue[]> versions = Db.HashGetAsync(_keys.Versions, fields);
            Task<RedisValue[]> bandKeys = Db.HashGetAsync(_keys.BandKeys, fields);
            Task<RedisValue[]> documents = Db.HashGetAsync(_keys.Documents, fields);
            Task<RedisValue> sequence = Db.StringGetAsync(_keys.Sequence);
            RedisValue[] oldVersions = await versions.ConfigureAwait(false);
            RedisValue[] oldBandKeys = await bandKeys.ConfigureAwait(false);
            RedisValue[] oldDocuments = await documents.ConfigureAwait(false);
            long next = (long?)await sequence.ConfigureAwait(false) ?? 0;
            if (next + writes.Count > BucketEntry.MaxHandle)
            {
                throw new StoreFormatException($"Collection '{_record.Name}' has used all {BucketEntry.MaxHandle:N0} sequence numbers; rebuild it under a new name.");
            }

            ITransaction transaction = FencedTransaction();
            transaction.AddCondition(Condition.StringEqual(_keys.Config, _record.Serialize()));
            DocumentSketcher sketcher = _store.Sketchers.For(settings.Parameters);
            var frequencies = new FrequencyChanges();
            var sets = new SetChanges();
            long textBytes = 0;
            for (int i = 0; i < fields.Length; i++)
            {
                string id = fields[i]!;
                if (!oldVersions[i].IsNull)
                {
                    Version old = Version.Parse(oldVersions[i]!);
                    textBytes -= old.Utf8Length;
                    Unindex(transaction, _keys, settings, old, oldBandKeys[i].IsNull ? null : DecodeBandKeys(oldBandKeys[i], settings.Lsh),
                        _store.Readable(_keys, id, oldDocuments[i])?.Text, sketcher, frequencies, sets);
                }

                if (i >= writes.Count)
                {
                    _ = transaction.HashDeleteAsync(_keys.Versions, id);
                    _ = transaction.HashDeleteAsync(_keys.Documents, id);
                    _ = transaction.HashDeleteAsync(_keys.BandKeys, id);
                    _ = transaction.SortedSetRemoveAsync(_keys.Ids, id);
                    continue;
                }

                DocumentWrite w = writes[i];
                next++;
                textBytes += w.Content.Utf8Length;
                _ = transaction.HashSetAsync(_keys.Versions, id, new Version(w.Content.ContentHash, w.Content.Utf8Length, w.CreateTime.ToUnixTimeMilliseconds(), next, next, w.Passages.Length).ToString());
                _ = transaction.HashSetAsync(_keys.Documents, id, StoredRecord.From(w).Serialize());
                ulong[] keys = BandKeysOf(w.Sketch.Signature, settings.Lsh);
                _ = transaction.HashSetAsync(_keys.BandKeys, id, EncodeBandKeys(keys));
                _ = transaction.HashSetAsync(_keys.Handles, next, id);
                _ = transaction.SortedSetAddAsync(_keys.Ids, id, 0);
                foreach (BucketEntry bucket in BucketEntry.All(keys, next))
                {
                    sets.Add(_keys.BucketGroup(bucket), bucket.Member);
                }

                foreach (BucketEntry prefix in BucketEntry.Prefixes(w.Sketch.Signature, settings.Lsh, next))
                {
                    sets.Add(_keys.ForestGroup(prefix), prefix.Member);
                }

                foreach (uint fingerprint in w.Passages)
                {
                    sets.Add(_keys.PassageGroupOf(fingerprint, next), PassageEntry.Member(fingerprint, next));
                }

                frequencies.Count(w.Sketch.Shingles, +1);
            }

            sets.WriteTo(transaction);
            _ = transaction.StringSetAsync(_keys.Sequence, next);
            _ = transaction.StringIncrementAsync(_keys.TextBytes, textBytes);
            await frequencies.WriteToAsync(Db, transaction, _keys.Frequencies).ConfigureAwait(false);
            if (await transaction.ExecuteAsync().ConfigureAwait(false))
            {
                return;
            }

            // Told apart by the collection's record, not its config copy: a copy lost with a Redis restart is written again by
            // the retry's BeginWrite, and must not be reported as a collection deleted and recreated.
            throw (await _store.FindAsync(_record.Name).ConfigureAwait(false))?.Generation == _record.Generation
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
