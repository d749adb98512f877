using System.Buffers;
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
            if (line[i] == '"')
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
                else if (isText && (textLength = Decode(raw, escaped, text)) < 0)
                {
                    return false;
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

            byte kind = raw[backslash + 1];
            char unescaped = kind switch
            {
                (byte)'b' => '\b',
                (byte)'f' => '\f',
                (byte)'n' => '\n',
                (byte)'r' => '\r',
                (byte)'t' => '\t',
                (byte)'u' => System.Buffers.Text.Utf8Parser.TryParse(raw.Slice(backslash + 2, 4), out ushort code, out _, 'X') ? (char)code : '\uD800',
                _ => (char)kind,
            };
            if (char.IsSurrogate(unescaped))
            {
                // Pairs and lone halves: the reference reader's rules, not repeated here.
                return -1;
            }

            destination[written++] = unescaped;
            raw = raw[(backslash + (kind == 'u' ? 6 : 2))..];
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
