using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Shingling;

/// <summary>
/// Turns text into shingle hashes. A word shingle is the polynomial of its k word hashes (mod 2^64), then a seeded
/// finaliser, so no shingle string is ever built: made eight at a time in vectors where the hardware multiplies 64-bit
/// lanes, by a rolling polynomial elsewhere (the same values). A text with fewer than k words yields one shingle of all
/// its words.
/// </summary>
public static class Shingler
{
    // An odd multiplier for the polynomial over word hashes.
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
        return RollWordShingles(buffer.AsSpan(0, words), parameters.ShingleSize, parameters.Seed);
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
    /// Replaces the word hashes <paramref name="words"/> with the hashes of their shingles of <paramref name="size"/> words,
    /// shingle j where word j was, and returns how many. Shingle j is the polynomial
    /// word[j]·B^(size-1) + … + word[j+size-1] (mod 2^64), finalised with the seed. The words are collected first and
    /// combined here, rather than as the tokenizer finds them, so that no state lives in the tokenizer's sink.
    /// </summary>
    internal static int RollWordShingles(Span<ulong> words, int size, ulong seed) =>
        RollWordShingles(words, size, seed, Vector512.IsHardwareAccelerated);

    /// <summary>
    /// <see cref="RollWordShingles(Span{ulong}, int, ulong)"/>, with eight shingles at a time in vectors or none: the tests hold
    /// the vectors to the scalar loop.
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int RollWordShingles(Span<ulong> words, int size, ulong seed, bool vectors)
    {
        Debug.Assert(size >= 1);
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

            words[0] = Mix.Finalize(all ^ seed);
            return 1;
        }

        int count = words.Length - size + 1;
        int j = vectors && Vector512.IsHardwareAccelerated ? RollEightAtATime(words, count, size, seed) : 0;
        if (j == count)
        {
            return count;
        }

        // A rolling polynomial for the rest: word j - 1 leaves the window as word j + size - 1 enters.
        ulong topPower = Power(Base, size - 1);
        ulong rolling = 0;
        for (int i = 0; i < size; i++)
        {
            rolling = (rolling * Base) + words[j + i];
        }

        ulong leaving = words[j];
        words[j] = Mix.Finalize(rolling ^ seed);
        for (j++; j < count; j++)
        {
            rolling = ((rolling - (leaving * topPower)) * Base) + words[j + size - 1];
            leaving = words[j];
            words[j] = Mix.Finalize(rolling ^ seed);
        }

        return count;
    }

    /// <summary>
    /// The first shingles, eight at a time, each by Horner's rule over its own words with AVX-512's 64-bit multiply. The
    /// rolling polynomial is one chain of dependent multiplications, about five cycles a shingle; eight independent Horner
    /// chains in a vector cost less than one. Returns how many it made; the rest are left to the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RollEightAtATime(Span<ulong> words, int count, int size, ulong seed)
    {
        Debug.Assert(count == words.Length - size + 1);
        ref ulong first = ref MemoryMarshal.GetReference(words);
        var seeds = Vector512.Create(seed);
        int j = 0;
        // Shingle j + 7 reads up to word j + 7 + size - 1, the last there is. The eight written all lie before the next
        // eight's first word, so writing in place loses nothing still to be read.
        for (; j + Vector512<ulong>.Count <= count; j += Vector512<ulong>.Count)
        {
            Vector512<ulong> polynomial = Vector512.LoadUnsafe(ref first, (nuint)j);
            for (int i = 1; i < size; i++)
            {
                polynomial = (polynomial * Base) + Vector512.LoadUnsafe(ref first, (nuint)(j + i));
            }

            Mix.Finalize(polynomial ^ seeds).StoreUnsafe(ref first, (nuint)j);
        }

        return j;
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
