using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;

namespace Compare.Benchmarks;

/// <summary>
/// The same-run baseline: MinHash the way datasketch computes it, in C#: regex words, shingle
/// strings joined with spaces, one hash per shingle, then 128 (a·h + b) mod p permutations each
/// on a scalar loop. Compare's figures are reported as ratios against this.
/// </summary>
internal static partial class NaiveMinHash
{
    private const ulong MersennePrime = (1UL << 61) - 1;
    private static readonly (ulong A, ulong B)[] Permutations = [.. Enumerable.Range(0, 128).Select(i => ((ulong)(i * 7919 + 1) % MersennePrime, (ulong)(i * 104729) % MersennePrime))];

    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();

    public static uint[] Sign(string text)
    {
        string[] words = [.. Word().Matches(text.ToLowerInvariant()).Select(m => m.Value)];
        var signature = new uint[128];
        Array.Fill(signature, uint.MaxValue);
        for (int i = 0; i + 5 <= words.Length; i++)
        {
            ulong h = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(string.Join(' ', words, i, 5))) & 0xFFFFFFFF;
            for (int p = 0; p < Permutations.Length; p++)
            {
                uint value = (uint)(((UInt128)Permutations[p].A * h + Permutations[p].B) % MersennePrime);
                signature[p] = Math.Min(signature[p], value);
            }
        }

        return signature;
    }
}
