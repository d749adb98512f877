using System.Diagnostics;
using Compare.Core.Clustering;

namespace Compare.Cli.Input;

/// <summary>A malformed record under --strict, or an input that cannot be read at all.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>
/// The inputs of a batch run, one file or folder or several files (a corpus in shards, given one by one or as a folder of
/// them), read as one stream of documents in the order given: malformed records and ids repeated anywhere in it are
/// reported as "FILE:LINE: reason; skipped" (the first <see cref="ListedProblems"/>; or end the run under --strict), and
/// the ids of the accepted documents are kept in order. Texts are not kept: the engine reads them again by position (<see cref="InputSource"/>: a compressed file is
/// decompressed again, standard input kept compressed in memory); each input's documents take a run of positions, so a
/// position is found again by its input's first one, with nothing kept a document beyond its locator.
/// JSON lines are parsed on the pool, a chunk of lines at a time, with the engine's work on each text fused in, so the
/// reading thread only reads.
/// </summary>
internal sealed class CorpusFile : IRereadableCorpus, IDisposable
{
    /// <summary>Skipped records reported one by one; the rest are counted in the summary.</summary>
    public const int ListedProblems = 10;

    private readonly DocumentReader[] _readers;
    private readonly bool _strict;
    private readonly TextWriter _error;
    private readonly List<long> _locators = [];
    private readonly List<int> _lengths = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    // Where each input's accepted documents begin among the positions of the current read.
    private readonly List<int> _firstPositions = [];
    private readonly InputsPosition? _inputsPosition;

    // With several inputs or a folder of shards, where --output-corpus writes each input's kept records within its folder.
    private readonly string[]? _keptNames;

    /// <summary>Opens every input before any work, so that a missing or unreadable one stops the run at once.</summary>
    /// <exception cref="InputException">An input does not exist or is not a kind the CLI reads; standard input or a folder among several.</exception>
    public CorpusFile(IReadOnlyList<InputSpec> inputs, bool strict, TextWriter error, bool withMetadata = false)
    {
        ArgumentOutOfRangeException.ThrowIfZero(inputs.Count);
        InputSpec[] shards = [.. inputs.SelectMany(ShardsOf)];
        _keptNames = shards.Length > 1 || shards.Any(s => s.ShardName is not null)
            ? [.. shards.Select(s => s.ShardName ?? Path.GetFileName(s.Path))]
            : null;
        inputs = shards;
        if (inputs.Count > 1 && inputs.FirstOrDefault(OnlyAlone) is { } alone)
        {
            throw new InputException(alone.Path == InputSpec.StandardInput ? "standard input (-) is read only on its own, not among several inputs."
                : Directory.Exists(alone.Path) ? $"{alone.Path}: a folder of .txt files is read only on its own; several inputs must be files (.jsonl, .csv, .parquet, compressed or not)."
                : $"{alone.Path}: compressed Parquet is read only on its own, since it is held in memory whole; decompress the shards (Parquet compresses its columns itself).");
        }

        var readers = new List<DocumentReader>(inputs.Count);
        try
        {
            foreach (InputSpec input in inputs)
            {
                readers.Add(new DocumentReader(input, withMetadata));
            }
        }
        catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException or InvalidDataException)
        {
            readers.ForEach(r => r.Dispose());
            throw new InputException(e.Message);
        }

