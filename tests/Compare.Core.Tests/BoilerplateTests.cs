using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Shingling;

namespace Compare.Core.Tests;

public sealed class BoilerplateTests
{
    private const string Footer = "Copyright 2005 BBC News. All rights reserved. Reproduction of this article in any form without written permission is prohibited.";

    [Fact]
    public void Sketch_BbcCorpus_NeverUndercountsAndRarelyOvercounts()
    {
        var sketcher = new DocumentSketcher(SketchParameters.Default);
        var sketch = new DocumentFrequencySketch();
        var exact = new ShingleFrequencies();
        foreach ((string _, string text) in TestData.BbcCorpus())
        {
            ulong[] shingles = sketcher.Sketch(text).Shingles;
            sketch.Add(shingles);
            exact.Add(shingles);
        }

        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        long total = corpus.Sum(d => (long)sketcher.Sketch(d.Text).Shingles.Length);
        ulong[] all = [.. corpus.Take(300).SelectMany(d => sketcher.Sketch(d.Text).Shingles).Distinct()];
        Assert.All(all, s => Assert.True(sketch.Estimate(s) >= exact.DocumentFrequency(s)));
        // Count-min's bound: above e·T/width with a probability below e^-depth (2 %).
        double bound = Math.E * total / DocumentFrequencySketch.Width;
        double beyond = all.Count(s => sketch.Estimate(s) - exact.DocumentFrequency(s) > bound) / (double)all.Length;
        Assert.InRange(beyond, 0, Math.Exp(-DocumentFrequencySketch.Depth));
        Assert.InRange(all.Average(s => sketch.Estimate(s) - exact.DocumentFrequency(s)), 0, 0.01 * corpus.Count);
    }

    [Fact]
    public void Sketch_RemovedDocumentsAndTheStoredForm_CountAsBefore()
    {
        var sketcher = new DocumentSketcher(SketchParameters.Default);
        var sketch = new DocumentFrequencySketch();
        ulong[][] documents = [.. TestData.BbcCorpus().Take(50).Select(d => sketcher.Sketch(d.Text).Shingles)];
        foreach (ulong[] shingles in documents)
        {
            sketch.Add(shingles);
        }

        uint[] before = [.. documents[0].Select(sketch.Estimate)];
        sketch.Add(documents[1]);
        sketch.Remove(documents[1]);
        sketch.Remove(documents[0]);

        Assert.Equal(before.Select(c => c - 1), documents[0].Select(sketch.Estimate));
        DocumentFrequencySketch stored = DocumentFrequencySketch.FromBigEndian(sketch.ToBigEndian());
        Assert.Equal(documents.SelectMany(d => d).Select(sketch.Estimate), documents.SelectMany(d => d).Select(stored.Estimate));
        Assert.Equal(DocumentFrequencySketch.Bytes, sketch.ToBigEndian().Length);
        Assert.Equal(0u, DocumentFrequencySketch.FromBigEndian([]).Estimate(documents[0][0]));
    }

    [Fact]
    public void Find_FooterEveryDocumentCarries_IsLeftOutWithItsWordsAndTheAnswerStaysMirrored()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        using var index = new SimilarityIndex(SketchParameters.Default, countFrequencies: true);
        foreach ((string id, string text) in corpus.Take(20))
        {
            index.Upsert(id, text + "\n\n" + Footer);
        }

        string left = corpus[0].Text + "\n\n" + Footer, right = corpus[1].Text + "\n\n" + Footer;
        var boilerplate = new CollectionBoilerplate(index.Frequencies!, index.Count, index.Sketcher, 0.5);
        SharedPhrases all = SharedPhraseFinder.Find(left, right);
        SharedPhrases telling = SharedPhraseFinder.Find(left, right, new PhraseOptions { Boilerplate = boilerplate });

        SharedPhrase footer = Assert.Single(all.Phrases, p => p.Text.Contains("All rights reserved", StringComparison.Ordinal));
        Assert.DoesNotContain(telling.Phrases, p => p.Text.Contains("All rights reserved", StringComparison.Ordinal));
        Assert.Equal(1, telling.BoilerplateCount);
        Assert.Equal(all.Phrases.Count - 1, telling.Phrases.Count);
        Assert.Equal(all.LeftSharedWords - footer.WordCount, telling.LeftSharedWords);
        SharedPassageReferenceTests.AssertMirrored(telling, SharedPhraseFinder.Find(right, left, new PhraseOptions { Boilerplate = boilerplate }));
        Assert.False(new CollectionBoilerplate(index.Frequencies!, index.Count, index.Sketcher, 1).IsBoilerplate(Footer));
        Assert.False(boilerplate.IsBoilerplate("All rights reserved")); // shorter than one shingle
    }
}
