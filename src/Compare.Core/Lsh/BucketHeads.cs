using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Compare.Core.Lsh;

/// <summary>
/// One band's buckets: band key → first node of the bucket's list. Open addressing with linear probing, from a
/// home slot proportional to the key (band keys are uniform hashes), so keys taken in ascending order fill the
/// table front to back: <see cref="Build"/> inserts them that way, touching memory in order instead of at random,
/// several times faster than a <see cref="Dictionary{TKey, TValue}"/> and about 20 bytes a bucket instead of 28.
/// Not thread-safe.
/// </summary>
internal sealed class BucketHeads
{
    private const double BuildLoad = 0.7;

    /// <summary>The most a table is filled before it doubles, unless told less.</summary>
    public const double MaxLoad = 0.75;

    private readonly double _growAt;
    private ulong[] _keys; // 0 marks an empty slot; key 0 is kept as 1 (a bucket shared by accident only adds a candidate, verified later)
    private int[] _heads;
    private int _count;

    /// <summary>An empty table for <paramref name="expectedBuckets"/>, which doubles once more than <paramref name="growAt"/> of it is filled.</summary>
    public BucketHeads(int expectedBuckets, double growAt = MaxLoad)
    {
        Debug.Assert(growAt is > BuildLoad / 2 and <= MaxLoad);
        int capacity = Math.Max(16, (int)Math.Min(int.MaxValue - 64, expectedBuckets / BuildLoad));
        _growAt = growAt;
        _keys = Written<ulong>(capacity);
        _heads = Written<int>(capacity);
    }

    public int Count => _count;

    /// <summary>The heads of every bucket, in no particular order.</summary>
    public IEnumerable<int> Heads
    {
        get
        {
            for (int slot = 0; slot < _keys.Length; slot++)
            {
                if (_keys[slot] != 0)
                {
                    yield return _heads[slot];
                }
            }
        }
    }

    /// <summary>
    /// The buckets of <paramref name="keys"/>, key i belonging to node <paramref name="firstNode"/> + i: each bucket's
    /// list, through <paramref name="nodeNext"/>, links the nodes of one key.
    /// </summary>
    // A restart runs this over every document once: optimised from the first call, where tiering would promote it only after the load.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static BucketHeads Build(ReadOnlySpan<ulong> keys, int firstNode, int[] nodeNext, int none, SortBuffers buffers, double growAt = MaxLoad)
    {
        Debug.Assert(buffers.Length >= keys.Length);
        var table = new BucketHeads(keys.Length, growAt);
        SortByTopBits(keys, buffers);
        ReadOnlySpan<ulong> sortedKeys = buffers.SortedKeys.AsSpan(0, keys.Length);
        ReadOnlySpan<int> positions = buffers.Positions.AsSpan(0, keys.Length);
        for (int j = 0; j < sortedKeys.Length; j++)
        {
            int node = firstNode + positions[j];
            ref int head = ref table.GetOrAdd(sortedKeys[j], out bool exists);
            nodeNext[node] = exists ? head : none;
            head = node;
        }

        return table;
    }

    public bool TryGet(ulong key, out int head)
    {
        ulong stored = Stored(key);
        for (int slot = Home(stored); _keys[slot] != 0; slot = Next(slot))
        {
            if (_keys[slot] == stored)
            {
                head = _heads[slot];
                return true;
            }
        }

        head = 0;
        return false;
    }

    /// <summary>The head of <paramref name="key"/>'s bucket, added (to be set by the caller) when it is new.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ref int GetOrAdd(ulong key, out bool exists)
    {
        if (_count + 1 > _keys.Length * _growAt)
        {
            Grow();
        }

        ulong stored = Stored(key);
        int slot = Home(stored);
        for (; _keys[slot] != 0; slot = Next(slot))
        {
            if (_keys[slot] == stored)
            {
                exists = true;
                return ref _heads[slot];
            }
        }

        _keys[slot] = stored;
        _count++;
        exists = false;
        return ref _heads[slot];
    }

