using Compare.Core.Text;

namespace Compare.Core.Tests;

public sealed class TokenizerTests
{
    private static readonly NormalizationOptions Default = NormalizationOptions.Default;

    private static string Words(string text, NormalizationOptions? options = null) => Tokenizer.NormalizedText(text, options ?? Default);

    private static ulong[] Hashes(string text, NormalizationOptions? options = null) =>
        [.. Tokenizer.Tokenize(text, options ?? Default, 42).Select(t => t.Hash)];

    [Fact]
    public void Tokenize_Ascii_SplitsOnNonAlphanumericsAndLowercases()
    {
        Assert.Equal("kazakhstan s gdp rose 3 5 in q1 2016", Words("Kazakhstan's GDP rose 3.5% in Q1-2016!"));
    }

    [Fact]
    public void Tokenize_TypographicVariants_ProduceTheSameWords()
    {
        string plain = "\"It's 20 percent\" - said Xi - in 2016-2017";
        string fancy = "\u201CIt\u2019s \uFF12\uFF10\u00A0percent\u201D \u2013 said\u2009Xi \u2014 in 2016\u20132017";

        Assert.Equal(Hashes(plain), Hashes(fancy));
    }

    [Fact]
    public void Tokenize_CombiningMarksAndPrecomposed_AreTheSameWord()
    {
        Assert.Equal(Hashes("caf\u00E9 na\u00EFve"), Hashes("cafe\u0301 nai\u0308ve"));
        Assert.Equal("café", Words("CAFE\u0301"));
    }

    [Fact]
    public void Tokenize_FoldDiacritics_RemovesMarks()
    {
        var fold = new NormalizationOptions(FoldDiacritics: true);
        Assert.Equal(Hashes("cafe naive Sao Paulo", fold), Hashes("Café naïve São Paulo", fold));
        Assert.NotEqual(Hashes("cafe"), Hashes("café"));
    }

    [Fact]
    public void Tokenize_FoldDigits_MapsEveryDigitToZero()
    {
        var fold = new NormalizationOptions(FoldDigits: true);
        Assert.Equal("in 0000 and 0 000", Words("in 2016 and \uFF11 \u0663\u0664\u0665", fold));
        Assert.Equal(Hashes("in 2014", fold), Hashes("in 2016", fold));
    }

    [Fact]
    public void Tokenize_CaseFolding_HandlesSharpSAndFinalSigma()
    {
        Assert.Equal(Hashes("strasse ΟΔΟΣ"), Hashes("Straße οδος"));
    }

    [Fact]
    public void Tokenize_Cjk_EmitsOverlappingBigramsWithOffsets()
    {
        Token[] tokens = Tokenizer.Tokenize("习近平会见 Nazarbayev", Default, 1);

        Assert.Equal("习近 近平 平会 会见 nazarbayev", Words("习近平会见 Nazarbayev"));
        Assert.Equal(5, tokens.Length);
        Assert.Equal((1, 3), (tokens[1].CodePointStart, tokens[1].CodePointEnd));
        Assert.Equal((6, 16), (tokens[4].CodePointStart, tokens[4].CodePointEnd));
    }

    [Fact]
    public void Tokenize_SingleCjkCharacter_IsOneToken()
    {
        Assert.Equal("中 a", Words("中 a"));
    }

    [Fact]
    public void Tokenize_SurrogatePairs_OffsetsAreCodePointsAndUtf16()
    {
        string text = "😀 a𝔘b 😀😀 end";
        Token[] tokens = Tokenizer.Tokenize(text, Default, 1);

        Assert.Equal(2, tokens.Length);
        Assert.Equal((2, 5), (tokens[0].CodePointStart, tokens[0].CodePointEnd)); // "a𝔘b": 𝔘 is a letter outside the BMP
        Assert.Equal((3, 7), (tokens[0].Start, tokens[0].End));
        Assert.Equal("a𝔘b", text[tokens[0].Start..tokens[0].End]);
        Assert.Equal((9, 12), (tokens[1].CodePointStart, tokens[1].CodePointEnd));
        Assert.Equal("end", TestData.SliceCodePoints(text, tokens[1].CodePointStart, tokens[1].CodePointEnd));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n\u00A0 ")]
    [InlineData("... --- !!! 😀")]
    public void Tokenize_NoWords_ReturnsEmpty(string text)
    {
        Assert.Empty(Tokenizer.Tokenize(text, Default, 1));
    }

    [Fact]
    public void Tokenize_LoneSurrogatesAndControlCharacters_AreSeparators()
    {
        Assert.Equal("abc def ghi", Words("abc\uD800def\u0001ghi\uDC00"));
    }

    [Fact]
    public void Tokenize_SoftHyphenInsideWord_IsIgnored()
    {
        Assert.Equal(Hashes("international"), Hashes("inter\u00ADnational"));
    }

    [Fact]
    public void Tokenize_VeryLongAsciiWord_HashesLikeTheSameWordThroughTheSlowPath()
    {
        string word = new('x', 300);
        Token token = Assert.Single(Tokenizer.Tokenize(word, Default, 9));
        Token accented = Assert.Single(Tokenizer.Tokenize(word + "\u00E9", Default, 9));

        Assert.Equal((0, 300), (token.Start, token.End));
        Assert.NotEqual(token.Hash, accented.Hash);
        Assert.Equal(Hashes(word.ToUpperInvariant()), Hashes(word));
    }

    [Fact]
    public void Tokenize_DifferentSeeds_GiveDifferentHashes()
    {
        Assert.NotEqual(Tokenizer.Tokenize("word", Default, 1)[0].Hash, Tokenizer.Tokenize("word", Default, 2)[0].Hash);
    }
}
