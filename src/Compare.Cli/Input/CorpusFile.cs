using Compare.Core.Clustering;

namespace Compare.Cli.Input;

/// <summary>A malformed record under --strict, or an input that cannot be read at all.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>
/// An input file or folder read as a stream of documents: malformed records and repeated ids are
/// reported as "FILE:LINE: reason; skipped" (the first <see cref="ListedProblems"/>; or end the run under --strict),
/// and the ids of the accepted documents are kept in order. Texts are not kept: the engine reads them again by
/// position (<see cref="InputSource"/>: a gzipped file is decompressed again, standard input kept compressed in memory).
/// JSON lines are parsed on the pool, a chunk of lines at a time, with the engine's work on each text fused in, so the
/// reading thread only reads.
/// </summary>
internal sealed class CorpusFile : IRereadableCorpus, IDisposable
{
    /// <summary>Skipped records reported one by one; the rest are counted in the summary.</summary>
    public const int ListedProblems = 10;

    private readonly DocumentReader _reader;
    private readonly bool _strict;
    private readonly TextWriter _error;
    private readonly List<long> _locators = [];
    private readonly List<int> _lengths = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <exception cref="InputException">The input does not exist or is not a kind the CLI reads.</exception>
    public CorpusFile(InputSpec input, bool strict, TextWriter error, bool withMetadata = false)
    {
        try
        {
            _reader = new DocumentReader(input, withMetadata);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new InputException(e.Message);
        }

        _strict = strict;
        _error = error;
    }

    /// <summary>Ids of the accepted documents, in input order; complete after a full read.</summary>
    public List<string> Ids { get; } = [];

    /// <summary>Records skipped as malformed or repeated.</summary>
    public int Skipped { get; private set; }

    /// <summary>How far the current read is.</summary>
    public ReadPosition Position => _reader.Position;

    public int? Count => null;

    /// <summary>The input's kind, which --output-corpus writes back.</summary>
    public DocumentReader.InputKind Kind => _reader.Kind;

    /// <summary>Reads every accepted document once, recording ids and where each can be found again.</summary>
    /// <exception cref="InputException">A malformed record under --strict, or a header without the fields.</exception>
    public IEnumerable<InputDocument> Documents(CancellationToken cancellationToken)
    {
        Restart();
        foreach (InputDocument document in Guard(_reader.Read(Report)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Accept(document.Id, document.Locator, document.Length))
            {
                yield return document;
            }
            else
            {
                Report(new InputProblem(document.Source, AlreadyRead(document.Id)));
            }
        }
    }

    public IEnumerable<string> ReadAll(CancellationToken cancellationToken) => Documents(cancellationToken).Select(d => d.Text);

    public IEnumerable<string> ReadAt(IReadOnlyList<int> positions, CancellationToken cancellationToken) =>
        Guard(_reader.ReadAt(LocatorsOf(positions, cancellationToken)));

    /// <summary>
    /// JSON lines are parsed with the work on the pool, a chunk at a time, and Parquet row groups read there, a group at a
    /// time; other inputs are read on this thread.
    /// </summary>
    /// <exception cref="InputException">A malformed record under --strict, or the input cannot be read.</exception>
    public void ForEachText<T>(TextWork<T> work, Action<int, T[]> completed, ParallelOptions options)
    {
        Restart();
        if (_reader.Parquet is { } parquet)
        {
            (Position.Done, Position.Total) = (0, parquet.RowCount);
            Guard(() => OrderedBatches.Run(Enumerable.Range(0, parquet.RowGroupCount), g => parquet.ParseGroup(g, work, options), parsed =>
            {
                Completed(parsed, (_, line) => $"{_reader.Name}: row {line.Offset + 1:N0}", completed);
                Position.Done += parsed.Lines.Length;
            }, options.CancellationToken));
            return;
        }

        if (_reader.Kind != DocumentReader.InputKind.JsonLines)
        {
            OrderedBatches.ForEachText(ReadAll(options.CancellationToken), work, completed, options);
            return;
        }

        // A line's name ("FILE:LINE") is made only for a message: a million accepted lines need none.
        int lines = 0;
        OrderedBatches.Run(Guard(_reader.JsonLineChunks()), chunk => _reader.ParseChunk(chunk, work, options), parsed =>
        {
            _reader.FirstRecordFields ??= parsed.FirstNames;
            int first = lines;
            lines += parsed.Lines.Length;
            Completed(parsed, (k, _) => $"{_reader.Name}:{first + k + 1}", completed);
        }, options.CancellationToken);
    }

