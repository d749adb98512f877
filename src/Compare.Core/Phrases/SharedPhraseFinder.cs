using System.Globalization;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>A half-open range <c>[Start, End)</c> of Unicode code points.</summary>
/// <param name="Start">First code point.</param>
/// <param name="End">Code point after the last.</param>
public readonly record struct TextSpan(int Start, int End)
{
    /// <summary>Number of code points.</summary>
    public int Length => End - Start;
}

/// <summary>Words that differ inside a bridged phrase: what the left text has there, and what the right has.</summary>
/// <param name="Left">The left text's words at the gap (may be empty).</param>
/// <param name="Right">The right text's words at the gap (may be empty).</param>
/// <param name="LeftSpan">Where <paramref name="Left"/> stands in the left text (empty span at the gap when no words).</param>
/// <param name="RightSpan">Where <paramref name="Right"/> stands in the right text.</param>
public sealed record PhraseDifference(string Left, string Right, TextSpan LeftSpan, TextSpan RightSpan);

/// <summary>Wording that both texts share.</summary>
/// <param name="Text">The phrase as the left text writes it.</param>
/// <param name="RightText">The phrase as the right text writes it (differs in case, punctuation or bridged words).</param>
/// <param name="WordCount">Words of the phrase in the left text.</param>
/// <param name="Left">Code-point span in the left text.</param>
/// <param name="Right">Code-point span in the right text.</param>
/// <param name="Differences">Bridged gaps, in order; empty for an exact phrase.</param>
public sealed record SharedPhrase(string Text, string RightText, int WordCount, TextSpan Left, TextSpan Right, IReadOnlyList<PhraseDifference> Differences);

/// <summary>Every shared phrase of two texts and how much of each they cover.</summary>
/// <param name="Phrases">Phrases in left-text order.</param>
/// <param name="LeftWordCount">Words in the left text.</param>
/// <param name="RightWordCount">Words in the right text.</param>
/// <param name="LeftCoverage">Fraction of the left text's words inside a run of at least MinWords words that the right text also has.</param>
/// <param name="RightCoverage">Fraction of the right text's words inside a run of at least MinWords words that the left text also has.</param>
public sealed record SharedPhrases(IReadOnlyList<SharedPhrase> Phrases, int LeftWordCount, int RightWordCount, double LeftCoverage, double RightCoverage);

/// <summary>Options of the shared-phrase search.</summary>
public sealed record PhraseOptions
{
    /// <summary>Shortest phrase reported, in words. Default 3.</summary>
    public int MinWords { get; init; } = 3;

    /// <summary>
    /// WCopyfind's imperfections: a phrase may continue across a gap of up to this many differing
    /// words on each side, provided the texts agree again right after it. Default 0 (exact phrases).
    /// </summary>
    public int MaxBridgeWords { get; init; }

    /// <summary>Normalisation used to decide that two words are the same.</summary>
    public NormalizationOptions Normalization { get; init; } = NormalizationOptions.Default;

    /// <summary>
    /// How many earlier occurrences of a word sequence in the right text are tried per left
    /// position. It keeps highly repetitive inputs linear; ordinary text never reaches it.
    /// </summary>
    public int MaxCandidatesPerPosition { get; init; } = 32;
}

/// <summary>
/// Finds maximal runs of normalised words that two texts share. Runs of MinWords words are
/// seeded from a hash table of the right text's word n-grams and extended in both directions,
/// so the work is linear in the texts' length (each left position tries at most
/// <see cref="PhraseOptions.MaxCandidatesPerPosition"/> seeds, and a match skips its words).
/// </summary>
public static class SharedPhraseFinder
{
    private const ulong Seed = 0x7068726173657321UL; // "phrases!"

    /// <summary>Finds the shared phrases of <paramref name="left"/> and <paramref name="right"/>.</summary>
    public static SharedPhrases Find(string left, string right, PhraseOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        options ??= new PhraseOptions();
        Validate(options);
        Token[] a = Tokenizer.Tokenize(left, options.Normalization, Seed);
        Token[] b = Tokenizer.Tokenize(right, options.Normalization, Seed);
        return Find(left, a, right, b, options, cancellationToken);
    }

