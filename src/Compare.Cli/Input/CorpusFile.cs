using Compare.Core.Clustering;

namespace Compare.Cli.Input;

/// <summary>A malformed record under --strict, or an input that cannot be read at all.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>
/// An input file or folder read as a stream of documents: malformed records and repeated ids are
/// reported as "FILE:LINE: reason; skipped" (or end the run under --strict), and the ids of the
/// accepted documents are kept in order. Texts are not kept: the engine reads them again by position.
/// </summary>
internal sealed class CorpusFile : IRereadableCorpus
{
    private readonly DocumentReader _reader;
    private readonly bool _strict;
    private readonly TextWriter _error;
    private readonly List<long> _locators = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <exception cref="InputException">The input does not exist or is not a kind the CLI reads.</exception>
    public CorpusFile(string path, InputFields fields, bool strict, TextWriter error, bool withMetadata = false)
    {
        try
        {
            _reader = new DocumentReader(path, fields, withMetadata);
        }
        catch (Exception e) when (e is IOException or NotSupportedException)
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

    private void Report(InputProblem problem)
    {
        if (_strict)
        {
            throw new InputException($"{problem.Source}: {problem.Reason} (--strict).");
        }

        Skipped++;
        _error.WriteLine($"compare: {problem.Source}: {problem.Reason}; skipped.");
    }
}
