using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Phrases;
using Compare.Core.Shingling;
using Compare.Server.Hosting;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// Everything in one Redis shared by every replica: collection configurations, documents, and the index: band buckets,
/// prefix forest, as grouped sets of integers (<see cref="GroupEntry"/>), and passage fingerprints, as grouped strings of
/// entries (<see cref="PassageEntry"/>). A collection's keys share one hash tag (<see cref="RedisKeys"/>), so a Redis Cluster
/// keeps them on one node and a batch is one MULTI/EXEC there, fenced by the writer's lease on the collection. Queries
/// read the groups straight from Redis, so a write through one replica is seen by the next query through any other.
/// Per document Redis holds its record (text included), its version, its handle and id, and its entries in the groups: no
/// shingle set and no band keys. Sketches for verification, and the entries a rewrite or delete removes, are made again
/// from the texts (a few tens of microseconds each).
/// </summary>
public sealed partial class RedisDocumentStore(IConnectionMultiplexer redis, string keyPrefix, TimeProvider time, SketcherCache sketchers, ILogger<RedisDocumentStore> logger)
    : IDocumentStore
{
    /// <summary>
    /// How a collection's keys are laid out. 1: a shingle set per document and a Redis set per band bucket; 2: band keys
    /// only, and band buckets grouped into sets of integers; 3: and the prefix forest's entries and passage fingerprints,
    /// grouped the same way; 4: passage groups split by range of handles. 5: binary records and versions, no band keys,
    /// short key names, bucket and forest groups of 12 bits and a range of handles instead of 16 bits (at 100,000
    /// documents layout 4's held two members a key, and the keys cost more than their members). 6: passage entries in
    /// strings of doubling ranges of handles, read by name, instead of sets a query read whole in every range of 2^15
    /// handles. A collection of an earlier layout is rebuilt in this one the first time it is used (<see cref="UpgradeAsync"/>);
    /// one of layout 5 has only its passage index rewritten.
    /// </summary>
    public const int Layout = 6;

    // A writer's lease on its collection, renewed while the writer works: a replica killed (or cut off) while
    // holding it holds up the others for at most this long. Every commit is fenced by it.
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan MaxLockWait = TimeSpan.FromSeconds(60);

    private IDatabase Db => redis.GetDatabase();

    private SketcherCache Sketchers => sketchers;

    // 1 once the first health check has looked at Redis's eviction policy.
    private int _evictionChecked;

    // How many ranges of passage groups each collection (by its keys' tag) had when this replica last read them.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _passageRanges = new(StringComparer.Ordinal);

    // The record of each collection this replica has read, as last found (see ReadAsync).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (RedisCollection Record, string Serialized)> _known = new(StringComparer.Ordinal);

    // The id of each version handle this replica has read (see IdsAsync).
    private readonly RedisHandleIds _handleIds = new(redis);

    private RedisKey CollectionsKey => $"{keyPrefix}:collections";

    // HDEL KEYS[1] ARGV[1] when its value is ARGV[2]; returns how many fields went (0 or 1).
    private const string DeleteIfEqualScript = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

    /// <inheritdoc/>
    public async Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        // A read of the key every call reads first, not a PING: a Redis Cluster that lost a node answers PING but refuses
        // keys (CLUSTERDOWN), and a server loading its data refuses them too.
        long started = time.GetTimestamp();
        try
        {
            await Db.KeyExistsAsync(CollectionsKey).ConfigureAwait(false);
            var status = new StoreStatus(true, $"Redis answered in {time.GetElapsedTime(started).TotalMilliseconds:F1} ms.");
            if (Interlocked.Exchange(ref _evictionChecked, 1) == 0)
            {
                await WarnIfEvictingAsync().ConfigureAwait(false);
            }

            return status;
        }
        catch (Exception e) when (RedisFaultTranslation.Translate(e) is StoreUnavailableException)
        {
            return new StoreStatus(false, $"Redis cannot serve: {e.Message}");
        }
    }

    /// <summary>
    /// Runs <paramref name="transaction"/>, whose keys share <paramref name="slotKey"/>'s slot. Redis discards a transaction
    /// whole (EXECABORT) when it refuses a command while queueing it, and only the EXECABORT reaches the caller: when the node
    /// holding the slot has less room under its maxmemory than twice the transaction's <paramref name="queuedBytes"/> (what it
    /// sends: Redis holds it in the client's query buffer and again as the queued commands; measured ~1.7× at a refusal), the
    /// refusal was OOM and the write is <see cref="StoreFullException"/>; any other abort goes on to the fault translation as
    /// it came (UNAVAILABLE).
    /// </summary>
    private async Task<bool> ExecuteAsync(ITransaction transaction, RedisKey slotKey, long queuedBytes)
    {
        try
        {
            return await transaction.ExecuteAsync().ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("EXECABORT", StringComparison.Ordinal))
        {
            if (await MemoryUsageIfFullAsync(slotKey, queuedBytes).ConfigureAwait(false) is { } usage)
            {
                throw RedisFaultTranslation.Full(e, usage);
            }

            throw;
        }
    }

    /// <summary>How full the node holding <paramref name="key"/> is, when it has a maxmemory and too little room left under it for <paramref name="queuedBytes"/>; otherwise null.</summary>
    private async Task<string?> MemoryUsageIfFullAsync(RedisKey key, long queuedBytes)
    {
        try
        {
            string info = await MemoryInfoAsync(key).ConfigureAwait(false);
            long used = InfoNumber(info, "used_memory"), limit = InfoNumber(info, "maxmemory");
            return limit > 0 && used + (2 * queuedBytes) >= limit ? string.Create(CultureInfo.InvariantCulture, $" ({used:N0} of {limit:N0} bytes used)") : null;
        }
        catch (Exception e) when (e is RedisException or FormatException or OverflowException)
        {
            // The probe failing leaves the abort as it came: unavailable.
            return null;
        }
    }

    /// <summary>
    /// Logs a warning, once, when the Redis holding the collections' records has a maxmemory and evicts keys to stay under it:
    /// it would drop documents and index entries without a word, where noeviction refuses the write (RESOURCE_EXHAUSTED).
    /// </summary>
    private async Task WarnIfEvictingAsync()
    {
        try
        {
            string info = await MemoryInfoAsync(CollectionsKey).ConfigureAwait(false);
            long limit = InfoNumber(info, "maxmemory");
            string policy = InfoField(info, "maxmemory_policy") ?? "noeviction";
            if (limit > 0 && policy != "noeviction")
            {
                Log.RedisEvicts(logger, policy, limit);
            }
        }
        catch (Exception e) when (e is RedisException or FormatException or OverflowException)
        {
            // Only a warning: a Redis that cannot tell is served as it is.
        }
    }

    // INFO from a script given the key: it runs on the node that holds the key's slot, and the client sends it without the
    // admin mode its own INFO wants (the store does not ask for admin). A script that writes nothing runs at maxmemory.
    private async Task<string> MemoryInfoAsync(RedisKey key) =>
        (string?)await Db.ScriptEvaluateAsync("return redis.call('INFO', 'memory')", [key]).ConfigureAwait(false) ?? string.Empty;

    /// <summary>The field <paramref name="name"/> of an INFO reply ("name:value" lines); null when absent.</summary>
    private static string? InfoField(string info, string name)
    {
        foreach (string line in info.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] == ':')
            {
                return line[(name.Length + 1)..].Trim();
            }
        }

        return null;
    }

    private static long InfoNumber(string info, string name) => long.Parse(InfoField(info, name) ?? "0", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public async Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var record = new RedisCollection(name, CollectionSettingsCodec.Encode(settings), time.GetUtcNow().ToUnixTimeMilliseconds(), RedisCollection.NewGeneration(), Layout);
        if (!await Db.HashSetAsync(CollectionsKey, name, record.Serialize(), When.NotExists).ConfigureAwait(false))
        {
            throw new CollectionExistsException(name);
        }

        return await InfoAsync(new RedisKeys(keyPrefix, record)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            // Every query asks for its collection first: with the record known, that is one round trip.
            return await ReadAsync(name, null, InfoAsync).ConfigureAwait(false);
        }
        catch (CollectionNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken)
    {
        await FindAsync(CollectionNames.Default).ConfigureAwait(false);
        HashEntry[] entries = await Db.HashGetAllAsync(CollectionsKey).ConfigureAwait(false);
        var infos = new List<CollectionInfo>(entries.Length);
        foreach (HashEntry e in entries.OrderBy(e => (string)e.Name!, StringComparer.Ordinal))
        {
            infos.Add(await InfoAsync(new RedisKeys(keyPrefix, RedisCollection.Deserialize(e.Value!))).ConfigureAwait(false));
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

        var keys = new RedisKeys(keyPrefix, record);
        long count = await Db.SortedSetLengthAsync(keys.Ids).ConfigureAwait(false);
        // The record goes only while it is the one read. A script, not a transaction: Redis at its maxmemory refuses every
        // command queued in a MULTI, deletes too, but runs a script that only deletes, so deleting collections makes room.
        if ((long)await Db.ScriptEvaluateAsync(DeleteIfEqualScript, [CollectionsKey], [name, record.Serialize()]).ConfigureAwait(false) == 0)
        {
            return null;
        }

        _known.TryRemove(name, out _);

        // The record is gone, so no call can find these keys any more. The copy of the record that fences writes goes first:
        // a write that read the record before it went fails from then on, and one that committed before is removed with
        // the rest, which are removed at leisure.
        await Db.KeyDeleteAsync(keys.Config).ConfigureAwait(false);
        await DeleteKeysAsync(keys.Pattern).ConfigureAwait(false);
        return count;
    }

    /// <summary>At once: a commit completes when Redis has applied it, as durable as its appendfsync policy makes it.</summary>
    public Task EnsureDurableAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken) =>
        await OpenWriterAsync(await RequireAsync(collection, settings).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Takes the collection's write lease, waiting for the writer holding it, and holds it until the writer is disposed.</summary>
    private async Task<Writer> OpenWriterAsync(RedisCollection record, CancellationToken cancellationToken)
    {
        string collection = record.Name;
        var keys = new RedisKeys(keyPrefix, record);
        RedisValue lease = Guid.NewGuid().ToString("N");
        using var waited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waited.CancelAfter(MaxLockWait);
        RedisKey[] leaseKeys = [keys.WriteLock, keys.Config];
        RedisValue[] leaseArguments = [lease, (long)LeaseTime.TotalMilliseconds, record.Serialize()];
        for (int attempt = 0; (long)await Db.ScriptEvaluateAsync(TakeLeaseScript, leaseKeys, leaseArguments).ConfigureAwait(false) == 0; attempt++)
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
    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken) =>
        ReadAsync(collection, null, keys => DocumentAsync(keys, id, includeText));

    private async Task<StoredDocument?> DocumentAsync(RedisKeys keys, string id, bool includeText)
    {
        RedisValue value = await Db.HashGetAsync(keys.Documents, id).ConfigureAwait(false);
        return value.IsNull ? null : RedisDocumentRecord.Decode(value, id).ToStored(id, includeText);
    }

    /// <inheritdoc/>
    public Task<ulong?> GetContentHashAsync(string collection, string id, CancellationToken cancellationToken) =>
        ReadAsync(collection, null, async keys => RedisVersion.Decode(await Db.HashGetAsync(keys.Versions, id).ConfigureAwait(false))?.ContentHash);

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredDocument>> GetDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ReadAsync(collection, null, keys => DocumentsAsync(keys, ids));
    }

    private async Task<IReadOnlyList<StoredDocument>> DocumentsAsync(RedisKeys keys, IReadOnlyList<string> ids)
    {
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
        var keys = new RedisKeys(keyPrefix, await RequireAsync(collection).ConfigureAwait(false));
        RedisValue[] ids = await Db.SortedSetRangeByValueAsync(keys.Ids, afterId is null ? default : afterId, default,
            afterId is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, limit + 1).ConfigureAwait(false);
        RedisValue[] page = ids.Length > limit ? ids[..limit] : ids;
        RedisValue[] values = page.Length == 0 ? [] : await Db.HashGetAsync(keys.Documents, page).ConfigureAwait(false);
        var documents = new List<StoredDocument>(page.Length);
        for (int i = 0; i < page.Length; i++)
        {
            if (!values[i].IsNull)
            {
                documents.Add(RedisDocumentRecord.Decode(values[i], page[i]!).ToStored(page[i]!, includeText));
            }
        }

        return new DocumentPage(documents, ids.Length > limit, await Db.SortedSetLengthAsync(keys.Ids).ConfigureAwait(false));
    }

    /// <inheritdoc/>
    public Task<(StoredDocument Document, DocumentSketch Sketch)?> GetDocumentAndSketchAsync(string collection, CollectionSettings settings, string id,
        CancellationToken cancellationToken) => ReadAsync(collection, settings, keys => DocumentAndSketchAsync(keys, settings, id));

    private async Task<(StoredDocument Document, DocumentSketch Sketch)?> DocumentAndSketchAsync(RedisKeys keys, CollectionSettings settings, string id)
    {
        RedisValue value = await Db.HashGetAsync(keys.Documents, id).ConfigureAwait(false);
        if (value.IsNull)
        {
            return null;
        }

        StoredDocument document = RedisDocumentRecord.Decode(value, id).ToStored(id, includeText: true);
        return (document, sketchers.For(settings.Parameters).Sketch(document.Text!));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, int depth,
        CancellationToken cancellationToken) => ReadAsync(collection, settings, keys => CandidatesAsync(keys, settings, signature, depth));

    private async Task<IReadOnlyList<IndexedSketch>> CandidatesAsync(RedisKeys keys, CollectionSettings settings, uint[] signature, int depth)
    {
        bool buckets = depth >= settings.Lsh.Rows;
        GroupEntry[] entries = [.. Enumerable.Range(0, settings.Lsh.Bands).Select(band => buckets
            ? GroupEntry.Of(forest: false, band, LshIndex.BandKey(signature, band, settings.Lsh.Rows), handle: 0)
            : GroupEntry.Of(forest: true, band, PrefixForest.PrefixKey(signature, band, settings.Lsh.Rows), handle: 0))];
        var handles = new HashSet<long>();

        // The first range's groups and the last handle in one round trip; a larger collection has more ranges to read.
        IBatch first = Db.CreateBatch();
        Task<RedisValue> sequence = first.StringGetAsync(keys.Sequence);
        Task<RedisValue[]>[] members = [.. entries.Select(e => MembersAsync(first, keys, e))];
        first.Execute();
        long ranges = GroupEntry.RangesUpTo(!buckets, (long?)await sequence.ConfigureAwait(false) ?? 0);
        if (ranges > 1)
        {
            IBatch rest = Db.CreateBatch();
            members = [.. members, .. Enumerable.Range(1, (int)ranges - 1).SelectMany(r => entries.Select(e => e.InRange(r)))
                .Select(e => MembersAsync(rest, keys, e))];
            rest.Execute();
        }

        int probe = buckets ? int.MaxValue : depth;
        for (int i = 0; i < members.Length; i++)
        {
            GroupEntry entry = entries[i % entries.Length];
            long tag = entry.TagAt(probe);
            foreach (RedisValue member in await members[i].ConfigureAwait(false))
            {
                if (entry.TagOf((long)member, probe) == tag)
                {
                    handles.Add(entry.HandleOf((long)member));
                }
            }
        }

        // Distinct: a document rewritten over a damaged version keeps its old handle's entries, which lead to it too.
        RedisValue[] ids = await IdsAsync(keys, [.. handles]).ConfigureAwait(false);
        return await SketchesAsync(keys, settings, [.. ids.Where(id => !id.IsNull).Select(id => (string)id!).Distinct(StringComparer.Ordinal)]).ConfigureAwait(false);
    }

    /// <summary>
    /// The members of <paramref name="entry"/>'s group that a query may need: a bucket's own (SSCAN MATCH, which Redis answers
    /// whole for a set of integers; a set grown past them is read whole), a forest group's all.
    /// </summary>
    private async Task<RedisValue[]> MembersAsync(IBatch batch, RedisKeys keys, GroupEntry entry)
    {
        if (entry.Forest)
        {
            return await batch.SetMembersAsync(keys.Group(entry)).ConfigureAwait(false);
        }

        RedisResult[] scanned = (RedisResult[])(await batch.ExecuteAsync("SSCAN", keys.Group(entry), 0, "MATCH", entry.BucketMatch, "COUNT", 1024).ConfigureAwait(false))!;
        return (long)scanned[0] == 0 ? (RedisValue[])scanned[1]! : await Db.SetMembersAsync(keys.Group(entry)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, DocumentSketch>> GetSketchesAsync(string collection, CollectionSettings settings, IReadOnlyCollection<string> ids,
        CancellationToken cancellationToken) => ReadAsync(collection, settings, keys => SketchesByIdAsync(keys, settings, ids, cancellationToken));

    private async Task<IReadOnlyDictionary<string, DocumentSketch>> SketchesByIdAsync(RedisKeys keys, CollectionSettings settings, IReadOnlyCollection<string> ids,
        CancellationToken cancellationToken)
    {
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

    /// <summary>
    /// The pairs that share a band bucket (at the banding's depth) or a band's <paramref name="depth"/>-value prefix, from the
    /// groups themselves (a document keeps no band keys of its own): every group of the collection is read once, in pages,
    /// and its members sorted by bucket or prefix within each band. Two documents alike in the 35 bits a group keeps only
    /// add a pair, which verification drops.
    /// </summary>
    public async Task<IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, int depth, CancellationToken cancellationToken)
    {
        var keys = new RedisKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        Dictionary<string, RedisVersion> versions = await VersionsAsync(keys, cancellationToken).ConfigureAwait(false);
        List<string> ids = [.. versions.Keys];
        ids.Sort((a, b) => versions[a].CompareTo(versions[b], a, b));
        Dictionary<long, int> positionOfHandle = new(ids.Count);
        for (int position = 0; position < ids.Count; position++)
        {
            positionOfHandle[versions[ids[position]].Handle] = position;
        }

        bool buckets = depth >= settings.Lsh.Rows;
        int probe = buckets ? int.MaxValue : depth;
        // One band's entries at a time (the groups come band by band): at 1M documents all 18 bands' would be ~18M entries.
        var pairs = new List<ulong>();
        var entries = new List<(long Bucket, int Position)>();
        int band = -1;
        await foreach ((GroupEntry group, RedisValue[] members) in GroupsAsync(keys, buckets, settings.Lsh.Bands, versions, cancellationToken).ConfigureAwait(false))
        {
            if (group.Band != band)
            {
                Debug.Assert(group.Band > band, "groups come band by band");
                AddPairsOfEqualBuckets(entries, pairs);
                entries.Clear();
                band = group.Band;
            }

            foreach (RedisValue member in members)
            {
                if (positionOfHandle.TryGetValue(group.HandleOf((long)member), out int position))
                {
                    entries.Add((((long)group.Group << 32) | group.TagOf((long)member, probe), position));
                }
            }
        }

        AddPairsOfEqualBuckets(entries, pairs);
        return new IndexCandidatePairs([.. ids], Clusterer.SortDistinct(pairs));
    }

    /// <summary>
    /// Every bucket group (or forest group) of the collection with its members, band by band. A collection of more documents than a band
    /// has groups fills nearly all of them, so they are read by name, 4,096 a round trip; a smaller one's are found by a
    /// SCAN of the collection's keys, which costs less than asking for 73,728 mostly empty ones.
    /// </summary>
    private async IAsyncEnumerable<(GroupEntry Group, RedisValue[] Members)> GroupsAsync(RedisKeys keys, bool buckets, int bands,
        Dictionary<string, RedisVersion> versions, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IAsyncEnumerable<GroupEntry[]> pages;
        if (versions.Count > 1 << GroupEntry.GroupBits)
        {
            long ranges = GroupEntry.RangesUpTo(!buckets, versions.Values.Max(v => v.Handle));
            pages = (from band in Enumerable.Range(0, bands)
                     from number in Enumerable.Range(0, 1 << GroupEntry.GroupBits)
                     from range in Enumerable.Range(0, (int)ranges)
                     select new GroupEntry(!buckets, band, number, range, 0, 0)).Chunk(4096).ToAsyncEnumerable();
        }
        else
        {
            // Band by band, as by name: the caller takes one band at a time.
            List<GroupEntry> found = await ScanAsync(keys.GroupPattern(forest: !buckets)).Select(key => RedisKeys.ParseGroup((string)key!))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            pages = found.OrderBy(g => g.Band).Chunk(4096).ToAsyncEnumerable();
        }

        await foreach (GroupEntry[] page in pages.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            IBatch batch = Db.CreateBatch();
            Task<RedisValue[]>[] members = [.. page.Select(g => batch.SetMembersAsync(keys.Group(g)))];
            batch.Execute();
            for (int i = 0; i < page.Length; i++)
            {
                yield return (page[i], await members[i].ConfigureAwait(false));
            }
        }
    }

    /// <summary>Every key matching <paramref name="pattern"/> on every primary.</summary>
    private async IAsyncEnumerable<RedisKey> ScanAsync(string pattern)
    {
        foreach (IServer server in redis.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            await foreach (RedisKey key in server.KeysAsync(pattern: pattern, pageSize: 1000).ConfigureAwait(false))
            {
                yield return key;
            }
        }
    }

    /// <summary>Adds every pair of positions among <paramref name="entries"/> (one band's) that share a bucket.</summary>
    private static void AddPairsOfEqualBuckets(List<(long Bucket, int Position)> entries, List<ulong> pairs)
    {
        entries.Sort();
        var group = new List<int>();
        for (int start = 0, end; start < entries.Count; start = end)
        {
            group.Clear();
            for (end = start; end < entries.Count && entries[end].Bucket == entries[start].Bucket; end++)
            {
                group.Add(entries[end].Position);
            }

            if (group.Count > 1)
            {
                Clusterer.AddBucketPairs(group, pairs);
            }
        }
    }

    /// <inheritdoc/>
    public Task<PassageCandidates> GetPassageCandidatesAsync(string collection, CollectionSettings settings, uint[] fingerprints, int maxDocumentsPerFingerprint,
        bool withOwnCounts, int ranked, CancellationToken cancellationToken) =>
        ReadAsync(collection, settings, keys => PassageCandidatesAsync(keys, fingerprints, maxDocumentsPerFingerprint, withOwnCounts, ranked));

    private async Task<PassageCandidates> PassageCandidatesAsync(RedisKeys keys, uint[] fingerprints, int maxDocumentsPerFingerprint, bool withOwnCounts, int ranked)
    {
        uint[] query = [.. fingerprints.Distinct()];
        // The last handle and the groups of the ranges this replica last saw, in one round trip; a collection grown past them
        // has its new ranges read in a second.
        int seen = _passageRanges.TryGetValue(keys.Tag, out int known) ? known : 1;
        IBatch first = Db.CreateBatch();
        Task<RedisValue> sequence = first.StringGetAsync(keys.Sequence);
        List<(uint[] Groups, Task<RedisValue[]> Strings)> ranges = [.. Enumerable.Range(0, seen).Select(range => ReadPassageGroups(first, keys, query, range))];
        first.Execute();
        int all = PassageEntry.RangesUpTo((long?)await sequence.ConfigureAwait(false) ?? 0);
        if (all > seen)
        {
            IBatch rest = Db.CreateBatch();
            ranges.AddRange(Enumerable.Range(seen, all - seen).Select(range => ReadPassageGroups(rest, keys, query, range)));
            rest.Execute();
            _passageRanges.Remember(keys.Tag, all);
        }

        var holders = new List<long>?[query.Length];
        for (int range = 0; range < ranges.Count; range++)
        {
            (uint[] groups, Task<RedisValue[]> read) = ranges[range];
            RedisValue[] strings = await read.ConfigureAwait(false);
            for (int i = 0; i < query.Length; i++)
            {
                ReadOnlyMemory<byte> held = strings[Array.BinarySearch(groups, PassageEntry.GroupOf(query[i], range))];
                CollectHolders(held.Span, range, PassageEntry.TagOf(query[i], range), ref holders[i]);
            }
        }

        var shared = new Dictionary<long, int>();
        int common = 0;
        foreach (List<long>? held in holders)
        {
            if (held is null)
            {
                continue;
            }

            // A fingerprint's holders, each once (a rebuild racing a write could append an entry twice).
            held.Sort();
            int count = 0;
            for (int i = 0; i < held.Count; i++)
            {
                if (count == 0 || held[count - 1] != held[i])
                {
                    held[count++] = held[i];
                }
            }

            if (count > maxDocumentsPerFingerprint)
            {
                common++;
                continue;
            }

            foreach (long handle in CollectionsMarshal.AsSpan(held)[..count])
            {
                CollectionsMarshal.GetValueRefOrAddDefault(shared, handle, out _)++;
            }
        }

        // Ids are looked up (an HMGET a hash of 128 handles, each candidate apart) only for the handles that may rank among
        // the first asked for: those sharing at least as many fingerprints as the last of them, ties included (ties go by
        // id). A handle without an id (a document gone whose entries could not be removed, its text unreadable) or with the
        // id of one already found (a document rewritten over a damaged version holds two) leaves a place: more are looked up.
        long[] byShared = [.. shared.OrderByDescending(e => e.Value).Select(e => e.Key)];
        var looked = new List<(RedisValue Id, int Shared)>();
        var liveIds = new HashSet<string>(StringComparer.Ordinal);
        while (looked.Count < byShared.Length && liveIds.Count < ranked)
        {
            int bar = shared[byShared[(int)Math.Min(byShared.Length, (long)looked.Count + ranked - liveIds.Count) - 1]];
            int end = looked.Count;
            while (end < byShared.Length && shared[byShared[end]] >= bar)
            {
                end++;
            }

            long[] next = byShared[looked.Count..end];
            RedisValue[] ids = await IdsAsync(keys, next).ConfigureAwait(false);
            for (int i = 0; i < next.Length; i++)
            {
                looked.Add((ids[i], shared[next[i]]));
                if (!ids[i].IsNull)
                {
                    liveIds.Add(ids[i]!);
                }
            }
        }

        (string Id, int Shared)[] live = [.. looked.Where(e => !e.Id.IsNull).GroupBy(e => (string)e.Id!, StringComparer.Ordinal).Select(g => (g.Key, g.Max(e => e.Shared)))];
        // The documents' own counts are in their versions: a round trip more, for those who ask.
        RedisValue[] versions = live.Length == 0 || !withOwnCounts ? new RedisValue[live.Length]
            : await Db.HashGetAsync(keys.Versions, [.. live.Select(e => (RedisValue)e.Id)]).ConfigureAwait(false);
        PassageCandidates named = PassageCandidates.Ranked(live.Select((e, i) => new PassageCandidate(e.Id, e.Shared, RedisVersion.Decode(versions[i])?.Passages ?? 0)), common);
        return named with { Found = byShared.Length - (looked.Count - live.Length) };
    }

    /// <summary>The passage groups of <paramref name="query"/> in <paramref name="range"/>, sorted, and their strings read in one MGET.</summary>
    private static (uint[] Groups, Task<RedisValue[]> Strings) ReadPassageGroups(IBatch batch, RedisKeys keys, uint[] query, int range)
    {
        uint[] groups = [.. query.Select(f => PassageEntry.GroupOf(f, range)).Distinct().Order()];
        return (groups, batch.StringGetAsync([.. groups.Select(g => keys.PassageGroup(range, g))]));
    }

    /// <summary>Adds the handles of the entries of a group's string <paramref name="held"/> whose fingerprint bits are <paramref name="tag"/>.</summary>
    private static void CollectHolders(ReadOnlySpan<byte> held, int range, ulong tag, ref List<long>? holders)
    {
        int width = PassageEntry.Width(range);
        for (int i = 0; i < held.Length / width; i++)
        {
            ulong entry = PassageEntry.Read(held, i, width);
            if (PassageEntry.TagOfEntry(entry, range) == tag)
            {
                (holders ??= []).Add(PassageEntry.HandleOf(entry, range));
            }
        }
    }

    /// <summary>
    /// The ids of <paramref name="handles"/> (null where a handle has none): those this replica remembers (<see cref="RedisHandleIds"/>),
    /// and the others one HMGET a hash of ids, in one round trip.
    /// </summary>
    private async Task<RedisValue[]> IdsAsync(RedisKeys keys, long[] handles)
    {
        var ids = new RedisValue[handles.Length];
        var unknown = new HashSet<long>();
        for (int i = 0; i < handles.Length; i++)
        {
            if (_handleIds.TryGet(keys.Tag, handles[i], out string? id))
            {
                ids[i] = id;
            }
            else
            {
                unknown.Add(handles[i]);
            }
        }

        if (unknown.Count == 0)
        {
            return ids;
        }

        long epoch = _handleIds.Epoch;
        IBatch batch = Db.CreateBatch();
        (long[] Handles, Task<RedisValue[]> Ids)[] chunks = [.. unknown.GroupBy(h => h >> 7)
            .Select(c => (c.ToArray(), batch.HashGetAsync(keys.HandleChunk(c.First()), [.. c.Select(RedisKeys.HandleField)])))];
        batch.Execute();
        var read = new Dictionary<long, RedisValue>(unknown.Count);
        foreach ((long[] chunk, Task<RedisValue[]> values) in chunks)
        {
            RedisValue[] found = await values.ConfigureAwait(false);
            for (int i = 0; i < chunk.Length; i++)
            {
                read[chunk[i]] = found[i];
                if (!found[i].IsNull)
                {
                    _handleIds.Add(keys.Tag, chunk[i], found[i]!, epoch);
                }
            }
        }

        for (int i = 0; i < handles.Length; i++)
        {
            if (ids[i].IsNull)
            {
                ids[i] = read[handles[i]];
            }
        }

        return ids;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var keys = new RedisKeys(keyPrefix, await RequireAsync(collection, settings).ConfigureAwait(false));
        var sketches = new List<(RedisVersion Version, IndexedSketch Document)>();
        await foreach ((string id, RedisVersion version, DocumentSketch sketch, _) in SketchEveryTextAsync(keys, settings, withPassages: false, cancellationToken).ConfigureAwait(false))
        {
            sketches.Add((version, new IndexedSketch(id, sketch)));
        }

        sketches.Sort((a, b) => a.Version.CompareTo(b.Version, a.Document.Id, b.Document.Id));
        return [.. sketches.Select(s => s.Document)];
    }

    /// <inheritdoc/>
    public async Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireForWriteAsync(collection).ConfigureAwait(false);
        // Only while the collection is the one read: a result must not land under a deleted or recreated collection. Fenced,
        // as writes are, by the collection's own copy of its record, which lives in its slot.
        var keys = new RedisKeys(keyPrefix, record);
        ITransaction transaction = Db.CreateTransaction();
        transaction.AddCondition(Condition.StringEqual(keys.Config, record.Serialize()));
        _ = transaction.StringSetAsync(keys.DeduplicateResult, result);
        if (!await ExecuteAsync(transaction, keys.DeduplicateResult, 1024 + (2L * result.Length)).ConfigureAwait(false))
        {
            throw new CollectionNotFoundException(collection);
        }
    }

    /// <inheritdoc/>
    public async Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        return await Db.StringGetAsync(new RedisKeys(keyPrefix, record).DeduplicateResult).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken) =>
        ReadAsync(collection, null, FrequenciesAsync);

    private async Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> FrequenciesAsync(RedisKeys keys)
    {
        Task<RedisValue> stored = Db.StringGetAsync(keys.Frequencies);
        Task<long> count = Db.SortedSetLengthAsync(keys.Ids);
        byte[]? counters = await stored.ConfigureAwait(false);
        return (DocumentFrequencySketch.FromBigEndian(counters ?? []), await count.ConfigureAwait(false));
    }

    /// <summary>
    /// Every stored document that has a version, with its sketch made again from its text, in pages; with its passage
    /// fingerprints from the same pass over its words when asked (else none).
    /// </summary>
    private async IAsyncEnumerable<(string Id, RedisVersion Version, DocumentSketch Sketch, uint[] Passages)> SketchEveryTextAsync(RedisKeys keys,
        CollectionSettings settings, bool withPassages, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Dictionary<string, RedisVersion> versions = await VersionsAsync(keys, cancellationToken).ConfigureAwait(false);
        DocumentSketcher sketcher = sketchers.For(settings.Parameters);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Documents, pageSize: 500).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (versions.TryGetValue(entry.Name!, out RedisVersion? version) && Readable(keys, entry.Name!, entry.Value) is { } record)
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

    /// <summary>Every document's version, read in pages; a damaged one is logged and left out.</summary>
    private async Task<Dictionary<string, RedisVersion>> VersionsAsync(RedisKeys keys, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, RedisVersion>(StringComparer.Ordinal);
        await foreach (HashEntry entry in Db.HashScanAsync(keys.Versions, pageSize: 1000).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (RedisVersion.Decode(entry.Value) is { } version)
            {
                versions[entry.Name!] = version;
            }
            else
            {
                Log.DocumentDamaged(logger, entry.Name!, 0, $"Redis {keys.Tag}", "its version cannot be read; it is left out of the index's answers");
            }
        }

        return versions;
    }

    /// <summary>The sketches of those of <paramref name="ids"/> that are stored, made again from their texts.</summary>
    private async Task<IReadOnlyList<IndexedSketch>> SketchesAsync(RedisKeys keys, CollectionSettings settings, string[] ids)
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
    private RedisDocumentRecord? Readable(RedisKeys keys, string id, RedisValue value)
    {
        try
        {
            return value.IsNull ? null : RedisDocumentRecord.Decode(value, id);
        }
        catch (DocumentDamagedException e)
        {
            Log.DocumentDamaged(logger, id, 0, $"Redis {keys.Tag}", e.Message);
            return null;
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
        var record = new RedisCollection(name, CollectionSettingsCodec.Encode(CollectionSettings.Default), time.GetUtcNow().ToUnixTimeMilliseconds(),
            RedisCollection.NewGeneration(), Layout);
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
    /// <paramref name="read"/> over the collection's keys as this replica last found them, with the collection's record read
    /// in the same round trip: when the record is still the one known, the answer stands (as it would had the record been
    /// read first: either way the collection may change just after); when not, it is dropped and read again under the
    /// record as it is now. Saves a query a round trip (the record's) for every call after the first.
    /// </summary>
    private async Task<T> ReadAsync<T>(string name, CollectionSettings? expected, Func<RedisKeys, Task<T>> read)
    {
        if (_known.TryGetValue(name, out (RedisCollection Record, string Serialized) known))
        {
            Task<RedisValue> current = Db.HashGetAsync(CollectionsKey, name);
            Task<T> answer = read(new RedisKeys(keyPrefix, known.Record));
            if (await current.ConfigureAwait(false) == known.Serialized)
            {
                if (expected is null || known.Record.Settings == expected)
                {
                    return await answer.ConfigureAwait(false);
                }
            }
            else
            {
                _known.TryRemove(new(name, known));
            }

            // Read under a record gone, or for other settings (RequireAsync below says so): whatever it found, or failed on,
            // does not count.
            await answer.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }

        RedisCollection record = await RequireAsync(name, expected).ConfigureAwait(false);
        _known.Remember(name, (record, record.Serialize()));
        return await read(new RedisKeys(keyPrefix, record)).ConfigureAwait(false);
    }

    /// <summary>Deletes every key matching <paramref name="pattern"/> on every primary, a thousand at a time.</summary>
    private async Task DeleteKeysAsync(string pattern)
    {
        await foreach (RedisKey[] batch in ScanAsync(pattern).Chunk(1000).ConfigureAwait(false))
        {
            await Db.KeyDeleteAsync(batch).ConfigureAwait(false);
        }
    }

    // The collection's own copy of its record, which write transactions WATCH: it lives in the collection's
    // slot. Only writers need it, so reads do not pay the round trip (a document writer's lease restores it).
    private async Task<RedisCollection> RequireForWriteAsync(string name)
    {
        RedisCollection record = await RequireAsync(name).ConfigureAwait(false);
        await Db.StringSetAsync(new RedisKeys(keyPrefix, record).Config, record.Serialize(), when: When.NotExists).ConfigureAwait(false);
        return record;
    }

    private async Task<CollectionInfo> InfoAsync(RedisKeys keys)
    {
        RedisCollection record = keys.Record;
        Task<long> count = Db.SortedSetLengthAsync(keys.Ids);
        Task<RedisValue> bytes = Db.StringGetAsync(keys.TextBytes);
        return new CollectionInfo(record.Name, record.Settings, DateTimeOffset.FromUnixTimeMilliseconds(record.CreateTime),
            await count.ConfigureAwait(false), (long?)await bytes.ConfigureAwait(false) ?? 0);
    }
}
