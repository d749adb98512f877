using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Phrases;
using Compare.Core.Shingling;
using Compare.Server.Hosting;

namespace Compare.Server.Storage.Local;

/// <summary>
/// One process's store: documents, sketches and signatures in <see cref="IDocumentRecords"/> (memory, or SQLite on
/// disk), and in memory only what a query must have there: each collection's band buckets (<see cref="BandIndex"/>).
/// Candidates' sketches are read from the records. A batch is committed to the records before the call returns; the
/// buckets follow the records and are rebuilt from the stored signatures on start. A collection's shingle document
/// frequencies (for boilerplate) are counted the first time they are asked for, then kept up to date.
/// </summary>
public sealed class LocalDocumentStore : IDocumentStore, IStartableStore, IDisposable
{
    private readonly IDocumentRecords _records;
    private readonly TimeProvider _time;
    private readonly ILogger<LocalDocumentStore> _logger;
    private readonly ConcurrentDictionary<string, LocalCollection> _collections = new(StringComparer.Ordinal);
    // Signatures handed from the reading thread to the bucketing thread at a time.
    private readonly Lock _namesGate = new();
    private volatile StoreStatus _status = new(false, "The store has not been opened.");
    private readonly CancellationTokenSource _stopping = new();
    private CancellationTokenSource? _loadingCancellation;
    private Task _loading = Task.CompletedTask;

    /// <summary>Creates a store over <paramref name="records"/>; <see cref="StartAsync"/> opens it.</summary>
    public LocalDocumentStore(IDocumentRecords records, TimeProvider time, ILogger<LocalDocumentStore> logger)
    {
        _records = records;
        _time = time;
        _logger = logger;
    }

    /// <summary>Completes when the index has been rebuilt (or failed to be).</summary>
    public Task Loading => _loading;

    /// <summary>
    /// Opens the records (a wrong format throws here, so the host does not start) and rebuilds
    /// every index in the background; calls fail with UNAVAILABLE until it is done.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _records.Open();
        IReadOnlyList<CollectionRecord> stored = _records.ListCollections();
        if (!stored.Any(c => c.Name == CollectionNames.Default))
        {
            stored = [.. stored, _records.CreateCollection(CollectionNames.Default, CollectionSettings.Default, _time.GetUtcNow())];
        }

        var collections = stored.Select(c => new LocalCollection(c)).ToList();
        foreach (LocalCollection c in collections)
        {
            _collections[c.Record.Name] = c;
        }

        _status = new StoreStatus(false, "The store is loading its index.");
        _loadingCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        CancellationToken loading = _loadingCancellation.Token;
        _loading = Task.Run(() => Load(collections, loading), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_records.Failure is { } failure ? new StoreStatus(false, failure) : _status);

