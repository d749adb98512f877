using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;

namespace Compare.Core.Tests;

public sealed class BandIndexTests
{
    private static readonly DocumentSketcher Sketcher = new(SketchParameters.Default);
    private static readonly LshParameters Bands = LshParameters.Optimal(0.8, SketchParameters.Default.NumPermutations);

    [Fact]
    public void CandidatesAndPairs_BbcWithCopies_EqualTheSketchIndexAndBandingEverySignatureAgain()
    {
        List<(string Id, DocumentSketch Sketch)> documents = [.. TestData.BbcCorpus().Take(300).Select(d => (d.Id, Sketcher.Sketch(d.Text)))];
        documents.AddRange(documents.Take(20).Select((d, i) => ("copy-" + d.Id, Sketcher.Sketch(TestData.BbcCorpus()[i].Text + " Copied."))).ToList());
        using var bands = new BandIndex(Bands);
        using var reference = new SimilarityIndex(SketchParameters.Default, 0.8, Bands);
        foreach ((string id, DocumentSketch sketch) in documents)
        {
            bands.Add(id, sketch.Signature);
            reference.Upsert(id, sketch);
        }

        foreach ((string _, DocumentSketch sketch) in documents.Take(40))
        {
            Assert.Equal(reference.Candidates(sketch.Signature).Select(c => c.Id).Order(StringComparer.Ordinal), bands.Candidates(sketch.Signature).Order(StringComparer.Ordinal));
        }

        (string[] ids, ulong[] pairs) = bands.CandidatePairs();
        Assert.Equal(documents.Select(d => d.Id), ids);
        Assert.Equal(Clusterer.CandidatePairs([.. documents.Select(d => d.Sketch.Signature)], Bands), pairs);
        Assert.Equal(pairs, Clusterer.CandidatePairs([.. documents.Select(d => BandKeys(d.Sketch.Signature))], Bands.Bands));
        Assert.True(pairs.Length >= 20);
    }

    [Fact]
    public void RemoveThenAdd_AnUpdatedDocument_LeavesItsOldBucketsAndMovesToTheEndOfTheOrder()
    {
        DocumentSketch a = Sketcher.Sketch(TestData.BbcCorpus()[0].Text), b = Sketcher.Sketch(TestData.BbcCorpus()[1].Text);
        using var bands = new BandIndex(Bands);
        bands.Add("first", a.Signature);
        bands.Add("second", b.Signature);

        Assert.True(bands.Remove("first", a.Signature));
        Assert.False(bands.Remove("first", a.Signature));
        Assert.Empty(bands.Candidates(a.Signature));
        bands.Add("first", b.Signature);

        Assert.Equal(["second", "first"], bands.CandidatePairs().Ids);
        Assert.Equal(["first", "second"], bands.Candidates(b.Signature).Order(StringComparer.Ordinal));
        Assert.Equal(2, bands.Count);
        Assert.Throws<InvalidOperationException>(() => bands.Add("first", a.Signature));
    }

    [Fact]
    public void Add_LoadedInAnyOrderWithTheirWriteNumbers_KeepsTheOrderOfWritesAndLaterWritesComeAfter()
    {
        DocumentSketch[] sketches = [.. TestData.BbcCorpus().Take(4).Select(d => Sketcher.Sketch(d.Text))];
        using var bands = new BandIndex(Bands, expectedDocuments: 2);
        bands.Add("c", sketches[2].Signature, writtenAt: 30);
        bands.Add("a", sketches[0].Signature, writtenAt: 7);
        bands.Add("b", sketches[1].Signature, writtenAt: 12);
        bands.Add("d", sketches[3].Signature);

        Assert.Equal(["a", "b", "c", "d"], bands.CandidatePairs().Ids);
        Assert.Equal(4, bands.Count);
    }

