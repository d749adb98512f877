using System.Diagnostics;
using Compare.Core.Hashing;

namespace Compare.Core.Lsh;

/// <summary>
/// An LSH Forest over the bands (Bawa et al., 2005; datasketch's MinHashLSHForest): per band, every document's
/// <see cref="PrefixKey"/> in key order, so that a query can ask for the documents whose first <c>depth</c> values
/// of a band agree with its own, for any depth up to <see cref="MaxDepth"/>. Fewer values must agree than the band
/// buckets ask for (all of the band's rows), which is what finds pairs below the threshold the banding was tuned for
/// (<see cref="LshParameters.ProbeDepth"/>). 12 bytes a document and band, besides the buckets.
/// <para>
/// Each band keeps a sorted run and a small sorted delta of later writes, merged into the run when it grows past an
/// eighth of it; a removal marks its entry in the run. Handles are the caller's dense document numbers.
/// Not thread-safe: <see cref="BandIndex"/> synchronises.
/// </para>
/// </summary>
public sealed class PrefixForest
{
    /// <summary>The deepest prefix kept: deeper probes use the band buckets, or this depth when the band has more rows.</summary>
    public const int MaxDepth = 4;

    private const int Removed = -1;
    private const int MinDeltaToMerge = 4096;

    // Bits of the key taken by the first, second, third and fourth value's hash: a random match of a one-value prefix
    // is then one in 16 million per band, of two values one in a trillion.
    private static readonly int[] LevelBits = [24, 16, 12, 12];
    private static readonly int[] PrefixBits = [24, 40, 52, 64];

    private readonly Band[] _bands;

    /// <summary>An empty forest over the bands of <paramref name="parameters"/>.</summary>
    public PrefixForest(LshParameters parameters)
    {
        Parameters = parameters;
        _bands = new Band[parameters.Bands];
        for (int band = 0; band < _bands.Length; band++)
        {
            _bands[band] = new Band([], [], 0);
        }
    }

    private PrefixForest(LshParameters parameters, Band[] bands)
    {
        Parameters = parameters;
        _bands = bands;
    }

    /// <summary>The banding the keys are cut from.</summary>
    public LshParameters Parameters { get; }

    /// <summary>
    /// The prefix key of one band of a signature: the hashes of its first values (at most <see cref="MaxDepth"/>, and at
    /// most its rows) packed from the top bit down, so that documents agreeing on a band's first d values share the key's
    /// top <see cref="PrefixBits"/>[d − 1] bits (and others do so by chance only).
    /// </summary>
    public static ulong PrefixKey(ReadOnlySpan<uint> signature, int band, int rows)
    {
        ulong key = 0;
        int depth = Math.Min(rows, MaxDepth);
        int shift = 64;
        for (int level = 0; level < MaxDepth; level++)
        {
            shift -= LevelBits[level];
            ulong value = level < depth ? signature[(band * rows) + level] : 0;
            ulong hash = Mix.Finalize(value ^ ((ulong)band << 40) ^ ((ulong)(level + 1) << 56));
            key |= (hash >> (64 - LevelBits[level])) << shift;
        }

        return key;
    }