    // Accepts a chunk's records in order, reports the rest by the place given, and hands on the accepted ones' results.
    private void Completed<T>(ChunkOutcome<T> parsed, Func<int, LineOutcome<T>, string> placeOf, Action<int, T[]> completed)
    {
        var accepted = new List<T>(parsed.Lines.Length);
        for (int k = 0; k < parsed.Lines.Length; k++)
        {
            LineOutcome<T> line = parsed.Lines[k];
            if (line.Reason is not null)
            {
                Report(new InputProblem(placeOf(k, line), line.Reason));
            }
            else if (line.Id is not null)
            {
                if (Accept(line.Id, line.Offset, line.Length))
                {
                    accepted.Add(line.Result);
                }
                else
                {
                    Report(new InputProblem(placeOf(k, line), AlreadyRead(line.Id)));
                }
            }
        }

        completed(Ids.Count - accepted.Count, [.. accepted]);
    }

    /// <summary>
    /// JSON lines are read by their offsets and lengths on this thread and parsed with the work on the pool; Parquet row
    /// groups are read on the pool; other inputs are read on this thread.
    /// </summary>
    /// <exception cref="InputException">The input cannot be read, or changed since the first read.</exception>
    public void ForEachTextAt<T>(IReadOnlyList<int> positions, TextWork<T> work, Action<int, T[]> completed, ParallelOptions options)
    {
        int start = 0;
        if (_reader.Parquet is { } parquet)
        {
            Guard(() => OrderedBatches.Run(parquet.ByGroup(LocatorsOf(positions, options.CancellationToken).Select(l => l.Locator)),
                group => parquet.WorkOnRows(group.Group, group.Rows, work, options), results =>
                {
                    completed(start, results);
                    start += results.Length;
                }, options.CancellationToken));
            return;
        }

        if (_reader.Kind != DocumentReader.InputKind.JsonLines)
        {
            OrderedBatches.ForEachText(ReadAt(positions, options.CancellationToken), work, completed, options);
            return;
        }

        IEnumerable<LineChunk> chunks = Guard(_reader.JsonLineChunksAt(LocatorsOf(positions, options.CancellationToken)));
        OrderedBatches.Run(chunks, chunk => _reader.ParseChunk(chunk, work, options), parsed =>
        {
            T[] results = [.. parsed.Lines.Select(line => line.Id is not null ? line.Result
                : throw new InputException($"{_reader.Name}: the record at byte {line.Offset} changed while it was read ({line.Reason ?? "blank"})."))];
            completed(start, results);
            start += results.Length;
        }, options.CancellationToken);
    }

