namespace Compare.Core.Similarity;

/// <summary>Exact set similarities over sorted, distinct shingle hashes.</summary>
public static class SetSimilarity
{
    /// <summary>|A ∩ B| by a linear merge of two ascending, distinct spans.</summary>
    public static int IntersectionCount(ReadOnlySpan<ulong> left, ReadOnlySpan<ulong> right)
    {
        int i = 0, j = 0, shared = 0;
        while (i < left.Length && j < right.Length)
        {
            ulong a = left[i], b = right[j];
            if (a == b)
            {
                shared++;
                i++;
                j++;
            }
            else if (a < b)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return shared;
    }

    /// <summary>|A ∩ B| / |A ∪ B|; 0 when both are empty (two empty texts share nothing).</summary>
    public static double Jaccard(ReadOnlySpan<ulong> left, ReadOnlySpan<ulong> right) =>
        Jaccard(left.Length, right.Length, IntersectionCount(left, right));

    /// <summary>Jaccard from set sizes and intersection size.</summary>
    public static double Jaccard(int leftCount, int rightCount, int shared)
    {
        int union = leftCount + rightCount - shared;
        return union == 0 ? 0 : (double)shared / union;
    }

    /// <summary>|A ∩ B| / |A|: how much of the left set the right one contains; 0 when A is empty.</summary>
    public static double Containment(int containedCount, int shared) => containedCount == 0 ? 0 : (double)shared / containedCount;
}
