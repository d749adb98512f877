namespace Compare.Core.Clustering;

/// <summary>Which member of a cluster represents it (and is kept when the others are dropped).</summary>
public enum RepresentativePolicy
{
    /// <summary>The member seen first (lowest position or earliest insertion).</summary>
    FirstSeen = 1,

    /// <summary>The member with the longest text; ties go to the one seen first.</summary>
    Longest = 2,

    /// <summary>The member ranked first by a caller-given order (lowest rank); ties go to the one seen first.</summary>
    CallerOrder = 3,
}

/// <summary>Two documents whose exact Jaccard similarity reached the threshold.</summary>
/// <param name="Left">The document seen first.</param>
/// <param name="Right">The document seen later.</param>
/// <param name="Jaccard">Exact Jaccard similarity of their shingle sets.</param>
public readonly record struct DuplicatePair(int Left, int Right, double Jaccard);

/// <summary>A member of a cluster and its exact Jaccard similarity to the representative.</summary>
public readonly record struct ClusterMember(int Document, double Jaccard);

/// <summary>Documents connected by verified duplicate pairs.</summary>
/// <param name="Representative">The member to keep.</param>
/// <param name="Members">Every member, the representative first (similarity 1), then by position.</param>
public sealed record DuplicateCluster(int Representative, IReadOnlyList<ClusterMember> Members);

/// <summary>The outcome of clustering a set of documents.</summary>
/// <param name="DocumentCount">Documents considered.</param>
/// <param name="CandidatePairs">Distinct pairs proposed by LSH and checked exactly.</param>
/// <param name="Pairs">Verified pairs, ordered by (left, right).</param>
/// <param name="Clusters">Clusters of two or more documents, ordered by representative.</param>
public sealed record ClusteringResult(int DocumentCount, long CandidatePairs, IReadOnlyList<DuplicatePair> Pairs, IReadOnlyList<DuplicateCluster> Clusters)
{
    /// <summary>Documents that duplicate a representative: everything a dedup job can drop.</summary>
    public int DuplicateCount => Clusters.Sum(c => c.Members.Count - 1);

    /// <summary>The documents to drop (every cluster member but its representative), ascending.</summary>
    public IEnumerable<int> DocumentsToDrop() =>
        Clusters.SelectMany(c => c.Members.Where(m => m.Document != c.Representative).Select(m => m.Document)).Order();
}

/// <summary>Progress of a long clustering job.</summary>
/// <param name="Stage">What is running.</param>
/// <param name="Done">Units finished in this stage.</param>
/// <param name="Total">Units in this stage.</param>
public readonly record struct ClusteringProgress(ClusteringStage Stage, long Done, long Total);

/// <summary>Stages of a clustering job, in order.</summary>
public enum ClusteringStage
{
    /// <summary>Shingling and signing documents.</summary>
    Sketching = 1,

    /// <summary>Collecting candidate pairs from LSH bands.</summary>
    Candidates = 2,

    /// <summary>Verifying candidate pairs with exact Jaccard.</summary>
    Verifying = 3,

    /// <summary>Merging pairs into clusters.</summary>
    Clustering = 4,

    /// <summary>Reading stored signatures before the candidates (an index's Deduplicate).</summary>
    Loading = 5,
}
