using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compare.Core.Hashing;

/// <summary>
/// Sorts 64-bit hashes, which are spread evenly over their range: a counting pass on the top bits puts each within
/// its bucket of about one value, and an insertion pass finishes in linear time. An introsort of a document's few
/// hundred shingles took most of building its set, and sorting a million band keys most of finding candidate pairs.
/// Values that are not spread (more moves than the insertion pass's budget) are sorted again by introsort.
/// </summary>
internal static class HashSort
{
    private const int SmallSort = 32;

    /// <summary>Sorts <paramref name="values"/> ascending.</summary>
    // Ingest's hot path (a document's shingles, its passage fingerprints): optimised from the first call (docs/ARCHITECTURE.md,
    // "Tiered compilation"). Without items to move, the insertion pass reads the scattered values and writes them straight
    // back into place, and no index is checked: 3.1 µs for a document's 450 shingles where the general path took 3.8.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sort(Span<ulong> values)
    {
        if (values.Length <= SmallSort)
        {
            values.Sort();
            return;
        }

        int bits = Math.Min(24, 64 - BitOperations.LeadingZeroCount((ulong)values.Length - 1));
        int buckets = 1 << bits, shift = 64 - bits;
        int[]? rentedStarts = buckets > 4096 ? ArrayPool<int>.Shared.Rent(buckets + 1) : null;
        Span<int> starts = rentedStarts is null ? stackalloc int[buckets + 1] : rentedStarts.AsSpan(0, buckets + 1);
        ulong[] scattered = ArrayPool<ulong>.Shared.Rent(values.Length);
        if (!ScatterAndInsert(values, starts, scattered, shift))
        {
            values.Sort();
        }

        ArrayPool<ulong>.Shared.Return(scattered);
        if (rentedStarts is not null)
        {
            ArrayPool<int>.Shared.Return(rentedStarts);
        }

        Debug.Assert(IsSorted(values));
    }

    /// <summary>
    /// The counting pass into <paramref name="scattered"/>, then the insertion pass back into <paramref name="values"/>; false
    /// (with <paramref name="values"/> a permutation of what it was) when that takes more than eight moves a value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool ScatterAndInsert(Span<ulong> values, Span<int> starts, ulong[] scattered, int shift)
    {
        starts.Clear();
        ref int start = ref MemoryMarshal.GetReference(starts);
        ref ulong value = ref MemoryMarshal.GetReference(values);
        ref ulong into = ref MemoryMarshal.GetArrayDataReference(scattered);
        int n = values.Length;
        Debug.Assert(scattered.Length >= n && starts.Length == (1 << (64 - shift)) + 1);
        // Every index below is within its span: a bucket is key >> shift < starts.Length - 1, a position < n.
        for (int k = 0; k < n; k++)
        {
            Unsafe.Add(ref start, (int)(Unsafe.Add(ref value, k) >> shift) + 1)++;
        }

        // The running sum in a register: adding each bucket to the one stored before it waited on that store every time.
        int sum = 0;
        for (int b = 0; b < starts.Length; b++)
        {
            sum += Unsafe.Add(ref start, b);
            Unsafe.Add(ref start, b) = sum;
        }

        for (int k = 0; k < n; k++)
        {
            ulong key = Unsafe.Add(ref value, k);
            Unsafe.Add(ref into, Unsafe.Add(ref start, (int)(key >> shift))++) = key;
        }

        long budget = 8L * n;
        for (int i = 0; i < n; i++)
        {
            ulong key = Unsafe.Add(ref into, i);
            int j = i - 1;
            while (j >= 0 && Unsafe.Add(ref value, j) > key)
            {
                Unsafe.Add(ref value, j + 1) = Unsafe.Add(ref value, j);
                j--;
            }

            Unsafe.Add(ref value, j + 1) = key;
            budget -= i - 1 - j;
            if (budget < 0)
            {
                // Uneven values: the first i + 1 are in place, the rest still scattered.
                scattered.AsSpan(i + 1, n - i - 1).CopyTo(values[(i + 1)..]);
                return false;
            }
        }

        return true;
    }

    private static bool IsSorted(ReadOnlySpan<ulong> values)
    {
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i - 1] > values[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Sorts <paramref name="values"/> in place and returns the prefix holding each value once.</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Span<ulong> SortDistinct(Span<ulong> values)
    {
        if (values.Length < 2)
        {
            return values;
        }

        Sort(values);
        int write = 1;
        for (int read = 1; read < values.Length; read++)
        {
            if (values[read] != values[write - 1])
            {
                values[write++] = values[read];
            }
        }

        return values[..write];
    }

    /// <summary>Sorts <paramref name="keys"/> ascending with <paramref name="items"/> (the same length, or empty) moved alongside.</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sort(Span<ulong> keys, Span<int> items)
    {
        if (items.IsEmpty)
        {
            Sort(keys);
            return;
        }

        if (items.Length != keys.Length)
        {
            throw new ArgumentException("Items must match keys one for one.", nameof(items));
        }

        if (keys.Length <= SmallSort)
        {
            keys.Sort(items);
            return;
        }

        int bits = Math.Min(24, 64 - BitOperations.LeadingZeroCount((ulong)keys.Length - 1));
        int buckets = 1 << bits, shift = 64 - bits;
        int[]? rentedStarts = buckets > 4096 ? ArrayPool<int>.Shared.Rent(buckets + 1) : null;
        Span<int> starts = rentedStarts is null ? stackalloc int[buckets + 1] : rentedStarts.AsSpan(0, buckets + 1);
        ulong[] sortedKeys = ArrayPool<ulong>.Shared.Rent(keys.Length);
        int[] sortedItems = ArrayPool<int>.Shared.Rent(keys.Length);
        try
        {
            starts.Clear();
            foreach (ulong key in keys)
            {
                starts[(int)(key >> shift) + 1]++;
            }

            int sum = 0;
            for (int b = 0; b <= buckets; b++)
            {
                sum += starts[b];
                starts[b] = sum;
            }

            for (int k = 0; k < keys.Length; k++)
            {
                int at = starts[(int)(keys[k] >> shift)]++;
                sortedKeys[at] = keys[k];
                sortedItems[at] = items[k];
            }

            if (!InsertionSort(sortedKeys.AsSpan(0, keys.Length), sortedItems.AsSpan(0, keys.Length)))
            {
                keys.Sort(items);
                return;
            }

            sortedKeys.AsSpan(0, keys.Length).CopyTo(keys);
            sortedItems.AsSpan(0, keys.Length).CopyTo(items);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(sortedKeys);
            ArrayPool<int>.Shared.Return(sortedItems);
            if (rentedStarts is not null)
            {
                ArrayPool<int>.Shared.Return(rentedStarts);
            }
        }
    }

    /// <summary>Finishes a nearly sorted run; false when it would take more than eight moves a value (an uneven input).</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool InsertionSort(Span<ulong> keys, Span<int> items)
    {
        long budget = 8L * keys.Length;
        for (int i = 1; i < keys.Length; i++)
        {
            ulong key = keys[i];
            int j = i - 1;
            if (keys[j] <= key)
            {
                continue;
            }

            int item = items[i];
            while (j >= 0 && keys[j] > key)
            {
                keys[j + 1] = keys[j];
                items[j + 1] = items[j];
                j--;
            }

            keys[j + 1] = key;
            items[j + 1] = item;
            budget -= i - 1 - j;
            if (budget < 0)
            {
                return false;
            }
        }

        return true;
    }
}
