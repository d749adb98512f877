using System.Globalization;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// The maximal matches of one wording: the same words on the left (and the same on the right) at
/// every place the wording stands as a match. Everything here treats the two sides alike.
/// </summary>
internal sealed class PassageGroup
{
    private const int MaxQuoteCharacters = 3;

    private readonly PassageSearch _search;
    private readonly SortedSet<int> _startsA = [], _startsB = [];

    private PassageGroup(PassageSearch search, int lengthA, int lengthB, ulong fingerprintA, ulong fingerprintB)
    {
        _search = search;
        LengthA = lengthA;
        LengthB = lengthB;
        FingerprintA = fingerprintA;
        FingerprintB = fingerprintB;
    }

    public int LengthA { get; }

    public int LengthB { get; }

    public ulong FingerprintA { get; }

    public ulong FingerprintB { get; }

    /// <summary>The search's matches grouped by wording, in the order <see cref="SharedPhraseFinder"/> documents.</summary>
    public static List<PassageGroup> Collect(PassageSearch search, CancellationToken cancellationToken)
    {
        var byWording = new Dictionary<(ulong, int, ulong, int), List<PassageGroup>>();
        var groups = new List<PassageGroup>();
        for (int k = 0; k < search.Extents.Count; k++)
        {
            if ((k & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            (int startA, int endA, int startB, int endB) = search.Extents[k];
            var key = (search.HashesA.Of(startA, endA - startA), endA - startA, search.HashesB.Of(startB, endB - startB), endB - startB);
            if (!byWording.TryGetValue(key, out List<PassageGroup>? candidates))
            {
                byWording[key] = candidates = [];
            }

            // Equal fingerprints are checked word by word: a collision makes a group of its own.
            PassageGroup? group = candidates.Find(g => g.SameWords(startA, startB));
            if (group is null)
            {
                group = new PassageGroup(search, key.Item2, key.Item4, key.Item1, key.Item3);
                candidates.Add(group);
                groups.Add(group);
            }

            group._startsA.Add(startA);
            group._startsB.Add(startB);
        }

        groups.Sort(Order);
        return groups;
    }

    /// <summary>Longest first (either side), then position and fingerprint of the pair, each side-blind.</summary>
    private static int Order(PassageGroup x, PassageGroup y)
    {
        int c = Math.Max(y.LengthA, y.LengthB).CompareTo(Math.Max(x.LengthA, x.LengthB));
        if (c == 0) c = Math.Min(y.LengthA, y.LengthB).CompareTo(Math.Min(x.LengthA, x.LengthB));
        if (c == 0) c = Unordered(x.FirstPlaceA, x.FirstPlaceB).CompareTo(Unordered(y.FirstPlaceA, y.FirstPlaceB));
        if (c == 0) c = Unordered(x.FingerprintA, x.FingerprintB).CompareTo(Unordered(y.FingerprintA, y.FingerprintB));
        if (c == 0) c = (x.FirstPlaceA, x.FirstPlaceB).CompareTo((y.FirstPlaceA, y.FirstPlaceB));
        return c;
    }

    // Where the first occurrence on each side stands in its whole text (the search may be of stretches of it).
    private int FirstPlaceA => _search.PlaceA(_startsA.Min);

    private int FirstPlaceB => _search.PlaceB(_startsB.Min);

    private static (T, T) Unordered<T>(T first, T second) where T : IComparable<T> =>
        first.CompareTo(second) <= 0 ? (first, second) : (second, first);

    private bool SameWords(int startA, int startB) =>
        Same(_search.A, _startsA.Min, startA, LengthA) && Same(_search.B, _startsB.Min, startB, LengthB);

    private static bool Same(Token[] tokens, int x, int y, int length)
    {
        for (int k = 0; k < length; k++)
        {
            if (tokens[x + k].Hash != tokens[y + k].Hash)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when some occurrence, on either side, has a word the marks do not cover.</summary>
    public bool AnyWordOutside(bool[] a, bool[] b) =>
        _startsA.Any(start => Array.IndexOf(a, false, start, LengthA) >= 0) || _startsB.Any(start => Array.IndexOf(b, false, start, LengthB) >= 0);

    /// <summary>Marks the words of every occurrence.</summary>
    public void Mark(bool[] a, bool[] b)
    {
        foreach (int start in _startsA)
        {
            Array.Fill(a, true, start, LengthA);
        }

        foreach (int start in _startsB)
        {
            Array.Fill(b, true, start, LengthB);
        }
    }

    public SharedPhrase ToPhrase(string left, string right)
    {
        Token[] a = _search.A, b = _search.B;

        // Brackets and quotes that every occurrence, on both sides, has around the words: "(SCO)" rather than "(SCO".
        string opening = CommonAround(left, a, _startsA, LengthA, right, b, _startsB, LengthB, before: true);
        string closing = CommonAround(left, a, _startsA, LengthA, right, b, _startsB, LengthB, before: false);
        List<(TextSpan Span, int Start, int End)> leftSpans = Occurrences(a, _startsA, LengthA, opening.Length, closing.Length);
        List<(TextSpan Span, int Start, int End)> rightSpans = Occurrences(b, _startsB, LengthB, opening.Length, closing.Length);
        IReadOnlyList<PhraseDifference> differences = LengthA == LengthB && FingerprintA == FingerprintB
            ? []
            : BridgedDifferences(left, right, _startsA.Min, _startsB.Min);
        return new SharedPhrase(left[leftSpans[0].Start..leftSpans[0].End], right[rightSpans[0].Start..rightSpans[0].End], LengthA, LengthB,
            leftSpans.ConvertAll(o => o.Span), rightSpans.ConvertAll(o => o.Span), differences);
    }

    private static List<(TextSpan Span, int Start, int End)> Occurrences(Token[] tokens, SortedSet<int> starts, int length, int opening, int closing)
    {
        var spans = new List<(TextSpan, int, int)>(starts.Count);
        foreach (int start in starts)
        {
            // Quotes and brackets are single UTF-16 units (IsOpening/IsClosing), so units and code points move together.
            Token first = tokens[start], last = tokens[start + length - 1];
            spans.Add((new TextSpan(first.CodePointStart - opening, last.CodePointEnd + closing), first.Start - opening, last.End + closing));
        }

        return spans;
    }

    private static string CommonAround(string left, Token[] a, SortedSet<int> startsA, int lengthA, string right, Token[] b, SortedSet<int> startsB, int lengthB, bool before)
    {
        string? common = null;
        foreach ((string text, Token[] tokens, SortedSet<int> starts, int length) in new[] { (left, a, startsA, lengthA), (right, b, startsB, lengthB) })
        {
            foreach (int start in starts)
            {
                string around = before ? Before(text, tokens[start].Start) : After(text, tokens[start + length - 1].End);
                common = common is null ? around : before ? CommonSuffix(common, around) : CommonPrefix(common, around);
                if (common.Length == 0)
                {
                    return common;
                }
            }
        }

        return common ?? string.Empty;

        static string Before(string text, int at)
        {
            int k = at;
            while (k > 0 && at - k < MaxQuoteCharacters && IsOpening(text[k - 1]))
            {
                k--;
            }

            return text[k..at];
        }

        static string After(string text, int at)
        {
            int k = at;
            while (k < text.Length && k - at < MaxQuoteCharacters && IsClosing(text[k]))
            {
                k++;
            }

            return text[at..k];
        }
    }

    private static string CommonSuffix(string x, string y)
    {
        int n = 0;
        while (n < x.Length && n < y.Length && x[^(n + 1)] == y[^(n + 1)])
        {
            n++;
        }

        return x[(x.Length - n)..];
    }

    private static string CommonPrefix(string x, string y)
    {
        int n = 0;
        while (n < x.Length && n < y.Length && x[n] == y[n])
        {
            n++;
        }

        return x[..n];
    }

    /// <summary>
    /// Aligns the first occurrences word by word: equal words advance both sides; at a difference the
    /// smallest gap after which the texts agree again is taken, ties broken by what the gap holds on
    /// each side without regard to which side it is, so the alignment mirrors when the texts swap.
    /// </summary>
    private List<PhraseDifference> BridgedDifferences(string left, string right, int startA, int startB)
    {
        Token[] a = _search.A, b = _search.B;
        int endA = startA + LengthA, endB = startB + LengthB;
        var differences = new List<PhraseDifference>();
        int i = startA, j = startB;
        while (i < endA && j < endB)
        {
            if (a[i].Hash == b[j].Hash)
            {
                i++;
                j++;
                continue;
            }

            (int gapA, int gapB) = SmallestGap(i, endA, j, endB);
            if (gapA < 0)
            {
                break;
            }

            differences.Add(Difference(left, right, i, i + gapA, j, j + gapB));
            i += gapA;
            j += gapB;
        }

        if (i < endA || j < endB)
        {
            differences.Add(Difference(left, right, i, endA, j, endB));
        }

        return differences;
    }

    private (int GapA, int GapB) SmallestGap(int i, int endA, int j, int endB)
    {
        Token[] a = _search.A, b = _search.B;
        (int GapA, int GapB) best = (-1, -1);
        (int, int, ulong, (ulong, ulong)) bestKey = default;
        for (int gapA = 0; gapA <= _search.Bridge && i + gapA < endA; gapA++)
        {
            for (int gapB = 0; gapB <= _search.Bridge && j + gapB < endB; gapB++)
            {
                if ((gapA == 0 && gapB == 0) || a[i + gapA].Hash != b[j + gapB].Hash)
                {
                    continue;
                }

                var key = (gapA + gapB, Math.Abs(gapA - gapB), a[i + gapA].Hash, Unordered(_search.HashesA.Of(i, gapA), _search.HashesB.Of(j, gapB)));
                if (best.GapA < 0 || key.CompareTo(bestKey) < 0)
                {
                    (best, bestKey) = ((gapA, gapB), key);
                }

                break; // a longer gap in B for the same gap in A is never smaller
            }
        }

        return best;
    }

    private PhraseDifference Difference(string left, string right, int i0, int i1, int j0, int j1)
    {
        (string leftWords, TextSpan leftSpan) = SharedPhraseFinder.Slice(left, _search.A, i0, i1);
        (string rightWords, TextSpan rightSpan) = SharedPhraseFinder.Slice(right, _search.B, j0, j1);
        return new PhraseDifference(leftWords, rightWords, leftSpan, rightSpan);
    }

    private static bool IsOpening(char c) =>
        c is '"' or '\'' || char.GetUnicodeCategory(c) is UnicodeCategory.OpenPunctuation or UnicodeCategory.InitialQuotePunctuation;

    private static bool IsClosing(char c) =>
        c is '"' or '\'' or '%' || char.GetUnicodeCategory(c) is UnicodeCategory.ClosePunctuation or UnicodeCategory.FinalQuotePunctuation;
}
