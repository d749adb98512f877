using Compare.Core.Clustering;
using Compare.Core.Shingling;
using Compare.Core.Similarity;

namespace Compare.Core.Tests;

public sealed class StreamingDeduplicationTests
{
    // The deduplicator reads in batches of 512: copies straddle the first and second batch boundaries.
    [Theory]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(1025)]
    public void Run_StreamAroundBatchBoundaries_FindsEveryCopyAndRereadsOnlyCandidates(int count)
    {
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text).Where(t => t.Length > 1500).DistinctBy(t => t[..200]).Take(count)];
        Assert.Equal(count, texts.Length);
        (int Original, int Copy)[] planted = [(0, count - 1), (count / 2 - 1, count / 2), (1, count > 1000 ? 513 : count - 2)];
        foreach ((int original, int copy) in planted)
        {
            texts[copy] = texts[original] + " (Reuters)";
        }

        var corpus = new StreamOnlyCorpus(texts);
        ClusteringResult streamed = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.9 }).Run(corpus);

        Assert.Equal(count, streamed.DocumentCount);
        Assert.All(planted, p => Assert.Contains(streamed.Pairs, found => (found.Left, found.Right) == (p.Original, p.Copy)));
        Assert.Equal(1, corpus.FullReads);
        int[] inPairs = [.. streamed.Pairs.SelectMany(p => new[] { p.Left, p.Right }).Distinct().Order()];
        Assert.Subset(corpus.Reread.ToHashSet(), inPairs.ToHashSet());
        Assert.True(corpus.Reread.Count < count / 10, $"reread {corpus.Reread.Count} of {count} documents");
        Assert.Equal(corpus.Reread.Order(), corpus.Reread);
    }

    [Fact]
    public void Run_StreamAndInMemoryOnBbc_GiveTheSameClustersAndLongestRepresentatives()
    {
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text)];
        var options = new DeduplicationOptions { Threshold = 0.8, Representative = RepresentativePolicy.Longest };

        ClusteringResult inMemory = new Deduplicator(SketchParameters.Default, options).Run(texts);
        ClusteringResult streamed = new Deduplicator(SketchParameters.Default, options).Run(new StreamOnlyCorpus(texts));

        Assert.Equal(inMemory.Pairs, streamed.Pairs);
        Assert.Equal(inMemory.Clusters.Select(c => c.Representative), streamed.Clusters.Select(c => c.Representative));
        Assert.All(streamed.Clusters, c => Assert.All(c.Members, m => Assert.True(texts[m.Document].Length <= texts[c.Representative].Length)));
    }

    // Sets are dropped once their last partner is read: copies near and far, chains whose ends may never be a
    // candidate pair, across batches, against the path that holds every shingle set at once (a frequency limit no
    // shingle reaches) and against exact Jaccard computed here.
    [Theory]
    [InlineData(RepresentativePolicy.FirstSeen, 1L << 30)]
    [InlineData(RepresentativePolicy.Longest, 1L << 30)]
    [InlineData(RepresentativePolicy.FirstSeen, 64 << 10)] // a dozen sets: the far copies are verified in several readings
    public void Run_StreamWithCopiesNearAndFarAndChains_MatchesEverySetHeldAtOnce(RepresentativePolicy policy, long maxHeldBytes)
    {
        string[] texts = [.. TestData.BbcCorpus().Select(d => d.Text).Where(t => t.Length > 1500).DistinctBy(t => t[..200]).Take(1100)];
        Assert.Equal(1100, texts.Length);
        foreach (int copy in (int[])[3, 900, 1099])
        {
            texts[copy] = texts[0] + " (AP)";
        }

        // Enough copies that the documents read again fill more than one batch.
        for (int original = 100; original < 400; original++)
        {
            texts[original + 400] = texts[original] + " (Reuters)";
        }

        // Windows sliding by an eighth: neighbours have Jaccard about 7/9, the chain's ends about 1/7.
        string[] words = texts[10].Split(' ');
        int[] chain = [10, 940, 960, 980, 1000, 1050, 1098];
        int window = words.Length * 4 / 7, step = window / 8;
        for (int k = 0; k < chain.Length; k++)
        {
            texts[chain[k]] = string.Join(' ', words.Skip(k * step).Take(window));
        }

        var options = new DeduplicationOptions { Threshold = 0.6, Representative = policy, MaxHeldBytes = maxHeldBytes };

        var corpus = new StreamOnlyCorpus(texts);
        ClusteringResult streamed = new Deduplicator(SketchParameters.Default, options).Run(corpus);
        ClusteringResult held = new Deduplicator(SketchParameters.Default, options with { MaxDocumentFrequency = int.MaxValue }).Run(texts);

        Assert.Equal(held.Pairs, streamed.Pairs);
        Assert.Equal(held.Clusters.Select(c => (c.Representative, c.Members.ToArray())), streamed.Clusters.Select(c => (c.Representative, c.Members.ToArray())));
        // One reading for the candidate pairs and, unless its ends were a candidate pair, one for the chain, when everything fits.
        Assert.True(maxHeldBytes < 1 << 20 ? corpus.Rereadings > 4 : corpus.Rereadings <= 2, $"{corpus.Rereadings} readings");
        Assert.Contains(streamed.Clusters, c => c.Members.Select(m => m.Document).Order().SequenceEqual([0, 3, 900, 1099]));
        Assert.Contains(streamed.Clusters, c => c.Members.Select(m => m.Document).Order().SequenceEqual(chain));
        Assert.All(streamed.Clusters, c => Assert.All(c.Members.Skip(1), m => Assert.Equal(
            SetSimilarity.Jaccard(Shingler.ShingleSet(texts[m.Document], SketchParameters.Default), Shingler.ShingleSet(texts[c.Representative], SketchParameters.Default)),
            m.Jaccard)));
    }

    [Fact]
    public void Run_ReaderFailsMidStream_ThrowsItsExceptionUnwrapped()
    {
        var corpus = new StreamOnlyCorpus([.. Enumerable.Range(0, 2000).Select(i => $"document {i} with some words")], failAt: 1500);

        Assert.Throws<InvalidDataException>(() => new Deduplicator(SketchParameters.Default, new DeduplicationOptions()).Run(corpus));
    }

    [Fact]
    public void Run_StreamWithMaxDocumentFrequency_IsRefused()
    {
        var deduplicator = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { MaxDocumentFrequency = 3 });

        Assert.Throws<NotSupportedException>(() => deduplicator.Run(new StreamOnlyCorpus(["a b c"])));
    }

    [Fact]
    public void Run_StreamCancelledWhileReading_Throws()
    {
        using var cancel = new CancellationTokenSource();
        var corpus = new StreamOnlyCorpus([.. Enumerable.Range(0, 5000).Select(i => $"document {i} text")], onRead: i =>
        {
            if (i == 3000)
            {
                cancel.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() => new Deduplicator(SketchParameters.Default, new DeduplicationOptions()).Run(corpus, cancellationToken: cancel.Token));
    }
}