    /// <inheritdoc/>
    public Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken)
    {
        EnsureReady();
        lock (_namesGate)
        {
            if (_collections.ContainsKey(name))
            {
                throw new CollectionExistsException(name);
            }

            var created = new LocalCollection(_records.CreateCollection(name, settings, _time.GetUtcNow()));
            _collections[name] = created;
            return Task.FromResult(created.Info());
        }
    }

    /// <inheritdoc/>
    public Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken)
    {
        EnsureReady();
        return Task.FromResult(_collections.TryGetValue(name, out LocalCollection? c) ? c.Info() : null);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken)
    {
        EnsureReady();
        return Task.FromResult<IReadOnlyList<CollectionInfo>>([.. _collections.Values.Select(c => c.Info()).OrderBy(c => c.Name, StringComparer.Ordinal)]);
    }

    /// <inheritdoc/>
    public async Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken)
    {
        EnsureReady();
        if (!_collections.TryGetValue(name, out LocalCollection? c))
        {
            return null;
        }

        // After the writer in progress: its batch is committed or not at all before the collection goes.
        await c.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_namesGate)
            {
                if (c.Deleted)
                {
                    return null;
                }

                _records.DeleteCollection(c.Record.Key);
                c.Deleted = true;
                _collections.TryRemove(name, out _);
                // Not disposed: calls that already hold it may still be reading; the collector reclaims it.
                return c.Bands.Count;
            }
        }
        finally
        {
            c.WriteGate.Release();
        }
    }

    /// <inheritdoc/>
    public Task EnsureDurableAsync(CancellationToken cancellationToken) => _records.EnsureDurableAsync();

    /// <inheritdoc/>
    public async Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection, settings);
        await c.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (c.Deleted)
        {
            c.WriteGate.Release();
            throw new CollectionChangedException(collection);
        }

        return new Writer(this, c);
    }

    /// <inheritdoc/>
    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken) =>
        Task.FromResult(_records.GetDocument(Find(collection).Record.Key, id, includeText));

    /// <inheritdoc/>
    public Task<ulong?> GetContentHashAsync(string collection, string id, CancellationToken cancellationToken) =>
        Task.FromResult(_records.GetDocument(Find(collection).Record.Key, id, includeText: false)?.ContentHash);

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredDocument>> GetDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Task.FromResult(_records.GetDocuments(Find(collection).Record.Key, ids));

    /// <inheritdoc/>
    public Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection);
        (IReadOnlyList<StoredDocument> documents, bool hasMore) = _records.ListDocuments(c.Record.Key, afterId, limit, includeText);
        return Task.FromResult(new DocumentPage(documents, hasMore, c.Bands.Count));
    }

    /// <inheritdoc/>
    public Task<(StoredDocument Document, DocumentSketch Sketch)?> GetDocumentAndSketchAsync(string collection, CollectionSettings settings, string id,
        CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection, settings);
        if (_records.GetDocument(c.Record.Key, id, includeText: true) is not { } document)
        {
            return Task.FromResult<(StoredDocument, DocumentSketch)?>(null);
        }

        return _records.GetSketches(c.Record.Key, settings.Parameters, [id]).TryGetValue(id, out DocumentSketch? sketch)
            ? Task.FromResult<(StoredDocument, DocumentSketch)?>((document, sketch))
            : throw new DocumentDamagedException(id, "its sketch cannot be read");
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, int depth,
        CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection, settings);
        List<string> ids = Probed(c, depth, cancellationToken).Candidates(signature, depth);
        Dictionary<string, DocumentSketch> sketches = _records.GetSketches(c.Record.Key, settings.Parameters, ids);
        // A candidate deleted between the two reads is simply gone.
        return Task.FromResult<IReadOnlyList<IndexedSketch>>([.. ids.Where(sketches.ContainsKey).Select(id => new IndexedSketch(id, sketches[id]))]);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, DocumentSketch>> GetSketchesAsync(string collection, CollectionSettings settings, IReadOnlyCollection<string> ids,
        CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection, settings);
        return Task.FromResult<IReadOnlyDictionary<string, DocumentSketch>>(_records.GetSketches(c.Record.Key, settings.Parameters, ids));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection, settings);
        var all = new List<IndexedSketch>();
        _records.LoadSketches(c.Record.Key, settings.Parameters, (id, sketch, _) => all.Add(new IndexedSketch(id, sketch)), cancellationToken);
        return Task.FromResult<IReadOnlyList<IndexedSketch>>(all);
    }

    /// <inheritdoc/>
    public Task<IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, int depth, CancellationToken cancellationToken)
    {
        (string[] ids, ulong[] pairs) = Probed(Find(collection, settings), depth, cancellationToken).CandidatePairs(depth);
        return Task.FromResult(new IndexCandidatePairs(ids, pairs));
    }

    /// <summary>
    /// The collection's band index, with its prefix forest when <paramref name="depth"/> needs it. The forest is built the
    /// first time a probe needs it, from the stored signatures (a second pass over what a start read; about 2 s at a
    /// million documents, while the collection's queries and writes wait), so that starts and collections only ever asked
    /// at their threshold do not pay for it. Not under the collection's write lock: a writer's own near-duplicate check
    /// may be what needs it.
    /// </summary>
    private BandIndex Probed(LocalCollection c, int depth, CancellationToken cancellationToken)
    {
        BandIndex bands = c.Bands;
        if (depth < c.Record.Settings.Lsh.Rows && !bands.HasPrefixForest)
        {
            bands.BuildPrefixForest(visit => _records.LoadSignatures(c.Record.Key, c.Record.Settings.Parameters,
                (id, signature, _, _) => visit(id, signature), cancellationToken));
        }

        return bands;
    }

    /// <inheritdoc/>
    public async Task<PassageCandidates> GetPassageCandidatesAsync(string collection, CollectionSettings settings, uint[] fingerprints, int maxDocumentsPerFingerprint,
        bool withOwnCounts, int ranked, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection, settings);
        PassageIndex passages = c.Passages ?? await LoadPassagesAsync(c, cancellationToken).ConfigureAwait(false);
        return passages.Query(fingerprints, maxDocumentsPerFingerprint);
    }

    /// <summary>
    /// The collection's passage index, loaded from the records the first time a query needs it (under the write lock, so no
    /// commit slips between the read and the first update), then kept up to date by every commit: a start, and collections
    /// never asked for passages, do not pay for it (about 8 bytes a fingerprint, 1.6 KB for a 500-word article).
    /// </summary>
    private async Task<PassageIndex> LoadPassagesAsync(LocalCollection c, CancellationToken cancellationToken)
    {
        await c.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDeleted(c);
            if (c.Passages is null)
            {
                var passages = new PassageIndex();
                passages.Load(visit => _records.LoadPassages(c.Record.Key, c.Record.Settings.Parameters, visit, cancellationToken));
                c.Passages = passages;
            }

            return c.Passages;
        }
        finally
        {
            c.WriteGate.Release();
        }
    }

    /// <inheritdoc/>
    public async Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection);
        if (c.Frequencies is null)
        {
            // Counted once, under the write lock so that no commit slips between the count and the first update.
            await c.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (c.Frequencies is null)
                {
                    var frequencies = new DocumentFrequencySketch();
                    _records.LoadSketches(c.Record.Key, c.Record.Settings.Parameters, (_, sketch, _) => frequencies.Add(sketch.Shingles), cancellationToken);
                    c.Frequencies = frequencies;
                }
            }
            finally
            {
                c.WriteGate.Release();
            }
        }

        return (c.Frequencies, c.Bands.Count);
    }

    /// <inheritdoc/>
    public async Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection);
        await c.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDeleted(c);
            (BandIndex bands, long textBytes) = ReadBands(c, checked((int)_records.CountDocuments(c.Record.Key)), static _ => { }, cancellationToken);
            // Calls already holding the old buckets finish on them; they are left to the collector. The frequencies are counted again when asked for.
            c.Bands = bands;
            c.Frequencies = null;
            c.Passages = null;
            Interlocked.Exchange(ref c.TextBytes, textBytes);
            return bands.Count;
        }
        finally
        {
            c.WriteGate.Release();
        }
    }

    /// <inheritdoc/>
    public Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken)
    {
        LocalCollection c = Find(collection);
        // The records keep a result only while its collection exists.
        _records.SaveDeduplicateResult(c.Record.Key, result);
        ThrowIfDeleted(c);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken) =>
        Task.FromResult(_records.LoadDeduplicateResult(Find(collection).Record.Key));

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A load still running is stopped; wait for it to let go of the records.
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loading.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        _records.Flush();
    }

    /// <summary>Releases the indexes and the records.</summary>
    public void Dispose()
    {
        foreach (LocalCollection c in _collections.Values)
        {
            c.Bands.Dispose();
            c.Passages?.Dispose();
        }

        _records.Dispose();
        _loadingCancellation?.Dispose();
        _stopping.Dispose();
    }

    private void Load(List<LocalCollection> collections, CancellationToken cancellationToken)
    {
        try
        {
            var clock = Stopwatch.StartNew();
            // Counted once: the total for the log, and each collection's count to size its buckets.
            Dictionary<long, int> counts = collections.ToDictionary(c => c.Record.Key, c => checked((int)_records.CountDocuments(c.Record.Key)));
            long total = counts.Values.Sum(n => (long)n);
            Log.LoadStarted(_logger, _records.Description, collections.Count, total);
            long loaded = 0;
            TimeSpan nextReport = TimeSpan.FromSeconds(2);
            foreach (LocalCollection c in collections)
            {
                (c.Bands, long textBytes) = ReadBands(c, counts[c.Record.Key], added =>
                {
                    _status = new StoreStatus(false, $"The store is loading its index: {loaded + added:N0} of {total:N0} documents.");
                    if (clock.Elapsed >= nextReport)
                    {
                        Log.LoadProgress(_logger, loaded + added, total, clock.ElapsedMilliseconds);
                        nextReport = clock.Elapsed + TimeSpan.FromSeconds(2);
                    }
                }, cancellationToken);
                c.TextBytes = textBytes;
                loaded += c.Bands.Count;
            }

            // The load leaves its band keys (144 bytes a document) behind it: collect them once, compacting and giving
            // the memory back, so a loaded server holds what it keeps (under 1 KB a document), not what it read.
            if (loaded > 0)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }

            _status = new StoreStatus(true, $"Serving from {_records.Description}.");
            Log.LoadFinished(_logger, loaded, collections.Count, clock.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _status = new StoreStatus(false, "The store stopped while loading.");
        }
        catch (Exception e)
        {
            _status = new StoreStatus(false, $"The store failed to load: {e.Message}");
            Log.LoadFailed(_logger, e);
        }
    }

    /// <summary>
    /// Reads a collection's stored signatures into a new band index, with the size of its texts. Reading rows (SQLite)
    /// and computing their band keys take about the same time, so they run on two threads, a chunk of rows at a time;
    /// the buckets are then built on every core (see <see cref="BandIndexLoader"/>).
    /// </summary>
    private (BandIndex Bands, long TextBytes) ReadBands(LocalCollection c, int expected, Action<int> onProgress, CancellationToken cancellationToken)
    {
        var loader = new BandIndexLoader(c.Record.Settings.Lsh, expected);
        int length = c.Record.Settings.Parameters.NumPermutations;
        using var full = new BlockingCollection<SignatureChunk>(boundedCapacity: 4);
        var spare = new ConcurrentBag<SignatureChunk>();
        // Stops the reader too when hashing fails, so it never waits on a full queue that nobody empties.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task hashing = Task.Run(() =>
        {
            try
            {
                foreach (SignatureChunk chunk in full.GetConsumingEnumerable(failed.Token))
                {
                    chunk.MoveTo(loader);
                    onProgress(loader.Count);
                    spare.Add(chunk);
                }
            }
            catch
            {
                failed.Cancel();
                throw;
            }
        }, CancellationToken.None);

        long textBytes = 0;
        try
        {
            SignatureChunk current = new(length);
            _records.LoadSignatures(c.Record.Key, c.Record.Settings.Parameters, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (id, signature, utf8Length, writtenAt) =>
            {
                textBytes += utf8Length;
                if (current.Add(id, signature, writtenAt))
                {
                    full.Add(current, failed.Token);
                    current = spare.TryTake(out SignatureChunk? reused) ? reused : new SignatureChunk(length);
                }
            }, failed.Token);
            full.Add(current, failed.Token);
        }
        catch (OperationCanceledException) when (failed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The hashing thread failed and stopped the reader: its exception, thrown below, is the reason.
        }
        finally
        {
            full.CompleteAdding();
            hashing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Wait(CancellationToken.None);
        }

        hashing.GetAwaiter().GetResult();
        return (loader.Build(), textBytes);
    }

    private void EnsureReady()
    {
        StoreStatus status = _status;
        if (!status.Ready)
        {
            throw new StoreUnavailableException(status.Description);
        }
    }

    private LocalCollection Find(string name, CollectionSettings? expected = null)
    {
        EnsureReady();
        if (!_collections.TryGetValue(name, out LocalCollection? c))
        {
            throw new CollectionNotFoundException(name);
        }

        return expected is null || expected == c.Record.Settings ? c : throw new CollectionChangedException(name);
    }

    private static void ThrowIfDeleted(LocalCollection c)
    {
        if (c.Deleted)
        {
            throw new CollectionChangedException(c.Record.Name);
        }
    }

    /// <summary>A collection's record, index, text size and write lock.</summary>
    /// <summary>Rows read and not yet hashed: their ids, places in the order of writes and signatures, end to end.</summary>
    private sealed class SignatureChunk(int signatureLength)
    {
        private const int Capacity = 4096;
        private readonly uint[] _signatures = new uint[Capacity * signatureLength];

        private readonly string[] _ids = new string[Capacity];
        private readonly long[] _writtenAt = new long[Capacity];
        private int _count;

        // Copies a row in; true when the chunk is full. Optimised from the first call, as the load is over before tiering would.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Add(string id, ReadOnlySpan<uint> signature, long writtenAt)
        {
            signature.CopyTo(_signatures.AsSpan(_count * signatureLength, signatureLength));
            _ids[_count] = id;
            _writtenAt[_count] = writtenAt;
            return ++_count == Capacity;
        }

        // Hands every row to the loader and empties the chunk.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void MoveTo(BandIndexLoader loader)
        {
            for (int i = 0; i < _count; i++)
            {
                loader.Add(_ids[i], _signatures.AsSpan(i * signatureLength, signatureLength), _writtenAt[i]);
            }

            _count = 0;
        }
    }

    private sealed class LocalCollection(CollectionRecord record)
    {
        public long TextBytes;

        public CollectionRecord Record { get; } = record;

        public BandIndex Bands { get; set; } = new(record.Settings.Lsh);

        /// <summary>Null until first asked for; kept up to date by every commit after that.</summary>
        public DocumentFrequencySketch? Frequencies { get; set; }

        /// <summary>Null until a passage query first needs it; kept up to date by every commit after that.</summary>
        public PassageIndex? Passages { get; set; }

        public SemaphoreSlim WriteGate { get; } = new(1, 1);

        public bool Deleted { get; set; }

        public CollectionInfo Info() => new(Record.Name, Record.Settings, Record.CreateTime, Bands.Count, Interlocked.Read(ref TextBytes));
    }

    /// <summary>Holds the collection's write lock; a commit goes to the records first, then to the index.</summary>
    private sealed class Writer(LocalDocumentStore store, LocalCollection collection) : IDocumentWriter
    {
        // New documents in a commit from which their buckets are filled beside the records' commit: fewer are quicker alone.
        private const int BucketsBesideTheCommit = 64;

        private int _disposed;

        // The stored version of every id this writer has looked up (null: none). Under the write lock nothing else
        // changes them, so a commit knows which of its ids replace a stored version without asking again.
        private readonly Dictionary<string, DocumentVersion?> _known = new(StringComparer.Ordinal);

        public Task<IReadOnlyDictionary<string, DocumentVersion>> GetVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
        {
            ThrowIfDeleted(collection);
            LookUp(ids);
            return Task.FromResult<IReadOnlyDictionary<string, DocumentVersion>>(
                ids.Where(id => _known[id] is not null).Distinct(StringComparer.Ordinal).ToDictionary(id => id, id => _known[id]!, StringComparer.Ordinal));
        }

        public async Task CommitAsync(IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes, CancellationToken cancellationToken)
        {
            ThrowIfDeleted(collection);
            long key = collection.Record.Key;
            string[] ids = [.. writes.Select(w => w.Id).Concat(deletes)];
            LookUp(ids);
            // The versions these writes replace: their buckets go, by the signature they were indexed with, and their shingle
            // counts when those are kept (a damaged sketch's stay: the counts may overcount, never undercount).
            string[] replaced = [.. ids.Where(id => _known[id] is not null).Distinct(StringComparer.Ordinal)];
            SketchParameters parameters = collection.Record.Settings.Parameters;
            Dictionary<string, uint[]> indexed = store._records.GetIndexedSignatures(key, parameters, replaced);
            Dictionary<string, DocumentSketch> old = collection.Frequencies is null ? [] : store._records.GetSketches(key, parameters, replaced);
            // Write i takes place firstWrite + i in the order of writes, as adding the writes one by one would give it.
            long firstWrite = collection.Bands.NextWrite;
            bool[] bucketed = await CommitRecordsBesideNewBucketsAsync(writes, deletes, firstWrite).ConfigureAwait(false);

            long textBytes = 0;
            foreach (string id in replaced)
            {
                if (indexed.TryGetValue(id, out uint[]? signature))
                {
                    collection.Bands.Remove(id, signature);
                }

                if (old.TryGetValue(id, out DocumentSketch? sketch))
                {
                    collection.Frequencies?.Remove(sketch.Shingles);
                }

                collection.Passages?.Remove(id);

                textBytes -= _known[id]!.Utf8Length;
                _known[id] = null;
            }

            for (int i = 0; i < writes.Count; i++)
            {
                DocumentWrite w = writes[i];
                if (!bucketed[i])
                {
                    collection.Bands.Add(w.Id, w.Sketch.Signature, firstWrite + i);
                }

                collection.Frequencies?.Add(w.Sketch.Shingles);
                collection.Passages?.Add(w.Id, w.Passages);
                textBytes += w.Content.Utf8Length;
                _known[w.Id] = new DocumentVersion(w.Content.ContentHash, w.Content.Utf8Length, w.CreateTime);
            }

            Interlocked.Add(ref collection.TextBytes, textBytes);
        }

        /// <summary>
        /// Commits the records while another core puts the new documents (no version stored) of a large batch into their
        /// band buckets: the buckets are a random walk over tables larger than the caches, 5-6 ms a batch of 1,000, and a
        /// commit is an ingest's serial step. Until the records are committed a query may find such a document in a
        /// bucket, and finds no record of it, as it would a document deleted meanwhile; when the commit fails they leave
        /// the buckets again. Returns which writes are in their buckets.
        /// </summary>
        private async Task<bool[]> CommitRecordsBesideNewBucketsAsync(IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes, long firstWrite)
        {
            bool[] bucketed = new bool[writes.Count];
            int[] added = [.. Enumerable.Range(0, writes.Count).Where(i => _known[writes[i].Id] is null)];
            if (added.Length < BucketsBesideTheCommit)
            {
                store._records.Commit(collection.Record, writes, deletes);
                return bucketed;
            }

            Task bucketing = Task.Run(() =>
            {
                foreach (int i in added)
                {
                    collection.Bands.Add(writes[i].Id, writes[i].Sketch.Signature, firstWrite + i);
                    bucketed[i] = true;
                }
            });
            try
            {
                store._records.Commit(collection.Record, writes, deletes);
            }
            catch
            {
                // The commit's error is the one to report, whatever became of the buckets.
                await Task.WhenAny(bucketing).ConfigureAwait(false);
                foreach (int i in added.Where(i => bucketed[i]))
                {
                    collection.Bands.Remove(writes[i].Id, writes[i].Sketch.Signature);
                }

                throw;
            }

            await bucketing.ConfigureAwait(false);
            return bucketed;
        }

        private void LookUp(IEnumerable<string> ids)
        {
            string[] unknown = [.. ids.Where(id => !_known.ContainsKey(id)).Distinct(StringComparer.Ordinal)];
            Dictionary<string, DocumentVersion> found = store._records.Find(collection.Record.Key, unknown);
            foreach (string id in unknown)
            {
                _known[id] = found.GetValueOrDefault(id);
            }
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                collection.WriteGate.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