    private IEnumerable<(long Locator, int Length)> LocatorsOf(IEnumerable<int> positions, CancellationToken cancellationToken) => positions.Select(p =>
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (_locators[p], _lengths[p]);
    });

    private void Restart()
    {
        Ids.Clear();
        _locators.Clear();
        _lengths.Clear();
        _seen.Clear();
        Skipped = 0;
    }

    /// <summary>Keeps a document read; false when its id was read before (the caller reports it as <see cref="AlreadyRead"/>).</summary>
    private bool Accept(string id, long locator, int length)
    {
        if (!_seen.Add(id))
        {
            return false;
        }

        Ids.Add(id);
        _locators.Add(locator);
        _lengths.Add(length);
        return true;
    }

    private static string AlreadyRead(string id) => $"id \"{id}\" was already read";

    private static void Guard(Action read)
    {
        try
        {
            read();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new InputException(e.Message);
        }
    }

    private static IEnumerable<T> Guard<T>(IEnumerable<T> items)
    {
        using IEnumerator<T> enumerator = items.GetEnumerator();
        while (true)
        {
            try
            {
                if (!enumerator.MoveNext())
                {
                    yield break;
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new InputException(e.Message);
            }

            yield return enumerator.Current;
        }
    }

    /// <summary>
    /// After a full read: throws when records were read but every one was skipped, naming the fields the first record
    /// had, since the usual cause is a wrong --id-field or --text-field, or an input that is not JSON lines at all.
    /// </summary>
    /// <exception cref="InputException">Every record was skipped.</exception>
    public void EnsureSomethingRead()
    {
        if (Ids.Count > 0 || Skipped == 0)
        {
            return;
        }

        string fields = _reader.FirstRecordFields is { } names
            ? $"the first record has the fields {string.Join(", ", names.Select(n => $"\"{n}\""))}; name the id and the text with --id-field and --text-field."
            : "no record is a JSON object with an id and a text. Is it JSON lines? (--format Csv reads a CSV with a header.)";
        throw new InputException($"all {Skipped:N0} records of {_reader.Name} were skipped: {fields}");
    }

    /// <summary>Checks, before any work, that <see cref="WriteKept"/> can write this input's format back.</summary>
    /// <exception cref="InputException">A Parquet file with a column it cannot copy.</exception>
    public void EnsureKeptCanBeWritten()
    {
        if (_reader.Parquet?.WhyRowsCannotBeCopied() is { } reason)
        {
            throw new InputException(reason);
        }
    }

    /// <summary>
    /// Writes the documents at <paramref name="kept"/> (positions in input order, ascending) to <paramref name="path"/> in
    /// the input's format: JSON lines byte for byte, the CSV's header and records, the Parquet file's rows, or the folder's files.
    /// </summary>
    public void WriteKept(string path, IEnumerable<int> kept)
    {
        IEnumerable<(long Locator, int Length)> locators = kept.Select(k => (_locators[k], _lengths[k]));
        switch (_reader.Kind)
        {
            case DocumentReader.InputKind.JsonLines:
                using (var output = new FileStream(path, FileMode.Create, FileAccess.Write))
                {
                    foreach ((_, ArraySegment<byte> line) in _reader.RawLinesAt(locators))
                    {
                        output.Write(line);
                        output.WriteByte((byte)'\n');
                    }
                }

                break;
            case DocumentReader.InputKind.Parquet:
                _reader.Parquet!.WriteRows(path, locators.Select(l => l.Locator));
                break;
            case DocumentReader.InputKind.Csv:
                using (var output = new StreamWriter(path, false, new System.Text.UTF8Encoding(false)))
                {
                    foreach (IReadOnlyList<string> record in _reader.CsvRecordsAt(locators.Select(l => l.Locator)))
                    {
                        output.Write(string.Join(',', record.Select(CsvField)));
                        output.Write("\r\n");
                    }
                }

                break;
            default:
                foreach ((string id, string file) in _reader.FilesAt(locators.Select(l => l.Locator)))
                {
                    string target = Path.Combine(path, id);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file, target, overwrite: true);
                }

                break;
        }
    }

    public void Dispose() => _reader.Dispose();

    // RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    private static string CsvField(string field) => field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private void Report(InputProblem problem)
    {
        if (_strict)
        {
            throw new InputException($"{problem.Source}: {problem.Reason} (--strict).");
        }

        Skipped++;
        if (Skipped <= ListedProblems)
        {
            _error.WriteLine($"compare: {problem.Source}: {problem.Reason}; skipped.");
        }
        else if (Skipped == ListedProblems + 1)
        {
            _error.WriteLine($"compare: more records are skipped; only the first {ListedProblems} are listed (--strict stops at the first).");
        }
    }

}
