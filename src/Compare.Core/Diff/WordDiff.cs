using Compare.Core.Hashing;
using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Core.Diff;

/// <summary>What a diff segment does.</summary>
public enum DiffOperation
{
    /// <summary>Words both texts have here.</summary>
    Equal = 1,

    /// <summary>Words only the right text has.</summary>
    Insert = 2,

    /// <summary>Words only the left text has.</summary>
    Delete = 3,
}

/// <summary>A run of words with one operation. The side a segment lacks has an empty span where it would stand.</summary>
/// <param name="Operation">Equal, insert or delete.</param>
/// <param name="Left">Code-point span in the left text.</param>
/// <param name="Right">Code-point span in the right text.</param>
/// <param name="Text">The words as written (left text for equal and delete, right text for insert).</param>
public sealed record DiffSegment(DiffOperation Operation, TextSpan Left, TextSpan Right, string Text);

/// <summary>
/// Word-level diff. Shared phrases serve as anchors (the heaviest chain that keeps both texts
/// in order), and only the gaps between anchors are aligned word by word, with a bounded LCS,
/// so the cost stays near-linear for long, very different texts.
/// </summary>
public static class WordDiff
{
    private const long MaxGapCells = 1 << 20;
    private const int MaxAnchors = 4096;
    private const ulong Seed = 0x646966666466UL;

    /// <summary>Diffs two texts word by word.</summary>
    public static IReadOnlyList<DiffSegment> Diff(string left, string right, NormalizationOptions? normalization = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        normalization ??= NormalizationOptions.Default;
        Token[] a = Tokenizer.Tokenize(left, normalization, Seed);
        Token[] b = Tokenizer.Tokenize(right, normalization, Seed);
        return Diff(left, a, right, b, cancellationToken);
    }

