namespace Compare.Core.Indexing;

/// <summary>A document reduced to what similarity needs: its distinct shingle hashes (ascending) and its MinHash signature.</summary>
/// <param name="Shingles">Distinct shingle hashes, sorted ascending.</param>
/// <param name="Signature">MinHash signature of <paramref name="Shingles"/>.</param>
public sealed record DocumentSketch(ulong[] Shingles, uint[] Signature);
