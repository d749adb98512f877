using System.Buffers;
using System.Buffers.Binary;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Shingling;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>The Redis store's writes: a writer's batches, and the index rebuilt from the texts.</summary>
public sealed partial class RedisDocumentStore
{
    // The write lease's scripts run at maxmemory too (allow-oom): they write a few bytes, and a writer that only deletes
    // documents, which is how a user makes room, could not start otherwise. Taking the lease also restores the collection's
    // copy of its record, which fences every commit, when a Redis restart lost it.
    private const string TakeLeaseScript = """
        #!lua flags=allow-oom
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
        redis.call('SET', KEYS[2], ARGV[3], 'NX')
        return 1
        """;

    private const string ExtendLeaseScript = """
        #!lua flags=allow-oom
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    private const string ReleaseLeaseScript = """
        #!lua flags=allow-oom
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    /// <summary>
    /// Sketches every stored text again into its handle and its entries (band buckets, prefix forest, passages), and
    /// recounts the shingles' document frequencies: after a failover lost some writes that the documents kept. Returns how
    /// many documents were indexed.
    /// </summary>
    public async Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken)
    {
        RedisCollection record = await RequireAsync(collection).ConfigureAwait(false);
        var keys = new RedisKeys(keyPrefix, record);
        CollectionSettings settings = record.Settings;
        long count = 0;
        var frequencies = new DocumentFrequencySketch();
        await foreach ((string id, RedisVersion version, DocumentSketch sketch, uint[] passages) in SketchEveryTextAsync(keys, settings, withPassages: true, cancellationToken)
            .ConfigureAwait(false))
        {
            frequencies.Add(sketch.Shingles);
            var entries = new IndexChanges(keys, reAdding: true);
            entries.Add(sketch, passages, settings.Lsh, version.Handle);
            PipelineCommands pipeline = PipelineCommands.Pipeline(Db);
            pipeline.HashSet(keys.HandleChunk(version.Handle), RedisKeys.HandleField(version.Handle), id);
            await entries.WriteToAsync(Db, pipeline).ConfigureAwait(false);
            await pipeline.ExecuteAsync().ConfigureAwait(false);
            count++;
        }

        // Writes that land during the scan are counted twice or not at all: an estimate either way.
        await Db.StringSetAsync(keys.Frequencies, frequencies.ToBigEndian()).ConfigureAwait(false);
        return count;
    }

    /// <summary>
    /// A transaction's changes to the index of <paramref name="keys"/>: the grouped integer sets (band buckets, forest), one
    /// SREM and one SADD a key with all its members, and the passage strings (<see cref="PassageEntry"/>), one APPEND a
    /// string, or one SET of it rewritten where entries leave it. A batch of 1,000 documents touches ~200,000 entries, and as
    /// many commands made one EXEC outlast the client's timeout on a busy machine. Removals go first (a rewrite's new handle
    /// never equals its old one). Entries are gathered by their key's place (<see cref="SetKey"/>, range and group) and each
    /// key's name is made once, when written: making it for every member was an eighth of the request threads' time in an
    /// ingest.
    /// </summary>
    /// <param name="keys">The collection's keys.</param>
    /// <param name="reAdding">
    /// Whether documents already indexed may be added again (a rebuild): a passage entry a string already holds is not
    /// appended twice. Sets need no such care.
    /// </param>
    private sealed class IndexChanges(RedisKeys keys, bool reAdding = false)
    {
        private readonly Dictionary<SetKey, (List<RedisValue> Removed, List<RedisValue> Added)> _changes = [];
        private readonly Dictionary<(int Range, uint Group), (HashSet<ulong> Removed, List<ulong> Added)> _passages = [];

        /// <summary>Adds a document's entries: its band buckets, prefix forest and passage fingerprints.</summary>
        public void Add(DocumentSketch sketch, uint[] passages, LshParameters lsh, long handle)
        {
            foreach ((SetKey key, long member) in Entries(sketch, lsh, handle))
            {
                Of(key).Added.Add(member);
            }

            foreach (uint fingerprint in passages)
            {
                AddPassage(fingerprint, handle);
            }
        }

        /// <summary>Adds one passage entry.</summary>
        public void AddPassage(uint fingerprint, long handle) => PassagesOf(fingerprint, handle).Added.Add(PassageEntry.Entry(fingerprint, handle));

        /// <summary>Removes the entries <see cref="Add"/> made for the same document.</summary>
        public void Remove(DocumentSketch sketch, uint[] passages, LshParameters lsh, long handle)
        {
            foreach ((SetKey key, long member) in Entries(sketch, lsh, handle))
            {
                Of(key).Removed.Add(member);
            }

            foreach (uint fingerprint in passages)
            {
                PassagesOf(fingerprint, handle).Removed.Add(PassageEntry.Entry(fingerprint, handle));
            }
        }

        /// <summary>
        /// Queues the changes on <paramref name="commands"/>. A passage string that loses entries (or, re-adding, may hold
        /// some already) is read first: only under the writer's lease, which keeps every other commit out of it until the
        /// commit that rewrites it has run, or (a rebuild) appending only, which no concurrent append can undo.
        /// </summary>
        public async Task WriteToAsync(IDatabase db, RedisCommands commands)
        {
            foreach ((SetKey set, (List<RedisValue> removed, List<RedisValue> added)) in _changes)
            {
                RedisKey key = keys.Group(new GroupEntry(set.Kind == SetKind.Forest, set.Band, set.Group, set.Range, Tag: 0, Member: 0));
                if (removed.Count > 0)
                {
                    commands.SetRemove(key, [.. removed]);
                }

                if (added.Count > 0)
                {
                    commands.SetAdd(key, [.. added]);
                }
            }

            var read = new List<((int Range, uint Group) Place, RedisKey Key)>();
            foreach (((int Range, uint Group) place, (HashSet<ulong> removed, List<ulong> added)) in _passages)
            {
                RedisKey key = keys.PassageGroup(place.Range, place.Group);
                if (removed.Count > 0 || reAdding)
                {
                    read.Add((place, key));
                }
                else
                {
                    commands.StringAppend(key, Encode(added, PassageEntry.Width(place.Range)));
                }
            }

            foreach (((int Range, uint Group) Place, RedisKey Key)[] chunk in read.Chunk(1_000))
            {
                RedisValue[] held = await db.StringGetAsync([.. chunk.Select(c => c.Key)]).ConfigureAwait(false);
                for (int i = 0; i < chunk.Length; i++)
                {
                    Rewrite(commands, chunk[i].Key, chunk[i].Place.Range, (byte[]?)held[i] ?? [], _passages[chunk[i].Place]);
                }
            }
        }

        // A string's new entries: those it held, less the removed ones, then the added ones. Re-adding (no removals), only
        // the entries it lacks are appended.
        private static void Rewrite(RedisCommands commands, RedisKey key, int range, byte[] held, (HashSet<ulong> Removed, List<ulong> Added) change)
        {
            int width = PassageEntry.Width(range);
            var kept = new List<ulong>(held.Length / width);
            for (int i = 0; i < held.Length / width; i++)
            {
                kept.Add(PassageEntry.Read(held, i, width));
            }

            if (change.Removed.Count == 0)
            {
                var present = new HashSet<ulong>(kept);
                if (change.Added.Where(present.Add).ToList() is { Count: > 0 } missing)
                {
                    commands.StringAppend(key, Encode(missing, width));
                }

                return;
            }

            kept.RemoveAll(change.Removed.Contains);
            kept.AddRange(change.Added);
            if (kept.Count == 0)
            {
                commands.KeyDelete(key);
            }
            else
            {
                commands.StringSet(key, Encode(kept, width));
            }
        }

        private static byte[] Encode(List<ulong> entries, int width)
        {
            byte[] bytes = new byte[entries.Count * width];
            for (int i = 0; i < entries.Count; i++)
            {
                PassageEntry.Write(bytes.AsSpan(i * width), entries[i], width);
            }

            return bytes;
        }

        private static IEnumerable<(SetKey Key, long Member)> Entries(DocumentSketch sketch, LshParameters lsh, long handle)
        {
            for (int band = 0; band < lsh.Bands; band++)
            {
                GroupEntry bucket = GroupEntry.Of(forest: false, band, LshIndex.BandKey(sketch.Signature, band, lsh.Rows), handle);
                yield return (new SetKey(SetKind.Buckets, band, bucket.Group, bucket.Range), bucket.Member);
                GroupEntry prefix = GroupEntry.Of(forest: true, band, PrefixForest.PrefixKey(sketch.Signature, band, lsh.Rows), handle);
                yield return (new SetKey(SetKind.Forest, band, prefix.Group, prefix.Range), prefix.Member);
            }
        }

        private (List<RedisValue> Removed, List<RedisValue> Added) Of(SetKey key)
        {
            if (!_changes.TryGetValue(key, out (List<RedisValue> Removed, List<RedisValue> Added) change))
            {
                change = ([], []);
                _changes[key] = change;
            }

            return change;
        }

        private (HashSet<ulong> Removed, List<ulong> Added) PassagesOf(uint fingerprint, long handle)
        {
            int range = PassageEntry.RangeOf(handle);
            (int, uint) place = (range, PassageEntry.GroupOf(fingerprint, range));
            if (!_passages.TryGetValue(place, out (HashSet<ulong> Removed, List<ulong> Added) change))
            {
                change = ([], []);
                _passages[place] = change;
            }

            return change;
        }

        private enum SetKind : byte
        {
            Buckets,
            Forest,
        }

        /// <summary>Which set an entry goes to: the parts of its key (<see cref="RedisKeys.Group"/>).</summary>
        private readonly record struct SetKey(SetKind Kind, int Band, int Group, long Range);
    }

    /// <summary>
    /// A transaction's changes to the collection's <see cref="DocumentFrequencySketch"/>, kept as one string of
    /// big-endian 32-bit counters: summed per counter over the whole batch (a batch of articles touches each
    /// counter many times), then written in one command that saturates as the sketch does. The sums are kept in an array
    /// of every counter (1 MB, pooled): a batch of 1,000 articles adds to 1.8 million of them, and a dictionary of the
    /// touched ones was a fifth of the request threads' time in an ingest.
    /// </summary>
    private sealed class FrequencyChanges : IDisposable
    {
        // Above this many cells, rewriting the whole sketch (2 MB both ways) sends less than a BITFIELD (about 60 bytes a cell).
        private const int MaxIncrements = 32_768;
        private const int Cells = DocumentFrequencySketch.Depth * DocumentFrequencySketch.Width;
        private int[]? _deltas;

        public void Count(ulong[] shingles, int delta)
        {
            if (_deltas is null)
            {
                _deltas = ArrayPool<int>.Shared.Rent(Cells);
                Array.Clear(_deltas, 0, Cells);
            }

            Span<int> cells = stackalloc int[DocumentFrequencySketch.Depth];
            foreach (ulong shingle in shingles)
            {
                DocumentFrequencySketch.Cells(shingle, cells);
                foreach (int cell in cells)
                {
                    _deltas[cell] += delta;
                }
            }
        }

        /// <summary>
        /// Queues the changes on <paramref name="commands"/>: saturating increments (BITFIELD) for a few cells, or, when a
        /// large batch touches many (a BITFIELD of 200,000 cells is a 15 MB command that stalls Redis), the whole sketch read
        /// now and written back, 1 MB each way. Only the writer holding the lease writes it meanwhile.
        /// </summary>
        public async Task WriteToAsync(IDatabase db, RedisCommands commands, RedisKey key)
        {
            if (_deltas is null)
            {
                return;
            }

            int changed = 0;
            for (int cell = 0; cell < Cells; cell++)
            {
                changed += _deltas[cell] != 0 ? 1 : 0;
            }

            if (changed <= MaxIncrements)
            {
                var increments = new List<KeyValuePair<int, int>>(changed);
                for (int cell = 0; cell < Cells; cell++)
                {
                    if (_deltas[cell] != 0)
                    {
                        increments.Add(new(cell, _deltas[cell]));
                    }
                }

                commands.SaturatingIncrements(key, increments);
                return;
            }

            byte[] counters = (byte[]?)await db.StringGetAsync(key).ConfigureAwait(false) ?? [];
            Array.Resize(ref counters, Math.Max(counters.Length, DocumentFrequencySketch.Bytes));
            for (int cell = 0; cell < Cells; cell++)
            {
                Span<byte> counter = counters.AsSpan(cell * sizeof(uint), sizeof(uint));
                BinaryPrimitives.WriteUInt32BigEndian(counter, (uint)Math.Clamp(BinaryPrimitives.ReadUInt32BigEndian(counter) + (long)_deltas[cell], 0, uint.MaxValue));
            }

            commands.StringSet(key, counters);
        }

        public void Dispose()
        {
            if (_deltas is not null)
            {
                ArrayPool<int>.Shared.Return(_deltas);
                _deltas = null;
            }
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
        private readonly RedisKeys _keys;
        private readonly RedisValue _lease;
        private readonly CancellationTokenSource _done = new();
        private readonly Task _renewing;

        public Writer(RedisDocumentStore store, RedisCollection record, RedisKeys keys, RedisValue lease)
        {
            (_store, _record, _keys, _lease) = (store, record, keys, lease);
            _renewing = RenewAsync(_done.Token);
        }

        private IDatabase Db => _store.Db;

        /// <summary>
        /// The commands of a commit, run only while this writer holds the lease and the collection is still the one it opened:
        /// a MULTI/EXEC, or for a commit that only deletes (<paramref name="onlyDeletes"/>) a script that runs at maxmemory too.
        /// </summary>
        private RedisCommands FencedCommands(bool onlyDeletes)
        {
            if (onlyDeletes)
            {
                return new FencedScriptCommands(Db, _keys.WriteLock, _lease, _keys.Config, _record.Serialize());
            }

            ITransaction transaction = Db.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(_keys.WriteLock, _lease));
            transaction.AddCondition(Condition.StringEqual(_keys.Config, _record.Serialize()));
            return new PipelineCommands(transaction, commands => _store.ExecuteAsync(transaction, _keys.Versions, commands.QueuedBytes));
        }

        /// <summary>Throws <see cref="StoreUnavailableException"/> unless this writer still holds the lease (for work no transaction can fence).</summary>
        public async Task EnsureHeldAsync(string work)
        {
            if (await Db.LockQueryAsync(_keys.WriteLock).ConfigureAwait(false) != _lease)
            {
                throw new StoreUnavailableException($"{work} lost its lease; the next call starts it again.");
            }
        }

        public async Task<IReadOnlyDictionary<string, DocumentVersion>> GetVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
        {
            RedisValue[] fields = [.. ids.Select(id => (RedisValue)id)];
            RedisValue[] versions = fields.Length == 0 ? [] : await Db.HashGetAsync(_keys.Versions, fields).ConfigureAwait(false);
            var found = new Dictionary<string, DocumentVersion>(StringComparer.Ordinal);
            for (int i = 0; i < fields.Length; i++)
            {
                // A damaged version counts as none: the document is written again whole.
                if (RedisVersion.Decode(versions[i]) is { } version)
                {
                    found[fields[i]!] = version.ToDocumentVersion();
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

            // What leaves the index with a replaced or deleted version: its handle, and its entries and shingles' counts (from
            // its text, sketched again).
            Task<RedisValue[]> versions = Db.HashGetAsync(_keys.Versions, fields);
            Task<RedisValue[]> documents = Db.HashGetAsync(_keys.Documents, fields);
            Task<RedisValue> sequence = Db.StringGetAsync(_keys.Sequence);
            RedisValue[] oldVersions = await versions.ConfigureAwait(false);
            RedisValue[] oldDocuments = await documents.ConfigureAwait(false);
            long next = (long?)await sequence.ConfigureAwait(false) ?? 0;
            if (next + writes.Count > GroupEntry.MaxHandle)
            {
                throw new StoreFormatException($"Collection '{_record.Name}' has used all {GroupEntry.MaxHandle:N0} sequence numbers; rebuild it under a new name.");
            }

            RedisCommands commands = FencedCommands(onlyDeletes: writes.Count == 0);
            DocumentSketcher sketcher = _store.Sketchers.For(settings.Parameters);
            using var frequencies = new FrequencyChanges();
            var entries = new IndexChanges(_keys);
            long textBytes = 0;
            for (int i = 0; i < fields.Length; i++)
            {
                string id = fields[i]!;
                if (RedisVersion.Decode(oldVersions[i]) is { } old)
                {
                    textBytes -= old.Utf8Length;
                    commands.HashDelete(_keys.HandleChunk(old.Handle), RedisKeys.HandleField(old.Handle));
                    if (_store.Readable(_keys, id, oldDocuments[i]) is { } oldRecord)
                    {
                        (DocumentSketch oldSketch, uint[] oldPassages) = sketcher.SketchWithPassages(oldRecord.Text);
                        entries.Remove(oldSketch, oldPassages, settings.Lsh, old.Handle);
                        frequencies.Count(oldSketch.Shingles, -1);
                    }
                }

                if (i >= writes.Count)
                {
                    commands.HashDelete(_keys.Versions, id);
                    commands.HashDelete(_keys.Documents, id);
                    commands.SortedSetRemove(_keys.Ids, id);
                    continue;
                }

                DocumentWrite w = writes[i];
                next++;
                textBytes += w.Content.Utf8Length;
                commands.HashSet(_keys.Versions, id, new RedisVersion(w.Content.ContentHash, w.Content.Utf8Length, w.CreateTime.ToUnixTimeMilliseconds(), next, w.Passages.Length).Encode());
                commands.HashSet(_keys.Documents, id, RedisDocumentRecord.From(w).Encode());
                commands.HashSet(_keys.HandleChunk(next), RedisKeys.HandleField(next), id);
                commands.SortedSetAdd(_keys.Ids, id);
                entries.Add(w.Sketch, w.Passages, settings.Lsh, next);
                frequencies.Count(w.Sketch.Shingles, +1);
            }

            await entries.WriteToAsync(Db, commands).ConfigureAwait(false);
            commands.StringSet(_keys.Sequence, next);
            commands.StringIncrement(_keys.TextBytes, textBytes);
            await frequencies.WriteToAsync(Db, commands, _keys.Frequencies).ConfigureAwait(false);
            if (await commands.ExecuteAsync().ConfigureAwait(false))
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
                await Db.ScriptEvaluateAsync(ReleaseLeaseScript, [_keys.WriteLock], [_lease]).ConfigureAwait(false);
            }
            catch (Exception e) when (RedisFaultTranslation.Translate(e) is not null)
            {
                // The lease runs out by itself (a cluster that lost a node answers CLUSTERDOWN here, not a lost connection).
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
                    && (long)await Db.ScriptEvaluateAsync(ExtendLeaseScript, [_keys.WriteLock], [_lease, (long)LeaseTime.TotalMilliseconds]).ConfigureAwait(false) == 1)
                {
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
            }
            catch (Exception e) when (RedisFaultTranslation.Translate(e) is not null)
            {
            }
        }
    }
}