    /// <summary>The bits of a prefix key that a probe of <paramref name="depth"/> values compares.</summary>
    public static ulong Mask(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, MaxDepth);
        return depth == MaxDepth ? ulong.MaxValue : ~(ulong.MaxValue >> PrefixBits[depth - 1]);
    }

    /// <summary>
    /// A forest of the documents <paramref name="handles"/> whose prefix keys are given band by band (the key of
    /// handles[i] in band b at <paramref name="keys"/>[b × handles.Length + i]), each band sorted on its own core.
    /// </summary>
    public static PrefixForest Build(LshParameters parameters, int[] handles, ulong[] keys)
    {
        ArgumentNullException.ThrowIfNull(handles);
        ArgumentNullException.ThrowIfNull(keys);
        int documents = handles.Length;
        if (keys.Length < (long)documents * parameters.Bands)
        {
            throw new ArgumentException($"{documents} documents of {parameters.Bands} bands need {documents * (long)parameters.Bands} keys.", nameof(keys));
        }

        var bands = new Band[parameters.Bands];
        Parallel.For(0, bands.Length, band =>
        {
            ulong[] bandKeys = keys.AsSpan(band * documents, documents).ToArray();
            int[] bandHandles = (int[])handles.Clone();
            Array.Sort(bandKeys, bandHandles);
            bands[band] = new Band(bandKeys, bandHandles, documents);
        });
        return new PrefixForest(parameters, bands);
    }

    /// <summary>Adds <paramref name="handle"/>, not yet in the forest, under the prefix keys of <paramref name="signature"/>.</summary>
    public void Insert(int handle, ReadOnlySpan<uint> signature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(handle);
        for (int band = 0; band < _bands.Length; band++)
        {
            _bands[band].Insert(PrefixKey(signature, band, Parameters.Rows), handle);
        }
    }

    /// <summary>Removes <paramref name="handle"/>, inserted with the same signature.</summary>
    public void Remove(int handle, ReadOnlySpan<uint> signature)
    {
        for (int band = 0; band < _bands.Length; band++)
        {
            _bands[band].Remove(PrefixKey(signature, band, Parameters.Rows), handle);
        }
    }

    /// <summary>
    /// Appends to <paramref name="candidates"/>, once each, the documents that agree with <paramref name="signature"/> on
    /// the first <paramref name="depth"/> values of at least one band. <paramref name="seen"/> is indexed by handle, all
    /// false on entry and again on return.
    /// </summary>
    public int Query(ReadOnlySpan<uint> signature, int depth, bool[] seen, List<int> candidates)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(candidates);
        ulong mask = Mask(depth);
        int start = candidates.Count;
        for (int band = 0; band < _bands.Length; band++)
        {
            ulong low = PrefixKey(signature, band, Parameters.Rows) & mask;
            _bands[band].ForEachInRange(low, low | ~mask, handle =>
            {
                if (!seen[handle])
                {
                    seen[handle] = true;
                    candidates.Add(handle);
                }
            });
        }

        for (int i = start; i < candidates.Count; i++)
        {
            seen[candidates[i]] = false;
        }

        return candidates.Count - start;
    }

    /// <summary>Calls <paramref name="onGroup"/> with the handles of every group of two or more documents sharing a band's <paramref name="depth"/>-value prefix.</summary>
    public void ForEachSharedPrefix(int depth, Action<List<int>> onGroup)
    {
        ArgumentNullException.ThrowIfNull(onGroup);
        ulong mask = Mask(depth);
        var group = new List<int>();
        foreach (Band band in _bands)
        {
            ulong current = 0;
            group.Clear();
            band.ForEachInOrder((key, handle) =>
            {
                if (group.Count > 0 && (key & mask) != current)
                {
                    if (group.Count > 1)
                    {
                        onGroup(group);
                    }

                    group.Clear();
                }

                current = key & mask;
                group.Add(handle);
            });
            if (group.Count > 1)
            {
                onGroup(group);
            }
        }
    }

    /// <summary>One band: a sorted run with removals marked, and a sorted delta of later inserts.</summary>
    private sealed class Band(ulong[] keys, int[] handles, int count)
    {
        private ulong[] _keys = keys;
        private int[] _handles = handles;
        private int _count = count;
        private int _removed;
        private readonly List<(ulong Key, int Handle)> _delta = [];

        public void Insert(ulong key, int handle)
        {
            int at = _delta.BinarySearch((key, handle));
            _delta.Insert(at < 0 ? ~at : at, (key, handle));
            if (_delta.Count > Math.Max(MinDeltaToMerge, _count / 8))
            {
                Merge();
            }
        }

        public void Remove(ulong key, int handle)
        {
            int at = _delta.BinarySearch((key, handle));
            if (at >= 0)
            {
                _delta.RemoveAt(at);
                return;
            }

            for (int i = LowerBound(key); i < _count && _keys[i] == key; i++)
            {
                if (_handles[i] == handle)
                {
                    _handles[i] = Removed;
                    _removed++;
                    return;
                }
            }
        }

        public void ForEachInRange(ulong low, ulong high, Action<int> onHandle)
        {
            for (int i = LowerBound(low); i < _count && _keys[i] <= high; i++)
            {
                if (_handles[i] != Removed)
                {
                    onHandle(_handles[i]);
                }
            }

            int at = _delta.BinarySearch((low, int.MinValue));
            for (int i = at < 0 ? ~at : at; i < _delta.Count && _delta[i].Key <= high; i++)
            {
                onHandle(_delta[i].Handle);
            }
        }

        // Run and delta merged, in key order.
        public void ForEachInOrder(Action<ulong, int> onEntry)
        {
            int d = 0;
            for (int i = 0; i < _count; i++)
            {
                for (; d < _delta.Count && _delta[d].Key < _keys[i]; d++)
                {
                    onEntry(_delta[d].Key, _delta[d].Handle);
                }

                if (_handles[i] != Removed)
                {
                    onEntry(_keys[i], _handles[i]);
                }
            }

            for (; d < _delta.Count; d++)
            {
                onEntry(_delta[d].Key, _delta[d].Handle);
            }
        }

        // The first index of the run whose key is at least key.
        private int LowerBound(ulong key) => SortedSpan.LowerBound(_keys.AsSpan(0, _count), key);

        private void Merge()
        {
            int size = _count - _removed + _delta.Count;
            var keys = new ulong[size];
            var handles = new int[size];
            int n = 0;
            ForEachInOrder((key, handle) =>
            {
                keys[n] = key;
                handles[n++] = handle;
            });
            Debug.Assert(n == size);
            (_keys, _handles, _count, _removed) = (keys, handles, size, 0);
            _delta.Clear();
        }
    }
}
