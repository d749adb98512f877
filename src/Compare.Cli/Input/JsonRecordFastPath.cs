using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Unicode;

namespace Compare.Cli.Input;

/// <summary>
/// Reads the common JSON line, an object of strings, numbers, true, false and null with an id and a text, in one pass:
/// strings are scanned for their end 32 bytes at a time and decoded segment by segment between escapes. Utf8JsonReader
/// validated each text byte by byte once it held an escape (a "\n" between paragraphs is enough), which made parsing
/// a third of signing a corpus. Anything else (nested values, keys with escapes, a \u escape of a surrogate, invalid
/// UTF-8, any syntax error, a missing field) answers false and the line is read again by Utf8JsonReader, which gives
/// the reason: this path only ever accepts what that reader accepts, with the same id and text.
/// </summary>
internal static class JsonRecordFastPath
{
    // A string ends at a quote; a backslash starts an escape; a control character is not allowed in it.
    private static readonly SearchValues<byte> StringSpecials = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    /// <summary>
    /// Reads <paramref name="line"/> when it is a JSON object whose values are all strings, numbers or literals, holding
    /// the field <paramref name="idName"/> as a string or number and <paramref name="textName"/> as a string (the last
    /// of each when repeated). The text is decoded into <paramref name="text"/>, which holds at least the line's length.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> line, ReadOnlySpan<byte> idName, ReadOnlySpan<byte> textName, Span<char> text, out string? id, out int textLength)
    {
        id = null;
        textLength = -1;
        int i = SkipSpace(line, 0);
        if (i >= line.Length || line[i] != '{')
        {
            return false;
        }

        i = SkipSpace(line, i + 1);
        while (true)
        {
            if (!TryScanString(line, i, out int keyEnd, out bool keyEscaped) || keyEscaped)
            {
                return false;
            }

            ReadOnlySpan<byte> key = line[(i + 1)..keyEnd];
            i = SkipSpace(line, keyEnd + 1);
            if (i >= line.Length || line[i] != ':')
            {
                return false;
            }

            i = SkipSpace(line, i + 1);
            if (i >= line.Length)
            {
                return false;
            }

            bool isId = key.SequenceEqual(idName), isText = !isId && key.SequenceEqual(textName);
            int valueEnd;
            if (isText && line[i] == '"')
            {
                if (!TryDecodeString(line, i, text, out int end, out textLength))
                {
                    return false;
                }

                valueEnd = end + 1;
            }
            else if (line[i] == '"')
            {
                if (!TryScanString(line, i, out int end, out bool escaped))
                {
                    return false;
                }

                ReadOnlySpan<byte> raw = line[(i + 1)..end];
                if (isId)
                {
                    char[] chars = ArrayPool<char>.Shared.Rent(Math.Max(1, raw.Length));
                    try
                    {
                        int length = Decode(raw, escaped, chars);
                        if (length < 0)
                        {
                            return false;
                        }

                        id = new string(chars, 0, length);
                    }
                    finally
                    {
                        ArrayPool<char>.Shared.Return(chars);
                    }
                }

                valueEnd = end + 1;
            }
            else
            {
                valueEnd = ScanNumberOrLiteral(line, i, out bool isNumber);
                if (valueEnd < 0)
                {
                    return false;
                }

                if (isId)
                {
                    id = isNumber ? Encoding.UTF8.GetString(line[i..valueEnd]) : null;
                }
                else if (isText)
                {
                    textLength = -1;
                }
            }

            i = SkipSpace(line, valueEnd);
            if (i >= line.Length)
            {
                return false;
            }

            if (line[i] == '}')
            {
                return SkipSpace(line, i + 1) == line.Length && id is not null && textLength >= 0;
            }

            if (line[i] != ',')
            {
                return false;
            }

            i = SkipSpace(line, i + 1);
        }
    }

