using Compare.Core.Indexing;
using Compare.Core.Shingling;

namespace Compare.Core.Phrases;

/// <summary>
/// Boilerplate of a collection: a passage more than half of whose shingles (the collection's own, made by
/// its sketcher) are held by more than <see cref="MaxDocumentFraction"/> of its documents. A passage shorter
/// than one shingle is never boilerplate; a passage that runs from a footer into telling wording is kept
/// once the telling part is the larger.
/// </summary>
/// <param name="frequencies">The collection's shingle document frequencies.</param>
/// <param name="documentCount">Documents in the collection.</param>
/// <param name="sketcher">The collection's sketcher.</param>
/// <param name="maxDocumentFraction">Largest share of the documents a telling shingle is in, in (0, 1].</param>
public sealed class CollectionBoilerplate(DocumentFrequencySketch frequencies, long documentCount, DocumentSketcher sketcher, double maxDocumentFraction)
    : IPhraseFrequency
{
    /// <summary>Largest share of the collection's documents a telling shingle is in.</summary>
    public double MaxDocumentFraction { get; } = maxDocumentFraction > 0 && maxDocumentFraction <= 1
        ? maxDocumentFraction
        : throw new ArgumentOutOfRangeException(nameof(maxDocumentFraction), maxDocumentFraction, "The fraction must be in (0, 1].");

    /// <inheritdoc/>
    public bool IsBoilerplate(string passage)
    {
        ArgumentNullException.ThrowIfNull(passage);
        ulong[] shingles = sketcher.Sketch(passage).Shingles;
        double limit = MaxDocumentFraction * documentCount;
        int frequent = shingles.Count(shingle => frequencies.Estimate(shingle) > limit);
        return 2 * frequent > shingles.Length;
    }
}
