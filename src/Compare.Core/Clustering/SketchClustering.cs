using Compare.Core.Indexing;
using Compare.Core.Lsh;

namespace Compare.Core.Clustering;

/// <summary>Clustering of an index: positions in <see cref="ClusteringResult"/> index <see cref="Ids"/>.</summary>
/// <param name="Ids">Document ids by position.</param>
/// <param name="Result">Pairs and clusters over positions.</param>
public sealed record IndexClusteringResult(IReadOnlyList<string> Ids, ClusteringResult Result);

/// <summary>Deduplicates indexed documents: the same banding as every LSH index here, verified exactly, merged with union-find.</summary>
public static class SketchClustering
{
    /// <summary>
    /// Clusters <paramref name="documents"/>, given in the order they were written (the first-seen
    /// representative is the earliest). Candidate pairs come from <see cref="Clusterer.CandidatePairs"/>
    /// over <paramref name="lsh"/>; pairs below <paramref name="threshold"/> are dropped.
    /// </summary>
    public static IndexClusteringResult Cluster(IReadOnlyList<IndexedSketch> documents, LshParameters lsh, double threshold, RepresentativePolicy policy,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        CandidateVerifier.CheckThreshold(threshold);
        if (policy == RepresentativePolicy.CallerOrder)
        {
            throw new ArgumentException("An index ranks representatives by first insertion or by length.", nameof(policy));
        }

        var signatures = new uint[documents.Count][];
        var ids = new string[documents.Count];
        for (int i = 0; i < documents.Count; i++)
        {
            signatures[i] = documents[i].Sketch.Signature;
            ids[i] = documents[i].Id;
        }

        ulong[] candidates = Clusterer.CandidatePairs(signatures, lsh, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        Func<int, long> rank = policy == RepresentativePolicy.Longest ? i => -documents[i].Sketch.Shingles.Length : i => i;
        ClusteringResult result = Clusterer.Cluster(documents.Count, candidates, i => documents[i].Sketch.Shingles, threshold, rank, progress, cancellationToken);
        return new IndexClusteringResult(ids, result);
    }
}
