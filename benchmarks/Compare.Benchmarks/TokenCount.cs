using Compare.Core.Text;

namespace Compare.Benchmarks;

/// <summary>
/// A token sink that only counts and folds the hashes together: the cost of finding, normalising and hashing words, nothing
/// after. The hashes are used so that the JIT cannot drop their computation.
/// </summary>
internal struct TokenCount : ITokenSink
{
    public int Count;
    public ulong Hashes;

    public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
    {
        Count++;
        Hashes ^= hash;
    }

    /// <summary>The words of <paramref name="text"/>, found the way <paramref name="blocks"/> says.</summary>
    public static int Words(string text, AsciiBlocks blocks)
    {
        var count = new TokenCount();
        Tokenizer.Run(text, NormalizationOptions.Default, 1, ref count, blocks);
        return count.Count ^ (int)count.Hashes;
    }
}
