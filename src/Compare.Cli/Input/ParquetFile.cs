using System.Collections.Concurrent;
using System.Globalization;
using Compare.Core.Clustering;
using Parquet;
using Parquet.Schema;

namespace Compare.Cli.Input;

/// <summary>
/// A Parquet file read row group by row group with Parquet.Net: the id and text columns (top-level, not repeated; the text
/// a string column, the id a string or integer one), the other plain columns as metadata when asked for. A document is
/// found again by its row number. The batch commands read row groups on the pool, two at a time (<see cref="ParseGroup"/>,
/// <see cref="WorkOnRows"/>), each with a reader of its own, since a reader moves its stream: memory grows with the file's
/// row groups, not with the file, and a file whose row groups would not fit is refused when opened.
/// </summary>
internal sealed class ParquetFile : IDisposable
{
    private readonly Func<Stream> _open;
    private readonly Stream _stream;
    private readonly ParquetReader _reader;
    private readonly DataField _id;
    private readonly DataField _text;
    private readonly long[] _firstRows;
    private readonly ConcurrentBag<(Stream Stream, ParquetReader Reader)> _spareReaders = [];

    private ParquetFile(string name, Func<Stream> open, Stream stream, ParquetReader reader, DataField id, DataField text)
    {
        Name = name;
        _open = open;
        _stream = stream;
        _reader = reader;
        _id = id;
        _text = text;
        _firstRows = new long[reader.RowGroupCount + 1];
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            _firstRows[g + 1] = _firstRows[g] + reader.Metadata!.RowGroups[g].NumRows;
        }
    }

    /// <summary>What messages call it: its path, or "standard input".</summary>
    public string Name { get; }

    /// <summary>
    /// What reading a row group takes, for each byte of its text column uncompressed: the compressed pages, the
    /// decompressed ones and the decoded chars, which Parquet.Net holds at once. Measured: one row group of 200,000
    /// articles (532 MB of text) took the whole dedup 3.5 GB at its peak.
    /// </summary>
    private const int MemoryPerTextByte = 7;

    /// <summary>
    /// Opens the file at <paramref name="path"/> and checks that it has the columns <paramref name="fields"/> names, of types
    /// it can read, and that its largest row group can be read within <paramref name="memoryLimit"/> (default: half the
    /// memory the process may use).
    /// </summary>
    /// <exception cref="InvalidDataException">Not a Parquet file, without those columns, or with a row group too large.</exception>
    public static ParquetFile Open(string path, InputFields fields, long? memoryLimit = null) => Open(path, () => File.OpenRead(path), fields, memoryLimit);

    /// <summary>
    /// Reads all of <paramref name="input"/> (standard input, or a compressed file as it decompresses) into memory, refused
    /// beyond half the memory the process may use or <paramref name="memoryLimit"/>, and opens that as <see cref="Open(string, InputFields, long?)"/> does.
    /// </summary>
    /// <exception cref="InvalidDataException">More than fits, or as <see cref="Open(string, InputFields, long?)"/>.</exception>
    public static ParquetFile OpenInMemory(string name, Stream input, InputFields fields, long? memoryLimit = null)
    {
        long limit = Math.Min(memoryLimit ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2, Array.MaxLength);
        var bytes = new MemoryStream();
        byte[] buffer = new byte[1 << 20];
        for (int read; (read = input.Read(buffer)) > 0;)
        {
            if (bytes.Length + read > limit)
            {
                throw new InvalidDataException($"{name}: Parquet over {limit / 1_000_000:N0} MB is not held in memory; give it as a .parquet file.");
            }

            bytes.Write(buffer, 0, read);
        }

        byte[] file = bytes.GetBuffer();
        int length = (int)bytes.Length;
        return Open(name, () => new MemoryStream(file, 0, length, writable: false), fields, memoryLimit);
    }

    private static ParquetFile Open(string name, Func<Stream> open, InputFields fields, long? memoryLimit)
    {
        Stream stream = open();
        try
        {
            ParquetReader reader;
            try
            {
                reader = Wait(ParquetReader.CreateAsync(stream, leaveStreamOpen: true));
            }
            catch (Exception e)
            {
                throw new InvalidDataException($"{name}: not a readable Parquet file ({e.Message}).", e);
            }

            DataField[] plain = [.. reader.Schema.DataFields.Where(IsPlain)];
            DataField id = Column(name, plain, fields.Id, "--id-field", f => IsString(f) || IsInteger(f), "a string or integer");
            DataField text = Column(name, plain, fields.Text, "--text-field", IsString, "a string");
            EnsureRowGroupsFit(name, reader, text, memoryLimit ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);
            return new ParquetFile(name, open, stream, reader, id, text);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Rows in the file.</summary>
    public long RowCount => _firstRows[^1];

    /// <summary>Row groups in the file.</summary>
    public int RowGroupCount => _reader.RowGroupCount;

    /// <summary>
    /// Row group <paramref name="group"/> read on this thread with a reader of its own, and <paramref name="work"/> applied to
    /// each text on the pool: an outcome a row, its offset the row's number, with a reason where it has no id or text.
    /// </summary>
    public ChunkOutcome<T> ParseGroup<T>(int group, TextWork<T> work, ParallelOptions options)
    {
        (string?[] ids, TextValues texts) = WithReader(reader =>
        {
            using ParquetRowGroupReader rows = reader.OpenRowGroupReader(group);
            return (ReadIds(rows), ReadTextValues(rows));
        });
        long first = _firstRows[group];
        LineOutcome<T>[] rows = OrderedBatches.WorkOn(Enumerable.Range(0, ids.Length).ToArray(), k => ids[k] is { } id && texts.TryGet(k, out ReadOnlyMemory<char> text)
            ? new LineOutcome<T>(id, null, first + k, 0, work(text.Span))
            : new LineOutcome<T>(null, Missing(ids[k]), first + k, 0, default!), options);
        return new ChunkOutcome<T>(rows, null);
    }

    /// <summary>The rows at <paramref name="rows"/> (ascending) by the row group holding them.</summary>
    public IEnumerable<(int Group, long[] Rows)> ByGroup(IEnumerable<long> rows)
    {
        int group = -1;
        var inGroup = new List<long>();
        foreach (long row in rows)
        {
            if (group >= 0 && row >= _firstRows[group + 1])
            {
                yield return (group, [.. inGroup]);
                inGroup.Clear();
            }

            if (inGroup.Count == 0)
            {
                int at = Array.BinarySearch(_firstRows, row);
                group = at >= 0 ? at : ~at - 1;
                if (group >= RowGroupCount)
                {
                    throw new InvalidDataException($"{Name}: row {row + 1:N0} is not in the file any more; did it change?");
                }
            }

            inGroup.Add(row);
        }

        if (inGroup.Count > 0)
        {
            yield return (group, [.. inGroup]);
        }
    }

    /// <summary><paramref name="work"/> on the texts of <paramref name="rows"/>, all in row group <paramref name="group"/>, read with a reader of its own.</summary>
    public T[] WorkOnRows<T>(int group, long[] rows, TextWork<T> work, ParallelOptions options)
    {
        TextValues texts = WithReader(reader =>
        {
            using ParquetRowGroupReader inGroup = reader.OpenRowGroupReader(group);
            return ReadTextValues(inGroup);
        });
        long first = _firstRows[group];
        ReadOnlyMemory<char>[] wanted = [.. rows.Select(row => texts.TryGet((int)(row - first), out ReadOnlyMemory<char> text) ? text : throw Changed(row))];
        return OrderedBatches.WorkOn(wanted, text => work(text.Span), options);
    }

    /// <summary>Every row with an id and a text, in order; a row without one goes to <paramref name="onProblem"/>.</summary>
    public IEnumerable<InputDocument> Read(ReadPosition position, bool withMetadata, Action<InputProblem> onProblem)
    {
        position.Total = RowCount;
        long row = 0;
        DataField[] others = withMetadata ? [.. _reader.Schema.DataFields.Where(f => IsPlain(f) && f.Name != _id.Name && f.Name != _text.Name && AsStrings(f) is not null)] : [];
        for (int g = 0; g < _reader.RowGroupCount; g++)
        {
            (string?[] ids, string?[] texts, string?[][] metadata) = ReadGroup(g, others);
            for (int k = 0; k < ids.Length; k++, row++)
            {
                position.Done = row + 1;
                if (ids[k] is not { } id || texts[k] is not { } text)
                {
                    onProblem(new InputProblem($"{Name}: row {row + 1:N0}", Missing(ids[k])));
                    continue;
                }

                Dictionary<string, string>? fields = withMetadata ? [] : null;
                for (int m = 0; m < others.Length; m++)
                {
                    if (metadata[m][k] is { } value)
                    {
                        fields![others[m].Name] = value;
                    }
                }

                yield return new InputDocument(id, text, $"{Name}: row {row + 1:N0}", row, fields);
            }
        }
    }

    /// <summary>The texts of the rows at <paramref name="rows"/> (ascending), reading only the row groups that hold them.</summary>
    public IEnumerable<string> ReadTextsAt(IEnumerable<long> rows)
    {
        foreach ((int group, long[] inGroup) in ByGroup(rows))
        {
            TextValues texts;
            using (ParquetRowGroupReader reader = _reader.OpenRowGroupReader(group))
            {
                texts = ReadTextValues(reader);
            }

            foreach (long row in inGroup)
            {
                yield return texts.TryGet((int)(row - _firstRows[group]), out ReadOnlyMemory<char> text) ? text.ToString() : throw Changed(row);
            }
        }
    }

    /// <summary>
    /// Writes the rows at <paramref name="rows"/> (ascending) to a new Parquet file at <paramref name="target"/> with this
    /// file's schema, a row group for each of its row groups that keeps any.
    /// </summary>
    /// <exception cref="NotSupportedException">A column <see cref="WhyRowsCannotBeCopied"/> names.</exception>
    public void WriteRows(string target, IEnumerable<long> rows)
    {
        if (WhyRowsCannotBeCopied() is { } reason)
        {
            throw new NotSupportedException(reason);
        }

        using FileStream output = File.Create(target);
        ParquetWriter writer = Wait(ParquetWriter.CreateAsync(_reader.Schema, output));
        try
        {
            foreach ((int g, long[] inGroup) in ByGroup(rows))
            {
                long first = _firstRows[g];
                int[] picked = [.. inGroup.Select(r => (int)(r - first))];
                using ParquetRowGroupReader group = _reader.OpenRowGroupReader(g);
                using ParquetRowGroupWriter copy = writer.CreateRowGroup();
                foreach (DataField column in _reader.Schema.DataFields)
                {
                    Wait(Copier(column)!(group, copy, column, picked));
                }
            }
        }
        finally
        {
            Wait(writer.DisposeAsync());
        }
    }

    /// <summary>Why <see cref="WriteRows"/> cannot copy this file's rows (a nested or repeated column, or one of another type), or null.</summary>
    public string? WhyRowsCannotBeCopied() => _reader.Schema.DataFields.FirstOrDefault(f => !IsPlain(f) || Copier(f) is null) is { } field
        ? $"{Name}: --output-corpus cannot copy the column \"{field.Path}\" ({(IsPlain(field) ? field.ClrType.Name : "nested or repeated")}); --keep and --drop write the ids instead."
        : null;

    public void Dispose()
    {
        Wait(_reader.DisposeAsync());
        _stream.Dispose();
        while (_spareReaders.TryTake(out (Stream Stream, ParquetReader Reader) spare))
        {
            Wait(spare.Reader.DisposeAsync());
            spare.Stream.Dispose();
        }
    }

    private (string?[] Ids, string?[] Texts, string?[][] Metadata) ReadGroup(int index, DataField[] others)
    {
        using ParquetRowGroupReader group = _reader.OpenRowGroupReader(index);
        return (ReadIds(group), Wait(ReadStrings(group, _text)), [.. others.Select(f => Wait(AsStrings(f)!(group, f)))]);
    }

    private string?[] ReadIds(ParquetRowGroupReader group) => Wait(AsStrings(_id)!(group, _id));

    // The batch commands' texts: the column's values without a string each (a quarter less time than strings), a row's
    // found by its definition level, which is the field's maximum where the row has one.
    private TextValues ReadTextValues(ParquetRowGroupReader group)
    {
        var values = new ReadOnlyMemory<char>[group.RowCount];
        int[] levels = new int[group.RowCount];
        Wait(group.ReadRawAsync(_text, values.AsMemory(), levels.AsMemory(), null));
        return new TextValues(values, levels, _text.MaxDefinitionLevel);
    }

    /// <summary>A row group's texts as Parquet packs them: the values of the rows that have one, in order.</summary>
    private sealed class TextValues
    {
        private readonly ReadOnlyMemory<char>[] _values;
        private readonly int[] _valueOfRow;

        public TextValues(ReadOnlyMemory<char>[] values, int[] levels, int present)
        {
            _values = values;
            _valueOfRow = new int[levels.Length];
            for (int row = 0, value = 0; row < levels.Length; row++)
            {
                _valueOfRow[row] = levels[row] == present ? value++ : -1;
            }
        }

        public bool TryGet(int row, out ReadOnlyMemory<char> text)
        {
            int value = _valueOfRow[row];
            text = value >= 0 ? _values[value] : default;
            return value >= 0;
        }
    }

    private string Missing(string? id) => id is null ? $"no \"{_id.Name}\"" : $"no \"{_text.Name}\"";

    private InvalidDataException Changed(long row) => new($"{Name}: row {row + 1:N0} has no text any more; did the file change?");

    // A reader of the pool's own, opened on first need and kept for the next row group.
    private TResult WithReader<TResult>(Func<ParquetReader, TResult> read)
    {
        if (!_spareReaders.TryTake(out (Stream Stream, ParquetReader Reader) spare))
        {
            Stream stream = _open();
            spare = (stream, Wait(ParquetReader.CreateAsync(stream, leaveStreamOpen: true)));
        }

        try
        {
            return read(spare.Reader);
        }
        catch (Exception e) when (e is not InvalidDataException and not IOException and not OperationCanceledException)
        {
            // Parquet.Net's own exceptions for damaged pages vary.
            throw new InvalidDataException($"{Name}: a row group cannot be read ({e.Message}).", e);
        }
        finally
        {
            _spareReaders.Add(spare);
        }
    }

    // Parquet.Net reads a column of a row group whole, and the batch commands read two row groups at once: a file written
    // in huge row groups (pyarrow's default is up to a million rows) is refused before any work, naming the way out,
    // rather than run out of memory halfway.
    private static void EnsureRowGroupsFit(string path, ParquetReader reader, DataField text, long memoryLimit)
    {
        long[] textBytes = [.. reader.Metadata!.RowGroups.Select(g => g.Columns.Where(c => c.MetaData?.PathInSchema is [string name] && name == text.Name)
            .Sum(c => c.MetaData!.TotalUncompressedSize))];
        long needed = textBytes.OrderDescending().Take(2).Sum() * MemoryPerTextByte;
        if (needed > memoryLimit)
        {
            int largest = Array.IndexOf(textBytes, textBytes.Max());
            throw new InvalidDataException($"{path}: row group {largest + 1:N0} holds {textBytes[largest] / 1e6:N0} MB of text, and reading the row groups " +
                $"would take about {needed / 1e6:N0} MB, over the {memoryLimit / 1e6:N0} MB this run may use; write the file in smaller row groups " +
                "(pyarrow: row_group_size=10000) or give it as JSON lines.");
        }
    }

    private static DataField Column(string path, DataField[] plain, string name, string option, Func<DataField, bool> readable, string kind)
    {
        DataField? field = plain.FirstOrDefault(f => f.Name == name);
        if (field is null)
        {
            throw new InvalidDataException($"{path}: no column \"{name}\"; its columns are {string.Join(", ", plain.Select(f => $"\"{f.Name}\""))} ({option} names another).");
        }

        return readable(field) ? field : throw new InvalidDataException($"{path}: the column \"{name}\" holds {field.ClrType.Name}, not {kind}.");
    }

    // A column at the top level that holds one value a row.
    private static bool IsPlain(DataField field) => field.Path.Length == 1 && field.MaxRepetitionLevel == 0 && !field.IsArray;

    private static bool IsString(DataField field) => field.ClrType == typeof(ReadOnlyMemory<char>) || field.ClrType == typeof(string);

    private static bool IsInteger(DataField field) =>
        field.ClrType == typeof(int) || field.ClrType == typeof(long) || field.ClrType == typeof(short) || field.ClrType == typeof(sbyte)
        || field.ClrType == typeof(uint) || field.ClrType == typeof(ulong) || field.ClrType == typeof(ushort) || field.ClrType == typeof(byte);

    private static async Task<string?[]> ReadStrings(ParquetRowGroupReader group, DataField field)
    {
        string?[] values = new string?[group.RowCount];
        await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
        return values;
    }

    // A column's values as metadata strings, as JSON would write them (numbers culture-invariant, true and false); null
    // for a column of another type, which metadata leaves out.
    private static Func<ParquetRowGroupReader, DataField, Task<string?[]>>? AsStrings(DataField field) => field.ClrType switch
    {
        Type t when IsString(field) => ReadStrings,
        Type t when t == typeof(bool) => (g, f) => Format<bool>(g, f, v => v ? "true" : "false"),
        Type t when t == typeof(int) => (g, f) => Format<int>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(long) => (g, f) => Format<long>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(short) => (g, f) => Format<short>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(sbyte) => (g, f) => Format<sbyte>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(uint) => (g, f) => Format<uint>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(ulong) => (g, f) => Format<ulong>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(ushort) => (g, f) => Format<ushort>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(byte) => (g, f) => Format<byte>(g, f, v => v.ToString(CultureInfo.InvariantCulture)),
        Type t when t == typeof(float) => (g, f) => Format<float>(g, f, v => v.ToString("R", CultureInfo.InvariantCulture)),
        Type t when t == typeof(double) => (g, f) => Format<double>(g, f, v => v.ToString("R", CultureInfo.InvariantCulture)),
        _ => null,
    };

    private static async Task<string?[]> Format<T>(ParquetRowGroupReader group, DataField field, Func<T, string> format)
        where T : struct
    {
        T?[] values = await Values<T>(group, field).ConfigureAwait(false);
        return [.. values.Select(v => v is { } value ? format(value) : null)];
    }

    private static async Task<T?[]> Values<T>(ParquetRowGroupReader group, DataField field)
        where T : struct
    {
        var values = new T?[group.RowCount];
        if (field.IsNullable)
        {
            await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
            return values;
        }

        var plain = new T[group.RowCount];
        await group.ReadAsync(field, plain.AsMemory()).ConfigureAwait(false);
        for (int k = 0; k < plain.Length; k++)
        {
            values[k] = plain[k];
        }

        return values;
    }

    // How a column's kept rows are copied: by its type, null for a type --output-corpus does not copy.
    private static Func<ParquetRowGroupReader, ParquetRowGroupWriter, DataField, int[], Task>? Copier(DataField field) => field.ClrType switch
    {
        Type t when IsString(field) => CopyStrings,
        Type t when t == typeof(ReadOnlyMemory<byte>) => CopyBytes,
        Type t when t == typeof(bool) => Copy<bool>,
        Type t when t == typeof(int) => Copy<int>,
        Type t when t == typeof(long) => Copy<long>,
        Type t when t == typeof(float) => Copy<float>,
        Type t when t == typeof(double) => Copy<double>,
        Type t when t == typeof(short) => Copy<short>,
        Type t when t == typeof(sbyte) => Copy<sbyte>,
        Type t when t == typeof(uint) => Copy<uint>,
        Type t when t == typeof(ulong) => Copy<ulong>,
        Type t when t == typeof(ushort) => Copy<ushort>,
        Type t when t == typeof(byte) => Copy<byte>,
        Type t when t == typeof(decimal) => Copy<decimal>,
        Type t when t == typeof(DateTime) => Copy<DateTime>,
        Type t when t == typeof(DateTimeOffset) => Copy<DateTimeOffset>,
        Type t when t == typeof(TimeSpan) => Copy<TimeSpan>,
        Type t when t == typeof(Guid) => Copy<Guid>,
        _ => null,
    };

    private static async Task CopyStrings(ParquetRowGroupReader group, ParquetRowGroupWriter copy, DataField field, int[] rows)
    {
        string?[] values = await ReadStrings(group, field).ConfigureAwait(false);
        await copy.WriteAsync(field, [.. rows.Select(r => values[r])]).ConfigureAwait(false);
    }

    private static async Task CopyBytes(ParquetRowGroupReader group, ParquetRowGroupWriter copy, DataField field, int[] rows)
    {
        byte[]?[] values = new byte[]?[group.RowCount];
        await group.ReadAsync(field, values.AsMemory()).ConfigureAwait(false);
        await copy.WriteAsync(field, [.. rows.Select(r => values[r])]).ConfigureAwait(false);
    }

    private static async Task Copy<T>(ParquetRowGroupReader group, ParquetRowGroupWriter copy, DataField field, int[] rows)
        where T : struct
    {
        T?[] values = await Values<T>(group, field).ConfigureAwait(false);
        if (field.IsNullable)
        {
            await copy.WriteAsync(field, (ReadOnlyMemory<T?>)rows.Select(r => values[r]).ToArray()).ConfigureAwait(false);
        }
        else
        {
            await copy.WriteAsync(field, (ReadOnlyMemory<T>)rows.Select(r => values[r]!.Value).ToArray()).ConfigureAwait(false);
        }
    }

    // The CLI reads on its own threads with no synchronization context: waiting on Parquet.Net's tasks blocks nothing else.
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    private static void Wait(ValueTask task) => task.AsTask().GetAwaiter().GetResult();
}