    /// <summary>Finds shared phrases over tokens already made with the same normalisation and seed.</summary>
    public static SharedPhrases Find(string left, Token[] a, string right, Token[] b, PhraseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        List<WordMatch> matches = FindMatches(a, b, options, cancellationToken);
        var phrases = new List<SharedPhrase>(matches.Count);
        foreach (WordMatch match in matches)
        {
            phrases.Add(ToPhrase(left, a, right, b, match));
        }

        // The scan is greedy from the left, so a right passage repeated on the left is matched
        // once. Each side's coverage comes from its own scan: coverage then means the same thing
        // on both sides, and swapping the texts swaps the coverages.
        return new SharedPhrases(phrases, a.Length, b.Length, Coverage(matches, a.Length), Coverage(FindMatches(b, a, options, cancellationToken), b.Length));
    }

    private static double Coverage(List<WordMatch> matches, int words) =>
        words == 0 ? 0 : (double)matches.Sum(static m => m.LeftEnd - m.LeftStart) / words;

    /// <summary>A match in word positions: <c>[LeftStart, LeftEnd)</c> of the left tokens against <c>[RightStart, RightEnd)</c> of the right.</summary>
    internal readonly record struct WordMatch(int LeftStart, int LeftEnd, int RightStart, int RightEnd, IReadOnlyList<(int LeftStart, int LeftEnd, int RightStart, int RightEnd)> Gaps);

