using Compare.Core.Phrases;
using Compare.Core.Similarity;
using Compare.Core.Text;

namespace Compare.Core.Diff;

/// <summary>A sentence of the left text and its most similar sentence in the right text.</summary>
/// <param name="Left">Span of the left sentence.</param>
/// <param name="Right">Span of the right sentence.</param>
/// <param name="LeftText">The left sentence.</param>
/// <param name="RightText">The right sentence.</param>
/// <param name="Ratio">FuzzySharp token-set ratio, 0–100.</param>
public sealed record SentencePair(TextSpan Left, TextSpan Right, string LeftText, string RightText, int Ratio);

/// <summary>
/// Pairs reworded sentences: each left sentence with the right sentence of highest FuzzySharp
/// token-set ratio, when that ratio reaches a threshold. Only right sentences that share a word
/// are scored, and the work is bounded for repetitive texts: repeated sentences are scored once,
/// words found in more than <see cref="MaxSentencesPerWord"/> distinct right sentences do not
/// propose candidates (a sentence made only of such words is paired only with an identical one),
/// and at most <see cref="MaxCandidates"/> candidates, those sharing the most words, are scored.
/// </summary>
public static class SimilarSentences
{
    /// <summary>Distinct right sentences a word may appear in and still propose candidates.</summary>
    public const int MaxSentencesPerWord = 64;

    /// <summary>Candidates scored per distinct left sentence.</summary>
    public const int MaxCandidates = 16;

    private const ulong Seed = 0x73656e74656e6365UL;

    /// <summary>Finds similar sentence pairs with a token-set ratio of at least <paramref name="minRatio"/> (0–100).</summary>
    public static IReadOnlyList<SentencePair> Find(string left, string right, int minRatio = 80, NormalizationOptions? normalization = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        ArgumentOutOfRangeException.ThrowIfNegative(minRatio);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minRatio, 100);
        normalization ??= NormalizationOptions.Default;
        List<Sentence> lefts = Split(left, normalization);
        List<Sentence> rights = Split(right, normalization);

        // Distinct right sentences (the first of each text), and the distinct sentences each word is in.
        var firstRightWithText = new Dictionary<string, int>(StringComparer.Ordinal);
        var sentencesWithWord = new Dictionary<ulong, List<int>>();
        for (int r = 0; r < rights.Count; r++)
        {
            if (!firstRightWithText.TryAdd(rights[r].Text, r))
            {
                continue;
            }

            foreach (ulong word in rights[r].Words)
            {
                if (!sentencesWithWord.TryGetValue(word, out List<int>? list))
                {
                    sentencesWithWord[word] = list = [];
                }

                list.Add(r);
            }
        }

        var pairs = new List<SentencePair>();
        var bestForText = new Dictionary<string, (int Right, int Ratio)>(StringComparer.Ordinal);
        var shared = new Dictionary<int, int>();
        foreach (Sentence sentence in lefts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!bestForText.TryGetValue(sentence.Text, out (int Right, int Ratio) best))
            {
                best = firstRightWithText.TryGetValue(sentence.Text, out int identical) ? (identical, 100) : BestCandidate(sentence, rights, sentencesWithWord, shared);
                bestForText[sentence.Text] = best;
            }

            if (best.Right >= 0 && best.Ratio >= minRatio)
            {
                pairs.Add(new SentencePair(sentence.Span, rights[best.Right].Span, sentence.Text, rights[best.Right].Text, best.Ratio));
            }
        }

        return pairs;
    }

    private static (int Right, int Ratio) BestCandidate(Sentence sentence, List<Sentence> rights, Dictionary<ulong, List<int>> sentencesWithWord, Dictionary<int, int> shared)
    {
        shared.Clear();
        foreach (ulong word in sentence.Words)
        {
            if (sentencesWithWord.TryGetValue(word, out List<int>? list) && list.Count <= MaxSentencesPerWord)
            {
                foreach (int r in list)
                {
                    shared[r] = shared.GetValueOrDefault(r) + 1;
                }
            }
        }

        int bestRatio = -1, best = -1;
        foreach ((int r, int _) in shared.OrderByDescending(c => c.Value).ThenBy(c => c.Key).Take(MaxCandidates))
        {
            int ratio = IndelRatios.TokenSetRatio(sentence.Tokens, rights[r].Tokens);
            if (ratio > bestRatio || (ratio == bestRatio && r < best))
            {
                (bestRatio, best) = (ratio, r);
            }
        }

        return (best, bestRatio);
    }

    /// <summary>A sentence: its text, where it stands, its normalised words (to find candidates) and its token set (to score them).</summary>
    private sealed record Sentence(string Text, TextSpan Span, HashSet<ulong> Words)
    {
        private string[]? _tokens;

        // Made at the first scoring and kept: a right sentence is scored against many left ones.
        public string[] Tokens => _tokens ??= IndelRatios.TokenSet(Text);
    }

    /// <summary>Splits at ., ! or ? followed by white space, and at line breaks; trims white space.</summary>
    private static List<Sentence> Split(string text, NormalizationOptions normalization)
    {
        var sentences = new List<Sentence>();
        int start = 0, codePoint = 0, startCodePoint = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            bool end = i == text.Length || text[i] == '\n'
                || (text[i] is '.' or '!' or '?' && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1])));
            if (end)
            {
                int stop = i < text.Length && text[i] != '\n' ? i + 1 : i;
                Add(text, start, stop, startCodePoint, codePoint + (stop - i), normalization, sentences);
                start = stop;
                startCodePoint = codePoint + (stop - i);
            }

            if (i < text.Length && !char.IsLowSurrogate(text[i]))
            {
                codePoint++;
            }
        }

        return sentences;
    }

    private static void Add(string text, int start, int end, int startCodePoint, int endCodePoint, NormalizationOptions normalization, List<Sentence> sentences)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
            startCodePoint++;
        }

        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
            endCodePoint--;
        }

        if (end <= start)
        {
            return;
        }

        string sentence = text[start..end];
        var words = Tokenizer.Tokenize(sentence, normalization, Seed).Select(t => t.Hash).ToHashSet();
        if (words.Count > 0)
        {
            sentences.Add(new Sentence(sentence, new TextSpan(startCodePoint, endCodePoint), words));
        }
    }
}
