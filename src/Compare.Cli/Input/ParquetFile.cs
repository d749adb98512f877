using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Compare.Cli.Input;

/// <summary>
/// A Parquet file read row group by row group with Parquet.Net: the id and text columns (top-level, not repeated; the text
/// a string column, the id a string or integer one), the other plain columns as metadata when asked for. A document is
/// found again by its row number. Memory holds one row group's columns at a time, so it grows with the file's row
/// groups, not with the file.
/// </summary>
internal sealed class ParquetFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly ParquetReader _reader;
    private readonly DataField _id;
    private readonly DataField _text;

    private ParquetFile(string path, FileStream stream, ParquetReader reader, DataField id, DataField text)
    {
        Path = path;
        _stream = stream;
        _reader = reader;
        _id = id;
        _text = text;
    }

    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> and checks that it has the columns <paramref name="fields"/> names, of types it can read.</summary>
    /// <exception cref="InvalidDataException">Not a Parquet file, or without those columns.</exception>
    public static ParquetFile Open(string path, InputFields fields)
    {
        FileStream stream = File.OpenRead(path);
        try
        {
            ParquetReader reader;
            try
            {
                reader = Wait(ParquetReader.CreateAsync(stream, leaveStreamOpen: true));
            }
            catch (Exception e)
            {
                throw new InvalidDataException($"{path}: not a readable Parquet file ({e.Message}).", e);
            }

            DataField[] plain = [.. reader.Schema.DataFields.Where(IsPlain)];
            DataField id = Column(path, plain, fields.Id, "--id-field", f => IsString(f) || IsInteger(f), "a string or integer");
            DataField text = Column(path, plain, fields.Text, "--text-field", IsString, "a string");
            return new ParquetFile(path, stream, reader, id, text);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Rows in the file.</summary>
    public long RowCount => _reader.RowGroups.Sum(g => g.RowCount);

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
                    onProblem(new InputProblem($"{Path}: row {row + 1:N0}", ids[k] is null ? $"no \"{_id.Name}\"" : $"no \"{_text.Name}\""));
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

                yield return new InputDocument(id, text, $"{Path}: row {row + 1:N0}", row, fields);
            }
        }
    }

    /// <summary>The texts of the rows at <paramref name="rows"/> (ascending), reading only the row groups that hold them.</summary>
    public IEnumerable<string> ReadTextsAt(IEnumerable<long> rows)
    {
        using IEnumerator<long> wanted = rows.GetEnumerator();
        bool more = wanted.MoveNext();
        long first = 0;
        for (int g = 0; g < _reader.RowGroupCount && more; first += _reader.RowGroups[g].RowCount, g++)
        {
            long end = first + _reader.RowGroups[g].RowCount;
            if (wanted.Current >= end)
            {
                continue;
            }

            using ParquetRowGroupReader group = _reader.OpenRowGroupReader(g);
            string?[] texts = Wait(ReadStrings(group, _text));
            for (; more && wanted.Current < end; more = wanted.MoveNext())
            {
                yield return texts[wanted.Current - first] ?? throw new InvalidDataException($"{Path}: row {wanted.Current + 1:N0} has no text any more; did the file change?");
            }
        }

        if (more)
        {
            throw new InvalidDataException($"{Path}: row {wanted.Current + 1:N0} is not in the file any more; did it change?");
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

        long[] kept = [.. rows];
        using FileStream output = File.Create(target);
        ParquetWriter writer = Wait(ParquetWriter.CreateAsync(_reader.Schema, output));
        try
        {
            long first = 0;
            int from = 0;
            for (int g = 0; g < _reader.RowGroupCount; first += _reader.RowGroups[g].RowCount, g++)
            {
                long end = first + _reader.RowGroups[g].RowCount;
                int to = from;
                while (to < kept.Length && kept[to] < end)
                {
                    to++;
                }

                if (to > from)
                {
                    int[] picked = [.. kept[from..to].Select(r => (int)(r - first))];
                    using ParquetRowGroupReader group = _reader.OpenRowGroupReader(g);
                    using ParquetRowGroupWriter copy = writer.CreateRowGroup();
                    foreach (DataField column in _reader.Schema.DataFields)
                    {
                        Wait(Copier(column)!(group, copy, column, picked));
                    }
                }

                from = to;
            }
        }
        finally
        {
            Wait(writer.DisposeAsync());
        }
    }

    /// <summary>Why <see cref="WriteRows"/> cannot copy this file's rows (a nested or repeated column, or one of another type), or null.</summary>
    public string? WhyRowsCannotBeCopied() => _reader.Schema.DataFields.FirstOrDefault(f => !IsPlain(f) || Copier(f) is null) is { } field
        ? $"{Path}: --output-corpus cannot copy the column \"{field.Path}\" ({(IsPlain(field) ? field.ClrType.Name : "nested or repeated")}); --keep and --drop write the ids instead."
        : null;

    public void Dispose()
    {
        Wait(_reader.DisposeAsync());
        _stream.Dispose();
    }

    private (string?[] Ids, string?[] Texts, string?[][] Metadata) ReadGroup(int index, DataField[] others)
    {
        using ParquetRowGroupReader group = _reader.OpenRowGroupReader(index);
        string?[] ids = Wait(IsString(_id) ? ReadStrings(group, _id) : AsStrings(_id)!(group, _id));
        string?[] texts = Wait(ReadStrings(group, _text));
        string?[][] metadata = [.. others.Select(f => Wait(AsStrings(f)!(group, f)))];
        return (ids, texts, metadata);
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

    private static T Wait<T>(ValueTask<T> task) => task.AsTask().GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    private static void Wait(ValueTask task) => task.AsTask().GetAwaiter().GetResult();
}
