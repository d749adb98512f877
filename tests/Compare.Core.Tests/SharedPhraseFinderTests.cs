using Compare.Core.Phrases;

namespace Compare.Core.Tests;

public sealed class SharedPhraseFinderTests
{
    [Theory]
    [InlineData("construction of the Silk Road Economic Belt")]
    [InlineData("Shanghai Cooperation Organization (SCO)")]
    [InlineData("development of the SCO")]
    [InlineData("is willing to enhance")]
    public void Find_Seeds_YieldsPhraseWhoseSpansSliceTheWordingFromBothTexts(string wording)
    {
        string left = TestData.Seed2014, right = TestData.Seed2016;

        SharedPhrases result = SharedPhraseFinder.Find(left, right);

        SharedPhrase phrase = Assert.Single(result.Phrases, p => p.Text.Contains(wording, StringComparison.Ordinal));
        string leftSlice = TestData.SliceCodePoints(left, phrase.Left.Start, phrase.Left.End);
        string rightSlice = TestData.SliceCodePoints(right, phrase.Right.Start, phrase.Right.End);
        Assert.Equal(phrase.Text, leftSlice);
        Assert.Equal(phrase.RightText, rightSlice);
        Assert.Contains(wording, leftSlice, StringComparison.Ordinal);
        Assert.Contains(wording, rightSlice, StringComparison.Ordinal);
    }

    [Fact]
    public void Find_Seeds_ReportsExactMaximalPhrases()
    {
        SharedPhrases result = SharedPhraseFinder.Find(TestData.Seed2014, TestData.Seed2016);

        Assert.Contains(result.Phrases, p => p.Text == "construction of the Silk Road Economic Belt" && p.WordCount == 7);
        Assert.Contains(result.Phrases, p => p.Text == "is willing to enhance" && p.WordCount == 4);
        Assert.Contains(result.Phrases, p => p.Text == "development of the SCO");
        // "(SCO)" closes with the bracket both texts put after it.
        Assert.Contains(result.Phrases, p => p.Text.EndsWith("Shanghai Cooperation Organization (SCO)", StringComparison.Ordinal));
        Assert.All(result.Phrases, p => Assert.True(p.WordCount >= 3));
        Assert.InRange(result.LeftCoverage, 0.01, 0.5);
        Assert.InRange(result.RightCoverage, 0.01, 0.5);
    }

    [Fact]
    public void Find_EmojiAndAstralCharactersBeforePhrase_OffsetsCountCodePoints()
    {
        string left = "😀😀 𝔘 we share these exact words today";
        string right = "intro: 🎉 we share these exact words, fine";

        SharedPhrase phrase = Assert.Single(SharedPhraseFinder.Find(left, right).Phrases);

        Assert.Equal("we share these exact words", phrase.Text);
        Assert.Equal(new TextSpan(5, 31), phrase.Left); // 2 emoji + space + 1 astral letter + space = 5 code points
        Assert.Equal(new TextSpan(9, 35), phrase.Right);
        Assert.Equal(phrase.Text, TestData.SliceCodePoints(left, phrase.Left.Start, phrase.Left.End));
        Assert.Equal(phrase.Text, TestData.SliceCodePoints(right, phrase.Right.Start, phrase.Right.End));
    }

    [Fact]
    public void Find_TypographicVariants_MatchAsTheSameWords()
    {
        string left = "He said \u201Cthe price rose\u00A0２０ percent\u201D in 2016\u20132017.";
        string right = "he said \"The PRICE rose 20 percent\" in 2016-2017!";

        SharedPhrase phrase = Assert.Single(SharedPhraseFinder.Find(left, right).Phrases);

        Assert.Equal(10, phrase.WordCount);
        Assert.Equal(1.0, SharedPhraseFinder.Find(left, right).LeftCoverage);
    }

