using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using Compare.Core.Hashing;

namespace Compare.Core.Text;

/// <summary>
/// A normalised word of a text. <see cref="Start"/>/<see cref="End"/> index the original string in
/// UTF-16 code units (for slicing .NET strings); <see cref="CodePointStart"/>/<see cref="CodePointEnd"/>
/// index it in Unicode code points, the unit of every offset Compare returns.
/// </summary>
/// <param name="Hash">Seeded 64-bit hash of the normalised word's UTF-8 bytes.</param>
/// <param name="Start">First UTF-16 index of the word in the original text.</param>
/// <param name="End">UTF-16 index after the word.</param>
/// <param name="CodePointStart">First code point index of the word.</param>
/// <param name="CodePointEnd">Code point index after the word.</param>
public readonly record struct Token(ulong Hash, int Start, int End, int CodePointStart, int CodePointEnd);

/// <summary>How the tokenizer takes runs of ASCII: one character at a time (the reference), or 64 at a time with or without vectors.</summary>
internal enum AsciiBlocks
{
    None,
    Scalar,
    Vector256,
}

/// <summary>
/// Receives the words of a text in order; implemented by structs so the tokenizer loop is specialised per sink. Every word's
/// bytes are followed by at least <see cref="Tokenizer.WordSlack"/> readable bytes, so a sink can hash them again with
/// <see cref="Hashing.WordHash.HashWithSlack"/>.
/// </summary>
internal interface ITokenSink
{
    void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd);
}

/// <summary>A sink that keeps nothing.</summary>
internal struct NoSink : ITokenSink
{
    public readonly void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
    {
    }
}

/// <summary>Two sinks reading one pass over a text's words, the first and then the second.</summary>
internal struct SinkPair<TFirst, TSecond>(TFirst first, TSecond second) : ITokenSink
    where TFirst : struct, ITokenSink
    where TSecond : struct, ITokenSink
{
    public TFirst First = first;
    public TSecond Second = second;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
    {
        First.OnToken(hash, normalizedUtf8, start, end, codePointStart, codePointEnd);
        Second.OnToken(hash, normalizedUtf8, start, end, codePointStart, codePointEnd);
    }
}

/// <summary>
/// Splits text into normalised words: Unicode NFKC, case folding, words made of Unicode letters,
/// marks and numbers, optional digit and diacritic folding, and character bigrams for scripts
/// written without spaces. ASCII words take a table-driven fast path that never allocates;
/// words with other characters are normalised one word at a time.
/// </summary>
public static class Tokenizer
{
    private const byte Separator = 0;
    private const int AsciiBlockLength = 64;
    internal const int WordSlack = 16;

    // For each ASCII char: 0 for a separator, otherwise the byte the normalised word holds.
    private static readonly byte[] AsciiMap = BuildAsciiMap(foldDigits: false);
    private static readonly byte[] AsciiMapFoldedDigits = BuildAsciiMap(foldDigits: true);

    /// <summary>Returns the words of <paramref name="text"/> with their offsets.</summary>
    public static Token[] Tokenize(string text, NormalizationOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Tokenize(text.AsSpan(), options, seed);
    }

    /// <inheritdoc cref="Tokenize(string, NormalizationOptions, ulong)"/>
    public static Token[] Tokenize(ReadOnlySpan<char> text, NormalizationOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sink = new TokenCollector(Math.Max(4, text.Length / 6));
        Run(text, options, seed, ref sink);
        return sink.ToArrayAndReturn();
    }

    /// <summary>Returns the normalised form of each word, joined by single spaces (for display and char shingles).</summary>
    public static string NormalizedText(ReadOnlySpan<char> text, NormalizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sink = new NormalizedTextCollector(new StringBuilder(text.Length));
        Run(text, options, 0, ref sink);
        return sink.Builder.ToString();
    }

    internal static void Run<TSink>(ReadOnlySpan<char> text, NormalizationOptions options, ulong seed, ref TSink sink)
        where TSink : struct, ITokenSink => Run(text, options, seed, ref sink, BestBlocks);

