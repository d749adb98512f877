using Compare.Core.MinHash;
using Compare.Core.Similarity;

namespace Compare.Core.Indexing;

/// <summary>A stored document's id and sketch, as an index hands it to verification.</summary>
/// <param name="Id">The document.</param>
/// <param name="Sketch">Its shingles and signature.</param>
public readonly record struct IndexedSketch(string Id, DocumentSketch Sketch);

/// <summary>
/// What a match must reach: exact Jaccard at least <paramref name="Jaccard"/> (and above zero), and the containments of the
/// query in it and of it in the query at least the given fractions. A containment search ranks by what it asks for.
/// </summary>
/// <param name="Jaccard">Lowest exact Jaccard.</param>
/// <param name="ContainmentOfQuery">Lowest share of the query's shingles the match holds (it contains the query).</param>
/// <param name="ContainmentOfMatch">Lowest share of the match's shingles the query holds (the query contains it).</param>
public readonly record struct MatchCriteria(double Jaccard, double ContainmentOfQuery = 0, double ContainmentOfMatch = 0)
{
    /// <summary>Whether a containment is asked for (matches then rank by it).</summary>
    public bool IsContainment => ContainmentOfQuery > 0 || ContainmentOfMatch > 0;

    /// <summary>Whether <paramref name="match"/> reaches every minimum.</summary>
    public bool Accepts(SimilarityMatch match) =>
        match.Jaccard >= Jaccard && match.Jaccard > 0 && match.ContainmentOfQuery >= ContainmentOfQuery && match.ContainmentOfMatch >= ContainmentOfMatch;
}

/// <summary>
/// The one place where LSH candidates become matches: exact Jaccard and containments over the
/// shingle sets, the MinHash estimate beside them, ranked best first. Every index and store
/// verifies through it, so a match above a threshold is truly above it wherever it was found.
/// </summary>
public static class CandidateVerifier
{
    /// <summary>The match of <paramref name="candidate"/> against <paramref name="query"/>, or null when its exact Jaccard is below <paramref name="threshold"/> or zero.</summary>
    public static SimilarityMatch? Verify(DocumentSketch query, string id, DocumentSketch candidate, double threshold) =>
        Verify(query, id, candidate, new MatchCriteria(threshold));

    /// <summary>The match of <paramref name="candidate"/> against <paramref name="query"/>, or null when it misses one of <paramref name="criteria"/>.</summary>
    public static SimilarityMatch? Verify(DocumentSketch query, string id, DocumentSketch candidate, MatchCriteria criteria)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(candidate);
        int shared = SetSimilarity.IntersectionCount(query.Shingles, candidate.Shingles);
        double jaccard = SetSimilarity.Jaccard(query.Shingles.Length, candidate.Shingles.Length, shared);
        if (!(jaccard >= criteria.Jaccard && jaccard > 0))
        {
            return null;
        }

        var match = new SimilarityMatch(id, jaccard, MinHasher.EstimateJaccard(query.Signature, candidate.Signature),
            SetSimilarity.Containment(query.Shingles.Length, shared), SetSimilarity.Containment(candidate.Shingles.Length, shared));
        return criteria.Accepts(match) ? match : null;
    }

    /// <summary>
    /// Verifies every candidate but <paramref name="excludeId"/> and keeps the best <paramref name="topK"/> (0 for all);
    /// checks <paramref name="cancellationToken"/> as it goes. Candidates name each id once, as every index gives them.
    /// </summary>
    public static QueryResult Verify(DocumentSketch query, IEnumerable<IndexedSketch> candidates, double threshold, int topK, string? excludeId,
        CancellationToken cancellationToken = default) =>
        Verify(query, candidates, new MatchCriteria(threshold), topK, excludeId, cancellationToken);

    /// <summary>
    /// Verifies every candidate but <paramref name="excludeId"/> against <paramref name="criteria"/> and keeps the best
    /// <paramref name="topK"/> (0 for all), ranked as <see cref="Rank(List{SimilarityMatch}, int, MatchCriteria)"/> does.
    /// </summary>
    public static QueryResult Verify(DocumentSketch query, IEnumerable<IndexedSketch> candidates, MatchCriteria criteria, int topK, string? excludeId,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(candidates);
        CheckThreshold(criteria.Jaccard);
        CheckThreshold(criteria.ContainmentOfQuery);
        CheckThreshold(criteria.ContainmentOfMatch);
        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        var matches = new List<SimilarityMatch>();
        int examined = 0;
        foreach (IndexedSketch candidate in candidates)
        {
            if ((examined & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (candidate.Id == excludeId)
            {
                continue;
            }

            examined++;
            if (Verify(query, candidate.Id, candidate.Sketch, criteria) is { } match)
            {
                matches.Add(match);
            }
        }

        return new QueryResult(Rank(matches, topK, criteria), examined);
    }

    /// <summary>Sorts by exact Jaccard, then estimate (both descending), then id (ordinal), and keeps the first <paramref name="topK"/> (0 for all).</summary>
    public static List<SimilarityMatch> Rank(List<SimilarityMatch> matches, int topK) => Rank(matches, topK, default);

    /// <summary>
    /// Sorts by the containment <paramref name="criteria"/> ask for (of the query first), then exact Jaccard, then estimate
    /// (all descending), then id (ordinal), and keeps the first <paramref name="topK"/> (0 for all).
    /// </summary>
    public static List<SimilarityMatch> Rank(List<SimilarityMatch> matches, int topK, MatchCriteria criteria)
    {
        ArgumentNullException.ThrowIfNull(matches);
        matches.Sort((a, b) =>
        {
            int byContainment = criteria.ContainmentOfQuery > 0 ? b.ContainmentOfQuery.CompareTo(a.ContainmentOfQuery)
                : criteria.ContainmentOfMatch > 0 ? b.ContainmentOfMatch.CompareTo(a.ContainmentOfMatch) : 0;
            if (byContainment != 0)
            {
                return byContainment;
            }

            int byJaccard = b.Jaccard.CompareTo(a.Jaccard);
            if (byJaccard != 0)
            {
                return byJaccard;
            }

            int byEstimate = b.EstimatedJaccard.CompareTo(a.EstimatedJaccard);
            return byEstimate != 0 ? byEstimate : string.CompareOrdinal(a.Id, b.Id);
        });
        if (topK > 0 && matches.Count > topK)
        {
            matches.RemoveRange(topK, matches.Count - topK);
        }

        return matches;
    }

    /// <summary>Throws unless <paramref name="threshold"/> is in [0, 1].</summary>
    public static void CheckThreshold(double threshold)
    {
        if (!(threshold is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "Threshold must be between 0 and 1.");
        }
    }
}
