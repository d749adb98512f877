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
}
