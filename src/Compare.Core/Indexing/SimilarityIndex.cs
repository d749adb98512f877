using System.Collections.Concurrent;
using Compare.Core.Clustering;
using Compare.Core.Lsh;
using Compare.Core.Shingling;

namespace Compare.Core.Indexing;

/// <summary>What an upsert did: the one outcome of a write, in the engine, the stores and (mapped in one place) the API.</summary>
public enum UpsertOutcome
{
    /// <summary>The id was new.</summary>
    Created = 1,

    /// <summary>The id existed with other content and was replaced.</summary>
    Updated = 2,

    /// <summary>The id existed with the same content; nothing changed.</summary>
    Unchanged = 3,

    /// <summary>A near-duplicate was indexed and the caller asked to skip such documents; nothing stored.</summary>
    SkippedDuplicate = 4,
}

/// <summary>An indexed document similar to a query, with exact and estimated scores.</summary>
/// <param name="Id">The indexed document.</param>
/// <param name="Jaccard">Exact Jaccard similarity of the shingle sets.</param>
/// <param name="EstimatedJaccard">MinHash estimate from the signatures.</param>
/// <param name="ContainmentOfQuery">|Q ∩ D| / |Q|: how much of the query the document contains.</param>
/// <param name="ContainmentOfMatch">|Q ∩ D| / |D|: how much of the document the query contains.</param>
public sealed record SimilarityMatch(string Id, double Jaccard, double EstimatedJaccard, double ContainmentOfQuery, double ContainmentOfMatch);

/// <summary>Matches ranked by exact Jaccard (then estimate, then id), and how many candidates were verified.</summary>
public sealed record QueryResult(IReadOnlyList<SimilarityMatch> Matches, int CandidatesExamined);

/// <summary>
/// Documents by id with their sketches, a <see cref="BandIndex"/> over the signatures, and exact verification
/// of every candidate (<see cref="CandidateVerifier"/>): a match reported above a threshold is truly above it.
/// Thread-safe: queries run concurrently with writes; writes take turns.
/// </summary>
public sealed class SimilarityIndex : IDisposable
{
    private readonly ConcurrentDictionary<string, DocumentSketch> _sketches = new(StringComparer.Ordinal);
    private readonly BandIndex _bands;
    private readonly Lock _writeGate = new();

    /// <summary>Creates an empty index. Bands and rows come from <paramref name="threshold"/> unless given.</summary>
    /// <param name="parameters">Sketch parameters of every stored sketch.</param>
    /// <param name="threshold">Default similarity threshold; the LSH banding is tuned for it.</param>
    /// <param name="lsh">Bands and rows; null chooses them from the threshold.</param>
    /// <param name="countFrequencies">Keep <see cref="Frequencies"/> (1 MiB) for boilerplate; a throwaway index needs none.</param>
    public SimilarityIndex(SketchParameters parameters, double threshold = 0.8, LshParameters? lsh = null, bool countFrequencies = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CandidateVerifier.CheckThreshold(threshold);
        Sketcher = new DocumentSketcher(parameters);
        Threshold = threshold;
        Lsh = lsh ?? LshParameters.ForThreshold(threshold, parameters.NumPermutations);
        Lsh.Validate(parameters.NumPermutations);
        _bands = new BandIndex(Lsh);
        Frequencies = countFrequencies ? new DocumentFrequencySketch() : null;
    }

    /// <summary>How many stored documents hold each shingle, when the index counts them (null otherwise).</summary>
    public DocumentFrequencySketch? Frequencies { get; }

    /// <summary>The sketcher every stored sketch was made with.</summary>
    public DocumentSketcher Sketcher { get; }

    /// <summary>Shingling and signature parameters.</summary>
    public SketchParameters Parameters => Sketcher.Parameters;

    /// <summary>Default threshold of queries; the banding is tuned for it.</summary>
    public double Threshold { get; }

    /// <summary>The banding in use.</summary>
    public LshParameters Lsh { get; }

    /// <summary>Number of documents.</summary>
    public int Count => _bands.Count;

    /// <summary>Sketches <paramref name="text"/> and stores it under <paramref name="id"/>.</summary>
    public UpsertOutcome Upsert(string id, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Upsert(id, Sketcher.Sketch(text));
    }

    /// <summary>Stores a sketch made with <see cref="Sketcher"/> under <paramref name="id"/>, replacing any other content.</summary>
    public UpsertOutcome Upsert(string id, DocumentSketch sketch)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(sketch);
        if (sketch.Signature.Length != Parameters.NumPermutations)
        {
            throw new ArgumentException($"Signature has {sketch.Signature.Length} values; this index uses {Parameters.NumPermutations}.", nameof(sketch));
        }