    /// <summary>The loop below, compiled for the way it takes ASCII blocks: chosen once a text, never inside the loop.</summary>
    internal static void Run<TSink>(ReadOnlySpan<char> text, NormalizationOptions options, ulong seed, ref TSink sink, AsciiBlocks blocks)
        where TSink : struct, ITokenSink
    {
        switch (blocks)
        {
            case AsciiBlocks.None:
                Run<TSink, NoBlocks>(text, options, seed, ref sink);
                break;
            case AsciiBlocks.Scalar:
                Run<TSink, ScalarBlocks>(text, options, seed, ref sink);
                break;
            default:
                Run<TSink, Vector256Blocks>(text, options, seed, ref sink);
                break;
        }
    }

    /// <summary>
    /// How the loop takes ASCII blocks, as a type: each kind compiles a copy of the loop with its branches decided. Given as a
    /// value, the choice stayed in the loop wherever the compiler had no profile to lean on: the JIT without its tiers signed
    /// BBC in 16.7 ms a core, against 9.2 ms with them (and 9.7-10.4 ms without them now).
    /// </summary>
    private interface IAsciiBlockKind
    {
        static abstract AsciiBlocks Kind { get; }
    }

    private struct NoBlocks : IAsciiBlockKind
    {
        public static AsciiBlocks Kind => AsciiBlocks.None;
    }

    private struct ScalarBlocks : IAsciiBlockKind
    {
        public static AsciiBlocks Kind => AsciiBlocks.Scalar;
    }

    private struct Vector256Blocks : IAsciiBlockKind
    {
        public static AsciiBlocks Kind => AsciiBlocks.Vector256;
    }

    /// <summary>
    /// Vector256 where the machine has it. A Vector512 fold of the block measured no faster here (AVX-512 on this
    /// AMD EPYC: 3.9 against 3.3 µs an article, docs/BENCHMARKS.md), so there is none.
    /// </summary>
    internal static AsciiBlocks BestBlocks { get; } = Vector256.IsHardwareAccelerated ? AsciiBlocks.Vector256 : AsciiBlocks.Scalar;

    /// <summary>
    /// The tokenizer's loop. Each ASCII letter or digit of a word leaves its normalised byte at its own index of one
    /// buffer, so a word's bytes are contiguous whichever way they were found and are hashed whole at its end. With blocks
    /// (<typeparamref name="TBlocks"/>), 64 characters that are all ASCII are taken at once: classified and folded (with
    /// vectors where the hardware has them), their words' starts and ends read off two bit masks. Any other block goes
    /// through the character loop, which is also the reference the tests hold the blocks to (<see cref="AsciiBlocks.None"/>).
    /// </summary>
    // Not marked AggressiveOptimization, unlike the other ingest kernels: where methods with loops are tiered, its profile
    // is worth 5-10 %. The server compiles loops optimised at first call (TieredCompilationQuickJitForLoops false), which
    // cost it that profile but left FindSharedPassages no slower overall (docs/ARCHITECTURE.md, "Tiered compilation").
    private static void Run<TSink, TBlocks>(ReadOnlySpan<char> text, NormalizationOptions options, ulong seed, ref TSink sink)
        where TSink : struct, ITokenSink
        where TBlocks : struct, IAsciiBlockKind
    {
        AsciiBlocks blocks = TBlocks.Kind;
        ref byte map = ref MemoryMarshal.GetArrayDataReference(options.FoldDigits ? AsciiMapFoldedDigits : AsciiMap);
        // Sixteen bytes of slack: a word's lanes are read whole and masked (WordHash.HashWithSlack).
        byte[] rented = ArrayPool<byte>.Shared.Rent(text.Length + WordSlack);
        Span<byte> bytes = rented;
        var word = new WordState();
        int surrogatePairs = 0; // pairs before i: code point index = i - surrogatePairs
        int i = 0;
        int nextBlock = blocks == AsciiBlocks.None ? int.MaxValue : 0; // where a block may be tried again
        while (i < text.Length)
        {
            if (i >= nextBlock && i + AsciiBlockLength <= text.Length)
            {
                i = RunAsciiBlocks<TSink, TBlocks>(text, bytes, i, surrogatePairs, ref word, options, seed, ref sink);
                if (i + AsciiBlockLength <= text.Length)
                {
                    // Every block that starts before the first non-ASCII character holds it too: the character loop takes
                    // the text up to and past it before another block is tried, rather than trying one at each character.
                    nextBlock = i + text.Slice(i, AsciiBlockLength).IndexOfAnyExceptInRange('\0', '\u007F') + 1;
                }

                continue;
            }

            char c = text[i];
            if (c < 128)
            {
                byte mapped = Unsafe.Add(ref map, c);
                if (mapped != Separator)
                {
                    word.Begin(i, surrogatePairs);
                    bytes[i] = mapped;
                }
                else if (word.Start >= 0)
                {
                    word.End(text, bytes, i, i - surrogatePairs, options, seed, ref sink);
                }

                i++;
                continue;
            }

            int codePoint = ReadCodePoint(text, i, out int width);
            CharClass kind = Classify(codePoint);
            if ((kind is CharClass.Word) || (kind is CharClass.Ignorable && word.Start >= 0))
            {
                word.Begin(i, surrogatePairs);
                word.Slow = true;
            }
            else if (word.Start >= 0)
            {
                word.End(text, bytes, i, i - surrogatePairs, options, seed, ref sink);
            }

            if (kind == CharClass.Cjk)
            {
                i = RunCjk(text, i, ref surrogatePairs, options, seed, ref sink);
                continue;
            }

            i += width;
            surrogatePairs += width - 1;
        }

        if (word.Start >= 0)
        {
            word.End(text, bytes, text.Length, text.Length - surrogatePairs, options, seed, ref sink);
        }

        ArrayPool<byte>.Shared.Return(rented);
    }

