using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Compare.Cli.Input;

/// <summary>
/// A document read from the input: its id, text, other fields (when asked for), where it came from
/// (for messages), and a locator that finds it again: a byte offset in JSONL, an ordinal otherwise.
/// </summary>
internal sealed record InputDocument(string Id, string Text, string Source, long Locator, Dictionary<string, string>? Metadata = null);

/// <summary>A record of the input that could not be read, with where it is and why.</summary>
internal sealed record InputProblem(string Source, string Reason);

/// <summary>Field names of JSONL and CSV input.</summary>
internal sealed record InputFields(string Id = "id", string Text = "text");

/// <summary>How a file or standard input is read when its name does not say.</summary>
internal enum InputFormat
{
    Jsonl,
    Csv,
}

/// <summary>What the command line named: a path (or "-" for standard input), its fields, and a format that overrides the name's.</summary>
internal sealed record InputSpec(string Path, InputFields Fields, InputFormat? Format = null)
{
    public const string StandardInput = "-";

    /// <summary>Opens standard input (tests give their own).</summary>
    public Func<Stream> OpenStandardInput { get; init; } = Console.OpenStandardInput;
}

/// <summary>How far a reader has got: bytes for files, files for folders.</summary>
internal sealed class ReadPosition
{
    public long Done { get; set; }

    public long Total { get; set; }
}

