using System.Runtime.CompilerServices;

namespace Compare.Core.Hashing;

/// <summary>Binary search over sorted hashes and keys.</summary>
internal static class SortedSpan
{
    /// <summary>The first index whose value is at least <paramref name="value"/>; the span's length when none is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LowerBound(ReadOnlySpan<ulong> sorted, ulong value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            if (sorted[middle] < value)
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
}
