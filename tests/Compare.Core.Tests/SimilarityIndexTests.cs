using Compare.Core.Clustering;
using Compare.Core.Indexing;

namespace Compare.Core.Tests;

public sealed class SimilarityIndexTests
{
    private const string Base = "The central bank raised its main interest rate by a quarter of a percentage point on Thursday, "
        + "citing persistent inflation in services and a labour market that remains tight despite slower growth in the second half of the year.";

    [Fact]
    public void Upsert_NewSameAndChangedContent_ReportsCreatedUnchangedUpdated()
    {
        using var index = new SimilarityIndex(SketchParameters.Default);

        Assert.Equal(UpsertOutcome.Created, index.Upsert("a", Base));
        Assert.Equal(UpsertOutcome.Unchanged, index.Upsert("a", Base));
        Assert.Equal(UpsertOutcome.Updated, index.Upsert("a", Base + " Markets fell."));
        Assert.Equal(1, index.Count);
        Assert.True(index.Contains("a"));
        Assert.True(index.Remove("a"));
        Assert.False(index.Remove("a"));
        Assert.False(index.Contains("a"));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Query_NearDuplicateAndUnrelated_ReturnsVerifiedRankedMatches()
    {
        using var index = new SimilarityIndex(SketchParameters.Default, threshold: 0.5);
        index.Upsert("exact", Base);
        index.Upsert("edited", Base.Replace("Thursday", "Friday", StringComparison.Ordinal));
        index.Upsert("other", TestData.Seed2014);
        index.Upsert("seed2016", TestData.Seed2016);

        QueryResult result = index.Query(index.Sketcher.Sketch(Base));

        Assert.Equal(["exact", "edited"], result.Matches.Select(m => m.Id));
        Assert.Equal(1.0, result.Matches[0].Jaccard);
        Assert.InRange(result.Matches[1].Jaccard, 0.5, 0.99);
        Assert.All(result.Matches, m => Assert.InRange(m.ContainmentOfQuery, m.Jaccard, 1));
        Assert.True(result.CandidatesExamined >= 2);
    }

    [Fact]
    public void Query_ExhaustiveWithACancelledToken_StopsWithoutAnAnswer()
    {
        using var index = new SimilarityIndex(SketchParameters.Default);
        foreach ((string id, string text) in TestData.BbcCorpus())
        {
            index.Upsert(id, text);
        }

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        DocumentSketch query = index.Sketcher.Sketch(TestData.Seed2014);

        Assert.ThrowsAny<OperationCanceledException>(() => index.Query(query, threshold: 0.01, exhaustive: true, cancellationToken: cancelled.Token));
        Assert.Equal(TestData.BbcCorpus().Count, index.Query(query, threshold: 0, exhaustive: true).CandidatesExamined);
    }

    [Fact]
    public void Query_TopKAndExcludeAndThreshold_AreApplied()
    {
        using var index = new SimilarityIndex(SketchParameters.Default, threshold: 0.3);
        for (int i = 0; i < 5; i++)
        {
            index.Upsert($"d{i}", Base + string.Concat(Enumerable.Repeat($" extra{i}", i)));
        }

        DocumentSketch query = index.Sketcher.Sketch(Base);
        Assert.Equal(2, index.Query(query, topK: 2).Matches.Count);
        Assert.DoesNotContain(index.Query(query, excludeId: "d0").Matches, m => m.Id == "d0");
        Assert.All(index.Query(query, threshold: 0.9).Matches, m => Assert.True(m.Jaccard >= 0.9));
        Assert.Equal(["d0", "d1", "d2", "d3", "d4"], index.Query(query, threshold: 0.0001, exhaustive: true).Matches.Select(m => m.Id));
    }

    [Fact]
    public void Deduplicate_IndexWithCopies_ClustersThemUnderTheFirstInserted()
    {
        using var index = new SimilarityIndex(SketchParameters.Default);
        index.Upsert("late-copy", Base + " Shares rose.");
        index.Upsert("original", Base);
        index.Upsert("unrelated", TestData.Seed2016);
        index.Upsert("copy", Base);

        IndexClusteringResult result = index.Deduplicate(0.8);

        DuplicateCluster cluster = Assert.Single(result.Result.Clusters);
        Assert.Equal("late-copy", result.Ids[cluster.Representative]);
        Assert.Equal(["copy", "late-copy", "original"], cluster.Members.Select(m => result.Ids[m.Document]).Order());
        Assert.Equal(2, result.Result.DuplicateCount);
    }
}
