using Compare.Core.Clustering;

namespace Compare.Core.Tests;

public sealed class ClusteringTests
{
    [Fact]
    public void Run_BbcCorpusAtThreshold08_FindsEveryPairAbove085AndNoneBelow07()
    {
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text)];
        Dictionary<(int, int), double> reference = ReferenceJaccard.Pairs(texts, 0.3);

        ClusteringResult result = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.8 }).Run(texts);

        var found = result.Pairs.ToDictionary(p => (p.Left, p.Right), p => p.Jaccard);
        var mustFind = reference.Where(kv => kv.Value >= 0.85).Select(kv => kv.Key).ToList();
        Assert.True(mustFind.Count > 100, $"the corpus should hold over a hundred such pairs, found {mustFind.Count}");
        Assert.All(mustFind, pair => Assert.True(found.ContainsKey(pair), $"missed pair {pair} at J = {reference[pair]:F3}"));
        Assert.All(result.Pairs, p => Assert.True(reference.GetValueOrDefault((p.Left, p.Right)) >= 0.7, $"reported pair {p} below 0.7"));
        Assert.All(result.Pairs, p => Assert.Equal(reference[(p.Left, p.Right)], p.Jaccard, 2));
        Assert.All(result.Clusters, c => Assert.All(c.Members, m => Assert.InRange(m.Jaccard, 0, 1)));
    }

    [Fact]
    public void Run_RepresentativePolicies_PickFirstLongestOrCallerRanked()
    {
        string text = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"word{i}"));
        string[] texts = [text + " tail", "unrelated words entirely here ok", text, text + " tail tail tail"];

        ClusteringResult first = new Deduplicator(SketchParameters.Default, new DeduplicationOptions()).Run(texts);
        ClusteringResult longest = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Representative = RepresentativePolicy.Longest }).Run(texts);
        ClusteringResult ranked = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Representative = RepresentativePolicy.CallerOrder })
            .Run(texts, callerOrder: [5, 0, 1, 9]);

        Assert.Equal(0, Assert.Single(first.Clusters).Representative);
        Assert.Equal(3, Assert.Single(longest.Clusters).Representative);
        Assert.Equal(2, Assert.Single(ranked.Clusters).Representative);
        Assert.Equal([2, 3], first.DocumentsToDrop());
        Assert.Equal(1.0, first.Clusters[0].Members[0].Jaccard);
    }

    [Fact]
    public void Run_MaxDocumentFrequency_IgnoresBoilerplateSharedByManyDocuments()
    {
        const string Footer = "All rights reserved by the publisher of this newspaper and its partners worldwide.";
        string[] texts = [.. Enumerable.Range(0, 6).Select(i => $"Story {i} about topic{i} with words{i} and more{i}. " + Footer)];

        ClusteringResult plain = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.3 }).Run(texts);
        ClusteringResult suppressed = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.3, MaxDocumentFrequency = 3 }).Run(texts);

        Assert.NotEmpty(plain.Clusters);
        Assert.Empty(suppressed.Clusters);
    }

    [Fact]
    public void Run_Cancelled_Throws()
    {
        string[] texts = [.. Enumerable.Range(0, 1000).Select(i => $"document {i} text")];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => new Deduplicator(SketchParameters.Default, new DeduplicationOptions()).Run(texts, cancellationToken: cancelled.Token));
    }

    [Fact]
    public void Cluster_MemberNeverPairedWithItsRepresentative_IsScoredByTheOtherPairsAskedOnce()
    {
        // 0-1 and 1-2 verified, 2-3 below the threshold, 0-2 never a candidate: 2 is scored against 0 by asking.
        ulong[] candidates = [Clusterer.Pack(0, 1), Clusterer.Pack(1, 2), Clusterer.Pack(2, 3)];
        var asked = new List<ulong[]>();

        ClusteringResult result = Clusterer.Cluster(4, candidates, [0.9, 0.85, 0.5], 0.8, i => i, others =>
        {
            asked.Add(others);
            return [.. others.Select(_ => 0.7)];
        });

        Assert.Equal([[Clusterer.Pack(0, 2)]], asked);
        Assert.Equal([new DuplicatePair(0, 1, 0.9), new DuplicatePair(1, 2, 0.85)], result.Pairs);
        DuplicateCluster cluster = Assert.Single(result.Clusters);
        Assert.Equal([new ClusterMember(0, 1.0), new ClusterMember(1, 0.9), new ClusterMember(2, 0.7)], cluster.Members);
    }

    [Fact]
    public void UnionFind_Unions_AreTransitive()
    {
        var sets = new UnionFind(5);
        Assert.True(sets.Union(0, 1));
        Assert.True(sets.Union(3, 1));
        Assert.False(sets.Union(0, 3));
        Assert.Equal(sets.Find(0), sets.Find(3));
        Assert.NotEqual(sets.Find(0), sets.Find(4));
    }
}
