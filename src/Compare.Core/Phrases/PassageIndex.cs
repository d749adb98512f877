using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Compare.Core.Hashing;

namespace Compare.Core.Phrases;

/// <summary>How one document met a passage query: the fingerprints it shares with the query, and how many it has.</summary>
/// <param name="Id">The document.</param>
/// <param name="SharedFingerprints">Fingerprints of the query it holds, the common ones left out.</param>
/// <param name="Fingerprints">Its own fingerprints, or 0 when the store does not know (written by an older server).</param>
public readonly record struct PassageCandidate(string Id, int SharedFingerprints, int Fingerprints);

/// <summary>The documents sharing fingerprints with a query, and what was left out.</summary>
/// <param name="Candidates">
/// The documents sharing at least one of the query's fingerprints that are not common, most shared first, then by id: every
/// one, or at least the first as many as were asked for.
/// </param>
/// <param name="CommonFingerprints">The query's fingerprints held by more than the asked number of documents, and so not followed (boilerplate).</param>
/// <param name="Found">
/// How many documents share such a fingerprint, <see cref="Candidates"/> or not. Where only the first were named, those
/// left unnamed are counted as the index holds them: a document rewritten over a damaged version may count twice there.
/// </param>
public sealed record PassageCandidates(IReadOnlyList<PassageCandidate> Candidates, int CommonFingerprints, int Found)
{
    /// <summary>Ranks documents by the fingerprints they share, then by id (ordinal), as every store must.</summary>
    public static PassageCandidates Ranked(IEnumerable<PassageCandidate> candidates, int commonFingerprints)
    {
        PassageCandidate[] ranked = [.. candidates];
        Array.Sort(ranked, static (x, y) => x.SharedFingerprints != y.SharedFingerprints
            ? y.SharedFingerprints.CompareTo(x.SharedFingerprints)
            : string.CompareOrdinal(x.Id, y.Id)); // a total order (ids differ): the sort's instability shows nowhere
        return new(ranked, commonFingerprints, ranked.Length);
    }
}

/// <summary>
/// An inverted index from <see cref="PassageFingerprints"/> to documents, in memory: 8 bytes a fingerprint in a sorted run
/// of (fingerprint, handle), and later writes in a delta by fingerprint, merged into the run when it grows past an eighth
/// of it. A removed document's handle is dead at once and its entries are dropped at the next merge; a handle is never
/// reused (a rewrite takes a new one: 8 bytes a write until the index is loaded again).
/// Thread-safe: queries run concurrently, writes are exclusive.
/// </summary>
public sealed class PassageIndex : IDisposable
{
    private const int MinDeltaToMerge = 65_536;
    private const int MinDirectoryBits = 8, MaxDirectoryBits = 28;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _handleById = new(StringComparer.Ordinal);
    private readonly List<string?> _idOfHandle = [];
    private readonly List<int> _fingerprintsOfHandle = [];
    private ulong[] _run = []; // fingerprint << 32 | handle, ascending
    private int[] _directory = Directory([]); // where each value of the fingerprints' top bits starts in the run, and one past the last
    private readonly Dictionary<uint, List<int>> _delta = [];
    private int _deltaEntries;

