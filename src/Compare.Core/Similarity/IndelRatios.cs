using System.Buffers;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Compare.Core.Similarity;

/// <summary>
/// FuzzySharp's ratio, token-sort ratio and token-set ratio with the same answers, in time
/// O(|a|·|b|/64) instead of O(|a|·|b|). FuzzySharp's ratio is 100 · (|a| + |b| − d) / (|a| + |b|)
/// rounded, where d is the edit distance with insertions and deletions costing 1 and a substitution 2
/// (python-Levenshtein's ratio): d = |a| + |b| − 2·LCS(a, b), and the longest common subsequence
/// has a bit-parallel form (Allison and Dix; Hyyrö) that handles 64 characters of a per machine word.
/// The token ratios split words as FuzzySharp 2 does by default (white space, no other preprocessing)
/// but order them ordinally (by UTF-16 code unit), not by the current culture as FuzzySharp does, so
/// that an answer does not depend on the host's locale. They equal FuzzySharp's wherever the culture
/// orders the words as ordinal order does (lower-case ASCII words, for one); where it does not (mixed
/// case, punctuation, accents) a token ratio may differ from FuzzySharp's by a few points.
/// </summary>
public static partial class IndelRatios
{
    /// <summary>FuzzySharp's <c>Fuzz.Ratio</c>.</summary>
    public static int Ratio(string left, string right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        if (left.Length == 0 || right.Length == 0)
        {
            return 0; // FuzzySharp scores an empty string 0 against anything, itself included
        }

        int lengths = left.Length + right.Length;
        int distance = lengths - 2 * LongestCommonSubsequence(left, right);
        double ratio = distance == 0 ? 1 : (lengths - distance) / (double)lengths;
        return (int)Math.Round(100 * ratio);
    }

    /// <summary>FuzzySharp's <c>Fuzz.TokenSortRatio</c>: words (split at white space, as they are) sorted ordinally, then <see cref="Ratio"/>.</summary>
    public static int TokenSortRatio(string left, string right) => Ratio(SortedTokens(left), SortedTokens(right));

    /// <summary>FuzzySharp's <c>Fuzz.TokenSetRatio</c>: the best ratio among the shared words and each side's remainder.</summary>
    public static int TokenSetRatio(string left, string right) => TokenSetRatio(TokenSet(left), TokenSet(right));

