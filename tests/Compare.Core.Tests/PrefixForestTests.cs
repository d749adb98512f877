using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Similarity;

namespace Compare.Core.Tests;

public sealed class PrefixForestTests
{
    private static readonly LshParameters Bands = new(18, 7);

    /// <summary>Engine-free reference: the documents agreeing with the query on a band's first <paramref name="depth"/> values.</summary>
    private static SortedSet<string> Agreeing(Dictionary<string, uint[]> documents, uint[] query, int depth, LshParameters lsh) =>
        new(documents.Where(d => Enumerable.Range(0, lsh.Bands).Any(band =>
            Enumerable.Range(0, depth).All(level => d.Value[(band * lsh.Rows) + level] == query[(band * lsh.Rows) + level]))).Select(d => d.Key), StringComparer.Ordinal);

    /// <summary>
    /// Signatures drawn from a small alphabet so that prefixes agree often: every depth has many matches, and a random
    /// key collision (1 in 2^24 at depth 1) would show as a difference.
    /// </summary>
    private static uint[] RandomSignature(Random random, LshParameters lsh) => [.. Enumerable.Range(0, lsh.Bands * lsh.Rows).Select(_ => (uint)random.Next(4))];

    [Theory]
    [InlineData(300, 7)] // every document in the bulk-built run
    [InlineData(6000, 11)] // past the delta's first merge, with removals in the run and in the delta
    public void QueryAndPairs_AfterInsertsRemovesAndMerges_EqualTheBruteForcePrefixMatch(int documents, int seed)
    {
        var random = new Random(seed);
        var lsh = new LshParameters(6, 5);
        var stored = new Dictionary<string, uint[]>(StringComparer.Ordinal);
        using var index = new BandIndex(lsh);
        for (int i = 0; i < documents / 2; i++)
        {
            stored["d" + i] = RandomSignature(random, lsh);
            index.Add("d" + i, stored["d" + i]);
        }

        index.BuildPrefixForest(visit =>
        {
            foreach ((string id, uint[] signature) in stored)
            {
                visit(id, signature);
            }
        });
        for (int i = documents / 2; i < documents; i++)
        {
            stored["d" + i] = RandomSignature(random, lsh);
            index.Add("d" + i, stored["d" + i]);
            if (i % 3 == 0)
            {
                string gone = "d" + random.Next(i);
                if (stored.Remove(gone, out uint[]? signature))
                {
                    Assert.True(index.Remove(gone, signature));
                }
            }
        }

        for (int depth = 1; depth < lsh.Rows; depth++)
        {
            for (int q = 0; q < 20; q++)
            {
                uint[] query = RandomSignature(random, lsh);
                Assert.Equal(Agreeing(stored, query, depth, lsh), new SortedSet<string>(index.Candidates(query, depth), StringComparer.Ordinal));
            }
        }

        // The pairs, over a smaller alphabet's worth of groups: every pair agreeing on a band's first two values.
        (string[] ids, ulong[] pairs) = index.CandidatePairs(depth: 2);
        var expected = new SortedSet<ulong>();
        for (int a = 0; a < ids.Length; a++)
        {
            for (int b = a + 1; b < ids.Length && expected.Count < 5_000_000; b++)
            {
                uint[] x = stored[ids[a]], y = stored[ids[b]];
                if (Enumerable.Range(0, lsh.Bands).Any(band => x[band * lsh.Rows] == y[band * lsh.Rows] && x[(band * lsh.Rows) + 1] == y[(band * lsh.Rows) + 1]))
                {
                    expected.Add(Clusterer.Pack(a, b));
                }
            }
        }

        if (documents <= 300)
        {
            Assert.Equal(expected, pairs); // no group is large enough for the star that big buckets get
        }
        else
        {
            Assert.Subset(expected, new SortedSet<ulong>(pairs));
        }
    }

