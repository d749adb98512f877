using System.Runtime.CompilerServices;

namespace Compare.Core.Phrases;

/// <summary>
/// A map from a pair of word positions to a pair of reaches, for the bridged search's memo: open
/// addressing over one array, at most half full, growing by doubling. A Dictionary costs three
/// times as much on this path, which every word of a long bridged passage takes twice.
/// </summary>
internal sealed class CellMemo
{
    private Entry[] _entries = new Entry[64];
    private int _count;

    private struct Entry
    {
        public ulong Key; // cell + 1; 0 marks an empty entry
        public int A, B;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(long cell, out (int A, int B) reach)
    {
        ref Entry entry = ref Find(_entries, (ulong)cell + 1);
        reach = (entry.A, entry.B);
        return entry.Key != 0;
    }

    public void Add(long cell, (int A, int B) reach)
    {
        if (2 * (_count + 1) > _entries.Length)
        {
            Grow();
        }

        ref Entry entry = ref Find(_entries, (ulong)cell + 1);
        if (entry.Key == 0)
        {
            _count++;
        }

        entry = new Entry { Key = (ulong)cell + 1, A = reach.A, B = reach.B };
    }

    private static ref Entry Find(Entry[] entries, ulong key)
    {
        int mask = entries.Length - 1;
        int slot = (int)((key * 0x9E3779B97F4A7C15UL) >> 32) & mask;
        while (entries[slot].Key != 0 && entries[slot].Key != key)
        {
            slot = (slot + 1) & mask;
        }

        return ref entries[slot];
    }

    private void Grow()
    {
        Entry[] old = _entries;
        _entries = new Entry[old.Length * 2];
        foreach (Entry entry in old)
        {
            if (entry.Key != 0)
            {
                Find(_entries, entry.Key) = entry;
            }
        }
    }
}
