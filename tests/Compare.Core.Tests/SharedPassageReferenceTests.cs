using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Core.Tests;

/// <summary>
/// The shared-passage search against a brute-force reference of its definition (every pair of words,
/// every chain), on BBC articles, edited copies, articles quoting another and the seeds, in both
/// argument orders, for shortest passages of 3 to 8 words and bridging of 0 to 3.
/// </summary>
public sealed class SharedPassageReferenceTests
{
    private const ulong Seed = 42;
    private static readonly Lazy<IReadOnlyList<(string Left, string Right)>> Pairs = new(MakePairs);

    public static TheoryData<int, int> Settings()
    {
        var data = new TheoryData<int, int>();
        for (int minWords = 3; minWords <= 8; minWords++)
        {
            for (int bridge = 0; bridge <= 3; bridge++)
            {
                data.Add(minWords, bridge);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void Find_EveryPairInBothOrders_MarksExactlyTheReferencesSharedWords(int minWords, int bridge)
    {
        var options = new PhraseOptions { MinWords = minWords, MaxBridgeWords = bridge };
        foreach ((string left, string right) in Pairs.Value)
        {
            Token[] a = Tokenizer.Tokenize(left, options.Normalization, Seed), b = Tokenizer.Tokenize(right, options.Normalization, Seed);
            (bool[] expectedA, bool[] expectedB) = ReferenceSharedWords(a, b, minWords, bridge);
            SharedPhrases forward = SharedPhraseFinder.Find(left, right, options);
            SharedPhrases backward = SharedPhraseFinder.Find(right, left, options);

            Assert.True(forward.Complete);
            Assert.Equal(expectedA, Covered(a, forward.LeftShared));
            Assert.Equal(expectedB, Covered(b, forward.RightShared));
            Assert.Equal(expectedA, Covered(a, forward.Phrases.SelectMany(p => p.LeftOccurrences)));
            Assert.Equal(expectedB, Covered(b, forward.Phrases.SelectMany(p => p.RightOccurrences)));
            Assert.Equal(expectedA.Count(x => x), forward.LeftSharedWords);
            Assert.Equal(expectedB.Count(x => x), forward.RightSharedWords);
            AssertMirrored(forward, backward);
            AssertTwinsHaveTheSameWords(left, right, forward, options);
            // A query prepared once for many comparisons gets the same answer as a pair compared afresh.
            AssertMirrored(SharedPhraseFinder.Find(new PassageQuery(left, SharedPhraseFinder.Tokenize(left, options.Normalization), minWords), right,
                SharedPhraseFinder.Tokenize(right, options.Normalization), options), backward);
            AssertMirrored(forward, SharedPhraseFinder.Find(new PassageQuery(right, SharedPhraseFinder.Tokenize(right, options.Normalization), minWords), left,
                SharedPhraseFinder.Tokenize(left, options.Normalization), options));
        }
    }

    [Fact]
    public void Find_Seeds_MarksBothOccurrencesOfTheSilkRoadEconomicBeltInThe2016ReportInEitherOrder()
    {
        string report2014 = TestData.Seed2014, report2016 = TestData.Seed2016;
        List<TextSpan> occurrences = Occurrences(report2016, "Silk Road Economic Belt");
        Assert.Equal(2, occurrences.Count);
        foreach (int minWords in new[] { 3, 4 })
        {
            var options = new PhraseOptions { MinWords = minWords };
            SharedPhrases right = SharedPhraseFinder.Find(report2014, report2016, options);
            SharedPhrases left = SharedPhraseFinder.Find(report2016, report2014, options);

            Assert.All(occurrences, o => Assert.Contains(right.RightShared, s => s.Start <= o.Start && o.End <= s.End));
            Assert.All(occurrences, o => Assert.Contains(left.LeftShared, s => s.Start <= o.Start && o.End <= s.End));
            Assert.All(occurrences, o => Assert.Contains(right.Phrases.SelectMany(p => p.RightOccurrences), s => s.Start <= o.Start && o.End <= s.End));
            Assert.Contains(right.Phrases, p => p.Text == "construction of the Silk Road Economic Belt" && p.WordCount == 7);
            Assert.Contains(right.Phrases, p => p.Text == "Silk Road Economic Belt" && p.RightOccurrences.Count == 1);
        }
    }

    [Fact]
    public void Find_ParagraphsInAnotherOrder_FindsEveryParagraphAsWhenInPlace()
    {
        foreach ((string _, string text) in TestData.BbcCorpus().Take(40))
        {
            string[] paragraphs = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            if (paragraphs.Length < 4)
            {
                continue;
            }

            string reordered = string.Join("\n\n", paragraphs.Reverse());
            SharedPhrases inPlace = SharedPhraseFinder.Find(text, text);
            SharedPhrases moved = SharedPhraseFinder.Find(text, reordered);

            Assert.Equal(1.0, inPlace.LeftCoverage);
            foreach (string paragraph in paragraphs.Where(p => Tokenizer.Tokenize(p, NormalizationOptions.Default, Seed).Length >= PhraseOptions.DefaultMinWords))
            {
                TextSpan inLeft = WordsOf(paragraph, Occurrences(text, paragraph)[0]), inRight = WordsOf(paragraph, Occurrences(reordered, paragraph)[0]);
                Assert.Contains(moved.LeftShared, s => s.Start <= inLeft.Start && inLeft.End <= s.End);
                Assert.Contains(moved.RightShared, s => s.Start <= inRight.Start && inRight.End <= s.End);
                Assert.Contains(moved.Phrases, p => p.LeftOccurrences.Any(s => s.Start <= inLeft.Start && inLeft.End <= s.End)
                    && p.RightOccurrences.Any(s => s.Start <= inRight.Start && inRight.End <= s.End));
            }
        }
    }

    [Fact]
    public void Find_MaxWorkReached_SaysSoAndKeepsTheExactCoverage()
    {
        string left = string.Join(' ', Enumerable.Repeat("buffalo", 20_000));
        string right = string.Join(' ', Enumerable.Repeat("buffalo", 15_000));

        SharedPhrases result = SharedPhraseFinder.Find(left, right);

        Assert.False(result.Complete);
        Assert.Equal(1.0, result.LeftCoverage);
        Assert.Equal(1.0, result.RightCoverage);
        Assert.Equal([new TextSpan(0, left.Length)], result.LeftShared);
    }

    [Fact]
    public void Find_WorkBoundReachedOnRepetitiveTexts_StopsAlikeInBothOrders()
    {
        string left = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 300));
        string right = string.Concat(Enumerable.Repeat("the cat sat on the mat today. ", 250));
        var options = new PhraseOptions { MaxWork = 60_000 }; // each gram pairs 300 × 250 places: beyond the bound

        SharedPhrases forward = SharedPhraseFinder.Find(left, right, options);
        SharedPhrases backward = SharedPhraseFinder.Find(right, left, options);

        Assert.False(forward.Complete);
        Assert.Equal(1.0, forward.LeftCoverage);
        Assert.Contains(forward.Phrases, p => p.Text == "the cat sat on the mat" && p.LeftOccurrences.Count == 250 && p.RightOccurrences.Count == 250);
        AssertMirrored(forward, backward);
    }

    /// <summary>
    /// Straight from the definition, over every pair of words: a window of MinWords equal words on a
    /// diagonal is a seed; a chain continues from equal words (p, q) to equal words (p + 1 + i, q + 1 + j)
    /// with i, j ≤ bridge; every word from a chain's first to its last is shared.
    /// </summary>
    private static (bool[] A, bool[] B) ReferenceSharedWords(Token[] a, Token[] b, int minWords, int bridge)
    {
        int n = a.Length, m = b.Length;
        var equal = new bool[n, m];
        var run = new int[n + 1, m + 1];
        for (int i = n - 1; i >= 0; i--)
        {
            for (int j = m - 1; j >= 0; j--)
            {
                equal[i, j] = a[i].Hash == b[j].Hash;
                run[i, j] = equal[i, j] ? run[i + 1, j + 1] + 1 : 0;
            }
        }

        var endA = new int[n, m];
        var endB = new int[n, m];
        for (int i = n - 1; i >= 0; i--)
        {
            for (int j = m - 1; j >= 0; j--)
            {
                (endA[i, j], endB[i, j]) = (i + 1, j + 1);
                for (int di = 0; di <= bridge; di++)
                {
                    for (int dj = 0; dj <= bridge; dj++)
                    {
                        int s = i + 1 + di, t = j + 1 + dj;
                        if (s < n && t < m && equal[s, t])
                        {
                            endA[i, j] = Math.Max(endA[i, j], endA[s, t]);
                            endB[i, j] = Math.Max(endB[i, j], endB[s, t]);
                        }
                    }
                }
            }
        }

        var startA = new int[n, m];
        var startB = new int[n, m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                (startA[i, j], startB[i, j]) = (i, j);
                for (int di = 0; di <= bridge; di++)
                {
                    for (int dj = 0; dj <= bridge; dj++)
                    {
                        int s = i - 1 - di, t = j - 1 - dj;
                        if (s >= 0 && t >= 0 && equal[s, t])
                        {
                            startA[i, j] = Math.Min(startA[i, j], startA[s, t]);
                            startB[i, j] = Math.Min(startB[i, j], startB[s, t]);
                        }
                    }
                }
            }
        }

        bool[] sharedA = new bool[n], sharedB = new bool[m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                if (run[i, j] >= minWords)
                {
                    int last = minWords - 1;
                    Array.Fill(sharedA, true, startA[i, j], endA[i + last, j + last] - startA[i, j]);
                    Array.Fill(sharedB, true, startB[i, j], endB[i + last, j + last] - startB[i, j]);
                }
            }
        }

