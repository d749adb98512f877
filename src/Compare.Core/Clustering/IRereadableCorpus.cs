namespace Compare.Core.Clustering;

/// <summary>
/// A corpus too large to hold in memory that can be read more than once, in the same order:
/// a batch dedup reads it once in full to sign every document, then again for only the documents
/// in candidate pairs, so at most two small batches of text are held at a time.
/// </summary>
public interface IRereadableCorpus
{
    /// <summary>The number of documents when known before reading; null for a stream.</summary>
    int? Count { get; }

    /// <summary>Every document's text, in order; position k is the k-th text yielded.</summary>
    IEnumerable<string> ReadAll(CancellationToken cancellationToken);

    /// <summary>The texts at <paramref name="positions"/> (ascending, distinct), one per position, in that order.</summary>
    IEnumerable<string> ReadAt(IReadOnlyList<int> positions, CancellationToken cancellationToken);
}

/// <summary>An in-memory list read as a corpus.</summary>
public sealed class InMemoryCorpus(IReadOnlyList<string> texts) : IRereadableCorpus
{
    /// <inheritdoc/>
    public int? Count => texts.Count;

    /// <inheritdoc/>
    public IEnumerable<string> ReadAll(CancellationToken cancellationToken) => texts;

    /// <inheritdoc/>
    public IEnumerable<string> ReadAt(IReadOnlyList<int> positions, CancellationToken cancellationToken) => positions.Select(p => texts[p]).ToArray();
}
