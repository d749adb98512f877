using System.Numerics;
using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Core.Tests;

/// <summary>
/// The fingerprints of runs of words against their definition, a polynomial of the words' hashes modulo 2^61 − 1 computed
/// with big integers: their values order passages, so every way of computing them (two words at a time, the runs in one
/// loop, a prepared query) must give exactly these.
/// </summary>
public sealed class WordSequenceHashesTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(33)]
    public void Of_EveryRun_IsThePolynomialOfItsWords(int words)
    {
        var random = new Random(words);
        Token[] tokens = [.. Enumerable.Range(0, words).Select(i => new Token(Hash(random, i), i, i + 1, i, i + 1))];
        WordSequenceHashes pooled = WordSequenceHashes.Of(tokens, pooled: true), owned = WordSequenceHashes.Of(tokens, pooled: false);
        for (int length = 1; length <= words; length++)
        {
            var runs = new ulong[words - length + 1];
            pooled.Runs(length, runs);
            for (int start = 0; start + length <= words; start++)
            {
                ulong expected = Reference(tokens.AsSpan(start, length));
                Assert.Equal(expected, pooled.Of(start, length));
                Assert.Equal(expected, owned.Of(start, length));
                Assert.Equal(expected, runs[start]);
            }
        }

        pooled.Return();
    }

    /// <summary>Word hashes of every size, with the extremes that reduce to 0 and to the modulus minus one.</summary>
    private static ulong Hash(Random random, int i) => (i % 5) switch
    {
        0 => WordSequenceHashes.Modulus,
        1 => WordSequenceHashes.Modulus - 1,
        2 => ulong.MaxValue - (ulong)i,
        _ => (ulong)random.NextInt64() * 2654435761UL,
    };

    private static ulong Reference(ReadOnlySpan<Token> run)
    {
        BigInteger modulus = WordSequenceHashes.Modulus, sum = BigInteger.Zero;
        foreach (Token token in run)
        {
            sum = ((sum * WordSequenceHashes.Base) + (token.Hash % modulus) + 1) % modulus;
        }

        return (ulong)sum;
    }
}