    /// <summary>
    /// The distinct words of <paramref name="text"/> (split at white space, as they are) in ordinal order: what
    /// <see cref="TokenSetRatio(string[], string[])"/> takes, made once for a text compared with many.
    /// </summary>
    public static string[] TokenSet(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] tokens = [.. new HashSet<string>(Whitespace().Split(text).Where(t => t.Length > 0), StringComparer.Ordinal)];
        Array.Sort(tokens, StringComparer.Ordinal);
        return tokens;
    }

    /// <summary><see cref="TokenSetRatio(string, string)"/> of two texts' <see cref="TokenSet"/>s.</summary>
    public static int TokenSetRatio(string[] left, string[] right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        // One merge of the sorted sets gives the shared words and each side's remainder, each in ordinal order.
        List<string> shared = [], leftRest = [], rightRest = [];
        int i = 0, j = 0;
        while (i < left.Length || j < right.Length)
        {
            int order = i == left.Length ? 1 : j == right.Length ? -1 : string.CompareOrdinal(left[i], right[j]);
            if (order == 0)
            {
                shared.Add(left[i++]);
                j++;
            }
            else if (order < 0)
            {
                leftRest.Add(left[i++]);
            }
            else
            {
                rightRest.Add(right[j++]);
            }
        }

        string intersection = string.Join(' ', shared).Trim();
        string leftOnly = (intersection + " " + string.Join(' ', leftRest)).Trim();
        string rightOnly = (intersection + " " + string.Join(' ', rightRest)).Trim();
        return Math.Max(Ratio(intersection, leftOnly), Math.Max(Ratio(intersection, rightOnly), Ratio(leftOnly, rightOnly)));
    }

    /// <summary>
    /// The length of the longest common subsequence of two strings' UTF-16 units. Each character of
    /// <paramref name="left"/> owns one bit of a row; a column of <paramref name="right"/> updates the
    /// whole row with one addition and a few logical operations per 64 bits.
    /// </summary>
    public static int LongestCommonSubsequence(ReadOnlySpan<char> left, ReadOnlySpan<char> right)
    {
        // Stripping the common prefix and suffix changes nothing and is often most of two near-copies.
        int prefix = left.CommonPrefixLength(right);
        left = left[prefix..];
        right = right[prefix..];
        int suffix = 0;
        while (suffix < left.Length && suffix < right.Length && left[^(suffix + 1)] == right[^(suffix + 1)])
        {
            suffix++;
        }

        left = left[..^suffix];
        right = right[..^suffix];
        if (left.Length == 0 || right.Length == 0)
        {
            return prefix + suffix;
        }

        if (left.Length > right.Length)
        {
            // The shorter string makes the row: fewer words per column.
            ReadOnlySpan<char> longer = left;
            left = right;
            right = longer;
        }

        int words = (left.Length + 63) / 64;
        // A match mask per distinct character of left, found through a small open-addressing table.
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, left.Length * 2));
        char[] keys = ArrayPool<char>.Shared.Rent(capacity);
        int[] slots = ArrayPool<int>.Shared.Rent(capacity);
        ulong[]? masks = null;
        ulong[] row = ArrayPool<ulong>.Shared.Rent(words);
        try
        {
            Array.Fill(slots, -1, 0, capacity);
            int distinct = 0;
            foreach (char c in left)
            {
                int slot = Find(keys, slots, capacity, c);
                if (slots[slot] < 0)
                {
                    keys[slot] = c;
                    slots[slot] = distinct++;
                }
            }

            masks = ArrayPool<ulong>.Shared.Rent(distinct * words);
            Array.Clear(masks, 0, distinct * words);
            for (int i = 0; i < left.Length; i++)
            {
                masks[slots[Find(keys, slots, capacity, left[i])] * words + (i >> 6)] |= 1UL << (i & 63);
            }

            Span<ulong> s = row.AsSpan(0, words);
            s.Fill(ulong.MaxValue);
            foreach (char c in right)
            {
                int index = slots[Find(keys, slots, capacity, c)];
                if (index < 0)
                {
                    continue; // no match in this column: the row stays as it is
                }

                ReadOnlySpan<ulong> m = masks.AsSpan(index * words, words);
                ulong carry = 0;
                for (int w = 0; w < s.Length; w++)
                {
                    ulong x = s[w] & m[w];
                    ulong sum = s[w] + x;
                    ulong withCarry = sum + carry;
                    carry = (sum < x || withCarry < sum) ? 1UL : 0UL;
                    s[w] = withCarry | (s[w] & ~m[w]);
                }
            }

            // Zero bits within the first left.Length bits count the common subsequence.
            int zeros = 0;
            for (int w = 0; w < words; w++)
            {
                int bits = Math.Min(64, left.Length - w * 64);
                ulong valid = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
                zeros += BitOperations.PopCount(~s[w] & valid);
            }

            return prefix + suffix + zeros;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(slots);
            if (masks is not null)
            {
                ArrayPool<ulong>.Shared.Return(masks);
            }

            ArrayPool<ulong>.Shared.Return(row);
        }
    }

    private static int Find(char[] keys, int[] slots, int capacity, char c)
    {
        int slot = (c * 0x9E37) & (capacity - 1);
        while (slots[slot] >= 0 && keys[slot] != c)
        {
            slot = (slot + 1) & (capacity - 1);
        }

        return slot;
    }

    // FuzzySharp's default preprocessing: every character but a space and ASCII letters and digits becomes a space.
    // FuzzySharp sorts words with the current culture: the same comparer gives the same order.
    private static string SortedTokens(string text) => JoinSorted(Whitespace().Split(text)).Trim();

    private static string JoinSorted(IEnumerable<string> tokens) => string.Join(" ", tokens.Order(StringComparer.Ordinal));

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