    internal static List<WordMatch> FindMatches(Token[] a, Token[] b, PhraseOptions options, CancellationToken cancellationToken = default)
    {
        int m = options.MinWords;
        var matches = new List<WordMatch>();
        if (a.Length < m || b.Length < m)
        {
            return matches;
        }

        // Chains of right positions per n-gram hash, ascending.
        int grams = b.Length - m + 1;
        var next = new int[grams];
        var head = new Dictionary<ulong, int>(grams);
        for (int j = grams - 1; j >= 0; j--)
        {
            ulong key = GramKey(b, j, m);
            next[j] = head.TryGetValue(key, out int first) ? first : -1;
            head[key] = j;
        }

        var usedRight = new bool[b.Length];
        int leftFloor = 0; // words before this belong to an earlier phrase
        for (int i = 0, step = 0; i + m <= a.Length; step++)
        {
            if ((step & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!head.TryGetValue(GramKey(a, i, m), out int j))
            {
                i++;
                continue;
            }

            int bestJ = -1, bestLength = 0;
            bool bestUsed = true;
            for (int tried = 0; j >= 0 && tried < options.MaxCandidatesPerPosition; j = next[j], tried++)
            {
                int length = ExtendRight(a, i, b, j);
                if (length < m)
                {
                    continue; // n-gram hash collision
                }

                bool used = usedRight[j];
                if (length > bestLength || (length == bestLength && bestUsed && !used))
                {
                    (bestJ, bestLength, bestUsed) = (j, length, used);
                }
            }

            if (bestJ < 0)
            {
                i++;
                continue;
            }

            int start = i, rightStart = bestJ;
            while (start > leftFloor && rightStart > 0 && a[start - 1].Hash == b[rightStart - 1].Hash)
            {
                start--;
                rightStart--;
            }

            int end = i + bestLength, rightEnd = bestJ + bestLength;
            var gaps = new List<(int, int, int, int)>();
            while (options.MaxBridgeWords > 0 && TryBridge(a, end, b, rightEnd, options.MaxBridgeWords, out int gapLeft, out int gapRight))
            {
                int tail = ExtendRight(a, end + gapLeft, b, rightEnd + gapRight);
                gaps.Add((end, end + gapLeft, rightEnd, rightEnd + gapRight));
                end += gapLeft + tail;
                rightEnd += gapRight + tail;
            }

            matches.Add(new WordMatch(start, end, rightStart, rightEnd, gaps));
            for (int k = rightStart; k < rightEnd; k++)
            {
                usedRight[k] = true;
            }

            leftFloor = end;
            i = end;
        }

        return matches;
    }

    private static int ExtendRight(Token[] a, int i, Token[] b, int j)
    {
        int length = 0;
        while (i + length < a.Length && j + length < b.Length && a[i + length].Hash == b[j + length].Hash)
        {
            length++;
        }

        return length;
    }

    /// <summary>The smallest gap (fewest words skipped in total) after which both texts agree again.</summary>
    private static bool TryBridge(Token[] a, int i, Token[] b, int j, int maxWords, out int gapLeft, out int gapRight)
    {
        for (int total = 1; total <= 2 * maxWords; total++)
        {
            for (int left = Math.Max(0, total - maxWords); left <= Math.Min(total, maxWords); left++)
            {
                int right = total - left;
                if (i + left < a.Length && j + right < b.Length && a[i + left].Hash == b[j + right].Hash)
                {
                    gapLeft = left;
                    gapRight = right;
                    return true;
                }
            }
        }

        gapLeft = gapRight = 0;
        return false;
    }

    private static ulong GramKey(Token[] tokens, int start, int length)
    {
        ulong key = Seed;
        for (int k = 0; k < length; k++)
        {
            key = Mix.Finalize(key ^ tokens[start + k].Hash);
        }

        return key;
    }

    private static SharedPhrase ToPhrase(string left, Token[] a, string right, Token[] b, WordMatch match)
    {
        Token firstA = a[match.LeftStart], lastA = a[match.LeftEnd - 1];
        Token firstB = b[match.RightStart], lastB = b[match.RightEnd - 1];
        int startA = firstA.Start, endA = lastA.End, startB = firstB.Start, endB = lastB.End;
        int cpStartA = firstA.CodePointStart, cpEndA = lastA.CodePointEnd, cpStartB = firstB.CodePointStart, cpEndB = lastB.CodePointEnd;

        // Take in brackets and quotes that both texts put around the phrase: "(SCO)" rather than "(SCO".
        while (startA > 0 && startB > 0 && left[startA - 1] == right[startB - 1] && IsOpening(left[startA - 1]))
        {
            startA--;
            startB--;
            cpStartA--;
            cpStartB--;
        }

        while (endA < left.Length && endB < right.Length && left[endA] == right[endB] && IsClosing(left[endA]))
        {
            endA++;
            endB++;
            cpEndA++;
            cpEndB++;
        }

        var differences = new List<PhraseDifference>(match.Gaps.Count);
        foreach ((int gapLeftStart, int gapLeftEnd, int gapRightStart, int gapRightEnd) in match.Gaps)
        {
            (string leftWords, TextSpan leftSpan) = Slice(left, a, gapLeftStart, gapLeftEnd);
            (string rightWords, TextSpan rightSpan) = Slice(right, b, gapRightStart, gapRightEnd);
            differences.Add(new PhraseDifference(leftWords, rightWords, leftSpan, rightSpan));
        }

        return new SharedPhrase(left[startA..endA], right[startB..endB], match.LeftEnd - match.LeftStart,
            new TextSpan(cpStartA, cpEndA), new TextSpan(cpStartB, cpEndB), differences);
    }

    /// <summary>The original text and span of words [start, end); an empty span at the gap when there are none.</summary>
    internal static (string Text, TextSpan Span) Slice(string text, Token[] tokens, int start, int end)
    {
        if (start >= end)
        {
            int at = start < tokens.Length ? tokens[start].CodePointStart : tokens[^1].CodePointEnd;
            return (string.Empty, new TextSpan(at, at));
        }

        return (text[tokens[start].Start..tokens[end - 1].End], new TextSpan(tokens[start].CodePointStart, tokens[end - 1].CodePointEnd));
    }

    private static bool IsOpening(char c) =>
        c is '"' or '\'' || char.GetUnicodeCategory(c) is UnicodeCategory.OpenPunctuation or UnicodeCategory.InitialQuotePunctuation;

    private static bool IsClosing(char c) =>
        c is '"' or '\'' or '%' || char.GetUnicodeCategory(c) is UnicodeCategory.ClosePunctuation or UnicodeCategory.FinalQuotePunctuation;

    private static void Validate(PhraseOptions options)
    {
        if (options.MinWords < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinWords, "MinWords must be at least 1.");
        }

        if (options.MaxBridgeWords < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBridgeWords, "MaxBridgeWords must not be negative.");
        }

        if (options.MaxCandidatesPerPosition < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxCandidatesPerPosition, "MaxCandidatesPerPosition must be at least 1.");
        }
    }
}
