using Compare.Core.Similarity;
using FuzzySharp;

namespace Compare.Core.Tests;

public sealed class IndelRatiosTests
{
    /// <summary>The textbook quadratic LCS, as the reference.</summary>
    private static int ReferenceLcs(string a, string b)
    {
        int[,] table = new int[a.Length + 1, b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                table[i, j] = a[i - 1] == b[j - 1] ? table[i - 1, j - 1] + 1 : Math.Max(table[i - 1, j], table[i, j - 1]);
            }
        }

        return table[a.Length, b.Length];
    }

    // The token ratios as FuzzySharp computes them, with words in ordinal order (FuzzySharp sorts by the current
    // culture): FuzzySharp's own ratio over the sorted words.
    private static string Sorted(IEnumerable<string> words) => string.Join(" ", words.Where(w => w.Length > 0).Order(StringComparer.Ordinal));

    private static string[] Words(string text) => System.Text.RegularExpressions.Regex.Split(text, @"\s+");

    private static int ReferenceTokenSortRatio(string a, string b) => Fuzz.Ratio(Sorted(Words(a)), Sorted(Words(b)));

    private static int ReferenceTokenSetRatio(string a, string b)
    {
        HashSet<string> x = [.. Words(a).Where(w => w.Length > 0)], y = [.. Words(b).Where(w => w.Length > 0)];
        string shared = Sorted(x.Intersect(y));
        string left = (shared + " " + Sorted(x.Except(y))).Trim(), right = (shared + " " + Sorted(y.Except(x))).Trim();
        return Math.Max(Fuzz.Ratio(shared, left), Math.Max(Fuzz.Ratio(shared, right), Fuzz.Ratio(left, right)));
    }

    private static void AssertRatios(string a, string b)
    {
        Assert.Equal(Fuzz.Ratio(a, b), IndelRatios.Ratio(a, b));
        Assert.Equal(ReferenceTokenSortRatio(a, b), IndelRatios.TokenSortRatio(a, b));
        Assert.Equal(ReferenceTokenSetRatio(a, b), IndelRatios.TokenSetRatio(a, b));
    }

    private static string RandomText(Random random, int length, string alphabet) =>
        new([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);

    // Lengths around the 64-bit words of a row, and the trivial ones.
    public static TheoryData<int, int> Lengths => new() { { 0, 5 }, { 1, 1 }, { 1, 70 }, { 63, 63 }, { 64, 64 }, { 65, 64 }, { 127, 130 }, { 128, 128 }, { 129, 257 }, { 300, 40 } };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void LongestCommonSubsequence_AroundWordWidths_EqualsTheQuadraticReference(int leftLength, int rightLength)
    {
        var random = new Random(leftLength * 1000 + rightLength);
        foreach (string alphabet in new[] { "ab", "acgt", "abcdefghij klmnop", "αβγ😀\u0301 x" })
        {
            for (int trial = 0; trial < 20; trial++)
            {
                string a = RandomText(random, leftLength, alphabet), b = RandomText(random, rightLength, alphabet);
                Assert.Equal(ReferenceLcs(a, b), IndelRatios.LongestCommonSubsequence(a, b));
                Assert.Equal(ReferenceLcs(a, b), IndelRatios.LongestCommonSubsequence(b, a));
            }
        }
    }

    [Fact]
    public void Ratios_RandomStrings_EqualFuzzySharpsRatioOverOrdinallySortedWords()
    {
        var random = new Random(2016);
        const string Alphabet = "aaabbbcdeE  ,.-'XyZ01\t\n";
        for (int trial = 0; trial < 600; trial++)
        {
            string a = RandomText(random, random.Next(0, 200), Alphabet), b = RandomText(random, random.Next(0, 200), Alphabet);
            AssertRatios(a, b);
        }
    }

    [Fact]
    public void TokenRatios_LowerCaseAsciiWords_EqualFuzzySharpsCultureSortedOnes()
    {
        // Where the culture orders the words as ordinal order does, the answers are FuzzySharp's own.
        var random = new Random(2014);
        for (int trial = 0; trial < 300; trial++)
        {
            string a = RandomText(random, random.Next(0, 120), "abcdefg   "), b = RandomText(random, random.Next(0, 120), "abcdefg   ");
            Assert.Equal(Fuzz.TokenSortRatio(a, b), IndelRatios.TokenSortRatio(a, b));
            Assert.Equal(Fuzz.TokenSetRatio(a, b), IndelRatios.TokenSetRatio(a, b));
        }
    }

    [Fact]
    public void TokenRatios_UnderDifferentCultures_GiveTheSameAnswers()
    {
        // Turkish dotted and dotless i, Swedish å after z, and case: orders that differ between cultures and from ordinal.
        const string A = "Istanbul ıi İstanbul zebra Åsa apple Apple éclair eclair b-side b_side", B = "apple İstanbul Åsa zebra eclair Istanbul b_side";
        System.Globalization.CultureInfo original = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            var answers = new HashSet<(int, int)>();
            foreach (string culture in new[] { "", "en-US", "tr-TR", "sv-SE", "lt-LT" })
            {
                System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo(culture);
                answers.Add((IndelRatios.TokenSortRatio(A, B), IndelRatios.TokenSetRatio(A, B)));
            }

            Assert.Equal([(ReferenceTokenSortRatio(A, B), ReferenceTokenSetRatio(A, B))], answers);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = original;
        }
    }

    [Fact]
    public void Ratios_BbcArticlesAndEditedCopies_EqualFuzzySharpsRatioOverOrdinallySortedWords()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        for (int i = 0; i < 40; i++)
        {
            string a = corpus[i].Text[..Math.Min(1200, corpus[i].Text.Length)];
            string other = corpus[i + 1].Text[..Math.Min(1200, corpus[i + 1].Text.Length)];
            string edited = a.Replace(" the ", " a ", StringComparison.Ordinal).Insert(a.Length / 2, " (an added aside) ");
            foreach (string b in new[] { other, edited })
            {
                AssertRatios(a, b);
            }
        }
    }

    [Fact]
    public void Ratio_EdgeCases_EqualFuzzySharpsRatioOverOrdinallySortedWords()
    {
        foreach ((string a, string b) in new[] { ("", ""), ("", "abc"), ("abc", ""), ("a", "a"), ("a", "b"), ("  ", " "), ("!!", "??"), ("The Cat", "the cat") })
        {
            AssertRatios(a, b);
        }
    }
}
