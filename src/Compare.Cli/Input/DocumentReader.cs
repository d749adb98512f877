using System.Buffers;
using System.Text;
using System.Text.Json;
using Compare.Core.Clustering;

namespace Compare.Cli.Input;

/// <summary>
/// A document read from the input: its id, text, other fields (when asked for), where it came from
/// (for messages), and a locator that finds it again: a byte offset in JSONL, an ordinal otherwise.
/// </summary>
internal sealed record InputDocument(string Id, string Text, string Source, long Locator, Dictionary<string, string>? Metadata = null)
{
    /// <summary>The bytes of its JSON line, without the line end; 0 for other inputs.</summary>
    public int Length { get; init; }
}

/// <summary>A record of the input that could not be read, with where it is and why.</summary>
internal sealed record InputProblem(string Source, string Reason);

/// <summary>Field names of JSONL and CSV input.</summary>
internal sealed record InputFields(string Id = "id", string Text = "text");

/// <summary>How a file or standard input is read when its name does not say.</summary>
internal enum InputFormat
{
    Jsonl,
    Csv,
    Parquet,
}

/// <summary>What the command line named: a path (or "-" for standard input), its fields, and a format that overrides the name's.</summary>
internal sealed record InputSpec(string Path, InputFields Fields, InputFormat? Format = null)
{
    public const string StandardInput = "-";

    /// <summary>Opens standard input (tests give their own).</summary>
    public Func<Stream> OpenStandardInput { get; init; } = Console.OpenStandardInput;

    /// <summary>For a shard found in a folder, its path within the folder, which --output-corpus keeps; null for a file named itself.</summary>
    public string? ShardName { get; init; }
}

/// <summary>How far a reader has got: bytes for files, files for folders, rows for Parquet.</summary>
internal class ReadPosition
{
    public virtual long Done { get; set; }

    public virtual long Total { get; set; }
}

/// <summary>
/// Reads documents from a JSONL file, a CSV file with a header, or a folder of .txt files, one
/// at a time. A malformed record is reported to <c>onProblem</c> with its line number and skipped.
/// </summary>
internal sealed class DocumentReader : IDisposable
{
    /// <summary>
    /// JSON lines are read in chunks of whole lines of about this size, each parsed on the pool. Buffers come back to
    /// the pool and are read into again, so a run touches a few chunks' worth of fresh memory (each new page costs a
    /// fault, about 10 µs on a VM). Small, because a small corpus is read through before any buffer comes back: 1 MB
    /// chunks faulted in most of the 5 MB BBC corpus and took a fifth longer to deduplicate it than 128 KB, which
    /// deduplicate the 2.8 GB million-document file as fast as 1 MB did.
    /// </summary>
    public const int ChunkBytes = 1 << 17;

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private readonly string _path;
    private readonly InputSource? _source;
    private readonly ParquetFile? _parquet;
    private readonly InputFields _fields;
    private readonly bool _withMetadata;
    private readonly byte[] _idName;
    private readonly byte[] _textName;

