using System.Diagnostics;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// The stretches of a long document where a far shorter one's runs of MinWords words meet it, as a word array of their
/// own. Without bridging, every word of a shared passage lies in a run both documents have: searching these stretches
/// instead of the whole document finds the same passages, with the same spans (the words keep their offsets), in time
/// that grows with the shorter document and the shared wording rather than with the longer one. A book quoted by
/// thousands of articles then costs each quote its stretch, not the whole book.
/// </summary>
internal static class RunWindows
{
    // Stands between two stretches so that no run of words crosses from one into the next. A word hashes to this 64-bit
    // value once in about 2^64 words; the shorter document's words are its own, never this.
    private const ulong SeparatorHash = 0x5E9A_7A70_2B1D_C0DEUL;

    /// <summary>
    /// The words of <paramref name="longWords"/> inside the runs whose fingerprints <paramref name="shortRuns"/> (sorted)
    /// shares with <paramref name="longRuns"/> (sorted, with <paramref name="longPositions"/> where each starts), stretches
    /// apart joined by a separator, and where each stands in <paramref name="longWords"/>; null when they share no run;
    /// <paramref name="longWords"/> itself (and no places) when the stretches would hold much of it.
    /// </summary>
    public static (Token[] Words, int[]? Places)? Where(ReadOnlySpan<ulong> shortRuns, ReadOnlySpan<ulong> longRuns, ReadOnlySpan<int> longPositions, Token[] longWords, int minWords)
    {
        Debug.Assert(longRuns.Length == longPositions.Length);
        // Runs met at more than an eighth of the long document's places (wording it repeats all through) would make
        // stretches not much shorter than it: the whole document is searched then.
        List<int>? starts = SharedStarts(shortRuns, longRuns, longPositions, longWords.Length / 8);
        if (starts is null)
        {
            return (longWords, null);
        }

        if (starts.Count == 0)
        {
            return null;
        }

        starts.Sort();
        var stretches = new List<(int Start, int End)>();
        int kept = 0;
        foreach (int start in starts)
        {
            if (stretches.Count > 0 && start <= stretches[^1].End)
            {
                // Overlapping runs make one stretch, since a passage may run through them; so do touching ones, whose shared
                // words the whole document counts as one range.
                int end = Math.Max(stretches[^1].End, start + minWords);
                kept += end - stretches[^1].End;
                stretches[^1] = (stretches[^1].Start, end);
            }
            else
            {
                stretches.Add((start, start + minWords));
                kept += minWords;
            }
        }

        int length = kept + stretches.Count - 1;
        if (2L * length >= longWords.Length)
        {
            return (longWords, null);
        }

        var words = new Token[length];
        int[] places = new int[length];
        int at = 0;
        foreach ((int start, int end) in stretches)
        {
            if (at > 0)
            {
                // The separator stands where the word before it does: no passage starts on it.
                Token before = words[at - 1];
                places[at] = places[at - 1];
                words[at++] = new Token(SeparatorHash, before.End, before.End, before.CodePointEnd, before.CodePointEnd);
            }

            longWords.AsSpan(start, end - start).CopyTo(words.AsSpan(at));
            for (int k = start; k < end; k++)
            {
                places[at++] = k;
            }
        }

        Debug.Assert(at == length);
        return (words, places);
    }

    // Where in the long document each run the short one shares starts, or null when there are more than mostStarts.
    // Every distinct run of the short one is found by binary search, from where the previous
    // (smaller) one was, and the starts are gathered only once they are known to be few enough.
    private static List<int>? SharedStarts(ReadOnlySpan<ulong> shortRuns, ReadOnlySpan<ulong> longRuns, ReadOnlySpan<int> longPositions, int mostStarts)
    {
        var ranges = new List<(int From, int To)>();
        long count = 0;
        int from = 0;
        for (int i = 0; i < shortRuns.Length && from < longRuns.Length; i++)
        {
            ulong run = shortRuns[i];
            if (i > 0 && run == shortRuns[i - 1])
            {
                continue;
            }

            // Run fingerprints are below 2^61 (WordSequenceHashes): the bound above one, its value + 1, never wraps.
            int first = from + SortedSpan.LowerBound(longRuns[from..], run), end = first + SortedSpan.LowerBound(longRuns[first..], run + 1);
            if (end > first)
            {
                ranges.Add((first, end));
                count += end - first;
                if (count > mostStarts)
                {
                    return null;
                }
            }

            from = end;
        }

        var starts = new List<int>((int)count);
        foreach ((int first, int end) in ranges)
        {
            for (int k = first; k < end; k++)
            {
                starts.Add(longPositions[k]);
            }
        }

        return starts;
    }
}