    [Fact]
    public void Find_BridgeAllowed_JoinsAcrossDifferingWordsOnBothSidesAndReportsThem()
    {
        string left = "local cooperation and people-to-people exchanges, Xi said";
        string right = "local affairs, people-to-people and cultural exchanges as well";
        var exactOptions = new PhraseOptions { MinWords = 3 };

        SharedPhrases exact = SharedPhraseFinder.Find(left, right, exactOptions);
        SharedPhrases bridged = SharedPhraseFinder.Find(left, right, exactOptions with { MaxBridgeWords = 2 });

        Assert.Equal("people-to-people", Assert.Single(exact.Phrases).Text);
        SharedPhrase phrase = Assert.Single(bridged.Phrases);
        // "local" agrees two words before the seed on the left and one on the right: within the bridge.
        Assert.Equal("local cooperation and people-to-people exchanges", phrase.Text);
        Assert.Equal("local affairs, people-to-people and cultural exchanges", phrase.RightText);
        Assert.Equal((7, 8), (phrase.WordCount, phrase.RightWordCount)); // people-to-people is three words
        Assert.Equal([("cooperation and", "affairs"), ("", "and cultural")], phrase.Differences.Select(d => (d.Left, d.Right)));
        Assert.All(phrase.Differences, d => Assert.Equal(d.Right, TestData.SliceCodePoints(right, d.RightSpan.Start, d.RightSpan.End)));
        Assert.Equal(7.0 / 9, bridged.LeftCoverage);
        Assert.Equal(8.0 / 10, bridged.RightCoverage);
    }

    [Fact]
    public void Find_NothingShared_ReturnsNoPhrasesAndZeroCoverage()
    {
        SharedPhrases result = SharedPhraseFinder.Find("alpha beta gamma delta", "one two three four");

        Assert.Empty(result.Phrases);
        Assert.Equal(0, result.LeftCoverage);
        Assert.Equal(0, result.RightCoverage);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("   \n\t ", "a b c")]
    [InlineData("a b", "a b")]
    public void Find_EmptyOrShorterThanMinWords_ReturnsNoPhrases(string left, string right)
    {
        Assert.Empty(SharedPhraseFinder.Find(left, right).Phrases);
    }

    [Fact]
    public void Find_PassageRepeatedInLeft_IsOnePassageWithBothLeftOccurrences()
    {
        string left = "the quick brown fox ran. later the quick brown fox slept.";
        string right = "we saw the quick brown fox";

        SharedPhrases forward = SharedPhraseFinder.Find(left, right);
        SharedPhrases backward = SharedPhraseFinder.Find(right, left);

        SharedPhrase phrase = Assert.Single(forward.Phrases);
        Assert.Equal("the quick brown fox", phrase.Text);
        Assert.Equal([new TextSpan(0, 19), new TextSpan(31, 50)], phrase.LeftOccurrences);
        Assert.Equal([new TextSpan(7, 26)], phrase.RightOccurrences);
        Assert.Equal(8.0 / 11, forward.LeftCoverage);
        SharedPassageReferenceTests.AssertMirrored(forward, backward);
    }

    [Fact]
    public void Find_IdenticalTextsThatRepeatASentence_IsOnePassage()
    {
        string text = "Markets rose sharply on Monday. Analysts said markets rose sharply on Monday because of the news.";

        SharedPhrase phrase = Assert.Single(SharedPhraseFinder.Find(text, text).Phrases);

        Assert.Equal(text.TrimEnd('.'), phrase.Text);
    }

    [Fact]
    public void Find_RandomTexts_EveryPhraseHasEqualNormalizedWordsOnBothSides()
    {
        var random = new Random(7);
        string[] vocabulary = ["alpha", "beta", "Gamma", "delta", "(eps)", "zeta", "ETA", "theta"];
        for (int round = 0; round < 50; round++)
        {
            string left = string.Join(' ', Enumerable.Range(0, 200).Select(_ => vocabulary[random.Next(vocabulary.Length)]));
            string right = string.Join(' ', Enumerable.Range(0, 150).Select(_ => vocabulary[random.Next(vocabulary.Length)]));

            var options = new PhraseOptions { MinWords = 3 };
            SharedPhrases forward = SharedPhraseFinder.Find(left, right, options);
            SharedPassageReferenceTests.AssertTwinsHaveTheSameWords(left, right, forward, options);
            SharedPassageReferenceTests.AssertMirrored(forward, SharedPhraseFinder.Find(right, left, options));
        }
    }
}
