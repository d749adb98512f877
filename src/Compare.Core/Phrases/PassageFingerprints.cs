using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// A text's passage fingerprints, by winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003, as MOSS does): every run of
/// <see cref="GramWords"/> normalised words is hashed to 32 bits, and in every window of <see cref="Window"/> consecutive
/// grams the smallest hash (the rightmost on ties) is kept. Two texts that share a run of at least
/// <see cref="GuaranteedWords"/> words share a window, and so at least one fingerprint, wherever the run stands in either
/// text: the guarantee a fingerprint index gives. About 2 / (Window + 1) fingerprints a word: 200 for a 500-word article.
/// Position-independent and seeded, so they are the same on every machine and process.
/// </summary>
public static class PassageFingerprints
{
    /// <summary>Words in a gram.</summary>
    public const int GramWords = 4;

    /// <summary>Grams in a window.</summary>
    public const int Window = 4;

    /// <summary>The shortest shared run of words that always shares a fingerprint: GramWords + Window − 1.</summary>
    public const int GuaranteedWords = GramWords + Window - 1;

    private const ulong Seed = 0x7061737361676573UL; // "passages"

    /// <summary>The distinct fingerprints of <paramref name="text"/> under <paramref name="normalization"/>, ascending.</summary>
    public static uint[] Of(ReadOnlySpan<char> text, NormalizationOptions normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        var words = new WordCollector(text.Length / 5, SharedPhraseFinder.Seed);
        Tokenizer.Run(text, normalization, SharedPhraseFinder.Seed, ref words);
        return words.ToFingerprints();
    }

    /// <summary>
    /// The distinct fingerprints of words tokenised by <see cref="SharedPhraseFinder.Tokenize"/> (whose word hashes they are
    /// made of, so a text compared word by word is tokenised once), ascending.
    /// </summary>
    public static uint[] Of(ReadOnlySpan<Token> words)
    {
        ulong[] hashes = ArrayPool<ulong>.Shared.Rent(words.Length);
        try
        {
            for (int i = 0; i < words.Length; i++)
            {
                hashes[i] = words[i].Hash;
            }

            return OfWordHashes(hashes.AsSpan(0, words.Length));
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(hashes);
        }
    }

    /// <summary>The distinct fingerprints of a text's word hashes (seeded with <see cref="SharedPhraseFinder.Seed"/>), ascending.</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static uint[] OfWordHashes(ReadOnlySpan<ulong> words)
    {
        int grams = words.Length - GramWords + 1;
        if (grams <= 0)
        {
            return [];
        }

        uint[] hashes = ArrayPool<uint>.Shared.Rent(grams);
        // The kept hashes, as the high halves of 64-bit keys: spread evenly, they sort in linear time by HashSort (a counting
        // pass and an insertion pass), where an introsort of them took as long as everything else here.
        ulong[] kept = ArrayPool<ulong>.Shared.Rent(grams);
        try
        {
            GramHashes(words, hashes.AsSpan(0, grams));
            // A text shorter than a window keeps its smallest gram: two such texts that are equal still meet.
            Span<uint> minima = WindowMinima(hashes.AsSpan(0, grams));
            // Neighbouring windows mostly share their minimum: kept once here (without a branch), and once at all below.
            int count = 0;
            uint previous = ~minima[0];
            foreach (uint minimum in minima)
            {
                kept[count] = (ulong)minimum << 32;
                count += minimum != previous ? 1 : 0;
                previous = minimum;
            }

            Debug.Assert(count > 0);
            Span<ulong> sorted = HashSort.SortDistinct(kept.AsSpan(0, count));
            var distinct = new uint[sorted.Length];
            for (int i = 0; i < distinct.Length; i++)
            {
                distinct[i] = (uint)(sorted[i] >> 32);
            }

            return distinct;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(kept);
            ArrayPool<uint>.Shared.Return(hashes);
        }
    }

    /// <summary>
    /// The minimum of each window of <see cref="Window"/> grams, in place: a window of 2w grams is the minimum of two of w,
    /// so log2(Window) passes of lane-wise minima, where a scan of each window branched on every comparison. With fewer
    /// grams than a window, the one window of them all.
    /// </summary>
    private static Span<uint> WindowMinima(Span<uint> grams)
    {
        Debug.Assert(BitOperations.IsPow2(Window) && grams.Length > 0);
        if (grams.Length < Window)
        {
            uint smallest = grams[0];
            foreach (uint gram in grams)
            {
                smallest = Math.Min(smallest, gram);
            }

            grams[0] = smallest;
            return grams[..1];
        }

        for (int width = 1; width < Window; width *= 2)
        {
            int windows = grams.Length - width;
            int i = 0;
            for (; i + Vector<uint>.Count <= windows; i += Vector<uint>.Count)
            {
                // Both loaded before the store: the second reads ahead of what this pass has written.
                var here = new Vector<uint>(grams[i..]);
                var next = new Vector<uint>(grams[(i + width)..]);
                Vector.Min(here, next).CopyTo(grams[i..]);
            }

            for (; i < windows; i++)
            {
                grams[i] = Math.Min(grams[i], grams[i + width]);
            }
        }

        return grams[..(grams.Length - Window + 1)];
    }