    private static int SkipSpace(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    /// <summary>Finds the closing quote of the string opening at <paramref name="start"/>, checking its escapes' syntax.</summary>
    private static bool TryScanString(ReadOnlySpan<byte> line, int start, out int end, out bool escaped)
    {
        end = -1;
        escaped = false;
        if (start >= line.Length || line[start] != '"')
        {
            return false;
        }

        int i = start + 1;
        while (true)
        {
            int special = line[i..].IndexOfAny(StringSpecials);
            if (special < 0)
            {
                return false;
            }

            i += special;
            if (line[i] == '"')
            {
                end = i;
                return true;
            }

            if (line[i] != '\\' || i + 1 >= line.Length)
            {
                return false;
            }

            escaped = true;
            byte kind = line[i + 1];
            if (kind == 'u')
            {
                if (i + 6 > line.Length || !IsHex(line.Slice(i + 2, 4)))
                {
                    return false;
                }

                i += 6;
            }
            else if (kind is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
            {
                i += 2;
            }
            else
            {
                return false;
            }
        }
    }

    private static bool IsHex(ReadOnlySpan<byte> digits)
    {
        foreach (byte digit in digits)
        {
            if (!char.IsAsciiHexDigit((char)digit))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Finds the end of the string opening at <paramref name="start"/> and decodes it into <paramref name="destination"/> in
    /// the same pass: 32 bytes at a time while they are printable ASCII (each block widened and stored whole), one escape or
    /// one UTF-8 sequence at a time otherwise. A scan for the end, then a search for each escape and a conversion of each
    /// run between two escapes, were three passes over a document's text with a call per escape (a news text has dozens:
    /// quotes, apostrophes, paragraph breaks). False, as <see cref="TryScanString"/> and <see cref="Decode"/> answer, for a
    /// bad escape, a \u surrogate, a control character, invalid UTF-8 or no closing quote.
    /// </summary>
    private static bool TryDecodeString(ReadOnlySpan<byte> line, int start, Span<char> destination, out int end, out int written)
    {
        Debug.Assert(line[start] == '"' && destination.Length >= line.Length);
        end = -1;
        written = 0;
        int i = start + 1;
        while (true)
        {
            // Every byte up to i has given a char at most, so a whole block fits: written + 32 <= i + 32 <= line.Length.
            while (Vector256.IsHardwareAccelerated && i + Vector256<byte>.Count <= line.Length)
            {
                Vector256<byte> block = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(line), (nuint)i);
                (Vector256<ushort> low, Vector256<ushort> high) = Vector256.Widen(block);
                ref ushort target = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(destination));
                low.StoreUnsafe(ref target, (nuint)written);
                high.StoreUnsafe(ref target, (nuint)(written + Vector256<ushort>.Count));
                // Below 0x20 as a signed byte: a control character or any byte of a multi-byte sequence.
                Vector256<byte> special = Vector256.LessThan(block.AsSByte(), Vector256.Create((sbyte)0x20)).AsByte()
                    | Vector256.Equals(block, Vector256.Create((byte)'"')) | Vector256.Equals(block, Vector256.Create((byte)'\\'));
                uint mask = special.ExtractMostSignificantBits();
                int plain = mask == 0 ? Vector256<byte>.Count : BitOperations.TrailingZeroCount(mask);
                i += plain;
                written += plain;
                if (mask != 0)
                {
                    break;
                }
            }

            if (i >= line.Length)
            {
                return false;
            }

            byte next = line[i];
            if (next == '"')
            {
                end = i;
                return true;
            }

            if (next == '\\')
            {
                if (!TryUnescape(line, ref i, destination, ref written))
                {
                    return false;
                }
            }
            else if (next >= 0x80)
            {
                if (Rune.DecodeFromUtf8(line[i..], out Rune rune, out int consumed) != OperationStatus.Done)
                {
                    return false;
                }

                written += rune.EncodeToUtf16(destination[written..]);
                i += consumed;
            }
            else if (next < 0x20)
            {
                return false;
            }
            else
            {
                destination[written++] = (char)next;
                i++;
            }
        }
    }

    /// <summary>One escape at <paramref name="i"/>, by <see cref="TryScanString"/>'s rules; moves past it. False for a bad escape or a \u surrogate.</summary>
    private static bool TryUnescape(ReadOnlySpan<byte> line, ref int i, Span<char> destination, ref int written)
    {
        if (i + 1 >= line.Length)
        {
            return false;
        }

        byte kind = line[i + 1];
        char unescaped;
        if (kind == 'u')
        {
            if (i + 6 > line.Length || !IsHex(line.Slice(i + 2, 4)) || !System.Buffers.Text.Utf8Parser.TryParse(line.Slice(i + 2, 4), out ushort code, out _, 'X'))
            {
                return false;
            }

            unescaped = (char)code;
            i += 6;
        }
        else
        {
            unescaped = kind switch
            {
                (byte)'b' => '\b',
                (byte)'f' => '\f',
                (byte)'n' => '\n',
                (byte)'r' => '\r',
                (byte)'t' => '\t',
                (byte)'"' or (byte)'\\' or (byte)'/' => (char)kind,
                _ => '\uD800', // not an escape: refused below, as a surrogate is
            };
            i += 2;
        }

        if (char.IsSurrogate(unescaped))
        {
            // Pairs and lone halves: the reference reader's rules, not repeated here.
            return false;
        }

        destination[written++] = unescaped;
        return true;
    }

    /// <summary>Decodes a string's raw bytes (escape syntax already checked) to UTF-16; -1 for invalid UTF-8 or a \u surrogate.</summary>
    private static int Decode(ReadOnlySpan<byte> raw, bool escaped, Span<char> destination)
    {
        int written = 0;
        while (true)
        {
            int backslash = escaped ? raw.IndexOf((byte)'\\') : -1;
            ReadOnlySpan<byte> plain = backslash < 0 ? raw : raw[..backslash];
            if (Utf8.ToUtf16(plain, destination[written..], out _, out int chars, replaceInvalidSequences: false) != OperationStatus.Done)
            {
                return -1;
            }

            written += chars;
            if (backslash < 0)
            {
                return written;
            }

            int next = backslash;
            if (!TryUnescape(raw, ref next, destination, ref written))
            {
                return -1;
            }

            raw = raw[next..];
        }
    }

    /// <summary>The end of the number (RFC 8259's grammar) or literal at <paramref name="start"/>; -1 when it is neither.</summary>
    private static int ScanNumberOrLiteral(ReadOnlySpan<byte> line, int start, out bool isNumber)
    {
        isNumber = false;
        ReadOnlySpan<byte> rest = line[start..];
        if (rest.StartsWith("true"u8) || rest.StartsWith("null"u8))
        {
            return start + 4;
        }

        if (rest.StartsWith("false"u8))
        {
            return start + 5;
        }

        int i = start;
        if (i < line.Length && line[i] == '-')
        {
            i++;
        }

        if (i >= line.Length || !char.IsAsciiDigit((char)line[i]))
        {
            return -1;
        }

        i = line[i] == '0' ? i + 1 : Digits(line, i);
        if (i < line.Length && line[i] == '.')
        {
            int fraction = Digits(line, i + 1);
            if (fraction == i + 1)
            {
                return -1;
            }

            i = fraction;
        }

        if (i < line.Length && line[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < line.Length && line[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            int exponent = Digits(line, i);
            if (exponent == i)
            {
                return -1;
            }

            i = exponent;
        }

        isNumber = true;
        return i;
    }

    private static int Digits(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && char.IsAsciiDigit((char)line[i]))
        {
            i++;
        }

        return i;
    }
}
