using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// Fingerprints of every run of words of one text in O(1) each: a polynomial hash of the word
/// hashes modulo the Mersenne prime 2^61 − 1, over prefix sums. Runs are found equal by their
/// fingerprints only where the words are compared too; the fingerprint groups and orders them.
/// </summary>
internal sealed class WordSequenceHashes
{
    private const ulong Modulus = (1UL << 61) - 1;
    private const ulong Base = 0x1d3f_84c5_09a2_7b61UL % Modulus; // fixed: fingerprints order passages, so they never change

    private static ulong[] s_powers = [1];

    private readonly ulong[] _prefix;
    private readonly ulong[] _powers;

    public WordSequenceHashes(Token[] tokens, ulong[] powers)
    {
        Debug.Assert(powers.Length > tokens.Length);
        _powers = powers;
        _prefix = new ulong[tokens.Length + 1];
        for (int i = 0; i < tokens.Length; i++)
        {
            _prefix[i + 1] = Add(MultiplyMod(_prefix[i], Base), Reduce(tokens[i].Hash) + 1);
        }
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

    /// <summary>The fingerprint of words [start, start + length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Of(int start, int length)
    {
        ulong high = _prefix[start + length], low = MultiplyMod(_prefix[start], _powers[length]);
        return high >= low ? high - low : high + Modulus - low;
    }

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