    /// <summary>
    /// Each gram's 32-bit hash: the high half of a chain of <see cref="Mix.Finalize(ulong)"/> over its words from <see cref="Seed"/>.
    /// Eight grams at a time, in one vector where 64-bit lanes multiply in one instruction (AVX-512 DQ), else in two of four:
    /// the chain's four finalisers are dependent within a gram and independent across grams.
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GramHashes(ReadOnlySpan<ulong> words, Span<uint> hashes)
    {
        Debug.Assert(hashes.Length == words.Length - GramWords + 1);
        int g = 0;
        if (Vector512.IsHardwareAccelerated && Avx512DQ.IsSupported)
        {
            ref ulong first = ref MemoryMarshal.GetReference(words);
            ref uint into = ref MemoryMarshal.GetReference(hashes);
            for (; g + Vector512<ulong>.Count <= hashes.Length; g += Vector512<ulong>.Count)
            {
                Vector512<ulong> h = Vector512.Create(Seed);
                for (int w = 0; w < GramWords; w++)
                {
                    // Lanes g..g+7 of word w of each gram: words g+w..g+w+7, all within the span since g+7 is a gram.
                    h = Mix.Finalize(h ^ Vector512.LoadUnsafe(ref first, (nuint)(g + w))) + Vector512.Create((ulong)w);
                }

                Avx512F.ConvertToVector256UInt32(Vector512.ShiftRightLogical(h, 32)).StoreUnsafe(ref into, (nuint)g);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            // Two vectors of four grams at once: each multiply is a chain of 32-bit products here, and two chains keep the
            // multiplier busy where one waited on itself (1.7 µs against 2.2 µs for a BBC article's 390 grams, 3.9 µs scalar).
            ref ulong first = ref MemoryMarshal.GetReference(words);
            ref uint into = ref MemoryMarshal.GetReference(hashes);
            for (; g + 2 * Vector256<ulong>.Count <= hashes.Length; g += 2 * Vector256<ulong>.Count)
            {
                Vector256<ulong> low = Vector256.Create(Seed), high = low;
                for (int w = 0; w < GramWords; w++)
                {
                    low = Mix.Finalize(low ^ Vector256.LoadUnsafe(ref first, (nuint)(g + w))) + Vector256.Create((ulong)w);
                    high = Mix.Finalize(high ^ Vector256.LoadUnsafe(ref first, (nuint)(g + Vector256<ulong>.Count + w))) + Vector256.Create((ulong)w);
                }

                Vector256.Narrow(Vector256.ShiftRightLogical(low, 32), Vector256.ShiftRightLogical(high, 32)).StoreUnsafe(ref into, (nuint)g);
            }
        }

        for (; g < hashes.Length; g++)
        {
            ulong h = Seed;
            for (int w = 0; w < GramWords; w++)
            {
                h = Mix.Finalize(h ^ words[g + w]) + (ulong)w;
            }

            hashes[g] = (uint)(h >> 32);
        }
    }

    /// <summary>
    /// Collects a text's word hashes for its fingerprints, also while another sink reads the same words (a document's
    /// shingles): the text is tokenised once. <paramref name="tokenizerSeed"/> is the seed the words are hashed with on
    /// the way in: the passages' own, and they are kept as they come, or another, and they are hashed again. Rents its
    /// buffer; <see cref="ToFingerprints"/> returns it.
    /// </summary>
    internal struct WordCollector(int capacity, ulong tokenizerSeed) : ITokenSink
    {
        private readonly bool _hashedAsNeeded = tokenizerSeed == SharedPhraseFinder.Seed;
        private ulong[] _hashes = ArrayPool<ulong>.Shared.Rent(Math.Max(16, capacity));
        private int _count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
        {
            if (_count == _hashes.Length)
            {
                _hashes = PooledArrays.Doubled(_hashes);
            }

            // The word's hash under the passages' own seed: what SharedPhraseFinder.Tokenize gives it. The tokenizer leaves
            // slack after every word (ITokenSink), so the branch-free hash serves: the general one mispredicted on word lengths.
            _hashes[_count++] = _hashedAsNeeded ? hash
                : WordHash.HashWithSlack(ref MemoryMarshal.GetReference(normalizedUtf8), normalizedUtf8.Length, SharedPhraseFinder.Seed);
        }

        /// <summary>The fingerprints of the words collected; returns the buffer.</summary>
        // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public uint[] ToFingerprints()
        {
            uint[] fingerprints = OfWordHashes(_hashes.AsSpan(0, _count));
            ArrayPool<ulong>.Shared.Return(_hashes);
            _hashes = [];
            return fingerprints;
        }
    }
}
