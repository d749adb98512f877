using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// Fingerprints of every run of words of one text in O(1) each: a polynomial hash of the word
/// hashes modulo the Mersenne prime 2^61 − 1, over prefix sums. Runs are found equal by their
/// fingerprints only where the words are compared too; the fingerprint groups and orders them.
/// The prefix sums are rented: <see cref="Return"/> gives them back.
/// </summary>
internal sealed class WordSequenceHashes
{
    private const ulong Modulus = (1UL << 61) - 1;
    private const ulong Base = 0x1d3f_84c5_09a2_7b61UL % Modulus; // fixed: fingerprints order passages, so they never change

    private static ulong[] s_powers = [1];

    private readonly ulong[] _prefix;
    private readonly ulong[] _powers;

    private WordSequenceHashes(ulong[] prefix, ulong[] powers)
    {
        _prefix = prefix;
        _powers = powers;
    }

    /// <summary>
    /// The fingerprints of two texts. Each prefix sum is one chain of dependent multiplications; the two
    /// chains advance in the same loop so that the processor overlaps them.
    /// </summary>
    public static (WordSequenceHashes A, WordSequenceHashes B) Of(Token[] a, Token[] b)
    {
        ulong[] powers = Powers(Math.Max(a.Length, b.Length));
        ulong[] prefixA = ArrayPool<ulong>.Shared.Rent(a.Length + 1), prefixB = ArrayPool<ulong>.Shared.Rent(b.Length + 1);
        prefixA[0] = prefixB[0] = 0;
        int both = Math.Min(a.Length, b.Length);
        for (int i = 0; i < both; i++)
        {
            prefixA[i + 1] = Extend(prefixA[i], a[i].Hash);
            prefixB[i + 1] = Extend(prefixB[i], b[i].Hash);
        }

        (Token[] longer, ulong[] prefix) = a.Length > both ? (a, prefixA) : (b, prefixB);
        for (int i = both; i < longer.Length; i++)
        {
            prefix[i + 1] = Extend(prefix[i], longer[i].Hash);
        }

        Debug.Assert(powers.Length > Math.Max(a.Length, b.Length));
        return (new WordSequenceHashes(prefixA, powers), new WordSequenceHashes(prefixB, powers));
    }

    /// <summary>
    /// The fingerprint of every run of <paramref name="length"/> words of <paramref name="tokens"/>, sorted: two texts share
    /// a run of that many words only if these share a value (and share one by chance once in about 2^61 pairs of runs).
    /// </summary>
    public static ulong[] SortedRuns(Token[] tokens, int length)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Length < length)
        {
            return [];
        }

        ulong[] powers = Powers(tokens.Length);
        ulong[] prefix = ArrayPool<ulong>.Shared.Rent(tokens.Length + 1);
        prefix[0] = 0;
        for (int i = 0; i < tokens.Length; i++)
        {
            prefix[i + 1] = Extend(prefix[i], tokens[i].Hash);
        }

        var hashes = new WordSequenceHashes(prefix, powers);
        ulong[] runs = GC.AllocateUninitializedArray<ulong>(tokens.Length - length + 1);
        for (int start = 0; start < runs.Length; start++)
        {
            runs[start] = hashes.Of(start, length);
        }

        hashes.Return();
        Hashing.HashSort.Sort(runs);
        return runs;
    }

    /// <summary>Whether two arrays from <see cref="SortedRuns"/> share a value.</summary>
    public static bool AnyShared(ReadOnlySpan<ulong> left, ReadOnlySpan<ulong> right)
    {
        for (int i = 0, j = 0; i < left.Length && j < right.Length;)
        {
            if (left[i] == right[j])
            {
                return true;
            }

            if (left[i] < right[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return false;
    }

    /// <summary>
    /// Powers of the base up to at least <paramref name="length"/>. Shared by every search and grown
    /// by doubling (a published array is never written again), so a pair of articles computes none.
    /// </summary>
    public static ulong[] Powers(int length)
    {
        ulong[] known = s_powers;
        if (known.Length > length)
        {
            return known;
        }

        var powers = new ulong[Math.Max(length + 1, 2 * known.Length)];
        known.CopyTo(powers, 0);
        for (int i = known.Length; i < powers.Length; i++)
        {
            powers[i] = MultiplyMod(powers[i - 1], Base);
        }

        Volatile.Write(ref s_powers, powers); // a race computes the same table twice, never a wrong one
        return powers;
    }

    /// <summary>Gives the prefix sums back to the pool: the fingerprints are not to be used after.</summary>
    public void Return() => ArrayPool<ulong>.Shared.Return(_prefix);

    /// <summary>The fingerprint of words [start, start + length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Of(int start, int length)
    {
        ulong high = _prefix[start + length], low = MultiplyMod(_prefix[start], _powers[length]);
        return high >= low ? high - low : high + Modulus - low;
    }

    /// <summary>The prefix sum of one more word: the words before it, shifted by the base, and its hash (never 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Extend(ulong prefix, ulong wordHash) => Add(MultiplyMod(prefix, Base), Reduce(wordHash) + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MultiplyMod(ulong a, ulong b)
    {
        // a, b < 2^61: the product's high word is below 2^58, so high·2^64 ≡ high·2^3 fits beside the low word's two parts.
        ulong high = Math.BigMul(a, b, out ulong low);
        ulong folded = (low & Modulus) + (low >> 61) + (high << 3);
        folded = (folded & Modulus) + (folded >> 61);
        return folded >= Modulus ? folded - Modulus : folded;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Add(ulong a, ulong b)
    {
        ulong sum = a + b; // both < 2^62: no overflow
        return sum >= Modulus ? sum - Modulus : sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Reduce(ulong value)
    {
        ulong folded = (value & Modulus) + (value >> 61);
        return folded >= Modulus ? folded - Modulus : folded;
    }
}
