using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Shingling;

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
        Debug.Assert(parameters.Kind == ShingleKind.Word);
        var both = new SinkPair<WordShingleSink, TSink>(new WordShingleSink(parameters.ShingleSize, parameters.Seed, buffer), alsoReading);
        Tokenizer.Run(text, parameters.Normalization, parameters.Seed, ref both);
        both.First.Finish();
        alsoReading = both.Second;
        buffer = both.First.Buffer;
        return both.First.Count;
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
    public static Span<ulong> ToSet(Span<ulong> shingles)
    {
        if (shingles.Length < 2)
        {
            return shingles;
        }

        HashSort.Sort(shingles);
        int write = 1;
        for (int read = 1; read < shingles.Length; read++)
        {
            if (shingles[read] != shingles[write - 1])
            {
                shingles[write++] = shingles[read];
            }
        }

        return shingles[..write];
    }

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
            Grow(ref buffer);
        }

        buffer[count++] = value;
    }

    private static void Grow(ref ulong[] buffer)
    {
        ulong[] larger = ArrayPool<ulong>.Shared.Rent(Math.Max(16, buffer.Length * 2));
        buffer.AsSpan().CopyTo(larger);
        buffer = larger;
    }

    private struct WordShingleSink : ITokenSink
    {
        private readonly int _size;
        private readonly ulong _seed;
        private readonly ulong _topPower;
        private WindowOfWords _window;
        private ulong _rolling;
        private int _words;
        private int _slot;

        public WordShingleSink(int size, ulong seed, ulong[] buffer)
        {
            _size = size;
            _seed = seed;
            _topPower = Power(Base, size - 1);
            Buffer = buffer;
        }

        public ulong[] Buffer;
        public int Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
        {
            Span<ulong> window = _window;
            if (_words >= _size)
            {
                _rolling -= window[_slot] * _topPower;
            }

            _rolling = (_rolling * Base) + hash;
            window[_slot] = hash;
            _slot = _slot + 1 == _size ? 0 : _slot + 1;
            _words++;
            if (_words >= _size)
            {
                Append(ref Buffer, ref Count, Mix.Finalize(_rolling ^ _seed));
            }
        }

        public void Finish()
        {
            if (_words is > 0 && _words < _size)
            {
                Append(ref Buffer, ref Count, Mix.Finalize(_rolling ^ _seed));
            }
        }
    }

    [InlineArray(SketchParameters.MaxShingleSize)]
    private struct WindowOfWords
    {
        private ulong _element;
    }
}
