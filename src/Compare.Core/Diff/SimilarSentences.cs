using Compare.Core.Phrases;
using Compare.Core.Text;
using FuzzySharp;

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
/// token-set ratio, when that ratio reaches a threshold. Only sentences sharing at least two
/// words are scored, so the cost follows the overlap rather than the product of the sentence counts.
/// </summary>
public static class SimilarSentences
{
    private const ulong Seed = 0x73656e74656e6365UL;

    /// <summary>Finds similar sentence pairs with a token-set ratio of at least <paramref name="minRatio"/> (0–100).</summary>
    public static IReadOnlyList<SentencePair> Find(string left, string right, int minRatio = 80, NormalizationOptions? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        ArgumentOutOfRangeException.ThrowIfNegative(minRatio);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minRatio, 100);
        normalization ??= NormalizationOptions.Default;
        List<Sentence> lefts = Split(left, normalization);
        List<Sentence> rights = Split(right, normalization);

        var sentencesWithWord = new Dictionary<ulong, List<int>>();
        for (int r = 0; r < rights.Count; r++)
        {
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
        var shared = new Dictionary<int, int>();
        foreach (Sentence sentence in lefts)
        {
            shared.Clear();
            foreach (ulong word in sentence.Words)
            {
                if (sentencesWithWord.TryGetValue(word, out List<int>? list))
                {
                    foreach (int r in list)
                    {
                        shared[r] = shared.GetValueOrDefault(r) + 1;
                    }
                }
            }

            int bestRatio = -1, best = -1;
            foreach ((int r, int count) in shared)
            {
                if (count < Math.Min(2, Math.Min(sentence.Words.Count, rights[r].Words.Count)))
                {
                    continue;
                }

                int ratio = Fuzz.TokenSetRatio(sentence.Text, rights[r].Text);
                if (ratio > bestRatio || (ratio == bestRatio && r < best))
                {
                    (bestRatio, best) = (ratio, r);
                }
            }

            if (best >= 0 && bestRatio >= minRatio)
            {
                pairs.Add(new SentencePair(sentence.Span, rights[best].Span, sentence.Text, rights[best].Text, bestRatio));
            }
        }

        return pairs;
    }

    private sealed record Sentence(string Text, TextSpan Span, HashSet<ulong> Words);

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
