using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Shingling;

/// <summary>Receives shingle hashes one at a time, in text order.</summary>
internal interface IShingleConsumer
{
    void Add(ulong shingle);
}

/// <summary>
/// Turns text into shingle hashes. Word shingles combine the k word hashes with a rolling
/// polynomial (one multiply-add per word, whatever k), then a seeded finaliser, so no shingle
/// string is ever built. A text with fewer than k words yields one shingle of all its words.
/// </summary>
public static class Shingler
{
    // An odd multiplier for the rolling polynomial over word hashes.
    private const ulong Base = 0x9E3779B97F4A7C15UL;

    /// <summary>
    /// Writes the shingle hashes of <paramref name="text"/>, in text order and with repeats, into
    /// <paramref name="buffer"/> and returns how many were written. When the buffer is too small it
    /// is replaced by a larger one rented from the shared array pool; the outgrown array is left to
    /// the caller's own array (never returned to the pool, since it may not have come from there).
    /// </summary>
    public static int Shingle(ReadOnlySpan<char> text, SketchParameters parameters, ref ulong[] buffer)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(buffer);
        if (parameters.Kind == ShingleKind.Character)
        {
            return CharacterShingles(text, parameters, ref buffer);
        }

        var none = default(NoSink);
        return ShingleWords(text, parameters, ref buffer, ref none);
    }

    /// <summary>
    /// Word shingles as <see cref="Shingle"/> writes them, while <paramref name="alsoReading"/> is given every word of the
    /// same pass (a document's passage fingerprints), so the text is tokenised once for both.
    /// </summary>
    internal static int ShingleWords<TSink>(ReadOnlySpan<char> text, SketchParameters parameters, ref ulong[] buffer, ref TSink alsoReading)
        where TSink : struct, ITokenSink
    {
        int words = WordHashes(text, parameters, ref buffer, ref alsoReading);
        var inPlace = new InPlace(buffer.AsSpan(0, words));
        return RollWordShingles(buffer.AsSpan(0, words), parameters.ShingleSize, parameters.Seed, ref inPlace);
    }

    /// <summary>
    /// Writes the hashes of the words of <paramref name="text"/> (word shingles' parameters) into <paramref name="buffer"/>
    /// as <see cref="Shingle"/> does its shingles, while <paramref name="alsoReading"/> reads the same words; returns how many.
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int WordHashes<TSink>(ReadOnlySpan<char> text, SketchParameters parameters, ref ulong[] buffer, ref TSink alsoReading)
        where TSink : struct, ITokenSink
    {
        Debug.Assert(parameters.Kind == ShingleKind.Word);
        var both = new SinkPair<WordHashSink, TSink>(new WordHashSink(buffer), alsoReading);
        Tokenizer.Run(text, parameters.Normalization, parameters.Seed, ref both);
        alsoReading = both.Second;
        buffer = both.First.Buffer;
        return both.First.Count;
    }

    /// <summary>
    /// Gives <paramref name="shingles"/> the hash of each shingle of <paramref name="size"/> words over the word hashes
    /// <paramref name="words"/>, in text order, and returns how many. Shingle j is given once word j has been read for the
    /// last time, so a consumer may write it where word j was. The words are collected first and rolled here, rather than
    /// rolled as the tokenizer finds them, so that the rolling state stays in registers: kept in the tokenizer's sink, it
    /// made every word a load and a store on one chain of dependent multiplications.
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int RollWordShingles<TShingles>(ReadOnlySpan<ulong> words, int size, ulong seed, ref TShingles shingles)
        where TShingles : IShingleConsumer, allows ref struct
    {
        if (words.IsEmpty)
        {
            return 0;
        }

        if (words.Length < size)
        {
            // Fewer words than a shingle: one shingle of all of them.
            ulong all = 0;
            foreach (ulong word in words)
            {
                all = (all * Base) + word;
            }

            shingles.Add(Mix.Finalize(all ^ seed));
            return 1;
        }

        ulong topPower = Power(Base, size - 1);
        ulong rolling = 0;
        for (int i = 0; i < size; i++)
        {
            rolling = (rolling * Base) + words[i];
        }

        // Word j - 1 leaves the window as word j + size - 1 enters.
        int count = words.Length - size + 1;
        ulong leaving = words[0];
        shingles.Add(Mix.Finalize(rolling ^ seed));
        for (int j = 1; j < count; j++)
        {
            rolling = ((rolling - (leaving * topPower)) * Base) + words[j + size - 1];
            leaving = words[j];
            shingles.Add(Mix.Finalize(rolling ^ seed));
        }

        return count;
    }

    /// <summary>Shingle j written where word j was.</summary>
    private ref struct InPlace(Span<ulong> words) : IShingleConsumer
    {
        private readonly Span<ulong> _words = words;
        private int _count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(ulong shingle) => _words[_count++] = shingle;
    }

    /// <summary>Returns the distinct shingle hashes of <paramref name="text"/>, sorted ascending.</summary>
    public static ulong[] ShingleSet(ReadOnlySpan<char> text, SketchParameters parameters)
    {
        ulong[] buffer = ArrayPool<ulong>.Shared.Rent(Math.Max(16, text.Length / 5));
        try
        {
            int count = Shingle(text, parameters, ref buffer);
            Span<ulong> set = ToSet(buffer.AsSpan(0, count));
            // Filled at once below: zeroing it first was a fifth of reading back the documents of candidate pairs.
            ulong[] result = GC.AllocateUninitializedArray<ulong>(set.Length);
            set.CopyTo(result);
            return result;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(buffer);
        }
    }

    /// <summary>Sorts <paramref name="shingles"/> in place and returns the prefix holding each value once.</summary>
    public static Span<ulong> ToSet(Span<ulong> shingles) => HashSort.SortDistinct(shingles);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Power(ulong value, int exponent)
    {
        ulong result = 1;
        for (int i = 0; i < exponent; i++)
        {
            result *= value;
        }

        return result;
    }

    private static int CharacterShingles(ReadOnlySpan<char> text, SketchParameters parameters, ref ulong[] buffer)
    {
        string normalized = Tokenizer.NormalizedText(text, parameters.Normalization);
        int k = parameters.ShingleSize;
        ulong topPower = Power(Base, k - 1);
        ulong seed = parameters.Seed;
        Span<ulong> window = stackalloc ulong[k];
        ulong rolling = 0;
        int count = 0, seen = 0;
        foreach (Rune rune in normalized.EnumerateRunes())
        {
            ulong value = Mix.Finalize((ulong)rune.Value ^ seed);
            int slot = seen % k;
            if (seen >= k)
            {
                rolling -= window[slot] * topPower;
            }

            rolling = (rolling * Base) + value;
            window[slot] = value;
            seen++;
            if (seen >= k)
            {
                Append(ref buffer, ref count, Mix.Finalize(rolling ^ seed));
            }
        }

        if (seen is > 0 && seen < k)
        {
            Append(ref buffer, ref count, Mix.Finalize(rolling ^ seed));
        }

        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Append(ref ulong[] buffer, ref int count, ulong value)
    {
        if (count == buffer.Length)
        {
            buffer = Grow(buffer);
        }

        buffer[count++] = value;
    }

    // Takes and returns the array, not a reference to it: a reference would pin the caller's sink to memory.
    private static ulong[] Grow(ulong[] buffer)
    {
        ulong[] larger = ArrayPool<ulong>.Shared.Rent(Math.Max(16, buffer.Length * 2));
        buffer.AsSpan().CopyTo(larger);
        return larger;
    }

    /// <summary>Collects a text's word hashes, in order.</summary>
    private struct WordHashSink(ulong[] buffer) : ITokenSink
    {
        public ulong[] Buffer = buffer;
        public int Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd) =>
            Append(ref Buffer, ref Count, hash);
    }
}