    /// <summary>Diffs two tokenised texts (same normalisation and seed).</summary>
    public static IReadOnlyList<DiffSegment> Diff(string left, Token[] a, string right, Token[] b, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var ops = new List<DiffOperation>(a.Length + b.Length);
        int i = 0, j = 0;
        foreach (Anchor anchor in Anchors(a, b, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            AlignGap(a, i, anchor.LeftStart, b, j, anchor.RightStart, ops);
            for (int k = anchor.LeftStart; k < anchor.LeftEnd; k++)
            {
                ops.Add(DiffOperation.Equal);
            }

            i = anchor.LeftEnd;
            j = anchor.RightEnd;
        }

        AlignGap(a, i, a.Length, b, j, b.Length, ops);
        return ToSegments(left, a, right, b, ops);
    }

    /// <summary>A run of equal words: left words [LeftStart, LeftEnd) against right words [RightStart, RightEnd).</summary>
    private readonly record struct Anchor(int LeftStart, int LeftEnd, int RightStart, int RightEnd);

    /// <summary>Exact matches of two or more words, reduced to the heaviest chain increasing in both texts.</summary>
    private static List<Anchor> Anchors(Token[] a, Token[] b, CancellationToken cancellationToken)
    {
        List<Anchor> matches = GreedyMatches(a, b, cancellationToken);
        if (matches.Count > MaxAnchors)
        {
            matches = [.. matches.OrderByDescending(m => m.LeftEnd - m.LeftStart).Take(MaxAnchors).OrderBy(m => m.LeftStart)];
        }
        int n = matches.Count;
        var weight = new long[n];
        var previous = new int[n];
        int best = -1;
        for (int k = 0; k < n; k++)
        {
            weight[k] = matches[k].LeftEnd - matches[k].LeftStart;
            previous[k] = -1;
            for (int p = 0; p < k; p++)
            {
                if (matches[p].RightEnd <= matches[k].RightStart && matches[p].LeftEnd <= matches[k].LeftStart
                    && weight[p] + (matches[k].LeftEnd - matches[k].LeftStart) > weight[k])
                {
                    weight[k] = weight[p] + (matches[k].LeftEnd - matches[k].LeftStart);
                    previous[k] = p;
                }
            }

            if (best < 0 || weight[k] > weight[best])
            {
                best = k;
            }
        }

        var chain = new List<Anchor>();
        for (int k = best; k >= 0; k = previous[k])
        {
            chain.Add(matches[k]);
        }

        chain.Reverse();
        return chain;
    }

    /// <summary>
    /// Candidate anchors, one-to-one and in left order: at each left position the longest run (of at
    /// least two words) that starts at one of the first 32 right places of its bigram, preferring a
    /// right run no earlier anchor took; a match skips its words, so the scan is linear.
    /// </summary>
    private static List<Anchor> GreedyMatches(Token[] a, Token[] b, CancellationToken cancellationToken)
    {
        const int MinWords = 2, MaxCandidates = 32;
        var matches = new List<Anchor>();
        if (a.Length < MinWords || b.Length < MinWords)
        {
            return matches;
        }

        // Chains of right positions per bigram, ascending.
        int grams = b.Length - MinWords + 1;
        var next = new int[grams];
        var head = new Dictionary<ulong, int>(grams);
        for (int j = grams - 1; j >= 0; j--)
        {
            ulong key = BigramKey(b, j);
            next[j] = head.TryGetValue(key, out int first) ? first : -1;
            head[key] = j;
        }

        var usedRight = new bool[b.Length];
        int leftFloor = 0; // words before this belong to an earlier match
        for (int i = 0, step = 0; i + MinWords <= a.Length; step++)
        {
            if ((step & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!head.TryGetValue(BigramKey(a, i), out int j))
            {
                i++;
                continue;
            }

            int bestJ = -1, bestLength = 0;
            bool bestUsed = true;
            for (int tried = 0; j >= 0 && tried < MaxCandidates; j = next[j], tried++)
            {
                int length = 0;
                while (i + length < a.Length && j + length < b.Length && a[i + length].Hash == b[j + length].Hash)
                {
                    length++;
                }

                bool used = usedRight[j];
                if (length >= MinWords && (length > bestLength || (length == bestLength && bestUsed && !used)))
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

            matches.Add(new Anchor(start, i + bestLength, rightStart, bestJ + bestLength));
            Array.Fill(usedRight, true, rightStart, bestJ + bestLength - rightStart);
            leftFloor = i + bestLength;
            i = leftFloor;
        }

        return matches;
    }

    private static ulong BigramKey(Token[] tokens, int start) => Mix.Finalize(Mix.Finalize(Seed ^ tokens[start].Hash) ^ tokens[start + 1].Hash);

    /// <summary>Aligns a[i0..i1) with b[j0..j1) by LCS when small enough, else as delete then insert.</summary>
    private static void AlignGap(Token[] a, int i0, int i1, Token[] b, int j0, int j1, List<DiffOperation> ops)
    {
        int n = i1 - i0, m = j1 - j0;
        if (n == 0 || m == 0 || (long)n * m > MaxGapCells)
        {
            for (int k = 0; k < n; k++)
            {
                ops.Add(DiffOperation.Delete);
            }

            for (int k = 0; k < m; k++)
            {
                ops.Add(DiffOperation.Insert);
            }

            return;
        }

        // lcs[x, y] = LCS length of a[i0+x..i1) and b[j0+y..j1).
        var lcs = new int[(n + 1) * (m + 1)];
        int width = m + 1;
        for (int x = n - 1; x >= 0; x--)
        {
            for (int y = m - 1; y >= 0; y--)
            {
                lcs[(x * width) + y] = a[i0 + x].Hash == b[j0 + y].Hash
                    ? lcs[((x + 1) * width) + y + 1] + 1
                    : Math.Max(lcs[((x + 1) * width) + y], lcs[(x * width) + y + 1]);
            }
        }

        int px = 0, py = 0;
        while (px < n && py < m)
        {
            if (a[i0 + px].Hash == b[j0 + py].Hash)
            {
                ops.Add(DiffOperation.Equal);
                px++;
                py++;
            }
            else if (lcs[((px + 1) * width) + py] >= lcs[(px * width) + py + 1])
            {
                ops.Add(DiffOperation.Delete);
                px++;
            }
            else
            {
                ops.Add(DiffOperation.Insert);
                py++;
            }
        }

        for (; px < n; px++)
        {
            ops.Add(DiffOperation.Delete);
        }

        for (; py < m; py++)
        {
            ops.Add(DiffOperation.Insert);
        }
    }

    private static List<DiffSegment> ToSegments(string left, Token[] a, string right, Token[] b, List<DiffOperation> ops)
    {
        var segments = new List<DiffSegment>();
        int i = 0, j = 0, k = 0;
        while (k < ops.Count)
        {
            DiffOperation op = ops[k];
            int i0 = i, j0 = j;
            while (k < ops.Count && ops[k] == op)
            {
                if (op != DiffOperation.Insert)
                {
                    i++;
                }

                if (op != DiffOperation.Delete)
                {
                    j++;
                }

                k++;
            }

            (string leftText, TextSpan leftSpan) = i0 < i ? SharedPhraseFinder.Slice(left, a, i0, i) : (string.Empty, Gap(a, i0));
            (string rightText, TextSpan rightSpan) = j0 < j ? SharedPhraseFinder.Slice(right, b, j0, j) : (string.Empty, Gap(b, j0));
            segments.Add(new DiffSegment(op, leftSpan, rightSpan, op == DiffOperation.Insert ? rightText : leftText));
        }

        return segments;
    }

    private static TextSpan Gap(Token[] tokens, int at)
    {
        int position = at < tokens.Length ? tokens[at].CodePointStart : tokens.Length > 0 ? tokens[^1].CodePointEnd : 0;
        return new TextSpan(position, position);
    }
}