        return (sharedA, sharedB);
    }

    /// <summary>Swapping the texts swaps the sides of every passage and changes nothing else.</summary>
    internal static void AssertMirrored(SharedPhrases forward, SharedPhrases backward)
    {
        Assert.Equal(forward.Complete, backward.Complete);
        Assert.Equal(forward.LeftShared, backward.RightShared);
        Assert.Equal(forward.RightShared, backward.LeftShared);
        Assert.Equal(forward.LeftCoverage, backward.RightCoverage);
        Assert.Equal(forward.RightCoverage, backward.LeftCoverage);
        Assert.Equal(forward.Phrases.Count, backward.Phrases.Count);
        for (int k = 0; k < forward.Phrases.Count; k++)
        {
            SharedPhrase f = forward.Phrases[k], b = backward.Phrases[k];
            Assert.Equal((f.Text, f.RightText, f.WordCount, f.RightWordCount), (b.RightText, b.Text, b.RightWordCount, b.WordCount));
            Assert.Equal(f.LeftOccurrences, b.RightOccurrences);
            Assert.Equal(f.RightOccurrences, b.LeftOccurrences);
            Assert.Equal(f.Differences.Select(d => (d.Left, d.Right, d.LeftSpan, d.RightSpan)), b.Differences.Select(d => (d.Right, d.Left, d.RightSpan, d.LeftSpan)));
        }
    }

    /// <summary>Every occurrence of a passage has the same normalised words (bridged words excepted) as every twin.</summary>
    internal static void AssertTwinsHaveTheSameWords(string left, string right, SharedPhrases result, PhraseOptions options)
    {
        foreach (SharedPhrase phrase in result.Phrases)
        {
            Assert.True(phrase.WordCount >= options.MinWords || phrase.RightWordCount >= options.MinWords);
            string Words(string text, TextSpan span, IEnumerable<TextSpan> bridged)
            {
                string slice = TestData.SliceCodePoints(text, span.Start, span.End);
                foreach (TextSpan gap in bridged.Where(g => g.Length > 0 && span.Start <= g.Start && g.End <= span.End).OrderByDescending(g => g.Start))
                {
                    int at = gap.Start - span.Start;
                    slice = TestData.SliceCodePoints(slice, 0, at) + " " + TestData.SliceCodePoints(slice, at + gap.Length, slice.EnumerateRunes().Count());
                }

                return Tokenizer.NormalizedText(slice, options.Normalization);
            }

            string first = Words(left, phrase.Left, phrase.Differences.Select(d => d.LeftSpan));
            Assert.Equal(first, Words(right, phrase.Right, phrase.Differences.Select(d => d.RightSpan)));
            Assert.All(phrase.LeftOccurrences, o => Assert.Equal(Tokenizer.NormalizedText(TestData.SliceCodePoints(left, phrase.Left.Start, phrase.Left.End), options.Normalization),
                Tokenizer.NormalizedText(TestData.SliceCodePoints(left, o.Start, o.End), options.Normalization)));
            Assert.All(phrase.RightOccurrences, o => Assert.Equal(Tokenizer.NormalizedText(TestData.SliceCodePoints(right, phrase.Right.Start, phrase.Right.End), options.Normalization),
                Tokenizer.NormalizedText(TestData.SliceCodePoints(right, o.Start, o.End), options.Normalization)));
        }
    }

    /// <summary>Which words lie inside one of the spans.</summary>
    internal static bool[] Covered(Token[] tokens, IEnumerable<TextSpan> spans)
    {
        var covered = new bool[tokens.Length];
        foreach (TextSpan span in spans)
        {
            for (int i = 0; i < tokens.Length; i++)
            {
                covered[i] |= span.Start <= tokens[i].CodePointStart && tokens[i].CodePointEnd <= span.End;
            }
        }

        return covered;
    }

    /// <summary>The span from the first word to the last of a text found at <paramref name="where"/> (punctuation around left out).</summary>
    private static TextSpan WordsOf(string text, TextSpan where)
    {
        Token[] tokens = Tokenizer.Tokenize(text, NormalizationOptions.Default, Seed);
        return new TextSpan(where.Start + tokens[0].CodePointStart, where.Start + tokens[^1].CodePointEnd);
    }

    private static List<TextSpan> Occurrences(string text, string wording)
    {
        var spans = new List<TextSpan>();
        for (int at = text.IndexOf(wording, StringComparison.Ordinal); at >= 0; at = text.IndexOf(wording, at + 1, StringComparison.Ordinal))
        {
            int start = text[..at].EnumerateRunes().Count();
            spans.Add(new TextSpan(start, start + wording.EnumerateRunes().Count()));
        }

        return spans;
    }

    /// <summary>BBC articles paired with unrelated ones, with edited copies, with articles that quote them, and the seeds.</summary>
    private static List<(string, string)> MakePairs()
    {
        var random = new Random(17);
        List<string> articles = [.. TestData.BbcCorpus().Select(d => d.Text).Where(t => t.Length < 2_500)];
        string Pick() => articles[random.Next(articles.Count)];
        var pairs = new List<(string, string)> { (TestData.Seed2014, TestData.Seed2016) };
        for (int k = 0; k < 3; k++)
        {
            pairs.Add((Pick(), Pick()));
            string article = Pick();
            pairs.Add((article, Edit(article, random)));
            string source = Pick(), quoting = Pick();
            string[] sentences = source.Split(". ");
            string quote = string.Join(". ", sentences.Skip(random.Next(Math.Max(1, sentences.Length - 3))).Take(3));
            int at = quoting.IndexOf(". ", random.Next(quoting.Length / 2), StringComparison.Ordinal) is int dot and >= 0 ? dot + 2 : quoting.Length;
            pairs.Add((source, $"{quoting[..at]}As the report put it, \"{quote}\" {quoting[at..]} {quote}"));
        }

        return pairs;
    }

    /// <summary>A copy with words changed, dropped and doubled, and two sentences swapped.</summary>
    private static string Edit(string text, Random random)
    {
        List<string> words = [.. text.Split(' ')];
        for (int k = 0; k < words.Count / 12; k++)
        {
            int at = random.Next(words.Count);
            switch (random.Next(3))
            {
                case 0: words[at] = "edited"; break;
                case 1: words.RemoveAt(at); break;
                default: words.Insert(at, words[at]); break;
            }
        }

        string[] sentences = string.Join(' ', words).Split(". ");
        if (sentences.Length > 3)
        {
            (sentences[1], sentences[^2]) = (sentences[^2], sentences[1]);
        }

        return string.Join(". ", sentences);
    }
}
