using System.Diagnostics;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Similarity;
using Compare.Core.Text;
using CsCheck;

namespace Compare.Core.Tests;

/// <summary>
/// Random Unicode through the tokenizer, the sketcher, the shared-phrase finder and the whole
/// comparison: no exception, every offset in bounds, symmetric where the definition is, and work
/// that grows near-linearly on the inputs built to make phrase search quadratic.
/// </summary>
public sealed class FuzzTests
{
    // What text is made of: words in many scripts, every kind of space and line break, controls,
    // lone and paired surrogates, combining marks, ligatures, emoji sequences, and any UTF-16 unit.
    private static readonly Gen<string> Piece = Gen.OneOf(
        Gen.OneOf<string>("the", "Silk", "Road", "Economic", "Belt", "(SCO)", "naïve", "İstanbul", "STRASSE", "straße", "ﬁne", "Ⅻ", "١٢٣", "東京", "北京欢迎你",
            "😀", "👩\u200D👩\u200D👧", "e\u0301", "ｆｕｌｌ", "\u05D0\u05D1", " ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u2028", "\u200B", "\uFEFF", "\0", "\u0001",
            "\u001F", "\u007F", "\uD800", "\uDC00", "\uDBFF\uDFFF", "\u0300", ".", ",", "\"", "'", "-", "…"),
        Gen.Char.Select(c => c.ToString()),
        Gen.Int[0, 0x10FFFF].Where(cp => cp is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32));

    private static readonly Gen<string> Text = Piece.Array[0, 120].Select(string.Concat);

    private static readonly DocumentSketcher Sketcher = new(SketchParameters.Default);

    [Fact]
    public void Tokenize_RandomUnicode_GivesOrderedTokensInsideTheText()
    {
        // Tokens are ordered by start; character bigrams of scripts written without spaces overlap.
        Text.Sample(text =>
        {
            Token[] tokens = Tokenizer.Tokenize(text, NormalizationOptions.Default, seed: 1);
            int previousStart = 0, previousCodePointStart = 0;
            foreach (Token t in tokens)
            {
                Assert.InRange(t.Start, previousStart, t.End - 1);
                Assert.InRange(t.End, t.Start + 1, text.Length);
                Assert.InRange(t.CodePointStart, previousCodePointStart, t.CodePointEnd - 1);
                Assert.True(t.CodePointEnd - t.CodePointStart <= t.End - t.Start);
                previousStart = t.Start;
                previousCodePointStart = t.CodePointStart;
            }

            Assert.Equal(tokens, Tokenizer.Tokenize(text, NormalizationOptions.Default, seed: 1));
        }, iter: 3000);
    }

    [Fact]
    public void Compare_RandomUnicodePairs_NeverThrowsAndIsSymmetric()
    {
        var options = new ComparisonOptions { IncludeDiff = true, IncludeSimilarSentences = true, Phrases = new PhraseOptions { MinWords = 2, MaxBridgeWords = 2 } };
        Gen.Select(Text, Text).Sample((left, right) =>
        {
            Comparison forward = DocumentComparer.Compare(left, right, Sketcher, options);
            Comparison backward = DocumentComparer.Compare(right, left, Sketcher, options);

            Assert.InRange(forward.Scores.Jaccard, 0, 1);
            Assert.Equal(forward.Scores.Jaccard, backward.Scores.Jaccard);
            Assert.Equal(forward.Phrases.LeftCoverage, backward.Phrases.RightCoverage);
            Assert.Equal(forward.Phrases.RightCoverage, backward.Phrases.LeftCoverage);
            int leftCodePoints = left.EnumerateRunes().Count(), rightCodePoints = right.EnumerateRunes().Count();
            foreach (SharedPhrase p in forward.Phrases.Phrases)
            {
                Assert.True(p.WordCount >= 2);
                Assert.InRange(p.Left.Start, 0, p.Left.End);
                Assert.InRange(p.Left.End, p.Left.Start, leftCodePoints);
                Assert.InRange(p.Right.End, p.Right.Start, rightCodePoints);
            }

            Assert.All(forward.Diff!, segment => Assert.InRange(segment.Left.End, segment.Left.Start, leftCodePoints));
        }, iter: 1000);
    }

    [Fact]
    public void Sketch_RandomUnicode_IsDeterministicAndSelfSimilar()
    {
        Text.Sample(text =>
        {
            DocumentSketch a = Sketcher.Sketch(text), b = Sketcher.Sketch(text);
            Assert.Equal(a.Signature, b.Signature);
            Assert.Equal(a.Shingles, b.Shingles);
            Assert.Equal(a.Shingles.Length == 0 ? 0 : 1, DocumentComparer.Score(a, b).Jaccard);
        }, iter: 2000);
    }

    // Quadratic work would grow 256 times for 16 times the input; near-linear work about 16 times.
    [Theory]
    [InlineData("one repeated word")]
    [InlineData("a repeated sentence against a reworded one")]
    [InlineData("distinct sentences made of common words")]
    [InlineData("three-word vocabulary at random")]
    [InlineData("distinct words against their reversal")]
    public void Compare_AdversarialInputs_WorkGrowsNearLinearly(string family)
    {
        TimeSpan small = BestOfThree(() => CompareFamily(family, 8_000));
        TimeSpan large = BestOfThree(() => CompareFamily(family, 128_000));

        double growth = large.TotalMilliseconds / Math.Max(small.TotalMilliseconds, 1);
        Assert.True(growth < 64, $"{family}: 16x the words took {growth:F1}x the time ({small.TotalMilliseconds:F0} ms -> {large.TotalMilliseconds:F0} ms)");
    }

    private static void CompareFamily(string family, int words)
    {
        var random = new Random(words);
        (string left, string right) = family switch
        {
            "one repeated word" => (Repeat("buffalo ", words), Repeat("buffalo ", words - 1) + "bison"),
            "a repeated sentence against a reworded one" => (Repeat("the cat sat on the mat. ", words / 6), Repeat("the cat sat on the mat today. ", words / 7)),
            "distinct sentences made of common words" => (Sentences("cat", words / 8), Sentences("dog", words / 8)),
            "three-word vocabulary at random" => (RandomWords(random, words), RandomWords(random, words)),
            _ => (string.Join(' ', Enumerable.Range(0, words).Select(i => $"w{i}")), string.Join(' ', Enumerable.Range(0, words).Reverse().Select(i => $"w{i}"))),
        };
        var options = new ComparisonOptions { IncludeFuzzy = false, IncludeDiff = true, IncludeSimilarSentences = true, Phrases = new PhraseOptions { MaxBridgeWords = 3 } };
        DocumentComparer.Compare(left, right, Sketcher, options);

        static string Repeat(string piece, int count) => string.Concat(Enumerable.Repeat(piece, count));

        static string Sentences(string animal, int count) => string.Concat(Enumerable.Range(0, count).Select(i => $"the {animal} number {i} sat on the mat. "));

        static string RandomWords(Random random, int count) => string.Join(' ', Enumerable.Range(0, count).Select(_ => "abc"[random.Next(3)].ToString()));
    }

    private static TimeSpan BestOfThree(Action work)
    {
        TimeSpan best = TimeSpan.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            work();
            best = clock.Elapsed < best ? clock.Elapsed : best;
        }

        return best;
    }
}
