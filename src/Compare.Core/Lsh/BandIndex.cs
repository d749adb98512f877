using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Clustering;

namespace Compare.Core.Lsh;

/// <summary>
/// What a query must have in memory, and nothing more: each document's id, its place in the order of
/// writes, and its band buckets. Signatures and shingle sets stay with the caller's storage, read for
/// candidates only; so a removal is told the signature the document was added with. About 0.5 KB
/// per document with the default banding (18 bands), and 216 bytes more once a query below the banding's threshold
/// has built the prefix forest. Thread-safe: queries run concurrently, writes are exclusive.
/// </summary>
public sealed class BandIndex : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _slotById = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeSlots = new();
    private readonly LshIndex _lsh;
    // Built when first asked for (a query below the banding's threshold), then kept up to date by every write.
    private PrefixForest? _forest;
    private string?[] _ids;
    private long[] _writtenAt;
    private int _slotCount;
    private long _writes;

    [ThreadStatic]
    private static bool[]? t_seen;

    /// <summary>An empty index with the given banding, sized for <paramref name="expectedDocuments"/> (it grows past that as needed).</summary>
    public BandIndex(LshParameters parameters, int expectedDocuments = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedDocuments);
        _lsh = new LshIndex(parameters, expectedDocuments);
        int slots = Math.Max(64, expectedDocuments);
        _ids = new string?[slots];
        _writtenAt = new long[slots];
        _slotById.EnsureCapacity(expectedDocuments);
    }

    // What BandIndexLoader read: document i in slot i, its buckets built in bulk.
    internal BandIndex(LshParameters parameters, string[] ids, long[] writtenAt, int count, ulong[] bandKeys, int bandStride)
    {
        Debug.Assert(ids.Length >= count && writtenAt.Length >= count);
        Task<LshIndex> buckets = Task.Run(() => new LshIndex(parameters, bandKeys, bandStride, count));
        _slotById.EnsureCapacity(count);
        for (int slot = 0; slot < count; slot++)
        {
            if (!_slotById.TryAdd(ids[slot], slot))
            {
                throw new InvalidOperationException($"'{ids[slot]}' was loaded twice.");
            }

            _writes = Math.Max(_writes, writtenAt[slot] + 1);
        }

        _ids = ids;
        _writtenAt = writtenAt;
        _slotCount = count;
        _lsh = buckets.GetAwaiter().GetResult();
    }

    /// <summary>The banding in use.</summary>
    public LshParameters Parameters => _lsh.Parameters;

    /// <summary>How many documents are indexed.</summary>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _slotById.Count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>The place in the order of writes that the next <see cref="Add"/> without one takes.</summary>
    public long NextWrite
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _writes;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>
    /// Adds <paramref name="id"/> (not yet indexed) to the buckets of <paramref name="signature"/>: as the latest write,
    /// or at <paramref name="writtenAt"/>, its place in the order of writes as storage recorded it (loading, in any order).
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(string id, ReadOnlySpan<uint> signature, long? writtenAt = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        _lock.EnterWriteLock();
        try
        {
            if (_slotById.ContainsKey(id))
            {
                throw new InvalidOperationException($"'{id}' is indexed already; remove it first.");
            }

            int slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : NewSlot();
            _lsh.Insert(slot, signature);
            _forest?.Insert(slot, signature);
            _ids[slot] = id;
            long at = writtenAt ?? _writes;
            _writtenAt[slot] = at;
            _writes = Math.Max(_writes, at + 1);
            _slotById[id] = slot;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes <paramref name="id"/>, added with <paramref name="signature"/>; false when it was not indexed.</summary>
    public bool Remove(string id, ReadOnlySpan<uint> signature)
    {
        ArgumentNullException.ThrowIfNull(id);
        _lock.EnterWriteLock();
        try
        {
            if (!_slotById.Remove(id, out int slot))
            {
                return false;
            }

            _lsh.Remove(slot, signature);
            _forest?.Remove(slot, signature);
            _ids[slot] = null;
            _freeSlots.Push(slot);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Whether <see cref="BuildPrefixForest"/> has run: probes shallower than the bands' rows need it.</summary>
    public bool HasPrefixForest => Volatile.Read(ref _forest) is not null;

    /// <summary>
    /// Builds the prefix forest over every indexed document, unless it is built already: <paramref name="readSignatures"/>
    /// calls its argument with each document's id and the signature it was added with (ids not indexed are ignored). Writes
    /// and queries wait meanwhile, so a document added or removed during the read is added to or removed from the forest
    /// exactly once, after it.
    /// </summary>
    public void BuildPrefixForest(Action<SignatureVisitor> readSignatures)
    {
        ArgumentNullException.ThrowIfNull(readSignatures);
        LshParameters parameters = _lsh.Parameters;
        _lock.EnterWriteLock();
        try
        {
            if (_forest is not null)
            {
                return;
            }

            var handles = new List<int>(_slotById.Count);
            var keysByDocument = new List<ulong>(_slotById.Count * parameters.Bands);
            readSignatures((id, signature) =>
            {
                if (_slotById.TryGetValue(id, out int slot))
                {
                    handles.Add(slot);
                    for (int band = 0; band < parameters.Bands; band++)
                    {
                        keysByDocument.Add(PrefixForest.PrefixKey(signature, band, parameters.Rows));
                    }
                }
            });

            // Band by band for the build: the key of handles[i] in band b at b × n + i.
            int n = handles.Count;
            var keys = new ulong[n * parameters.Bands];
            for (int i = 0; i < n; i++)
            {
                for (int band = 0; band < parameters.Bands; band++)
                {
                    keys[(band * n) + i] = keysByDocument[(i * parameters.Bands) + band];
                }
            }

            _forest = PrefixForest.Build(parameters, [.. handles], keys);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>The documents that share at least one band bucket with <paramref name="signature"/>, each once.</summary>
    public List<string> Candidates(ReadOnlySpan<uint> signature) => Candidates(signature, _lsh.Parameters.Rows);

    /// <summary>
    /// The documents that agree with <paramref name="signature"/> on the first <paramref name="depth"/> values of at least
    /// one band (<see cref="LshParameters.ProbeDepth"/>), each once: the band buckets at the bands' rows, else the prefix
    /// forest, which must have been built.
    /// </summary>
    public List<string> Candidates(ReadOnlySpan<uint> signature, int depth)
    {
        var slots = new List<int>();
        var found = new List<string>();
        _lock.EnterReadLock();
        try
        {
            bool[] seen = t_seen is { } s && s.Length >= _slotCount ? s : new bool[Math.Max(64, _ids.Length)];
            t_seen = null;
            if (depth >= _lsh.Parameters.Rows)
            {
                _lsh.Query(signature, seen, slots);
            }
            else
            {
                RequiredForest().Query(signature, depth, seen, slots);
            }

            t_seen = seen;
            foreach (int slot in slots)
            {
                found.Add(_ids[slot]!);
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        return found;
    }

    /// <summary>
    /// Every document in the order of writes (an update is a new write), and the candidate pairs of the
    /// shared buckets over those positions (packed by <see cref="Clusterer.Pack"/>, distinct, ascending).
    /// </summary>
    public (string[] Ids, ulong[] Pairs) CandidatePairs() => CandidatePairs(_lsh.Parameters.Rows);

    /// <summary>
    /// Every document in the order of writes, and the pairs that agree on the first <paramref name="depth"/> values of a
    /// band (the shared buckets at the bands' rows), over those positions, as <see cref="CandidatePairs()"/> gives them.
    /// </summary>
    public (string[] Ids, ulong[] Pairs) CandidatePairs(int depth)
    {
        _lock.EnterReadLock();
        try
        {
            (string[] ids, int[] positionOfSlot) = InWriteOrder();
            var pairs = new List<ulong>();
            var positions = new List<int>();
            Action<List<int>> onGroup = group =>
            {
                positions.Clear();
                foreach (int slot in group)
                {
                    positions.Add(positionOfSlot[slot]);
                }

                Clusterer.AddBucketPairs(positions, pairs);
            };
            if (depth >= _lsh.Parameters.Rows)
            {
                _lsh.ForEachSharedBucket(onGroup);
            }
            else
            {
                RequiredForest().ForEachSharedPrefix(depth, onGroup);
            }

            return (ids, Clusterer.SortDistinct(pairs));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Every document's id, in the order of writes (an update is a new write).</summary>
    public string[] IdsInWriteOrder()
    {
        _lock.EnterReadLock();
        try
        {
            return InWriteOrder().Ids;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    // Under the read lock: the live ids by their place in the order of writes, and each slot's position there.
    private (string[] Ids, int[] PositionOfSlot) InWriteOrder()
    {
        int[] live = [.. Enumerable.Range(0, _slotCount).Where(slot => _ids[slot] is not null)];
        Array.Sort([.. live.Select(slot => _writtenAt[slot])], live);
        var positionOfSlot = new int[_slotCount];
        var ids = new string[live.Length];
        for (int position = 0; position < live.Length; position++)
        {
            positionOfSlot[live[position]] = position;
            ids[position] = _ids[live[position]]!;
        }

        Debug.Assert(ids.Length == _slotById.Count);
        return (ids, positionOfSlot);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();

    private PrefixForest RequiredForest() =>
        _forest ?? throw new InvalidOperationException("Probes shallower than the bands' rows need the prefix forest: call BuildPrefixForest first.");

    private int NewSlot()
    {
        if (_slotCount == _ids.Length)
        {
            Array.Resize(ref _ids, _slotCount * 2);
            Array.Resize(ref _writtenAt, _slotCount * 2);
        }

        return _slotCount++;
    }
}

/// <summary>One document as <see cref="BandIndex.BuildPrefixForest"/> reads it; <paramref name="signature"/> is valid during the call only.</summary>
public delegate void SignatureVisitor(string id, ReadOnlySpan<uint> signature);