    /// <summary>Checks that the input is a readable kind of input; its format overrides its extension.</summary>
    public DocumentReader(InputSpec input, bool withMetadata = false)
    {
        string path = input.Path;
        bool standardInput = path == InputSpec.StandardInput;
        if (!standardInput && !Directory.Exists(path) && !File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file or folder.", path);
        }

        Kind = !standardInput && Directory.Exists(path) ? InputKind.Folder : input.Format switch
        {
            InputFormat.Csv => InputKind.Csv,
            InputFormat.Jsonl => InputKind.JsonLines,
            InputFormat.Parquet => InputKind.Parquet,
            _ when standardInput => InputKind.JsonLines,
            _ => KindOf(path) ?? throw new NotSupportedException(Compression.Of(path) is { } compressed
                ? $"{path}: a compressed input must be named for its format as well (.jsonl{compressed}, .csv{compressed}, .parquet{compressed}), or name its format with --format."
                : $"{path}: the input must be a .jsonl or .csv file (compressed with gzip or Zstandard or not), a .parquet file, a folder of .txt files, or - for standard input; --format names the format of another file."),
        };
        _path = path;
        if (Kind == InputKind.Parquet)
        {
            // Parquet's footer is read first, and its row groups in any order: standard input and a compressed file are held
            // in memory as Parquet (whose columns are compressed already).
            _parquet = standardInput ? ParquetFile.OpenInMemory("standard input", input.OpenStandardInput(), input.Fields)
                : Compression.Of(path) is not null ? OpenCompressedParquet(path, input.Fields)
                : ParquetFile.Open(path, input.Fields);
        }

        _source = Kind is InputKind.Folder or InputKind.Parquet ? null : InputSource.For(path, input.OpenStandardInput);
        _fields = input.Fields;
        _withMetadata = withMetadata;
        _idName = Encoding.UTF8.GetBytes(_fields.Id);
        _textName = Encoding.UTF8.GetBytes(_fields.Text);
    }

    private static ParquetFile OpenCompressedParquet(string path, InputFields fields)
    {
        using Stream decompressed = Compression.Decompressing(path, File.OpenRead(path));
        return ParquetFile.OpenInMemory(path, decompressed, fields);
    }

    /// <summary>The kind a file's name says (a compressed file's inner name), or null.</summary>
    public static InputKind? KindOf(string path) => Path.GetExtension(Compression.Without(path))
        .ToUpperInvariant() switch
    {
        ".CSV" => InputKind.Csv,
        ".PARQUET" => InputKind.Parquet,
        ".JSONL" or ".NDJSON" or ".JSON" => InputKind.JsonLines,
        _ => null,
    };

    /// <summary>Field names of the first JSON object read, for a hint when no record had the fields asked for; null before one.</summary>
    public IReadOnlyList<string>? FirstRecordFields { get; set; }

    internal enum InputKind
    {
        JsonLines,
        Csv,
        Folder,
        Parquet,
    }

    public InputKind Kind { get; }

    /// <summary>What messages call the input: its path, or "standard input".</summary>
    public string Name => _parquet?.Name ?? _source?.Name ?? _path;

    /// <summary>Where the current read is.</summary>
    public ReadPosition Position { get; } = new();

    /// <summary>Every well-formed document, in input order.</summary>
    public IEnumerable<InputDocument> Read(Action<InputProblem> onProblem) => Kind switch
    {
        InputKind.Folder => ReadFolder(),
        InputKind.Csv => ReadCsv(onProblem),
        InputKind.Parquet => _parquet!.Read(Position, _withMetadata, onProblem),
        _ => ReadJsonLines(onProblem),
    };

