using Compare.Core.Clustering;

namespace Compare.Cli.Input;

/// <summary>A malformed record under --strict, or an input that cannot be read at all.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>
/// An input file or folder read as a stream of documents: malformed records and repeated ids are
/// reported as "FILE:LINE: reason; skipped" (the first <see cref="ListedProblems"/>; or end the run under --strict),
/// and the ids of the accepted documents are kept in order. Texts are not kept: the engine reads them again by
/// position. Standard input and gzipped files, which cannot be read again, are first copied to a temporary file.
/// </summary>
internal sealed class CorpusFile : IRereadableCorpus, IDisposable
{
    /// <summary>Skipped records reported one by one; the rest are counted in the summary.</summary>
    public const int ListedProblems = 10;

    private readonly DocumentReader _reader;
    private readonly string _name;
    private readonly string? _spooled;
    private readonly bool _strict;
    private readonly TextWriter _error;
    private readonly List<long> _locators = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <exception cref="InputException">The input does not exist or is not a kind the CLI reads.</exception>
    public CorpusFile(InputSpec input, bool strict, TextWriter error, bool withMetadata = false)
    {
        _name = input.Path == InputSpec.StandardInput ? "standard input" : input.Path;
        try
        {
            _spooled = Spool(input, out InputFormat? format);
            _reader = new DocumentReader(_spooled ?? input.Path, input.Fields, withMetadata, format);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException or InvalidDataException)
        {
            Dispose();
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
        Ids.Clear();
        _locators.Clear();
        _seen.Clear();
        Skipped = 0;
        foreach (InputDocument document in Guard(_reader.Read(Report)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_seen.Add(document.Id))
            {
                Report(new InputProblem(document.Source, $"id \"{document.Id}\" was already read"));
                continue;
            }

            Ids.Add(document.Id);
            _locators.Add(document.Locator);
            yield return document;
        }
    }

    public IEnumerable<string> ReadAll(CancellationToken cancellationToken) => Documents(cancellationToken).Select(d => d.Text);

    public IEnumerable<string> ReadAt(IReadOnlyList<int> positions, CancellationToken cancellationToken) =>
        Guard(_reader.ReadAt(positions.Select(p =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            return _locators[p];
        })));

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
        throw new InputException($"all {Skipped:N0} records of {_name} were skipped: {fields}");
    }

    /// <summary>
    /// Writes the documents at <paramref name="kept"/> (positions in input order, ascending) to <paramref name="path"/> in
    /// the input's format: JSON lines byte for byte, the CSV's header and records, or the folder's files.
    /// </summary>
    public void WriteKept(string path, IEnumerable<int> kept)
    {
        IEnumerable<long> locators = kept.Select(k => _locators[k]);
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
            case DocumentReader.InputKind.Csv:
                using (var output = new StreamWriter(path, false, new System.Text.UTF8Encoding(false)))
                {
                    foreach (IReadOnlyList<string> record in _reader.CsvRecordsAt(locators))
                    {
                        output.Write(string.Join(',', record.Select(CsvField)));
                        output.Write("\r\n");
                    }
                }

                break;
            default:
                foreach ((string id, string file) in _reader.FilesAt(locators))
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
        if (_spooled is not null)
        {
            File.Delete(_spooled);
        }
    }

    // RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    private static string CsvField(string field) => field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>Copies standard input or a gzipped file to a temporary file (which the reader then reads like any other); null for other inputs.</summary>
    private static string? Spool(InputSpec input, out InputFormat? format)
    {
        format = input.Format;
        bool standardInput = input.Path == InputSpec.StandardInput, gzipped = input.Path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (!standardInput && !gzipped)
        {
            return null;
        }

        format ??= standardInput ? InputFormat.Jsonl : DocumentReader.KindOf(input.Path) switch
        {
            DocumentReader.InputKind.Csv => InputFormat.Csv,
            DocumentReader.InputKind.JsonLines => InputFormat.Jsonl,
            _ => throw new NotSupportedException($"{input.Path}: a gzipped input must be .jsonl.gz or .csv.gz, or name its format with --format."),
        };
        string spooled = Path.Combine(Path.GetTempPath(), $"compare-input-{Guid.NewGuid():N}");
        try
        {
            using Stream source = standardInput ? input.OpenStandardInput() : File.OpenRead(input.Path);
            using Stream text = gzipped ? new System.IO.Compression.GZipStream(source, System.IO.Compression.CompressionMode.Decompress) : source;
            using var target = new FileStream(spooled, FileMode.CreateNew, FileAccess.Write);
            text.CopyTo(target);
            return spooled;
        }
        catch
        {
            File.Delete(spooled);
            throw;
        }
    }

    private void Report(InputProblem problem)
    {
        if (_strict)
        {
            throw new InputException($"{Named(problem.Source)}: {problem.Reason} (--strict).");
        }

        Skipped++;
        if (Skipped <= ListedProblems)
        {
            _error.WriteLine($"compare: {Named(problem.Source)}: {problem.Reason}; skipped.");
        }
        else if (Skipped == ListedProblems + 1)
        {
            _error.WriteLine($"compare: more records are skipped; only the first {ListedProblems} are listed (--strict stops at the first).");
        }
    }

    // A spooled input's records are named after what the command line named, not the temporary file.
    private string Named(string source) => _spooled is not null && source.StartsWith(_spooled, StringComparison.Ordinal) ? _name + source[_spooled.Length..] : source;
}
