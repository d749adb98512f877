using System.Diagnostics;

namespace Compare.Core.Clustering;

/// <summary>
/// How a second pass over a corpus reads the documents of candidate pairs within a memory budget. The pass reads them in
/// position order, compares a pair when its later document is read, and holds a document (its shingle set, its words)
/// until its last partner has been read: copies lying near their originals hold few at a time. Pairs lying far apart
/// (a corpus in random order, a quote of a years-old article) would hold most of them: then the documents that are the
/// earlier of some pair are split into consecutive blocks, each within the budget, and the pass reads once a block,
/// comparing the pairs whose earlier document is in it. Batch dedup and corpus-wide reuse both read this way.
/// </summary>
internal static class ReadingBlocks
{
    /// <summary>
    /// The ranges of <paramref name="pairs"/> (packed, distinct, ascending) to compare in one reading each: the pairs
    /// whose earlier document is in one block of <see cref="Ends"/>. A single range when everything fits.
    /// </summary>
    public static List<(int From, int To)> PairRanges(ulong[] pairs, int documents, Func<int, long> heldBytes, long budget)
    {
        var ranges = new List<(int From, int To)>();
        int from = 0;
        foreach (int end in Ends(pairs, documents, heldBytes, budget))
        {
            int to = from;
            while (to < pairs.Length && Clusterer.Unpack(pairs[to]).Left < end)
            {
                to++;
            }

            if (to > from)
            {
                ranges.Add((from, to));
            }

            from = to;
        }

        Debug.Assert(from == pairs.Length, "every pair's earlier document is in a block");
        return ranges;
    }

    /// <summary>
    /// Reads the documents of <paramref name="pairs"/>[<paramref name="from"/>..<paramref name="to"/>] (one range of
    /// <see cref="PairRanges"/>) in position order, each made into what its comparisons need by <paramref name="prepare"/>
    /// on the pool. After each batch read, <paramref name="compare"/> gets the pairs whose later document was in it
    /// (<c>pairs[byRight[k]]</c> for k in [first, end)), both documents of each held; a document is dropped once its
    /// last partner has been compared.
    /// </summary>
    public static void ReadInOrder<T>(IRereadableCorpus corpus, ulong[] pairs, int from, int to, int documents, TextWork<T> prepare,
        Action<T?[], int[], int, int> compare, ParallelOptions parallel)
        where T : class
    {
        (int[] firstByRight, int[] byRight, int[] lastPartner) = PairsByRight(pairs, from, to, documents);
        int[] needed = [.. Enumerable.Range(0, documents).Where(d => lastPartner[d] >= 0)];
        var held = new T?[documents];
        corpus.ForEachTextAt(needed, prepare,
            (start, batch) =>
            {
                if (batch.Length == 0)
                {
                    return;
                }

                for (int k = 0; k < batch.Length; k++)
                {
                    held[needed[start + k]] = batch[k];
                }

                // A pair is compared when its later document is read, the earlier one having been read before it.
                int first = firstByRight[needed[start]], end = firstByRight[needed[start + batch.Length - 1] + 1];
                compare(held, byRight, first, end);
                for (int k = first; k < end; k++)
                {
                    (int left, int right) = Clusterer.Unpack(pairs[byRight[k]]);
                    Release(left, right);
                }

                for (int k = 0; k < batch.Length; k++)
                {
                    Release(needed[start + k], needed[start + k]);
                }
            },
            parallel);

        void Release(int document, int read)
        {
            if (lastPartner[document] == read)
            {
                held[document] = null;
            }
        }
    }

    /// <summary>
    /// Where each block of earlier documents of <paramref name="pairs"/> (packed, distinct, ascending) ends (exclusive;
    /// the last is <paramref name="documents"/>), a document holding <paramref name="heldBytes"/> from its reading to
    /// its last partner's. A sweep in reading order adds each earlier document to what is held and takes it away at its last partner; a document that would take the
    /// sum past <paramref name="budget"/> starts a new block. What a block holds at any moment is part of what it held
    /// when its last document was added, so no moment of its reading holds more than the budget (one document larger
    /// than the budget makes a block alone).
    /// </summary>
    public static List<int> Ends(ulong[] pairs, int documents, Func<int, long> heldBytes, long budget)
    {
        var lastPartner = new int[documents];
        Array.Fill(lastPartner, -1);
        foreach (ulong pair in pairs)
        {
            (int left, int right) = Clusterer.Unpack(pair);
            lastPartner[left] = right; // ascending: the last pair of a document names its last partner
        }

        // leaving[p]: bytes of the current block's documents whose last partner is p (a stale entry is of an earlier block).
        // A document is held while its last partner is compared: it leaves after that partner's own bytes are counted.
        var leaving = new long[documents];
        var leavingBlock = new int[documents];
        var ends = new List<int>();
        long held = 0;
        for (int t = 0; t < documents; t++)
        {
            if (lastPartner[t] >= 0)
            {
                long bytes = heldBytes(t);
                if (held > 0 && held + bytes > budget)
                {
                    ends.Add(t);
                    held = 0;
                }

                held += bytes;
                int leaves = lastPartner[t];
                if (leavingBlock[leaves] != ends.Count + 1)
                {
                    leavingBlock[leaves] = ends.Count + 1;
                    leaving[leaves] = 0;
                }

                leaving[leaves] += bytes;
            }

            if (leavingBlock[t] == ends.Count + 1)
            {
                held -= leaving[t];
            }
        }

        ends.Add(documents);
        return ends;
    }

    /// <summary>
    /// The indices of <paramref name="pairs"/>[<paramref name="from"/>..<paramref name="to"/>] grouped by their later
    /// document (those of document d are <c>byRight[firstByRight[d]..firstByRight[d + 1]]</c>), and each document's last
    /// partner among them (itself when it has none after it, -1 when it is in none of them).
    /// </summary>
    private static (int[] FirstByRight, int[] ByRight, int[] LastPartner) PairsByRight(ulong[] pairs, int from, int to, int count)
    {
        var firstByRight = new int[count + 1];
        var lastPartner = new int[count];
        Array.Fill(lastPartner, -1);
        for (int p = from; p < to; p++)
        {
            (int left, int right) = Clusterer.Unpack(pairs[p]);
            firstByRight[right + 1]++;
            lastPartner[left] = Math.Max(lastPartner[left], right);
            lastPartner[right] = Math.Max(lastPartner[right], right);
        }

        for (int d = 0; d < count; d++)
        {
            firstByRight[d + 1] += firstByRight[d];
        }

        var byRight = new int[to - from];
        int[] next = firstByRight[..count];
        for (int p = from; p < to; p++)
        {
            byRight[next[(int)(uint)pairs[p]]++] = p;
        }

        return (firstByRight, byRight, lastPartner);
    }
}
