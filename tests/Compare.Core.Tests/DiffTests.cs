using Compare.Core.Diff;
using Compare.Core.Indexing;
using Compare.Core.Similarity;
using Compare.Core.Text;

namespace Compare.Core.Tests;

public sealed class DiffTests
{
    private static string Normalized(string text) => Tokenizer.NormalizedText(text, NormalizationOptions.Default);

    [Fact]
    public void Diff_Edit_ProducesEqualDeleteInsertSegments()
    {
        IReadOnlyList<DiffSegment> diff = WordDiff.Diff("the quick brown fox jumps over the lazy dog", "the quick red fox jumps over the dog");

        Assert.Equal(
            [(DiffOperation.Equal, "the quick"), (DiffOperation.Delete, "brown"), (DiffOperation.Insert, "red"),
             (DiffOperation.Equal, "fox jumps over the"), (DiffOperation.Delete, "lazy"), (DiffOperation.Equal, "dog")],
            diff.Select(s => (s.Operation, s.Text)));
    }

    [Fact]
    public void Diff_Seeds_ReconstructsBothTextsWordForWord()
    {
        string left = TestData.Seed2014, right = TestData.Seed2016;

        IReadOnlyList<DiffSegment> diff = WordDiff.Diff(left, right);

        string leftWords = string.Join(' ', diff.Where(s => s.Operation != DiffOperation.Insert).Select(s => Normalized(TestData.SliceCodePoints(left, s.Left.Start, s.Left.End))).Where(s => s.Length > 0));
        string rightWords = string.Join(' ', diff.Where(s => s.Operation != DiffOperation.Delete).Select(s => Normalized(TestData.SliceCodePoints(right, s.Right.Start, s.Right.End))).Where(s => s.Length > 0));
        Assert.Equal(Normalized(left), leftWords);
        Assert.Equal(Normalized(right), rightWords);
        Assert.All(diff.Where(s => s.Operation == DiffOperation.Equal), s =>
            Assert.Equal(Normalized(TestData.SliceCodePoints(left, s.Left.Start, s.Left.End)), Normalized(TestData.SliceCodePoints(right, s.Right.Start, s.Right.End))));
        // The anchors keep both texts in order, so some shared phrases stand in equal segments.
        Assert.Contains(diff, s => s.Operation == DiffOperation.Equal && Normalized(s.Text).Split(' ').Length >= 3);
    }

    [Fact]
    public void Diff_EmptySides_AreAllInsertOrAllDelete()
    {
        Assert.Equal([DiffOperation.Insert], WordDiff.Diff("", "a b c").Select(s => s.Operation));
        Assert.Equal([DiffOperation.Delete], WordDiff.Diff("a b c", " ").Select(s => s.Operation));
        Assert.Empty(WordDiff.Diff("", ""));
    }

    [Fact]
    public void SimilarSentences_RewordedSentence_IsPaired()
    {
        string left = "Markets were calm. The minister said the budget would be balanced by next year. Rain is expected.";
        string right = "Next year the budget will be balanced, the minister said on Monday. Football results follow.";

        SentencePair pair = Assert.Single(SimilarSentences.Find(left, right, minRatio: 70));

        Assert.Equal("The minister said the budget would be balanced by next year.", pair.LeftText);
        Assert.Equal(pair.LeftText, TestData.SliceCodePoints(left, pair.Left.Start, pair.Left.End));
        Assert.Equal(pair.RightText, TestData.SliceCodePoints(right, pair.Right.Start, pair.Right.End));
        Assert.InRange(pair.Ratio, 70, 100);
    }

    [Fact]
    public void Compare_Seeds_ScoresAreConsistent()
    {
        var sketcher = new DocumentSketcher(SketchParameters.Default);

        Comparison result = DocumentComparer.Compare(TestData.Seed2014, TestData.Seed2016, sketcher,
            new ComparisonOptions { IncludeDiff = true, IncludeSimilarSentences = true });
        Comparison swapped = DocumentComparer.Compare(TestData.Seed2016, TestData.Seed2014, sketcher);

        Assert.InRange(result.Scores.Jaccard, 0.001, 0.2);
        Assert.Equal(result.Scores.Jaccard, swapped.Scores.Jaccard);
        Assert.Equal(result.Scores.ContainmentLeft, swapped.Scores.ContainmentRight);
        Assert.Equal((double)result.Scores.SharedShingles / result.Scores.LeftShingles, result.Scores.ContainmentLeft);
        Assert.NotNull(result.Fuzzy);
        Assert.InRange(result.Fuzzy.TokenSetRatio, 1, 100);
        Assert.Equal(result.Fuzzy.Ratio, swapped.Fuzzy!.Ratio);
        Assert.NotEmpty(result.Diff!);
        Assert.NotEmpty(result.Phrases.Phrases);
    }

    [Fact]
    public void Compare_IdenticalTexts_ScoreOne()
    {
        var sketcher = new DocumentSketcher(SketchParameters.Default);

        Comparison result = DocumentComparer.Compare(TestData.Seed2016, TestData.Seed2016, sketcher);

        Assert.Equal(1.0, result.Scores.Jaccard);
        Assert.Equal(1.0, result.Scores.EstimatedJaccard);
        Assert.Equal(100, result.Fuzzy!.Ratio);
        Assert.Equal(1.0, result.Phrases.LeftCoverage);
        Assert.Single(result.Phrases.Phrases);
    }
}