    /// <summary>
    /// The texts of the documents at <paramref name="locators"/> (ascending, from <see cref="InputDocument.Locator"/>; with
    /// the lengths of JSON lines), in that order.
    /// </summary>
    public IEnumerable<string> ReadAt(IEnumerable<(long Locator, int Length)> locators) => Kind switch
    {
        InputKind.JsonLines => ReadJsonLinesAt(locators),
        InputKind.Folder => ReadFolderAt(locators.Select(l => l.Locator)),
        InputKind.Parquet => _parquet!.ReadTextsAt(locators.Select(l => l.Locator)),
        _ => ReadSequentiallyAt(locators.Select(l => l.Locator)),
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

    /// <summary>The input's bytes in chunks of whole lines (the last may end without a line end), each in a rented buffer the taker returns.</summary>
    public IEnumerable<LineChunk> JsonLineChunks()
    {
        using Stream stream = _source!.Open();
        Position.Total = _source.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            long offset = 0;
            int filled = 0;
            while (true)
            {
                int read = stream.Read(buffer, filled, buffer.Length - filled);
                filled += read;
                Position.Done = _source.Consumed;
                if (read == 0)
                {
                    if (filled > 0)
                    {
                        (byte[] last, buffer) = (buffer, []);
                        yield return new LineChunk(last, filled, offset);
                    }

                    yield break;
                }

                if (filled < buffer.Length)
                {
                    continue;
                }

                int end = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                byte[] next = ArrayPool<byte>.Shared.Rent(end == 0 ? buffer.Length * 2 : Math.Max(ChunkBytes, filled - end));
                buffer.AsSpan(end, filled - end).CopyTo(next);
                if (end == 0)
                {
                    // A line longer than the buffer: read on into one twice the size.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = next;
                    continue;
                }

                (byte[] chunk, buffer) = (buffer, next);
                yield return new LineChunk(chunk, end, offset);
                offset += end;
                filled -= end;
            }
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private IEnumerable<InputDocument> ReadJsonLines(Action<InputProblem> onProblem)
    {
        int number = 0;
        foreach (LineChunk chunk in JsonLineChunks())
        {
            try
            {
                foreach ((int start, int length) in chunk.Lines())
                {
                    number++;
                    InputDocument? document = Parse(chunk.Bytes.Slice(start, length), chunk.OffsetOf(0, start), $"{Name}:{number}", out string? reason);
                    if (document is not null)
                    {
                        yield return document;
                    }
                    else if (reason is not null)
                    {
                        onProblem(new InputProblem($"{Name}:{number}", reason));
                    }
                }
            }
            finally
            {
                chunk.Return();
            }
        }
    }

    /// <summary>
    /// Parses every line of <paramref name="chunk"/> on the pool and applies <paramref name="work"/> to each record's text;
    /// returns the chunk's buffer. The first record's field names are gathered while none are known.
    /// </summary>
    public ChunkOutcome<T> ParseChunk<T>(LineChunk chunk, TextWork<T> work, ParallelOptions options)
    {
        try
        {
            List<(int Start, int Length)> lines = chunk.Lines();
            List<string>? firstNames = FirstRecordFields is null ? FirstNames(chunk, lines) : null;
            LineOutcome<T>[] outcomes = OrderedBatches.WorkOn(Enumerable.Range(0, lines.Count).ToArray(), k => ParseLine(chunk, k, lines[k], work), options);
            return new ChunkOutcome<T>(outcomes, firstNames);
        }
        finally
        {
            chunk.Return();
        }
    }

    /// <summary>Line <paramref name="index"/> of a chunk parsed, and its text given to <paramref name="work"/> when it is a record.</summary>
    private LineOutcome<T> ParseLine<T>(LineChunk chunk, int index, (int Start, int Length) at, TextWork<T> work)
    {
        ReadOnlySpan<byte> line = chunk.Bytes.Slice(at.Start, at.Length);
        long offset = chunk.OffsetOf(index, at.Start);
        char[] text = ArrayPool<char>.Shared.Rent(Math.Max(1, line.Length));
        try
        {
            List<string>? names = null;
            string? id = ParseRecord(line, offset, text, out int textLength, null, ref names, out string? reason);
            return new LineOutcome<T>(id, reason, offset, at.Length, id is null ? default! : work(text.AsSpan(0, textLength)));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }
    }

    private List<string>? FirstNames(LineChunk chunk, List<(int Start, int Length)> lines)
    {
        char[] text = ArrayPool<char>.Shared.Rent(1 << 10);
        try
        {
            for (int k = 0; k < lines.Count; k++)
            {
                (int start, int length) = lines[k];
                if (text.Length < length)
                {
                    ArrayPool<char>.Shared.Return(text);
                    text = ArrayPool<char>.Shared.Rent(length);
                }

                List<string>? names = [];
                _ = ParseRecord(chunk.Bytes.Slice(start, length), chunk.OffsetOf(k, start), text, out _, null, ref names, out _);
                if (names is not null)
                {
                    return names;
                }
            }

            return null;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }
    }

    /// <summary>The lines at <paramref name="lines"/> (ascending offsets, lengths without the line end) gathered into chunks of about <see cref="ChunkBytes"/>.</summary>
    public IEnumerable<LineChunk> JsonLineChunksAt(IEnumerable<(long Offset, int Length)> lines)
    {
        using InputSource.RangeReader ranges = _source!.OpenRanges();
        foreach ((long Offset, int Length)[] batch in Batches(lines))
        {
            int total = batch.Sum(l => l.Length + 1);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, total));
            var offsets = new long[batch.Length];
            int at = 0;
            for (int k = 0; k < batch.Length; k++)
            {
                (long offset, int length) = batch[k];
                offsets[k] = offset;
                at += ranges.Read(offset, buffer.AsSpan(at, length));
                buffer[at++] = (byte)'\n';
            }

            yield return new LineChunk(buffer, at, 0, offsets);
        }
    }