    [Fact]
    public void Loader_BbcWithCopiesInShuffledOrder_BuildsWhatAddingEachGivesAndTakesWritesAfterwards()
    {
        List<(string Id, DocumentSketch Sketch)> documents = [.. TestData.BbcCorpus().Take(300).Select(d => (d.Id, Sketcher.Sketch(d.Text)))];
        documents.AddRange(documents.Take(20).Select((d, i) => ("copy-" + d.Id, Sketcher.Sketch(TestData.BbcCorpus()[i].Text + " Copied."))).ToList());
        // Rows arrive in storage order, not in the order of writes; the loader starts too small and grows.
        int[] shuffled = [.. Enumerable.Range(0, documents.Count).OrderBy(i => (i * 7919) % documents.Count)];
        var loader = new BandIndexLoader(Bands, expectedDocuments: 10);
        using var added = new BandIndex(Bands);
        foreach (int i in shuffled)
        {
            loader.Add(documents[i].Id, documents[i].Sketch.Signature, writtenAt: 100 + i);
            added.Add(documents[i].Id, documents[i].Sketch.Signature, writtenAt: 100 + i);
        }

        using BandIndex loaded = loader.Build();

        Assert.Equal(documents.Count, loaded.Count);
        Assert.Equal(added.CandidatePairs().Pairs, loaded.CandidatePairs().Pairs);
        Assert.Equal(documents.Select(d => d.Id), loaded.IdsInWriteOrder());
        foreach ((string _, DocumentSketch sketch) in documents)
        {
            Assert.Equal(added.Candidates(sketch.Signature).Order(StringComparer.Ordinal), loaded.Candidates(sketch.Signature).Order(StringComparer.Ordinal));
        }

        Assert.True(loaded.Remove(documents[0].Id, documents[0].Sketch.Signature));
        Assert.DoesNotContain(documents[0].Id, loaded.Candidates(documents[0].Sketch.Signature));
        loaded.Add("new", documents[1].Sketch.Signature);
        Assert.Contains("new", loaded.Candidates(documents[1].Sketch.Signature));
        Assert.Equal("new", loaded.IdsInWriteOrder()[^1]);
        Assert.Throws<ObjectDisposedException>(loader.Build);

        // Writes after the load, in slots freed from the loaded run and in new ones past it, answer as in the index built by adding.
        Assert.True(added.Remove(documents[0].Id, documents[0].Sketch.Signature));
        added.Add("new", documents[1].Sketch.Signature);
        foreach (BandIndex index in new[] { loaded, added })
        {
            for (int i = 1; i < 120; i++)
            {
                index.Add("more-" + i, documents[i].Sketch.Signature);
            }

            for (int i = 2; i < 60; i += 3)
            {
                Assert.True(index.Remove(documents[i].Id, documents[i].Sketch.Signature));
                Assert.True(index.Remove("more-" + (i + 1), documents[i + 1].Sketch.Signature));
            }
        }

        Assert.Equal(added.Count, loaded.Count);
        Assert.Equal(added.CandidatePairs().Pairs.Length, loaded.CandidatePairs().Pairs.Length);
        foreach ((string _, DocumentSketch sketch) in documents)
        {
            Assert.Equal(added.Candidates(sketch.Signature).Order(StringComparer.Ordinal), loaded.Candidates(sketch.Signature).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Loader_AnIdTwice_IsRefused()
    {
        uint[] signature = Sketcher.Sketch(TestData.BbcCorpus()[0].Text).Signature;
        var loader = new BandIndexLoader(Bands, expectedDocuments: 2);
        loader.Add("a", signature, 1);
        loader.Add("a", signature, 2);

        Assert.Throws<InvalidOperationException>(loader.Build);
    }

    private static ulong[] BandKeys(uint[] signature)
    {
        var keys = new ulong[Bands.Bands];
        LshIndex.BandKeys(signature, Bands, keys);
        Assert.Equal(LshIndex.BandKey(signature, Bands.Bands - 1, Bands.Rows), keys[^1]);
        return keys;
    }
}