    /// <summary>How many documents are indexed.</summary>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _handleById.Count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>
    /// Replaces the index's contents with the documents <paramref name="read"/> gives (each id once), sorted in one pass:
    /// what a start or a first query loads from storage.
    /// </summary>
    public void Load(Action<PassageVisitor> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var ids = new List<string?>();
        var counts = new List<int>();
        var entries = new List<ulong>();
        read((id, fingerprints) =>
        {
            int handle = ids.Count;
            ids.Add(id);
            counts.Add(fingerprints.Length);
            foreach (uint fingerprint in fingerprints)
            {
                entries.Add(Entry(fingerprint, handle));
            }
        });
        ulong[] run = [.. entries];
        Array.Sort(run);
        _lock.EnterWriteLock();
        try
        {
            _handleById.Clear();
            _idOfHandle.Clear();
            _idOfHandle.AddRange(ids);
            _fingerprintsOfHandle.Clear();
            _fingerprintsOfHandle.AddRange(counts);
            for (int handle = 0; handle < ids.Count; handle++)
            {
                _handleById.Add(ids[handle]!, handle);
            }

            (_run, _directory) = (run, Directory(run));
            _delta.Clear();
            _deltaEntries = 0;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Adds or replaces <paramref name="id"/> with its fingerprints.</summary>
    public void Add(string id, ReadOnlySpan<uint> fingerprints)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        _lock.EnterWriteLock();
        try
        {
            RemoveLocked(id);
            int handle = _idOfHandle.Count;
            _idOfHandle.Add(id);
            _fingerprintsOfHandle.Add(fingerprints.Length);
            _handleById[id] = handle;
            foreach (uint fingerprint in fingerprints)
            {
                if (!_delta.TryGetValue(fingerprint, out List<int>? holders))
                {
                    _delta[fingerprint] = holders = [];
                }

                holders.Add(handle);
            }

            _deltaEntries += fingerprints.Length;
            if (_deltaEntries > Math.Max(MinDeltaToMerge, _run.Length / 8))
            {
                Merge();
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes <paramref name="id"/>; false when it was not indexed.</summary>
    public bool Remove(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        _lock.EnterWriteLock();
        try
        {
            return RemoveLocked(id);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// The documents that hold at least one of <paramref name="fingerprints"/> (distinct), counting how many each holds; a
    /// fingerprint held by more than <paramref name="maxDocumentsPerFingerprint"/> documents is common and not followed.
    /// </summary>
    public PassageCandidates Query(ReadOnlySpan<uint> fingerprints, int maxDocumentsPerFingerprint)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDocumentsPerFingerprint);
        var holders = new List<int>();
        var found = new List<int>(); // each holder of each followed fingerprint: sorted, a document's run is its count
        int common = 0;
        int[] buckets = ArrayPool<int>.Shared.Rent(fingerprints.Length);
        _lock.EnterReadLock();
        try
        {
            // On a large index each fingerprint's directory entry and bucket are cache misses (~7 a fingerprint in a search of
            // the whole bucket, 0.7 µs, when one after the other): the directory entries are read in one loop whose loads do
            // not wait on each other, and the buckets fetched before they are searched.
            for (int i = 0; i < fingerprints.Length; i++)
            {
                buckets[i] = DirectoryIndex(fingerprints[i]);
                Prefetch(_directory, buckets[i]);
            }

            for (int i = 0; i < fingerprints.Length; i++)
            {
                Prefetch(_run, _directory[buckets[i]]);
            }

            for (int i = 0; i < fingerprints.Length; i++)
            {
                uint fingerprint = fingerprints[i];
                holders.Clear();
                Collect(fingerprint, buckets[i], holders);
                if (holders.Count > maxDocumentsPerFingerprint)
                {
                    common++;
                    continue;
                }

                found.AddRange(holders);
            }

            Span<int> handles = CollectionsMarshal.AsSpan(found);
            handles.Sort();
            var candidates = new List<PassageCandidate>();
            for (int i = 0, next; i < handles.Length; i = next)
            {
                for (next = i + 1; next < handles.Length && handles[next] == handles[i]; next++)
                {
                }

                candidates.Add(new PassageCandidate(_idOfHandle[handles[i]]!, next - i, _fingerprintsOfHandle[handles[i]]));
            }

            return PassageCandidates.Ranked(candidates, common);
        }
        finally
        {
            _lock.ExitReadLock();
            ArrayPool<int>.Shared.Return(buckets);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();

    private static ulong Entry(uint fingerprint, int handle) => ((ulong)fingerprint << 32) | (uint)handle;

    // The live handles holding the fingerprint, in the run (its bucket in the directory) and in the delta.
    private void Collect(uint fingerprint, int bucket, List<int> holders)
    {
        int start = _directory[bucket], end = _directory[bucket + 1];
        for (int i = start + SortedSpan.LowerBound(_run.AsSpan(start, end - start), Entry(fingerprint, 0)); i < end && (uint)(_run[i] >> 32) == fingerprint; i++)
        {
            AddIfLive((int)(uint)_run[i], holders);
        }

        if (_delta.TryGetValue(fingerprint, out List<int>? later))
        {
            foreach (int handle in later)
            {
                AddIfLive(handle, holders);
            }
        }
    }

    private void AddIfLive(int handle, List<int> holders)
    {
        if (_idOfHandle[handle] is not null)
        {
            holders.Add(handle);
        }
    }

    private bool RemoveLocked(string id)
    {
        if (!_handleById.Remove(id, out int handle))
        {
            return false;
        }

        _idOfHandle[handle] = null;
        return true;
    }

    /// <summary>
    /// Where each value of the fingerprints' top bits starts in the run, and the run's end after the last: as many bits as
    /// give a bucket about 8 to 16 entries (a cache line or two, ~0.5 B an entry), so a query reads little beyond them.
    /// </summary>
    private static int[] Directory(ulong[] run)
    {
        int bits = Math.Clamp(BitOperations.Log2((uint)Math.Max(run.Length, 1)) - 3, MinDirectoryBits, MaxDirectoryBits);
        var directory = new int[(1 << bits) + 1];
        int shift = 64 - bits, i = 0;
        for (int top = 0; top < 1 << bits; top++)
        {
            while (i < run.Length && (int)(run[i] >> shift) < top)
            {
                i++;
            }

            directory[top] = i;
        }

        directory[1 << bits] = run.Length;
        return directory;
    }

    /// <summary>The directory's entry for a fingerprint: its top bits.</summary>
    private int DirectoryIndex(uint fingerprint) => (int)(fingerprint >> (32 - BitOperations.Log2((uint)(_directory.Length - 1))));

    /// <summary>Asks the processor to bring an entry's cache line in, where it can (a hint: nothing else depends on it).</summary>
    private static unsafe void Prefetch<T>(T[] array, int index)
        where T : unmanaged
    {
        if (Sse.IsSupported && (uint)index < (uint)array.Length)
        {
            fixed (T* entry = &array[index])
            {
                Sse.Prefetch0(entry);
            }
        }
    }

    // The run and the delta in one sorted run, without the entries of removed documents: the delta sorted, then one linear merge.
    private void Merge()
    {
        ulong[] later = [.. _delta.SelectMany(d => d.Value.Select(handle => Entry(d.Key, handle)))];
        Array.Sort(later);
        var run = new ulong[_run.Length + later.Length];
        int n = 0, r = 0, l = 0;
        while (r < _run.Length || l < later.Length)
        {
            ulong next = l == later.Length || (r < _run.Length && _run[r] < later[l]) ? _run[r++] : later[l++];
            if (_idOfHandle[(int)(uint)next] is not null)
            {
                run[n++] = next;
            }
        }

        Debug.Assert(n <= run.Length);
        _run = n == run.Length ? run : run[..n];
        _directory = Directory(_run);
        _delta.Clear();
        _deltaEntries = 0;
    }
}

/// <summary>One document as <see cref="PassageIndex.Load"/> reads it; <paramref name="fingerprints"/> is valid during the call only.</summary>
public delegate void PassageVisitor(string id, ReadOnlySpan<uint> fingerprints);