        lock (_writeGate)
        {
            UpsertOutcome outcome = UpsertOutcome.Created;
            if (_sketches.TryGetValue(id, out DocumentSketch? old))
            {
                if (old.Shingles.AsSpan().SequenceEqual(sketch.Shingles) && old.Signature.AsSpan().SequenceEqual(sketch.Signature))
                {
                    return UpsertOutcome.Unchanged;
                }

                RemoveLocked(id, old);
                outcome = UpsertOutcome.Updated;
            }

            // The sketch is visible before its buckets: a query that finds the id always finds its sketch.
            _sketches[id] = sketch;
            _bands.Add(id, sketch.Signature);
            Frequencies?.Add(sketch.Shingles);
            return outcome;
        }
    }

    /// <summary>Removes <paramref name="id"/>; returns false when it was not indexed.</summary>
    public bool Remove(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_writeGate)
        {
            if (!_sketches.TryGetValue(id, out DocumentSketch? old))
            {
                return false;
            }

            RemoveLocked(id, old);
            return true;
        }
    }

    /// <summary>True when <paramref name="id"/> is indexed.</summary>
    public bool Contains(string id) => _sketches.ContainsKey(id);

    /// <summary>The stored sketch of <paramref name="id"/>.</summary>
    public bool TryGetSketch(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DocumentSketch? sketch) => _sketches.TryGetValue(id, out sketch);

    /// <summary>
    /// Finds indexed documents with exact Jaccard ≥ <paramref name="threshold"/> (the index
    /// threshold when null), best first, at most <paramref name="topK"/> (0 for all).
    /// LSH proposes candidates, at any threshold (below the banding's, from the prefix forest:
    /// <see cref="LshParameters.ProbeDepth"/>); <paramref name="exhaustive"/> verifies every document
    /// instead; it checks <paramref name="cancellationToken"/> as it goes, since it reads every document.
    /// </summary>
    public QueryResult Query(DocumentSketch query, double? threshold = null, int topK = 0, string? excludeId = null, bool exhaustive = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        double minimum = threshold ?? Threshold;
        CandidateVerifier.CheckThreshold(minimum);
        int depth = Lsh.ProbeDepth(minimum);
        List<IndexedSketch> candidates = exhaustive ? Snapshot() : WithSketches(Probed(depth).Candidates(query.Signature, depth));
        return CandidateVerifier.Verify(query, candidates, minimum, topK, excludeId, cancellationToken);
    }

    /// <summary>The documents sharing at least one band bucket with <paramref name="signature"/>, each once.</summary>
    public List<IndexedSketch> Candidates(uint[] signature) => WithSketches(_bands.Candidates(signature));

    /// <summary>Every document, in the order it was last written (an update counts as a new insertion).</summary>
    public List<IndexedSketch> Snapshot() => WithSketches(_bands.IdsInWriteOrder());

    /// <summary>
    /// Clusters every indexed document (<see cref="SketchClustering"/>) at <paramref name="threshold"/>: the pairs of
    /// the band buckets (of the prefix forest below the banding's threshold), verified over a snapshot of the sketches,
    /// so writes may continue meanwhile.
    /// </summary>
    public IndexClusteringResult Deduplicate(double? threshold = null, RepresentativePolicy policy = RepresentativePolicy.FirstSeen,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        double minimum = threshold ?? Threshold;
        int depth = Lsh.ProbeDepth(minimum);
        (string[] ids, ulong[] pairs) = Probed(depth).CandidatePairs(depth);
        DocumentSketch?[] sketches = [.. ids.Select(id => _sketches.GetValueOrDefault(id))];
        return SketchClustering.Cluster(new IndexCandidatePairs(ids, pairs), i => sketches[i]?.Shingles ?? [], minimum, policy, progress, cancellationToken);
    }

    /// <summary>Releases the band index's lock.</summary>
    public void Dispose() => _bands.Dispose();

    // The band index, with its prefix forest built (once, from the sketches) when depth needs it.
    private BandIndex Probed(int depth)
    {
        if (depth < Lsh.Rows && !_bands.HasPrefixForest)
        {
            // Writes wait on the band index meanwhile; a sketch stored but not yet banded is ignored here and banded after.
            _bands.BuildPrefixForest(visit =>
            {
                foreach ((string id, DocumentSketch sketch) in _sketches)
                {
                    visit(id, sketch.Signature);
                }
            });
        }

        return _bands;
    }

    private void RemoveLocked(string id, DocumentSketch old)
    {
        _bands.Remove(id, old.Signature);
        _sketches.TryRemove(id, out _);
        Frequencies?.Remove(old.Shingles);
    }

    // A document removed between the bucket lookup and here is simply gone.
    private List<IndexedSketch> WithSketches(IEnumerable<string> ids)
    {
        var found = new List<IndexedSketch>();
        foreach (string id in ids)
        {
            if (_sketches.TryGetValue(id, out DocumentSketch? sketch))
            {
                found.Add(new IndexedSketch(id, sketch));
            }
        }

        return found;
    }
}
