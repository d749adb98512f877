namespace Compare.Core.Clustering;

/// <summary>Work on one text, given as a span that is valid only during the call.</summary>
public delegate T TextWork<out T>(ReadOnlySpan<char> text);

/// <summary>
/// A corpus too large to hold in memory that can be read more than once, in the same order:
/// a batch dedup reads it once in full to sign every document, then again for only the documents
/// in candidate pairs, so at most a few small batches of text are held at a time.
/// </summary>
public interface IRereadableCorpus
{
    /// <summary>The number of documents when known before reading; null for a stream.</summary>
    int? Count { get; }

    /// <summary>Every document's text, in order; position k is the k-th text yielded.</summary>
    IEnumerable<string> ReadAll(CancellationToken cancellationToken);

    /// <summary>The texts at <paramref name="positions"/> (ascending, distinct), one per position, in that order.</summary>
    IEnumerable<string> ReadAt(IReadOnlyList<int> positions, CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="work"/> to every text on the pool and hands the results to <paramref name="completed"/>
    /// in order, a batch at a time with the position of its first. A corpus that decodes its texts (parses JSON, say)
    /// overrides this to decode on the pool too, so that the reading thread only reads.
    /// </summary>
    void ForEachText<T>(TextWork<T> work, Action<int, T[]> completed, ParallelOptions options) =>
        OrderedBatches.ForEachText(ReadAll(options.CancellationToken), work, completed, options);

    /// <summary>As <see cref="ForEachText"/> for the texts at <paramref name="positions"/>; the start is an index into them.</summary>
    void ForEachTextAt<T>(IReadOnlyList<int> positions, TextWork<T> work, Action<int, T[]> completed, ParallelOptions options) =>
        OrderedBatches.ForEachText(ReadAt(positions, options.CancellationToken), work, completed, options);
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
