using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

/// <summary>Receives the words of a text in order; implemented by structs so the tokenizer loop is specialised per sink.</summary>
internal interface ITokenSink
{
    void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd);
}

/// <summary>
/// Splits text into normalised words: Unicode NFKC, case folding, words made of Unicode letters,
/// marks and numbers, optional digit and diacritic folding, and character bigrams for scripts
/// written without spaces. ASCII words take a table-driven fast path that never allocates;
/// words with other characters are normalised one word at a time.
/// </summary>
public static class Tokenizer
{
    private const int FastWordBytes = 128;
    private const byte Separator = 0;

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
        return sink.ToArray();
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
        where TSink : struct, ITokenSink
    {
        ref byte map = ref MemoryMarshal.GetArrayDataReference(options.FoldDigits ? AsciiMapFoldedDigits : AsciiMap);
        Span<byte> word = stackalloc byte[FastWordBytes];
        ref byte wordStart = ref word[0];
        var hash = new WordHash(seed);
        int start = -1, startCodePoint = 0;
        bool slow = false;
        int surrogatePairs = 0; // pairs before i: code point index = i - surrogatePairs
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c < 128)
            {
                byte mapped = Unsafe.Add(ref map, c);
                if (mapped != Separator)
                {
                    if (start < 0)
                    {
                        start = i;
                        startCodePoint = i - surrogatePairs;
                        hash = new WordHash(seed);
                        slow = false;
                    }

                    if (hash.Length < FastWordBytes)
                    {
                        Unsafe.Add(ref wordStart, hash.Length) = mapped;
                        hash.Append(mapped);
                    }
                    else
                    {
                        slow = true;
                    }
                }
                else if (start >= 0)
                {
                    Emit(text, start, i, startCodePoint, i - surrogatePairs, word[..hash.Length], slow ? 0 : hash.Finish(), slow, options, seed, ref sink);
                    start = -1;
                }

                i++;
                continue;
            }

            int codePoint = ReadCodePoint(text, i, out int width);
            CharClass kind = Classify(codePoint);
            if ((kind is CharClass.Word) || (kind is CharClass.Ignorable && start >= 0))
            {
                if (start < 0)
                {
                    start = i;
                    startCodePoint = i - surrogatePairs;
                    hash = new WordHash(seed);
                }

                slow = true;
            }
            else if (start >= 0)
            {
                Emit(text, start, i, startCodePoint, i - surrogatePairs, word[..hash.Length], slow ? 0 : hash.Finish(), slow, options, seed, ref sink);
                start = -1;
            }

            if (kind == CharClass.Cjk)
            {
                i = RunCjk(text, i, ref surrogatePairs, options, seed, ref sink);
                continue;
            }

            i += width;
            surrogatePairs += width - 1;
        }

        if (start >= 0)
        {
            Emit(text, start, text.Length, startCodePoint, text.Length - surrogatePairs, word[..hash.Length], slow ? 0 : hash.Finish(), slow, options, seed, ref sink);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Emit<TSink>(ReadOnlySpan<char> text, int start, int end, int codePointStart, int codePointEnd,
        ReadOnlySpan<byte> asciiWord, ulong asciiHash, bool slow, NormalizationOptions options, ulong hashSeed, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        if (!slow)
        {
            sink.OnToken(asciiHash, asciiWord, start, end, codePointStart, codePointEnd);
            return;
        }

        EmitNormalized(text[start..end], start, end, codePointStart, codePointEnd, options, hashSeed, ref sink);
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
        int maxBytes = Encoding.UTF8.GetMaxByteCount(normalized.Length);
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

    private struct TokenCollector(int capacity) : ITokenSink
    {
        private Token[] _tokens = new Token[capacity];
        private int _count;

        public void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd)
        {
            if (_count == _tokens.Length)
            {
                Array.Resize(ref _tokens, _tokens.Length * 2);
            }

            _tokens[_count++] = new Token(hash, start, end, codePointStart, codePointEnd);
        }

        public readonly Token[] ToArray() => _tokens.AsSpan(0, _count).ToArray();
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
