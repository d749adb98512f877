using System.Diagnostics;

namespace Compare.Core.Phrases;

/// <summary>How one document met a passage query: the fingerprints it shares with the query, and how many it has.</summary>
/// <param name="Id">The document.</param>
/// <param name="SharedFingerprints">Fingerprints of the query it holds, the common ones left out.</param>
/// <param name="Fingerprints">Its own fingerprints, or 0 when the store does not know (written by an older server).</param>
public readonly record struct PassageCandidate(string Id, int SharedFingerprints, int Fingerprints);

/// <summary>The documents sharing fingerprints with a query, and what was left out.</summary>
/// <param name="Candidates">Every document sharing at least one of the query's fingerprints that are not common, most shared first, then by id.</param>
/// <param name="CommonFingerprints">The query's fingerprints held by more than the asked number of documents, and so not followed (boilerplate).</param>
public sealed record PassageCandidates(IReadOnlyList<PassageCandidate> Candidates, int CommonFingerprints)
{
    /// <summary>Ranks documents by the fingerprints they share, then by id (ordinal), as every store must.</summary>
    public static PassageCandidates Ranked(IEnumerable<PassageCandidate> candidates, int commonFingerprints) =>
        new([.. candidates.OrderByDescending(c => c.SharedFingerprints).ThenBy(c => c.Id, StringComparer.Ordinal)], commonFingerprints);
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
    private const int DirectoryShift = 16;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _handleById = new(StringComparer.Ordinal);
    private readonly List<string?> _idOfHandle = [];
    private readonly List<int> _fingerprintsOfHandle = [];
    private ulong[] _run = []; // fingerprint << 32 | handle, ascending
    private int[] _directory = Directory([]); // where each value of the fingerprints' top 16 bits starts in the run
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
        var shared = new Dictionary<int, int>();
        var holders = new List<int>();
        int common = 0;
        _lock.EnterReadLock();
        try
        {
            foreach (uint fingerprint in fingerprints)
            {
                holders.Clear();
                Collect(fingerprint, holders);
                if (holders.Count > maxDocumentsPerFingerprint)
                {
                    common++;
                    continue;
                }

                foreach (int handle in holders)
                {
                    shared[handle] = shared.GetValueOrDefault(handle) + 1;
                }
            }

            return PassageCandidates.Ranked(shared.Select(s => new PassageCandidate(_idOfHandle[s.Key]!, s.Value, _fingerprintsOfHandle[s.Key])), common);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();

    private static ulong Entry(uint fingerprint, int handle) => ((ulong)fingerprint << 32) | (uint)handle;

    // The live handles holding the fingerprint, in the run and in the delta.
    private void Collect(uint fingerprint, List<int> holders)
    {
        int top = (int)(fingerprint >> DirectoryShift);
        int start = _directory[top], end = _directory[top + 1];
        for (int i = start + LowerBound(_run.AsSpan(start, end - start), Entry(fingerprint, 0)); i < end && (uint)(_run[i] >> 32) == fingerprint; i++)
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
    /// For each value v of a fingerprint's top 16 bits, the index of the run's first entry at or above it (and the run's length
    /// last): a lookup searches a few dozen entries that lie together instead of the whole run, whose halvings each miss the cache.
    /// </summary>
    private static int[] Directory(ulong[] run)
    {
        var directory = new int[(1 << 16) + 1];
        int i = 0;
        for (int top = 0; top < 1 << 16; top++)
        {
            while (i < run.Length && (int)(run[i] >> (32 + DirectoryShift)) < top)
            {
                i++;
            }

            directory[top] = i;
        }

        directory[1 << 16] = run.Length;
        return directory;
    }

    private static int LowerBound(ReadOnlySpan<ulong> entries, ulong key)
    {
        int low = 0, high = entries.Length;
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            if (entries[middle] < key)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
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