/// <summary>
/// Reads documents from a JSONL file, a CSV file with a header, or a folder of .txt files, one
/// at a time. A malformed record is reported to <c>onProblem</c> with its line number and skipped.
/// </summary>
internal sealed class DocumentReader
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private readonly string _path;
    private readonly InputFields _fields;
    private readonly bool _withMetadata;
    private readonly byte[] _idName;
    private readonly byte[] _textName;

    /// <summary>Checks that <paramref name="path"/> is a readable kind of input; <paramref name="format"/> overrides its extension.</summary>
    public DocumentReader(string path, InputFields fields, bool withMetadata = false, InputFormat? format = null)
    {
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file or folder.", path);
        }

        Kind = Directory.Exists(path) ? InputKind.Folder : format switch
        {
            InputFormat.Csv => InputKind.Csv,
            InputFormat.Jsonl => InputKind.JsonLines,
            _ => KindOf(path) ?? throw new NotSupportedException(
                $"{path}: the input must be a .jsonl or .csv file (gzipped or not), a folder of .txt files, or - for standard input; --format names the format of another file."),
        };
        _path = path;
        _fields = fields;
        _withMetadata = withMetadata;
        _idName = Encoding.UTF8.GetBytes(fields.Id);
        _textName = Encoding.UTF8.GetBytes(fields.Text);
    }

    /// <summary>The kind a file's name says (a .gz file's inner name), or null.</summary>
    public static InputKind? KindOf(string path) => Path.GetExtension(path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path)
        .ToUpperInvariant() switch
    {
        ".CSV" => InputKind.Csv,
        ".JSONL" or ".NDJSON" or ".JSON" => InputKind.JsonLines,
        _ => null,
    };

    /// <summary>Field names of the first JSON object read, for a hint when no record had the fields asked for; null before one.</summary>
    public IReadOnlyList<string>? FirstRecordFields { get; private set; }

    internal enum InputKind
    {
        JsonLines,
        Csv,
        Folder,
    }

    public InputKind Kind { get; }

    /// <summary>Where the current read is.</summary>
    public ReadPosition Position { get; } = new();

    /// <summary>Every well-formed document, in input order.</summary>
    public IEnumerable<InputDocument> Read(Action<InputProblem> onProblem) => Kind switch
    {
        InputKind.Folder => ReadFolder(),
        InputKind.Csv => ReadCsv(onProblem),
        _ => ReadJsonLines(onProblem),
    };

    /// <summary>The texts of the documents at <paramref name="locators"/> (ascending, from <see cref="InputDocument.Locator"/>), in that order.</summary>
    public IEnumerable<string> ReadAt(IEnumerable<long> locators) => Kind switch
    {
        InputKind.JsonLines => ReadJsonLinesAt(locators),
        InputKind.Folder => ReadFolderAt(locators),
        _ => ReadSequentiallyAt(locators),
    };

    private string[] FolderFiles() =>
        [.. Directory.EnumerateFiles(_path, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    private IEnumerable<InputDocument> ReadFolder()
    {
        string[] files = FolderFiles();
        Position.Total = files.Length;
        for (int i = 0; i < files.Length; i++)
        {
            string id = Path.GetRelativePath(_path, files[i]).Replace('\\', '/');
            yield return new InputDocument(id, File.ReadAllText(files[i]), files[i], i);
            Position.Done = i + 1;
        }
    }

    private IEnumerable<string> ReadFolderAt(IEnumerable<long> locators)
    {
        string[] files = FolderFiles();
        foreach (long locator in locators)
        {
            yield return File.ReadAllText(files[locator]);
        }
    }

    // CSV records span lines, so a document is found again by reading up to it.
    private IEnumerable<string> ReadSequentiallyAt(IEnumerable<long> locators)
    {
        using IEnumerator<long> wanted = locators.GetEnumerator();
        if (!wanted.MoveNext())
        {
            yield break;
        }

        foreach (InputDocument document in Read(_ => { }))
        {
            if (document.Locator == wanted.Current)
            {
                yield return document.Text;
                if (!wanted.MoveNext())
                {
                    yield break;
                }
            }
        }
    }

    private IEnumerable<InputDocument> ReadJsonLines(Action<InputProblem> onProblem)
    {
        using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        Position.Total = file.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long bufferOffset = 0;
            int start = 0, end = 0, number = 0;
            bool atEnd = false;
            while (true)
            {
                int newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                if (newline < 0 && !atEnd)
                {
                    // Move the partial line to the front, grow for lines longer than the buffer, and read on.
                    if (start == 0 && end == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, end).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    else
                    {
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                        bufferOffset += start;
                        end -= start;
                        start = 0;
                    }

                    int read = file.Read(buffer, end, buffer.Length - end);
                    atEnd = read == 0;
                    end += read;
                    Position.Done = bufferOffset + end;
                    continue;
                }

                int length = newline < 0 ? end - start : newline;
                if (length == 0 && atEnd && newline < 0)
                {
                    yield break;
                }

                number++;
                long offset = bufferOffset + start;
                InputDocument? document = Parse(buffer.AsSpan(start, length), offset, number, out string? reason);
                start += newline < 0 ? length : length + 1;
                if (document is not null)
                {
                    yield return document;
                }
                else if (reason is not null)
                {
                    onProblem(new InputProblem($"{_path}:{number}", reason));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private IEnumerable<string> ReadJsonLinesAt(IEnumerable<long> locators)
    {
        foreach ((long offset, ArraySegment<byte> line) in RawLinesAt(locators))
        {
            yield return Parse(line, offset, 0, out string? reason)?.Text
                ?? throw new InvalidDataException($"{_path}: the record at byte {offset} changed while it was read ({reason}).");
        }
    }

    /// <summary>The bytes of the JSON lines at <paramref name="locators"/>, without their line ends; each valid until the next is read.</summary>
    public IEnumerable<(long Offset, ArraySegment<byte> Line)> RawLinesAt(IEnumerable<long> locators)
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(_path);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            foreach (long offset in locators)
            {
                int length = 0, newline;
                while (true)
                {
                    int read = RandomAccess.Read(file, buffer.AsSpan(length), offset + length);
                    newline = buffer.AsSpan(length, read).IndexOf((byte)'\n');
                    length += read;
                    if (newline >= 0)
                    {
                        newline += length - read;
                        break;
                    }

                    if (read == 0)
                    {
                        newline = length;
                        break;
                    }

                    if (length == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                }

                yield return (offset, new ArraySegment<byte>(buffer, 0, newline > 0 && buffer[newline - 1] == '\r' ? newline - 1 : newline));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The CSV's header and the records at the ordinals in <paramref name="locators"/> (ascending), each as its fields.</summary>
    public IEnumerable<IReadOnlyList<string>> CsvRecordsAt(IEnumerable<long> locators)
    {
        using IEnumerator<long> wanted = locators.GetEnumerator();
        using var reader = new StreamReader(_path, Encoding.UTF8);
        int line = 1;
        List<string>? header = ReadCsvRecord(reader, ref line, out _);
        if (header is null)
        {
            yield break;
        }

        yield return header;
        bool more = wanted.MoveNext();
        // Ordinals count the well-formed records only, as the first read numbered them.
        for (long ordinal = 0; more;)
        {
            List<string>? record = ReadCsvRecord(reader, ref line, out string? error);
            if (record is null)
            {
                yield break;
            }

            if (error is not null || record.Count != header.Count)
            {
                continue;
            }

            if (ordinal++ == wanted.Current)
            {
                yield return record;
                more = wanted.MoveNext();
            }
        }
    }

    /// <summary>The folder's .txt files at <paramref name="locators"/>, by path relative to the folder (their ids).</summary>
    public IEnumerable<(string Id, string File)> FilesAt(IEnumerable<long> locators)
    {
        string[] files = FolderFiles();
        return locators.Select(l => (Path.GetRelativePath(_path, files[l]).Replace('\\', '/'), files[l]));
    }

    /// <summary>One JSON line as a document; null with a reason when malformed, null without one when blank.</summary>
    private InputDocument? Parse(ReadOnlySpan<byte> line, long offset, int number, out string? reason)
    {
        reason = null;
        if (offset == 0 && line.StartsWith(Utf8Bom))
        {
            line = line[Utf8Bom.Length..];
        }

        if (line.TrimEnd("\r\t "u8).IsEmpty)
        {
            return null;
        }

        string? id = null, text = null;
        Dictionary<string, string>? metadata = _withMetadata ? [] : null;
        List<string>? names = FirstRecordFields is null ? [] : null;
        try
        {
            var json = new Utf8JsonReader(line);
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                reason = "not a JSON object";
                return null;
            }

            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                names?.Add(json.GetString()!);
                bool isId = json.ValueTextEquals(_idName), isText = !isId && json.ValueTextEquals(_textName);
                string? name = metadata is not null && !isId && !isText ? json.GetString() : null;
                json.Read();
                if (isId)
                {
                    // Ids may be numbers in exports; texts must be strings.
                    id = json.TokenType switch
                    {
                        JsonTokenType.String => json.GetString(),
                        JsonTokenType.Number => Encoding.UTF8.GetString(json.ValueSpan),
                        _ => null,
                    };
                }
                else if (isText)
                {
                    text = json.TokenType == JsonTokenType.String ? json.GetString() : null;
                }
                else if (name is not null)
                {
                    metadata![name] = json.TokenType == JsonTokenType.String ? json.GetString()! : RawValue(ref json, line);
                }

                json.Skip();
            }

            // Reading past the object rejects anything after it on the line.
            json.Read();
            FirstRecordFields ??= names;
        }
        catch (JsonException e)
        {
            reason = $"not valid JSON ({e.Message})";
            return null;
        }
        catch (InvalidOperationException e)
        {
            reason = $"not valid UTF-8 ({e.Message})";
            return null;
        }

        reason = id is null ? $"no \"{_fields.Id}\" field" : text is null ? $"no string \"{_fields.Text}\" field" : null;
        return reason is null ? new InputDocument(id!, text!, $"{_path}:{number}", offset, metadata) : null;
    }

    private static string RawValue(ref Utf8JsonReader json, ReadOnlySpan<byte> line)
    {
        int start = (int)json.TokenStartIndex;
        json.Skip();
        return Encoding.UTF8.GetString(line[start..(int)json.BytesConsumed]);
    }

    private IEnumerable<InputDocument> ReadCsv(Action<InputProblem> onProblem)
    {
        using var reader = new StreamReader(_path, Encoding.UTF8);
        Position.Total = reader.BaseStream.Length;
        int line = 1;
        List<string>? header = ReadCsvRecord(reader, ref line, out _);
        if (header is null)
        {
            yield break;
        }

        FirstRecordFields = header;
        int idColumn = header.IndexOf(_fields.Id), textColumn = header.IndexOf(_fields.Text);
        if (idColumn < 0 || textColumn < 0)
        {
            throw new InvalidDataException($"{_path}:1: the header has no \"{(idColumn < 0 ? _fields.Id : _fields.Text)}\" column ({string.Join(", ", header)}).");
        }

        for (long ordinal = 0; ; Position.Done = reader.BaseStream.Position)
        {
            int start = line;
            List<string>? record = ReadCsvRecord(reader, ref line, out string? error);
            if (record is null)
            {
                yield break;
            }

            if (error is not null)
            {
                onProblem(new InputProblem($"{_path}:{start}", error));
            }
            else if (record.Count != header.Count)
            {
                onProblem(new InputProblem($"{_path}:{start}", $"{record.Count} fields where the header has {header.Count}"));
            }
            else
            {
                Dictionary<string, string>? metadata = _withMetadata
                    ? header.Select((name, column) => (name, column)).Where(c => c.column != idColumn && c.column != textColumn).ToDictionary(c => c.name, c => record[c.column])
                    : null;
                yield return new InputDocument(record[idColumn], record[textColumn], $"{_path}:{start}", ordinal++, metadata);
            }
        }
    }
    // RFC 4180: fields separated by commas, optionally quoted; quotes doubled inside quotes; quoted fields may span lines.
    private static List<string>? ReadCsvRecord(StreamReader reader, ref int line, out string? error)
    {
        error = null;
        if (reader.Peek() < 0)
        {
            return null;
        }

        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, wasQuoted = false;
        while (true)
        {
            int c = reader.Read();
            if (c < 0)
            {
                if (quoted)
                {
                    error = "a quoted field is not closed before the end of the file";
                }

                fields.Add(field.ToString());
                return fields;
            }

            if (quoted)
            {
                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append((char)c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0 && !wasQuoted:
                    quoted = wasQuoted = true;
                    break;
                case '"':
                    error ??= "a quote inside an unquoted field";
                    field.Append('"');
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    wasQuoted = false;
                    break;
                case '\r':
                    break;
                case '\n':
                    line++;
                    fields.Add(field.ToString());
                    return fields;
                default:
                    field.Append((char)c);
                    break;
            }
        }
    }
}
