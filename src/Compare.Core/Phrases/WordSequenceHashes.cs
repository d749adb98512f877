using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// Fingerprints of every run of words of one text in O(1) each: a polynomial hash of the word
/// hashes modulo the Mersenne prime 2^61 − 1, over prefix sums. Runs are found equal by their
/// fingerprints only where the words are compared too; the fingerprint groups and orders them.
/// Rented prefix sums go back to the pool by <see cref="Return"/>.
/// </summary>
internal sealed class WordSequenceHashes
{
    internal const ulong Modulus = (1UL << 61) - 1;
    internal const ulong Base = 0x1d3f_84c5_09a2_7b61UL % Modulus; // fixed: fingerprints order passages, so they never change

    private static ulong[] s_powers = [1];

    private readonly ulong[] _prefix;
    private readonly ulong[] _powers;
    private readonly bool _pooled;

    private WordSequenceHashes(ulong[] prefix, ulong[] powers, bool pooled)
    {
        _prefix = prefix;
        _powers = powers;
        _pooled = pooled;
    }

    /// <summary>
    /// The fingerprints of one text's runs. <paramref name="pooled"/>: the prefix sums are rented, and <see cref="Return"/>
    /// gives them back; otherwise they are the garbage collector's (fingerprints shared by searches on several threads).
    /// </summary>
    public static WordSequenceHashes Of(Token[] tokens, bool pooled)
    {
        ulong[] powers = Powers(tokens.Length);
        ulong[] prefix = pooled ? ArrayPool<ulong>.Shared.Rent(tokens.Length + 1) : GC.AllocateUninitializedArray<ulong>(tokens.Length + 1);
        FillPrefixSums(tokens, prefix.AsSpan(0, tokens.Length + 1));
        return new WordSequenceHashes(prefix, powers, pooled);
    }

    /// <summary>
    /// The fingerprint of every run of <paramref name="length"/> words of <paramref name="tokens"/>, sorted: two texts share
    /// a run of that many words only if these share a value (and share one by chance once in about 2^61 pairs of runs).
    /// </summary>
    public static ulong[] SortedRuns(Token[] tokens, int length)
    {
        ulong[] runs = RunsInOrder(tokens, length);
        Hashing.HashSort.Sort(runs);
        return runs;
    }

    /// <summary><see cref="SortedRuns"/> with where each run starts among <paramref name="tokens"/>, sorted along.</summary>
    public static (ulong[] Runs, int[] Starts) SortedRunsWithStarts(Token[] tokens, int length)
    {
        ulong[] runs = RunsInOrder(tokens, length);
        int[] starts = [.. Enumerable.Range(0, runs.Length)];
        Hashing.HashSort.Sort(runs, starts);
        return (runs, starts);
    }

    // The fingerprint of every run of length words, in the order the runs start.
    private static ulong[] RunsInOrder(Token[] tokens, int length)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Length < length)
        {
            return [];
        }

        WordSequenceHashes hashes = Of(tokens, pooled: true);
        ulong[] runs = GC.AllocateUninitializedArray<ulong>(tokens.Length - length + 1);
        hashes.Runs(length, runs);
        hashes.Return();
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

    /// <summary>Gives rented prefix sums back to the pool: the fingerprints are not to be used after.</summary>
    public void Return()
    {
        if (_pooled)
        {
            ArrayPool<ulong>.Shared.Return(_prefix);
        }
    }

    /// <summary>The fingerprint of words [start, start + length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Of(int start, int length) => Run(_prefix[start], _prefix[start + length], _powers[length]);

    /// <summary>A run's fingerprint from the prefix sums before and after it and the base to the power of its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Run(ulong before, ulong after, ulong power) => WrapBelowZero(after - MultiplyMod(before, power));

    /// <summary>
    /// The fingerprints of the runs of <paramref name="length"/> words from each of the first <paramref name="destination"/>.Length
    /// words: each is <see cref="Of(int, int)"/>, in a loop whose iterations do not wait on each other.
    /// </summary>
    public void Runs(int length, Span<ulong> destination)
    {
        Debug.Assert(length >= 1 && length < _powers.Length);
        ReadOnlySpan<ulong> prefix = _prefix.AsSpan(0, destination.Length + length);
        ulong power = _powers[length];
        for (int start = 0; start < destination.Length; start++)
        {
            destination[start] = Run(prefix[start], prefix[start + length], power);
        }
    }

    /// <summary>
    /// prefix[i]: the fingerprint of the first i words. Each sum extends the one before, a chain of dependent multiplications;
    /// two words at a time (P[i + 2] = P[i]·B² + (w[i]·B + w[i + 1])), the chain has one multiplication every two words, and
    /// the rest overlaps it. The same values as one word at a time: every step is exact modular arithmetic.
    /// </summary>
    private static void FillPrefixSums(Token[] tokens, Span<ulong> prefix)
    {
        Debug.Assert(prefix.Length == tokens.Length + 1);
        ulong baseSquared = MultiplyMod(Base, Base), sum = 0; // the sum stays in a register: the chain does not wait on a reload
        prefix[0] = 0;
        int i = 0;
        for (; i + 1 < tokens.Length; i += 2)
        {
            ulong first = Word(tokens[i].Hash), pair = Add(MultiplyMod(first, Base), Word(tokens[i + 1].Hash));
            prefix[i + 1] = Add(MultiplyMod(sum, Base), first);
            prefix[i + 2] = sum = Add(MultiplyMod(sum, baseSquared), pair);
        }

        if (i < tokens.Length)
        {
            prefix[i + 1] = Extend(sum, tokens[i].Hash);
        }
    }

    /// <summary>The prefix sum of one more word: the words before it, shifted by the base, and its hash (never 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Extend(ulong prefix, ulong wordHash) => Add(MultiplyMod(prefix, Base), Word(wordHash));

    /// <summary>A word's term in the polynomial: its hash reduced, plus one (a word is never 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Word(ulong wordHash) => Reduce(wordHash) + 1;

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
        return WrapBelowZero(a + b - Modulus); // both below the modulus: no overflow
    }

    /// <summary>
    /// x mod the modulus for x in (-modulus, modulus), as two's complement: without a branch, which would go either way as
    /// often as not and be mispredicted half the time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WrapBelowZero(ulong value) => value + (Modulus & (ulong)((long)value >> 63));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Reduce(ulong value)
    {
        ulong folded = (value & Modulus) + (value >> 61);
        return folded >= Modulus ? folded - Modulus : folded;
    }
}