    /// <summary>Asks the processor to start loading the slot where <paramref name="key"/>'s probe begins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong key)
    {
        if (Sse.IsSupported)
        {
            int slot = Home(Stored(key));
            // Unpinned: a prefetch never faults, so an array the collector moves meanwhile only wastes the hint.
            unsafe
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref _keys[slot]));
                Sse.Prefetch0(Unsafe.AsPointer(ref _heads[slot]));
            }
        }
    }

    /// <summary>Sets the head of an existing bucket.</summary>
    public void Set(ulong key, int head)
    {
        ref int slot = ref GetOrAdd(key, out bool exists);
        Debug.Assert(exists);
        slot = head;
    }

    /// <summary>Removes a bucket, shifting back the keys that probed past it so every key stays reachable from its home.</summary>
    public void Remove(ulong key)
    {
        ulong stored = Stored(key);
        int hole = Home(stored);
        for (; _keys[hole] != stored; hole = Next(hole))
        {
            if (_keys[hole] == 0)
            {
                return;
            }
        }

        for (int slot = Next(hole); _keys[slot] != 0; slot = Next(slot))
        {
            int home = Home(_keys[slot]);
            // The key at slot may move into the hole when its home is not cyclically within (hole, slot].
            bool reachesHole = hole <= slot ? home <= hole || home > slot : home <= hole && home > slot;
            if (reachesHole)
            {
                _keys[hole] = _keys[slot];
                _heads[hole] = _heads[slot];
                hole = slot;
            }
        }

        _keys[hole] = 0;
        _count--;
    }

    // A large array comes from pages the kernel has not yet given: probing reads a slot before writing it, and a read
    // maps the shared zero page, so the write after it faults again and flushes that page from every core's TLB (an IPI
    // to each). Writing the zeros first costs one fault a page; on 2 cores those faults were a tenth of a settled ingest's profile.
    private static T[] Written<T>(int length)
        where T : unmanaged
    {
        var array = new T[length];
        Array.Clear(array);
        return array;
    }

    private static ulong Stored(ulong key) => key == 0 ? 1 : key;

    private int Home(ulong stored) => (int)Math.BigMul(stored, (ulong)_keys.Length, out _);

    private int Next(int slot) => slot + 1 == _keys.Length ? 0 : slot + 1;

    private void Grow()
    {
        ulong[] keys = _keys;
        int[] heads = _heads;
        _keys = Written<ulong>(checked(keys.Length * 2));
        _heads = Written<int>(_keys.Length);
        _count = 0;
        for (int slot = 0; slot < keys.Length; slot++)
        {
            if (keys[slot] != 0)
            {
                GetOrAdd(keys[slot], out _) = heads[slot];
            }
        }
    }

    // The keys with their positions, ordered by their top 16 bits: two passes of an 8-bit radix partition, each
    // reading and writing in order. Keys sharing those bits have homes within a few cache lines of each other.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortByTopBits(ReadOnlySpan<ulong> keys, SortBuffers buffers)
    {
        (ulong[] byTopByte, int[] byTopBytePositions, ulong[] sortedKeys, int[] positions) = (buffers.Scratch, buffers.ScratchPositions, buffers.SortedKeys, buffers.Positions);
        Span<int> starts = stackalloc int[257];
        starts.Clear();
        foreach (ulong key in keys)
        {
            starts[(int)(key >> 56) + 1]++;
        }

        for (int b = 0; b < 256; b++)
        {
            starts[b + 1] += starts[b];
        }

        Span<int> next = stackalloc int[257];
        starts.CopyTo(next);
        for (int i = 0; i < keys.Length; i++)
        {
            int at = next[(int)(keys[i] >> 56)]++;
            byTopByte[at] = keys[i];
            byTopBytePositions[at] = i;
        }

        for (int partition = 0; partition < 256; partition++)
        {
            int from = starts[partition], to = starts[partition + 1];
            next.Clear();
            for (int j = from; j < to; j++)
            {
                next[(int)((byTopByte[j] >> 48) & 0xFF) + 1]++;
            }

            next[0] = from;
            for (int b = 0; b < 256; b++)
            {
                next[b + 1] += next[b];
            }

            for (int j = from; j < to; j++)
            {
                int at = next[(int)((byTopByte[j] >> 48) & 0xFF)]++;
                sortedKeys[at] = byTopByte[j];
                positions[at] = byTopBytePositions[j];
            }
        }
    }

    /// <summary>
    /// What <see cref="Build"/> sorts in: 24 bytes a key. One set per building thread, used band after band, spares
    /// the collector a large allocation per band (which, under the server GC, doubled a restart's bucket building).
    /// </summary>
    internal sealed class SortBuffers(int length)
    {
        public int Length => length;

        public ulong[] Scratch { get; } = GC.AllocateUninitializedArray<ulong>(length);

        public int[] ScratchPositions { get; } = GC.AllocateUninitializedArray<int>(length);

        public ulong[] SortedKeys { get; } = GC.AllocateUninitializedArray<ulong>(length);

        public int[] Positions { get; } = GC.AllocateUninitializedArray<int>(length);
    }
}