        _readers = [.. readers];
        _inputsPosition = _readers.Length > 1 ? new InputsPosition(_readers, [.. inputs.Select(i => new FileInfo(i.Path).Length)]) : null;
        _strict = strict;
        _error = error;
    }

    /// <summary>
    /// A folder holding no .txt file but files the CLI reads (.jsonl, .csv, .parquet, compressed or not) is a corpus in shards:
    /// those files, in the order of their paths within it. Any other input is itself.
    /// </summary>
    /// <exception cref="InputException">A folder with files, none of them .txt or a shard.</exception>
    private static IEnumerable<InputSpec> ShardsOf(InputSpec input)
    {
        if (input.Path == InputSpec.StandardInput || !Directory.Exists(input.Path)
            || Directory.EnumerateFiles(input.Path, "*.txt", SearchOption.AllDirectories).Any())
        {
            return [input];
        }

        string[] files = [.. Directory.EnumerateFiles(input.Path, "*", SearchOption.AllDirectories)];
        InputSpec[] shards = [.. files.Where(f => DocumentReader.KindOf(f) is not null)
            .Select(f => input with { Path = f, ShardName = Path.GetRelativePath(input.Path, f).Replace('\\', '/') })
            .OrderBy(s => s.ShardName, StringComparer.Ordinal)];
        if (shards.Length > 0 || files.Length == 0)
        {
            // An empty folder is an empty corpus, as an empty file is.
            return shards.Length > 0 ? shards : [input];
        }

        throw new InputException($"{input.Path}: a folder is read as .txt files, one document each, or as shards (.jsonl, .csv, .parquet, compressed or not); it holds neither.");
    }

    // Compressed Parquet is held in memory whole, which several of them need not fit.
    private static bool OnlyAlone(InputSpec input) => input.Path == InputSpec.StandardInput || Directory.Exists(input.Path)
        || (Compression.Of(input.Path) is not null && (input.Format == InputFormat.Parquet || DocumentReader.KindOf(input.Path) == DocumentReader.InputKind.Parquet));

    /// <summary>Ids of the accepted documents, in input order; complete after a full read.</summary>
    public List<string> Ids { get; } = [];

    /// <summary>Records skipped as malformed or repeated.</summary>
    public int Skipped { get; private set; }

    /// <summary>How far the current read is: the input's own measure, or with several inputs their bytes.</summary>
    public ReadPosition Position => _inputsPosition ?? _readers[0].Position;

    public int? Count => null;

    /// <summary>Reads every accepted document once, recording ids and where each can be found again.</summary>
    /// <exception cref="InputException">A malformed record under --strict, or a header without the fields.</exception>
    public IEnumerable<InputDocument> Documents(CancellationToken cancellationToken)
    {
        Restart();
        for (int r = 0; r < _readers.Length; r++)
        {
            Begin(r);
            foreach (InputDocument document in AcceptedOf(_readers[r], cancellationToken))
            {
                yield return document;
            }
        }
    }

    // An input's documents whose ids were not read before; the others are reported.
    private IEnumerable<InputDocument> AcceptedOf(DocumentReader reader, CancellationToken cancellationToken)
    {
        foreach (InputDocument document in Guard(reader.Read(Report)))
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
        ByInput(positions).SelectMany(part => Guard(_readers[part.Input].ReadAt(LocatorsOf(part.Positions, cancellationToken))));

    /// <summary>
    /// JSON lines are parsed with the work on the pool, a chunk at a time, and Parquet row groups read there, a group at a
    /// time; other inputs are read on this thread. Several inputs are read one after another.
    /// </summary>
    /// <exception cref="InputException">A malformed record under --strict, or the input cannot be read.</exception>
    public void ForEachText<T>(TextWork<T> work, Action<int, T[]> completed, ParallelOptions options)
    {
        Restart();
        for (int r = 0; r < _readers.Length; r++)
        {
            Begin(r);
            ForEachTextOf(_readers[r], work, completed, options);
        }
    }

    private void ForEachTextOf<T>(DocumentReader reader, TextWork<T> work, Action<int, T[]> completed, ParallelOptions options)
    {
        if (reader.Parquet is { } parquet)
        {
            (reader.Position.Done, reader.Position.Total) = (0, parquet.RowCount);
            Guard(() => OrderedBatches.Run(Enumerable.Range(0, parquet.RowGroupCount), g => parquet.ParseGroup(g, work, options), parsed =>
            {
                Completed(parsed, (_, line) => $"{reader.Name}: row {line.Offset + 1:N0}", completed);
                reader.Position.Done += parsed.Lines.Length;
            }, options.CancellationToken));
            return;
        }

        if (reader.Kind != DocumentReader.InputKind.JsonLines)
        {
            OrderedBatches.ForEachText(AcceptedOf(reader, options.CancellationToken).Select(d => d.Text), work, completed, options);
            return;
        }

        // A line's name ("FILE:LINE") is made only for a message: a million accepted lines need none.
        int lines = 0;
        OrderedBatches.Run(Guard(reader.JsonLineChunks()), chunk => reader.ParseChunk(chunk, work, options), parsed =>
        {
            reader.FirstRecordFields ??= parsed.FirstNames;
            int first = lines;
            lines += parsed.Lines.Length;
            Completed(parsed, (k, _) => $"{reader.Name}:{first + k + 1}", completed);
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
        foreach ((int input, IEnumerable<int> inputPositions) in ByInput(positions))
        {
            start = ForEachTextAtOf(_readers[input], LocatorsOf(inputPositions, options.CancellationToken), start, work, completed, options);
        }
    }

    // The texts at the locators of one input, handed on numbered from start; returns the number the next input's texts start at.
    private static int ForEachTextAtOf<T>(DocumentReader reader, IEnumerable<(long Locator, int Length)> locators, int start, TextWork<T> work,
        Action<int, T[]> completed, ParallelOptions options)
    {
        if (reader.Parquet is { } parquet)
        {
            Guard(() => OrderedBatches.Run(parquet.ByGroup(locators.Select(l => l.Locator)),
                group => parquet.WorkOnRows(group.Group, group.Rows, work, options), results =>
                {
                    completed(start, results);
                    start += results.Length;
                }, options.CancellationToken));
            return start;
        }

        if (reader.Kind != DocumentReader.InputKind.JsonLines)
        {
            OrderedBatches.ForEachText(Guard(reader.ReadAt(locators)), work, (_, results) =>
            {
                completed(start, results);
                start += results.Length;
            }, options);
            return start;
        }

        OrderedBatches.Run(Guard(reader.JsonLineChunksAt(locators)), chunk => reader.ParseChunk(chunk, work, options), parsed =>
        {
            T[] results = [.. parsed.Lines.Select(line => line.Id is not null ? line.Result
                : throw new InputException($"{reader.Name}: the record at byte {line.Offset} changed while it was read ({line.Reason ?? "blank"})."))];
            completed(start, results);
            start += results.Length;
        }, options.CancellationToken);
        return start;
    }

    /// <summary>Ascending positions split by the input that holds them, in input order; inputs with none are left out.</summary>
    private IEnumerable<(int Input, IEnumerable<int> Positions)> ByInput(IReadOnlyList<int> positions)
    {
        int from = 0;
        for (int r = 0; r < _firstPositions.Count && from < positions.Count; r++)
        {
            int end = r + 1 < _firstPositions.Count ? _firstPositions[r + 1] : int.MaxValue;
            int to = from;
            while (to < positions.Count && positions[to] < end)
            {
                to++;
            }

            Debug.Assert(positions[from] >= _firstPositions[r], "positions ascend");
            if (to > from)
            {
                int first = from;
                yield return (r, Enumerable.Range(first, to - first).Select(i => positions[i]));
            }

            from = to;
        }
    }

    private IEnumerable<(long Locator, int Length)> LocatorsOf(IEnumerable<int> positions, CancellationToken cancellationToken) => positions.Select(p =>
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (_locators[p], _lengths[p]);
    });

    private void Restart()
    {
        _firstPositions.Clear();
        Ids.Clear();
        _locators.Clear();
        _lengths.Clear();
        _seen.Clear();
        Skipped = 0;
    }

    /// <summary>Starts reading input <paramref name="input"/>: its documents take the positions from here on.</summary>
    private void Begin(int input)
    {
        _firstPositions.Add(Ids.Count);
        _inputsPosition?.Reading(input);
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

        string fields = _readers.Select(r => r.FirstRecordFields).FirstOrDefault(f => f is not null) is { } names
            ? $"the first record has the fields {string.Join(", ", names.Select(n => $"\"{n}\""))}; name the id and the text with --id-field and --text-field."
            : "no record is a JSON object with an id and a text. Is it JSON lines? (--format Csv reads a CSV with a header.)";
        string inputs = string.Join(", ", _readers.Select(r => r.Name));
        throw new InputException(Skipped == 1 ? $"the only record of {inputs} was skipped: {fields}" : $"all {Skipped:N0} records of {inputs} were skipped: {fields}");
    }

    /// <summary>
    /// Checks, before any work, that <see cref="WriteKept"/> can write every input's format back to <paramref name="path"/>:
    /// with several inputs a folder, holding a file of each input's name.
    /// </summary>
    /// <exception cref="InputException">A Parquet file with a column it cannot copy; two inputs of one name; a file where the folder goes.</exception>
    public void EnsureKeptCanBeWritten(string path)
    {
        if (_readers.Select(r => r.Parquet?.WhyRowsCannotBeCopied()).FirstOrDefault(reason => reason is not null) is { } reason)
        {
            throw new InputException(reason);
        }

        if (_keptNames is null)
        {
            if (_readers[0].Kind == DocumentReader.InputKind.Parquet && Compression.Of(path) is { } compressed)
            {
                throw new InputException($"{path}: Parquet compresses its own columns, and --output-corpus writes it as it is; name it without {compressed}.");
            }

            return;
        }

        if (File.Exists(path))
        {
            throw new InputException($"{path}: with several inputs or a folder of shards, --output-corpus names a folder, to hold a file of each input's name; this is a file.");
        }

        if (Enumerable.Range(0, _readers.Length).GroupBy(r => _keptNames[r], StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } clash)
        {
            throw new InputException($"{string.Join(" and ", clash.Select(r => _readers[r].Name))} would both be written to {Path.Combine(path, clash.Key)} by --output-corpus; give inputs of different names.");
        }
    }

    /// <summary>
    /// Writes the documents at <paramref name="kept"/> (positions in input order, ascending) to <paramref name="path"/> in
    /// the input's format: JSON lines byte for byte, the CSV's header and records, the Parquet file's rows, or the folder's
    /// files; JSON lines and CSV compressed as the name says (.gz, .zst). Several inputs, or a folder's shards, are written
    /// into the folder <paramref name="path"/>, each to a file of its own name (a shard's path within its folder), so
    /// compressed as it was, one for every input even when none of its documents is kept.
    /// </summary>
    public void WriteKept(string path, IEnumerable<int> kept)
    {
        if (_keptNames is null)
        {
            WriteKeptOf(_readers[0], path, kept.Select(k => (_locators[k], _lengths[k])));
            return;
        }

        Directory.CreateDirectory(path);
        int[] positions = [.. kept];
        var byInput = ByInput(positions).ToDictionary(part => part.Input, part => part.Positions);
        for (int r = 0; r < _readers.Length; r++)
        {
            IEnumerable<int> inputKept = byInput.GetValueOrDefault(r) ?? [];
            string target = Path.Combine(path, _keptNames[r]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            WriteKeptOf(_readers[r], target, inputKept.Select(k => (_locators[k], _lengths[k])));
        }
    }

    private static void WriteKeptOf(DocumentReader reader, string path, IEnumerable<(long Locator, int Length)> locators)
    {
        switch (reader.Kind)
        {
            case DocumentReader.InputKind.JsonLines:
                using (Stream output = Compression.Compressing(path, new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20)))
                {
                    foreach ((_, ArraySegment<byte> line) in reader.RawLinesAt(locators))
                    {
                        output.Write(line);
                        output.WriteByte((byte)'\n');
                    }
                }

                break;
            case DocumentReader.InputKind.Parquet:
                reader.Parquet!.WriteRows(path, locators.Select(l => l.Locator));
                break;
            case DocumentReader.InputKind.Csv:
                using (var output = new StreamWriter(Compression.Compressing(path, new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20)),
                    new System.Text.UTF8Encoding(false)))
                {
                    foreach (IReadOnlyList<string> record in reader.CsvRecordsAt(locators.Select(l => l.Locator)))
                    {
                        output.Write(string.Join(',', record.Select(CsvField)));
                        output.Write("\r\n");
                    }
                }

                break;
            default:
                foreach ((string id, string file) in reader.FilesAt(locators.Select(l => l.Locator)))
                {
                    string target = Path.Combine(path, id);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file, target, overwrite: true);
                }

                break;
        }
    }

    public void Dispose()
    {
        foreach (DocumentReader reader in _readers)
        {
            reader.Dispose();
        }
    }

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

    /// <summary>
    /// How far a read of several inputs is, in bytes of their files: those of the inputs before the one being read, and of
    /// that one the share its reader has read in its own measure.
    /// </summary>
    private sealed class InputsPosition(DocumentReader[] readers, long[] bytes) : ReadPosition
    {
        // Running totals: the bytes of the inputs before each one, and of all of them last.
        private readonly long[] _bytesBefore = RunningTotals(bytes);
        private int _current;

        public override long Total => _bytesBefore[^1];

        public override long Done
        {
            get
            {
                ReadPosition within = readers[_current].Position;
                double share = within.Total > 0 ? Math.Clamp((double)within.Done / within.Total, 0, 1) : 0;
                return _bytesBefore[_current] + (long)(share * bytes[_current]);
            }
        }

        public void Reading(int input) => _current = input;

        private static long[] RunningTotals(long[] bytes)
        {
            var totals = new long[bytes.Length + 1];
            for (int i = 0; i < bytes.Length; i++)
            {
                totals[i + 1] = totals[i] + bytes[i];
            }

            return totals;
        }
    }
}
