using Compare.Core.Indexing;
using Compare.Core.Lsh;

namespace Compare.Core.Clustering;

/// <summary>Clustering of an index: positions in <see cref="ClusteringResult"/> index <see cref="Ids"/>.</summary>
/// <param name="Ids">Document ids by position.</param>
/// <param name="Result">Pairs and clusters over positions.</param>
public sealed record IndexClusteringResult(IReadOnlyList<string> Ids, ClusteringResult Result);

/// <summary>An index's documents in the order of writes and the candidate pairs of its band buckets over those positions.</summary>
/// <param name="Ids">Document ids by position: the order in which they were last written.</param>
/// <param name="Pairs">Candidate pairs, packed by <see cref="Clusterer.Pack"/>, distinct and ascending.</param>
public sealed record IndexCandidatePairs(IReadOnlyList<string> Ids, ulong[] Pairs);

/// <summary>Deduplicates indexed documents: the same banding as every LSH index here, verified exactly, merged with union-find.</summary>
public static class SketchClustering
{
    /// <summary>
    /// Clusters <paramref name="documents"/>, given in the order they were written (the first-seen
    /// representative is the earliest). Candidate pairs come from <see cref="Clusterer.CandidatePairs(IReadOnlyList{uint[]}, Lsh.LshParameters, CancellationToken)"/>
    /// over <paramref name="lsh"/>; pairs below <paramref name="threshold"/> are dropped.
    /// </summary>
    public static IndexClusteringResult Cluster(IReadOnlyList<IndexedSketch> documents, LshParameters lsh, double threshold, RepresentativePolicy policy,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ulong[] pairs = Clusterer.CandidatePairs([.. documents.Select(d => d.Sketch.Signature)], lsh, cancellationToken);
        return Cluster(new IndexCandidatePairs([.. documents.Select(d => d.Id)], pairs), i => documents[i].Sketch.Shingles, threshold, policy, progress, cancellationToken);
    }

    /// <summary>
    /// Verifies <paramref name="candidates"/> with exact Jaccard over <paramref name="shingles"/> (asked only for
    /// documents of a pair) and clusters those at or above <paramref name="threshold"/>.
    /// </summary>
    public static IndexClusteringResult Cluster(IndexCandidatePairs candidates, Func<int, ulong[]> shingles, double threshold, RepresentativePolicy policy,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        CandidateVerifier.CheckThreshold(threshold);
        if (policy == RepresentativePolicy.CallerOrder)
        {
            throw new ArgumentException("An index ranks representatives by first insertion or by length.", nameof(policy));
        }

        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Pairs.Length, candidates.Pairs.Length));
        Func<int, long> rank = policy == RepresentativePolicy.Longest ? i => -shingles(i).Length : i => i;
        ClusteringResult result = Clusterer.Cluster(candidates.Ids.Count, candidates.Pairs, shingles, threshold, rank, progress, cancellationToken);
        return new IndexClusteringResult(candidates.Ids, result);
    }
}