    [Fact]
    public void Candidates_AtFullDepth_AreTheBandBuckets_AndShallowerProbesNeedTheForest()
    {
        var random = new Random(5);
        using var index = new BandIndex(Bands);
        uint[] signature = RandomSignature(random, Bands);
        index.Add("only", signature);

        Assert.Equal(["only"], index.Candidates(signature, Bands.Rows));
        Assert.False(index.HasPrefixForest);
        Assert.Throws<InvalidOperationException>(() => index.Candidates(signature, 1));
        index.BuildPrefixForest(visit => visit("only", signature));
        Assert.True(index.HasPrefixForest);
        Assert.Equal(["only"], index.Candidates(signature, 1));
    }

    [Theory]
    [InlineData(0.2, 1)]
    [InlineData(0.3, 1)]
    [InlineData(0.5, 2)]
    [InlineData(0.6, 3)]
    [InlineData(0.7, 4)] // 5 would do; the forest keeps four values, and fewer find more
    [InlineData(0.8, 7)] // the buckets themselves
    [InlineData(0.95, 7)]
    public void ProbeDepth_OfTheDefaultBanding_ReachesTheTargetRecallAboveTheThreshold(double threshold, int depth)
    {
        Assert.Equal(depth, Bands.ProbeDepth(threshold));
        Assert.True(Bands.PrefixCandidateProbability(threshold + LshParameters.RecallMargin, depth) >= LshParameters.TargetRecall);
    }

    [Theory]
    [InlineData(0.2)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(0.9)]
    public void ForThreshold_FindsPairsAboveTheThresholdWithTheTargetRecall(double threshold)
    {
        LshParameters lsh = LshParameters.ForThreshold(threshold, 128);
        lsh.Validate(128);
        Assert.True(lsh.CandidateProbability(Math.Min(1, threshold + LshParameters.RecallMargin)) >= LshParameters.TargetRecall);
    }

    [Fact]
    public void Candidates_OnBbcAndEditedCopies_FindEveryPairAboveTheThresholdAtItsProbeDepth()
    {
        var sketcher = new DocumentSketcher(SketchParameters.Default);
        var texts = TestData.BbcCorpus().Take(200).Select(d => (d.Id, d.Text)).ToList();
        var random = new Random(3);
        // Copies with a growing share of their words replaced: Jaccard from near 1 down to near 0.
        texts.AddRange(texts.Select((d, i) => ("edit-" + d.Id, Edit(d.Text, i % 100 / 400.0, random))).ToList());
        var sketches = texts.ToDictionary(t => t.Item1, t => sketcher.Sketch(t.Item2), StringComparer.Ordinal);
        using var index = new BandIndex(Bands);
        foreach ((string id, DocumentSketch sketch) in sketches)
        {
            index.Add(id, sketch.Signature);
        }

        index.BuildPrefixForest(visit =>
        {
            foreach ((string id, DocumentSketch sketch) in sketches)
            {
                visit(id, sketch.Signature);
            }
        });
        foreach (double threshold in new[] { 0.2, 0.3, 0.5, 0.8 })
        {
            int depth = Bands.ProbeDepth(threshold);
            int due = 0, found = 0;
            foreach ((string id, DocumentSketch query) in sketches.Where(s => s.Key.StartsWith("edit-", StringComparison.Ordinal)))
            {
                var candidates = new HashSet<string>(index.Candidates(query.Signature, depth), StringComparer.Ordinal);
                foreach ((string other, DocumentSketch sketch) in sketches)
                {
                    if (other != id && SetSimilarity.Jaccard(query.Shingles, sketch.Shingles) >= threshold + LshParameters.RecallMargin)
                    {
                        due++;
                        found += candidates.Contains(other) ? 1 : 0;
                    }
                }
            }

            Assert.True(due >= 10, $"only {due} pairs above {threshold + LshParameters.RecallMargin}");
            Assert.True(found >= due * LshParameters.TargetRecall, $"threshold {threshold}: {found} of {due} pairs found at depth {depth}");
        }
    }

    private static string Edit(string text, double share, Random random) =>
        string.Join(' ', text.Split(' ').Select(w => random.NextDouble() < share ? "w" + random.Next(1_000_000) : w));
}