    // Whole lines up to about a chunk's bytes, so that a batch is worth sending to the pool.
    private static IEnumerable<(long Offset, int Length)[]> Batches(IEnumerable<(long Offset, int Length)> lines)
    {
        var batch = new List<(long Offset, int Length)>();
        long bytes = 0;
        foreach ((long Offset, int Length) line in lines)
        {
            batch.Add(line);
            bytes += line.Length;
            if (bytes >= ChunkBytes)
            {
                yield return [.. batch];
                batch.Clear();
                bytes = 0;
            }
        }

        if (batch.Count > 0)
        {
            yield return [.. batch];
        }
    }

    private IEnumerable<string> ReadJsonLinesAt(IEnumerable<(long Offset, int Length)> lines)
    {
        foreach ((long offset, ArraySegment<byte> line) in RawLinesAt(lines))
        {
            yield return Parse(line, offset, $"{Name}:{offset}", out string? reason)?.Text
                ?? throw new InvalidDataException($"{Name}: the record at byte {offset} changed while it was read ({reason}).");
        }
    }

    /// <summary>The bytes of the JSON lines at <paramref name="lines"/> (ascending), without their line ends; each valid until the next is read.</summary>
    public IEnumerable<(long Offset, ArraySegment<byte> Line)> RawLinesAt(IEnumerable<(long Offset, int Length)> lines)
    {
        using InputSource.RangeReader ranges = _source!.OpenRanges();
        // The lines come in ascending order and, for --output-corpus, nearly all of them: read a window of a megabyte at a
        // time and take the lines from it, not one read call a line (a million calls for a million kept articles).
        byte[] window = ArrayPool<byte>.Shared.Rent(1 << 20);
        long windowStart = 0;
        int windowLength = 0;
        try
        {
            foreach ((long offset, int length) in lines)
            {
                if (offset < windowStart || offset + length > windowStart + windowLength)
                {
                    if (window.Length < length)
                    {
                        ArrayPool<byte>.Shared.Return(window);
                        window = ArrayPool<byte>.Shared.Rent(length);
                    }

                    (windowStart, windowLength) = (offset, ranges.Read(offset, window));
                }

                int start = (int)(offset - windowStart), read = Math.Min(length, windowLength - start);
                yield return (offset, new ArraySegment<byte>(window, start, read > 0 && window[start + read - 1] == '\r' ? read - 1 : read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
    }

    private static readonly char[] OtherSeparators = [';', '\t', '|'];

    /// <summary>The CSV's header and the records at the ordinals in <paramref name="locators"/> (ascending), each as its fields.</summary>
    public IEnumerable<IReadOnlyList<string>> CsvRecordsAt(IEnumerable<long> locators)
    {
        using IEnumerator<long> wanted = locators.GetEnumerator();
        using var reader = new StreamReader(_source!.Open(), Encoding.UTF8);
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
    private InputDocument? Parse(ReadOnlySpan<byte> line, long offset, string source, out string? reason)
    {
        char[] text = ArrayPool<char>.Shared.Rent(Math.Max(1, line.Length));
        try
        {
            Dictionary<string, string>? metadata = _withMetadata ? [] : null;
            List<string>? names = FirstRecordFields is null ? [] : null;
            string? id = ParseRecord(line, offset, text, out int textLength, metadata, ref names, out reason);
            FirstRecordFields ??= names;
            return id is null ? null : new InputDocument(id, new string(text, 0, textLength), source, offset, metadata) { Length = line.Length };
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }
    }

    /// <summary>
    /// One JSON line: its id, with its text decoded into <paramref name="text"/> (at least the line's length) and the other
    /// fields into <paramref name="metadata"/>; null with a reason when malformed, null without one when blank. The field
    /// names go to <paramref name="names"/>, which is set to null unless the line is a JSON object. Plain records take
    /// <see cref="JsonRecordFastPath"/>; the rest, and every malformed one, <see cref="ReadRecord"/>.
    /// </summary>
    private string? ParseRecord(ReadOnlySpan<byte> line, long offset, Span<char> text, out int textLength, Dictionary<string, string>? metadata,
        ref List<string>? names, out string? reason)
    {
        if (offset == 0 && line.StartsWith(Utf8Bom))
        {
            line = line[Utf8Bom.Length..];
        }

        if (metadata is null && names is null && JsonRecordFastPath.TryRead(line, _idName, _textName, text, out string? id, out textLength))
        {
            reason = null;
            return id;
        }

        return ReadRecord(line, _fields, _idName, _textName, text, out textLength, metadata, ref names, out reason);
    }

    /// <summary>
    /// One JSON line read with Utf8JsonReader, as <see cref="ParseRecord"/> describes: the reference for every line. The
    /// field names come as given (for messages) and in UTF-8 (to match).
    /// </summary>
    internal static string? ReadRecord(ReadOnlySpan<byte> line, InputFields fields, ReadOnlySpan<byte> idName, ReadOnlySpan<byte> textName, Span<char> text,
        out int textLength, Dictionary<string, string>? metadata, ref List<string>? names, out string? reason)
    {
        reason = null;
        textLength = -1;
        List<string>? fieldNames = names;
        names = null;
        if (line.TrimEnd("\r\t "u8).IsEmpty)
        {
            return null;
        }

        string? id = null;
        JsonTokenType idToken = JsonTokenType.None;
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
                fieldNames?.Add(json.GetString()!);
                bool isId = json.ValueTextEquals(idName), isText = !isId && json.ValueTextEquals(textName);
                string? name = metadata is not null && !isId && !isText ? json.GetString() : null;
                json.Read();
                if (isId)
                {
                    // Ids may be numbers in exports; texts must be strings.
                    idToken = json.TokenType;
                    id = json.TokenType switch
                    {
                        JsonTokenType.String => json.GetString(),
                        JsonTokenType.Number => Encoding.UTF8.GetString(json.ValueSpan),
                        _ => null,
                    };
                }
                else if (isText)
                {
                    // A text decodes to at most as many chars as it has bytes, so it fits.
                    textLength = json.TokenType == JsonTokenType.String ? json.CopyString(text) : -1;
                }
                else if (name is not null)
                {
                    metadata![name] = json.TokenType == JsonTokenType.String ? json.GetString()! : RawValue(ref json, line);
                }

                json.Skip();
            }

            // Reading past the object rejects anything after it on the line.
            json.Read();
            names = fieldNames;
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

        reason = (id, idToken) switch
        {
            (not null, _) => textLength < 0 ? $"no string \"{fields.Text}\" field" : null,
            (_, JsonTokenType.None) => $"no \"{fields.Id}\" field",
            (_, JsonTokenType.Null) => $"its \"{fields.Id}\" is null, not a string or a number",
            (_, JsonTokenType.StartObject) => $"its \"{fields.Id}\" is an object, not a string or a number",
            (_, JsonTokenType.StartArray) => $"its \"{fields.Id}\" is an array, not a string or a number",
            _ => $"its \"{fields.Id}\" is true or false, not a string or a number",
        };
        return reason is null ? id : null;
    }

    private static string RawValue(ref Utf8JsonReader json, ReadOnlySpan<byte> line)
    {
        int start = (int)json.TokenStartIndex;
        json.Skip();
        return Encoding.UTF8.GetString(line[start..(int)json.BytesConsumed]);
    }

    private IEnumerable<InputDocument> ReadCsv(Action<InputProblem> onProblem)
    {
        using var reader = new StreamReader(_source!.Open(), Encoding.UTF8);
        Position.Total = _source.Length;
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
            // A header read as one column that holds ';' or a tab is most likely another separator than the comma.
            char? separator = header.Count == 1 && header[0].IndexOfAny(OtherSeparators) is int at and >= 0 ? header[0][at] : null;
            throw new InvalidDataException($"{Name}:1: the header has no \"{(idColumn < 0 ? _fields.Id : _fields.Text)}\" column ({string.Join(", ", header)})"
                + (separator is null ? "." : $"; its fields look separated by {(separator == '\t' ? "tabs" : $"'{separator}'")}: compare reads CSV separated by commas."));
        }

        for (long ordinal = 0; ; Position.Done = _source.Consumed)
        {
            int start = line;
            List<string>? record = ReadCsvRecord(reader, ref line, out string? error);
            if (record is null)
            {
                yield break;
            }

            if (error is not null)
            {
                onProblem(new InputProblem($"{Name}:{start}", error));
            }
            else if (record.Count != header.Count)
            {
                onProblem(new InputProblem($"{Name}:{start}", $"{record.Count} fields where the header has {header.Count}"));
            }
            else
            {
                Dictionary<string, string>? metadata = _withMetadata
                    ? header.Select((name, column) => (name, column)).Where(c => c.column != idColumn && c.column != textColumn).ToDictionary(c => c.name, c => record[c.column])
                    : null;
                yield return new InputDocument(record[idColumn], record[textColumn], $"{Name}:{start}", ordinal++, metadata);
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

    /// <summary>A Parquet input's file; null for other inputs.</summary>
    public ParquetFile? Parquet => _parquet;

    public void Dispose()
    {
        _source?.Dispose();
        _parquet?.Dispose();
    }
}

/// <summary>Whole lines of a JSON lines input in a rented buffer; <see cref="Return"/> gives the buffer back.</summary>
/// <param name="Buffer">The rented buffer.</param>
/// <param name="Length">How many of its bytes are lines.</param>
/// <param name="Offset">Where the first byte is in the input.</param>
/// <param name="LineOffsets">Where each line is in the input, when the lines were gathered from several places.</param>
internal readonly record struct LineChunk(byte[] Buffer, int Length, long Offset, long[]? LineOffsets = null)
{
    public ReadOnlySpan<byte> Bytes => Buffer.AsSpan(0, Length);

    /// <summary>Each line's start and length without its line end; a last line without one counts when it is not empty.</summary>
    public List<(int Start, int Length)> Lines()
    {
        var lines = new List<(int Start, int Length)>(LineOffsets?.Length ?? 64);
        ReadOnlySpan<byte> bytes = Bytes;
        int start = 0;
        while (start < bytes.Length)
        {
            int newline = bytes[start..].IndexOf((byte)'\n');
            int length = newline < 0 ? bytes.Length - start : newline;
            lines.Add((start, length));
            start += length + 1;
        }

        return lines;
    }

    /// <summary>Where line <paramref name="index"/>, starting at <paramref name="start"/> in the buffer, is in the input.</summary>
    public long OffsetOf(int index, int start) => LineOffsets is { } offsets ? offsets[index] : Offset + start;

    public void Return()
    {
        if (Buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Buffer);
        }
    }
}

/// <summary>One line of a chunk parsed on the pool: an id and the work's result, a reason it was skipped, or neither when blank.</summary>
internal readonly record struct LineOutcome<T>(string? Id, string? Reason, long Offset, int Length, T Result);

/// <summary>A parsed chunk: each line's outcome, and the field names of its first JSON object when asked for.</summary>
internal sealed record ChunkOutcome<T>(LineOutcome<T>[] Lines, List<string>? FirstNames);