    /// <summary>
    /// The blocks from <paramref name="at"/> on while each is all ASCII; returns where they stop. A loop of its own, out of
    /// line: inside the character loop's method its blocks were laid out among that loop's paths, and without a profile to
    /// order them (the native CLI's code, or the server's, which compiles loops optimised at once) signing was slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int RunAsciiBlocks<TSink, TBlocks>(ReadOnlySpan<char> text, Span<byte> bytes, int at, int surrogatePairs, ref WordState word,
        NormalizationOptions options, ulong seed, ref TSink sink)
        where TSink : struct, ITokenSink
        where TBlocks : struct, IAsciiBlockKind
    {
        bool foldDigits = options.FoldDigits;
        while (at + AsciiBlockLength <= text.Length
            && TryFoldAsciiBlock(text.Slice(at, AsciiBlockLength), bytes.Slice(at, AsciiBlockLength), foldDigits, TBlocks.Kind, out ulong words))
        {
            RunAsciiBlock(text, bytes, at, words, surrogatePairs, ref word, options, seed, ref sink);
            at += AsciiBlockLength;
        }

        return at;
    }

    /// <summary>
    /// When all 64 <paramref name="chars"/> are ASCII: writes each one's folded byte (lower case; a digit as '0' when
    /// folding digits) to <paramref name="bytes"/> and sets bit k of <paramref name="words"/> for each letter or digit.
    /// Separators get a byte too, which no word reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFoldAsciiBlock(ReadOnlySpan<char> chars, Span<byte> bytes, bool foldDigits, AsciiBlocks blocks, out ulong words)
    {
        Debug.Assert(chars.Length == AsciiBlockLength && bytes.Length >= AsciiBlockLength);
        ref ushort source = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(chars));
        ref byte target = ref MemoryMarshal.GetReference(bytes);
        words = 0;
        if (blocks == AsciiBlocks.Vector256 && Vector256.IsHardwareAccelerated)
        {
            for (int k = 0; k < AsciiBlockLength; k += 2 * Vector256<ushort>.Count)
            {
                Vector256<ushort> low = Vector256.LoadUnsafe(ref source, (nuint)k);
                Vector256<ushort> high = Vector256.LoadUnsafe(ref source, (nuint)(k + Vector256<ushort>.Count));
                if (((low | high) & Vector256.Create((ushort)0xFF80)) != Vector256<ushort>.Zero)
                {
                    return false;
                }

                // c | 0x20 lowers ASCII letters and leaves digits as they are; the range checks are unsigned.
                Vector256<byte> narrow = Vector256.Narrow(low, high);
                Vector256<byte> lower = narrow | Vector256.Create((byte)0x20);
                Vector256<byte> digit = Vector256.LessThan(narrow - Vector256.Create((byte)'0'), Vector256.Create((byte)10));
                Vector256<byte> letterOrDigit = Vector256.LessThan(lower - Vector256.Create((byte)'a'), Vector256.Create((byte)26)) | digit;
                (foldDigits ? Vector256.ConditionalSelect(digit, Vector256.Create((byte)'0'), lower) : lower).StoreUnsafe(ref target, (nuint)k);
                words |= (ulong)letterOrDigit.ExtractMostSignificantBits() << k;
            }

            return true;
        }

        ref byte map = ref MemoryMarshal.GetArrayDataReference(foldDigits ? AsciiMapFoldedDigits : AsciiMap);
        for (int k = 0; k < AsciiBlockLength; k++)
        {
            char c = chars[k];
            if (c >= 128)
            {
                return false;
            }

            byte mapped = Unsafe.Add(ref map, c);
            Unsafe.Add(ref target, k) = mapped;
            words |= (mapped != Separator ? 1UL : 0) << k;
        }

        return true;
    }

    /// <summary>
    /// The words of 64 ASCII characters at <paramref name="at"/>, whose folded bytes are already in place: bit k of
    /// <paramref name="words"/> is set when character k is a letter or digit. A word open before the block continues
    /// into it; one still open at its end continues after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunAsciiBlock<TSink>(ReadOnlySpan<char> text, Span<byte> bytes, int at, ulong words, int surrogatePairs, ref WordState word,
        NormalizationOptions options, ulong seed, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        ulong before = (words << 1) | (word.Start >= 0 ? 1UL : 0);
        ulong starts = words & ~before;
        ulong ends = ~words & before;
        if (word.Start >= 0)
        {
            // The word open before the block (perhaps not ASCII) ends at its first end, if it has one.
            if (ends == 0)
            {
                return;
            }

            int end = at + BitOperations.TrailingZeroCount(ends);
            ends &= ends - 1;
            word.End(text, bytes, end, end - surrogatePairs, options, seed, ref sink);
        }

        // From here starts and ends alternate, a start first; a start left over begins a word that goes on past the block.
        Debug.Assert(BitOperations.PopCount(starts) - BitOperations.PopCount(ends) is 0 or 1);
        ulong open = ends == 0 ? starts : RunAsciiWords(bytes, at, starts, ends, surrogatePairs, seed, ref sink);
        if (open != 0)
        {
            word.Begin(at + BitOperations.TrailingZeroCount(open), surrogatePairs);
        }
    }

    /// <summary>
    /// The words wholly inside a block: each end in <paramref name="ends"/> closes the word of the start before it in
    /// <paramref name="starts"/>. Kept apart from the loop with a copy of the sink, so that the sink's state and the masks stay
    /// in registers: in the loop's body they lived on the stack, and each word was a chain of loads and stores. Returns the
    /// start left over, if any.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong RunAsciiWords<TSink>(Span<byte> bytes, int at, ulong starts, ulong ends, int surrogatePairs, ulong seed, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        Debug.Assert(at + AsciiBlockLength + WordSlack <= bytes.Length);
        TSink local = sink;
        ref byte block = ref Unsafe.Add(ref MemoryMarshal.GetReference(bytes), at);
        while (ends != 0)
        {
            int start = BitOperations.TrailingZeroCount(starts), end = BitOperations.TrailingZeroCount(ends);
            starts &= starts - 1;
            ends &= ends - 1;
            ref byte first = ref Unsafe.Add(ref block, start);
            local.OnToken(WordHash.HashWithSlack(ref first, end - start, seed), MemoryMarshal.CreateReadOnlySpan(ref first, end - start),
                at + start, at + end, at + start - surrogatePairs, at + end - surrogatePairs);
        }

        sink = local;
        return starts;
    }

    /// <summary>The word being read: where it starts, and whether it holds anything but ASCII letters and digits.</summary>
    private struct WordState()
    {
        public int Start = -1;
        public int StartCodePoint;
        public bool Slow;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Begin(int at, int surrogatePairs)
        {
            if (Start < 0)
            {
                Start = at;
                StartCodePoint = at - surrogatePairs;
                Slow = false;
            }
        }

        /// <summary>Emits the word ending at <paramref name="end"/>: its bytes hashed whole, or normalised from the text when slow.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void End<TSink>(ReadOnlySpan<char> text, Span<byte> bytes, int end, int endCodePoint, NormalizationOptions options, ulong seed, ref TSink sink)
            where TSink : struct, ITokenSink
        {
            if (Slow)
            {
                EmitNormalized(text[Start..end], Start, end, StartCodePoint, endCodePoint, options, seed, ref sink);
            }
            else
            {
                // The buffer holds sixteen bytes past the text's end, so the word's lanes can be read whole.
                Debug.Assert(end + WordSlack <= bytes.Length);
                ref byte first = ref Unsafe.Add(ref MemoryMarshal.GetReference(bytes), Start);
                sink.OnToken(WordHash.HashWithSlack(ref first, end - Start, seed), bytes[Start..end], Start, end, StartCodePoint, endCodePoint);
            }

            Start = -1;
        }
    }

    /// <summary>
    /// Normalises one raw word and emits its sub-words: NFKC can turn one word into several
    /// (the fraction "½" becomes "1⁄2"), and each keeps the raw word's span.
    /// </summary>
    private static void EmitNormalized<TSink>(ReadOnlySpan<char> raw, int start, int end, int codePointStart, int codePointEnd,
        NormalizationOptions options, ulong hashSeed, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        string normalized = Normalize(raw, options);
        byte[]? rented = null;
        // With the slack every sink may read past a word (ITokenSink).
        int maxBytes = Encoding.UTF8.GetMaxByteCount(normalized.Length) + WordSlack;
        Span<byte> bytes = maxBytes <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        int length = 0;
        foreach (Rune rune in normalized.EnumerateRunes())
        {
            if (Classify(rune.Value) is CharClass.Word or CharClass.Cjk)
            {
                length += rune.EncodeToUtf8(bytes[length..]);
            }
            else if (length > 0)
            {
                sink.OnToken(WordHash.Hash(bytes[..length], hashSeed), bytes[..length], start, end, codePointStart, codePointEnd);
                length = 0;
            }
        }

        if (length > 0)
        {
            sink.OnToken(WordHash.Hash(bytes[..length], hashSeed), bytes[..length], start, end, codePointStart, codePointEnd);
        }

        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>NFKC, optional diacritic removal, full case folding of the common special cases, optional digit folding.</summary>
    internal static string Normalize(ReadOnlySpan<char> raw, NormalizationOptions options)
    {
        string s = raw.ToString().Normalize(NormalizationForm.FormKC);
        if (options.FoldDiacritics)
        {
            s = StripMarks(s.Normalize(NormalizationForm.FormD)).Normalize(NormalizationForm.FormKC);
        }

        var builder = new StringBuilder(s.Length);
        foreach (Rune rune in s.EnumerateRunes())
        {
            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.Format)
            {
                continue; // soft hyphens and joiners inside a word do not change it
            }

            if (options.FoldDigits && category == UnicodeCategory.DecimalDigitNumber)
            {
                builder.Append('0');
                continue;
            }

            switch (rune.Value)
            {
                case 'ß' or 'ẞ':
                    builder.Append("ss");
                    continue;
                case 'ς':
                    builder.Append('σ');
                    continue;
            }

            AppendRune(builder, Rune.ToLowerInvariant(rune));
        }

        return builder.ToString();
    }

    private static string StripMarks(string decomposed)
    {
        var builder = new StringBuilder(decomposed.Length);
        foreach (Rune rune in decomposed.EnumerateRunes())
        {
            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            if (category is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark))
            {
                AppendRune(builder, rune);
            }
        }

        return builder.ToString();
    }

    private static void AppendRune(StringBuilder builder, Rune rune)
    {
        if (rune.IsBmp)
        {
            builder.Append((char)rune.Value);
        }
        else
        {
            builder.Append(char.ConvertFromUtf32(rune.Value));
        }
    }

    /// <summary>
    /// Emits a run of characters from scripts written without spaces as overlapping bigrams (or
    /// one token per run when bigrams are off). A character is a base code point plus the
    /// combining marks after it. Returns the index after the run.
    /// </summary>
    private static int RunCjk<TSink>(ReadOnlySpan<char> text, int i, ref int surrogatePairs, NormalizationOptions options, ulong hashSeed, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        int runStart = i, runStartCodePoint = i - surrogatePairs;
        int previousStart = -1, previousCodePoint = 0;
        int currentStart = -1, currentCodePoint = 0;
        int characters = 0;
        while (i < text.Length)
        {
            int codePoint = ReadCodePoint(text, i, out int width);
            CharClass kind = Classify(codePoint);
            bool mark = kind == CharClass.Word && IsMark(codePoint);
            if (kind != CharClass.Cjk && !(mark && characters > 0))
            {
                break;
            }

            if (kind == CharClass.Cjk)
            {
                if (options.CjkBigrams && characters >= 2)
                {
                    // The bigram (previous, current) is complete now that the next character begins.
                    EmitNormalized(text[previousStart..i], previousStart, i, previousCodePoint, i - surrogatePairs, options, hashSeed, ref sink);
                }

                previousStart = currentStart;
                previousCodePoint = currentCodePoint;
                currentStart = i;
                currentCodePoint = i - surrogatePairs;
                characters++;
            }

            i += width;
            surrogatePairs += width - 1;
        }

        int end = i, endCodePoint = i - surrogatePairs;
        if (!options.CjkBigrams || characters == 1)
        {
            EmitNormalized(text[runStart..end], runStart, end, runStartCodePoint, endCodePoint, options, hashSeed, ref sink);
        }
        else
        {
            EmitNormalized(text[previousStart..end], previousStart, end, previousCodePoint, endCodePoint, options, hashSeed, ref sink);
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ReadCodePoint(ReadOnlySpan<char> text, int i, out int width)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(c, text[i + 1]);
        }

        width = 1;
        return c; // a lone surrogate classifies as a separator
    }

    private enum CharClass : byte
    {
        Separator,
        Word,
        Cjk,
        Ignorable,
    }

    private static CharClass Classify(int codePoint)
    {
        if (IsCjk(codePoint))
        {
            return CharClass.Cjk;
        }

        if (codePoint == 0x200B)
        {
            return CharClass.Separator; // zero width space separates words in scripts that use it
        }

        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        if (category <= UnicodeCategory.OtherNumber)
        {
            return CharClass.Word; // letters, marks and numbers
        }

        return category == UnicodeCategory.Format ? CharClass.Ignorable : CharClass.Separator;
    }

    private static bool IsMark(int codePoint) =>
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    /// <summary>Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar.</summary>
    private static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x3134F)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x3040 and <= 0x30FF) or (>= 0x31F0 and <= 0x31FF)
            or (>= 0xFF66 and <= 0xFF9D) or (>= 0x0E00 and <= 0x0E7F) or (>= 0x0E80 and <= 0x0EFF)
            or (>= 0x1780 and <= 0x17FF) or (>= 0x1000 and <= 0x109F)
        && CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.OtherLetter or UnicodeCategory.ModifierLetter;

    private static byte[] BuildAsciiMap(bool foldDigits)
    {
        var map = new byte[128];
        for (int c = 0; c < 128; c++)
        {
            map[c] = c switch
            {
                >= 'a' and <= 'z' => (byte)c,
                >= 'A' and <= 'Z' => (byte)(c + 32),
                >= '0' and <= '9' => foldDigits ? (byte)'0' : (byte)c,
                _ => Separator,
            };
        }

        return map;
    }

    /// <summary>Collects tokens in a pooled buffer: only the exact array handed out is allocated.</summary>
    private struct TokenCollector(int capacity) : ITokenSink
    {
        private Token[] _tokens = ArrayPool<Token>.Shared.Rent(capacity);
        private int _count;

        public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
        {
            if (_count == _tokens.Length)
            {
                _tokens = PooledArrays.Doubled(_tokens);
            }

            _tokens[_count++] = new Token(hash, start, end, codePointStart, codePointEnd);
        }

        /// <summary>The tokens; the buffer goes back to the pool, so the collector is not used after.</summary>
        public Token[] ToArrayAndReturn()
        {
            // Not zeroed first: every element is copied over (a 500-word text's tokens are 12 KB).
            Token[] tokens = GC.AllocateUninitializedArray<Token>(_count);
            _tokens.AsSpan(0, _count).CopyTo(tokens);
            ArrayPool<Token>.Shared.Return(_tokens);
            _tokens = [];
            return tokens;
        }
    }

    private readonly struct NormalizedTextCollector(StringBuilder builder) : ITokenSink
    {
        public StringBuilder Builder { get; } = builder;

        public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
        {
            if (Builder.Length > 0)
            {
                Builder.Append(' ');
            }

            Builder.Append(Encoding.UTF8.GetString(normalizedUtf8));
        }
    }
}
