using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Compare.Core.Phrases;

/// <summary>
/// The distinct runs of MinWords words ("grams") of one text, each with the chain of places it starts at (ascending), in an
/// open-addressing table at most half full that the other text's grams probe. Built once for a text compared with many (a
/// passage query against each of its candidates), or per search over the text with fewer grams. Read-only once built, so
/// searches on several threads may share one. A Dictionary costs twice as much on this path, the hot loop of the search.
/// </summary>
internal sealed class GramTable
{
    private const ulong Spread = 0x9E3779B97F4A7C15UL; // 2^64 / golden ratio: the top bits of key * Spread pick the slot

    private readonly ulong[] _keys; // fingerprint + 1 per slot; 0: empty
    private readonly ulong[] _filter; // 8 bits a slot, one set for each key: most probes of absent keys end on a clear bit
    private readonly int[] _gramOfSlot;
    private readonly int _shift, _mask;
    private readonly bool _pooled;

    /// <summary>
    /// The grams of words [i, i + <paramref name="minWords"/>) for i below <paramref name="places"/>, by their fingerprints in
    /// <paramref name="hashes"/>. <paramref name="pooled"/>: the arrays are rented, and <see cref="Return"/> gives them back.
    /// </summary>
    public GramTable(WordSequenceHashes hashes, int places, int minWords, bool pooled, CancellationToken cancellationToken)
    {
        Debug.Assert(places > 0);
        _pooled = pooled;
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(2 * places, 64));
        _mask = capacity - 1;
        _shift = 64 - BitOperations.Log2((uint)capacity);
        _keys = Rent<ulong>(capacity);
        Array.Clear(_keys, 0, capacity);
        _filter = Rent<ulong>(capacity / 8);
        Array.Clear(_filter, 0, capacity / 8);
        _gramOfSlot = Rent<int>(capacity);
        (Key, First, Count, Next, GramAt) = (Rent<ulong>(places), Rent<int>(places), Rent<int>(places), Rent<int>(places), Rent<int>(places));
        Places = places;
        ulong[] fingerprints = ArrayPool<ulong>.Shared.Rent(places);
        hashes.Runs(minWords, fingerprints.AsSpan(0, places));
        cancellationToken.ThrowIfCancellationRequested();
        // From the last place to the first, so that each place goes to the head of its chain and chains ascend.
        for (int place = places - 1; place >= 0; place--)
        {
            ulong key = fingerprints[place] + 1;
            int slot = Probe(key);
            int gram;
            if (_keys[slot] == 0)
            {
                _keys[slot] = key;
                int bit = FilterBit(key, _shift);
                _filter[bit >> 6] |= 1UL << bit;
                gram = _gramOfSlot[slot] = Distinct++;
                Key[gram] = key;
                Count[gram] = 0;
                Next[place] = -1;
            }
            else
            {
                gram = _gramOfSlot[slot];
                Next[place] = First[gram];
            }

            First[gram] = place;
            Count[gram]++;
            GramAt[place] = gram;
        }

        ArrayPool<ulong>.Shared.Return(fingerprints);
    }

    /// <summary>How many grams the text has (one a place).</summary>
    public int Places { get; }

    /// <summary>How many of them differ: the grams are numbered from 0 to this, exclusive.</summary>
    public int Distinct { get; }

    /// <summary>Per gram: the first place it starts at.</summary>
    public int[] First { get; }

    /// <summary>Per gram: how many places it starts at.</summary>
    public int[] Count { get; }

    /// <summary>Per place: the next place of its gram, -1 after the last.</summary>
    public int[] Next { get; }

    /// <summary>Per place: its gram.</summary>
    public int[] GramAt { get; }

    /// <summary>Per gram: its fingerprint (<see cref="WordSequenceHashes.Of(int, int)"/>) + 1.</summary>
    public ulong[] Key { get; }

    /// <summary>For each of <paramref name="fingerprints"/>, the gram with it, or -1 when the text has none.</summary>
    public void FindAll(ReadOnlySpan<ulong> fingerprints, Span<int> grams)
    {
        Debug.Assert(grams.Length >= fingerprints.Length);
        // The table's fields in locals: the loop stores nothing the JIT could take for them, and reloads none.
        ReadOnlySpan<ulong> keys = _keys, filter = _filter;
        ReadOnlySpan<int> gramOfSlot = _gramOfSlot;
        int shift = _shift, mask = _mask;
        for (int i = 0; i < fingerprints.Length; i++)
        {
            ulong key = fingerprints[i] + 1;
            int bit = FilterBit(key, shift);
            if ((filter[bit >> 6] & (1UL << bit)) == 0)
            {
                grams[i] = -1;
                continue;
            }

            int slot = bit >> 3;
            while (keys[slot] != 0 && keys[slot] != key)
            {
                slot = (slot + 1) & mask;
            }

            grams[i] = keys[slot] == 0 ? -1 : gramOfSlot[slot];
        }
    }

    /// <summary>The key's bit in the filter: the slot it hashes to, and three more bits of the same product (in the filter's word bit / 64, at bit mod 64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FilterBit(ulong key, int shift) => (int)((key * Spread) >> (shift - 3));

    /// <summary>Gives rented arrays back; the table is not to be used after.</summary>
    public void Return()
    {
        if (_pooled)
        {
            ArrayPool<ulong>.Shared.Return(_keys);
            ArrayPool<ulong>.Shared.Return(_filter);
            ArrayPool<ulong>.Shared.Return(Key);
            foreach (int[] array in (int[][])[_gramOfSlot, First, Count, Next, GramAt])
            {
                ArrayPool<int>.Shared.Return(array);
            }
        }
    }

    private T[] Rent<T>(int length) => _pooled ? ArrayPool<T>.Shared.Rent(length) : GC.AllocateUninitializedArray<T>(length);

    /// <summary>The slot of <paramref name="key"/>: its own, or the empty one where it would go.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Probe(ulong key)
    {
        int slot = (int)((key * Spread) >> _shift);
        while (_keys[slot] != 0 && _keys[slot] != key)
        {
            slot = (slot + 1) & _mask;
        }

        return slot;
    }
}
