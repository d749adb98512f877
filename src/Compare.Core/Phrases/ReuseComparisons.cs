using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Clustering;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// The second half of a reuse search: the candidate pairs compared word by word, reading only the paired documents again,
/// in position order. A pair is compared when its later document is read, and a document is held (its text, words and
/// runs) only until the last document paired with it has been read, so a corpus whose reuse lies near (copies of a story
/// published the same week) holds few at a time. Where pairs lie far apart (a quote of a years-old article, a corpus in
/// random order) more would be held at once than <see cref="ReuseOptions.MaxHeldBytes"/> allows: then the documents that
/// are the earlier of some pair are split into consecutive blocks, each within the budget, and the paired documents are
/// read once for each block.
/// </summary>
internal static class ReuseComparisons
{
    // Comparisons made before their pairs are handed over: a corpus whose wording recurs shares passages in millions of
    // pairs, and holding every pair's passages until the end ran a 100,000-document corpus out of memory.
    private const int ComparisonsPerBatch = 1 << 16;

    // News averages five to six characters a word with its space; five errs towards reading again rather than holding more.
    private const int CharactersPerWord = 5;

    /// <summary>
    /// Compares <paramref name="pairs"/> (packed, distinct, ascending) of documents of the given lengths, handing over
    /// those sharing a passage: block by block, and within a block by their later document, then their earlier.
    /// Returns how many it handed over and how many readings of the corpus it took.
    /// </summary>
    public static (int Handed, int Readings) Run(IRereadableCorpus corpus, ulong[] pairs, int[] lengths, ReuseOptions options,
        Action<ReusePair> found, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var verified = new StrongBox<int>();
        int handed = 0, readings = 0, from = 0;
        foreach (int nextBlock in BlockEnds(pairs, lengths, options.MaxHeldBytes))
        {
            int to = from;
            while (to < pairs.Length && Clusterer.Unpack(pairs[to]).Left < nextBlock)
            {
                to++;
            }

            if (to > from)
            {
                handed += InReadingOrder(corpus, pairs, from, to, lengths.Length, options, found, progress, verified, cancellationToken);
                readings++;
            }

            from = to;
        }

        Debug.Assert(from == pairs.Length, "every pair's earlier document is in a block");
        progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, pairs.Length, pairs.Length));
        return (handed, readings);
    }

    /// <summary>What holding a document of <paramref name="length"/> characters for its comparisons costs: its text, words and runs.</summary>
    public static long HeldBytes(int length) =>
        128 + (2L * length) + ((long)(Unsafe.SizeOf<Token>() + sizeof(ulong)) * length / CharactersPerWord);

    /// <summary>
    /// Where each block of earlier documents ends (exclusive; the last is the document count). A sweep in reading order
    /// adds each earlier document to what is held and takes it away at its last partner; a document that would take the
    /// sum past <paramref name="budget"/> starts a new block. What a block holds at any moment is part of what it held
    /// when its last document was added, so no moment of its reading holds more than the budget (one document larger
    /// than the budget makes a block alone).
    /// </summary>
    internal static List<int> BlockEnds(ulong[] pairs, int[] lengths, long budget)
    {
        int documents = lengths.Length;
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
                long bytes = HeldBytes(lengths[t]);
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
    /// Reads the documents of <paramref name="pairs"/>[<paramref name="from"/>..<paramref name="to"/>] again, in position
    /// order, and compares each pair when its later document is read, handing over those sharing a passage in that order.
    /// Returns how many it handed over.
    /// </summary>
    private static int InReadingOrder(IRereadableCorpus corpus, ulong[] pairs, int from, int to, int documents, ReuseOptions options,
        Action<ReusePair> found, IProgress<ClusteringProgress>? progress, StrongBox<int> verified, CancellationToken cancellationToken)
    {
        (int[] firstByRight, int[] byRight, int[] lastPartner) = Clusterer.PairsByRight(pairs.AsSpan(from, to - from), documents);
        int[] needed = [.. Enumerable.Range(0, documents).Where(d => lastPartner[d] >= 0)];
        var held = new PreparedText?[documents];
        var parallel = new ParallelOptions { CancellationToken = cancellationToken };
        var phraseOptions = new PhraseOptions { MinWords = options.MinWords, MaxBridgeWords = options.MaxBridgeWords, Normalization = options.Normalization };
        var batch = new ReusePair?[Math.Min(ComparisonsPerBatch, to - from)];
        int handed = 0;
        corpus.ForEachTextAt(needed, text => PreparedText.Of(text, options),
            (start, texts) =>
            {
                if (texts.Length == 0)
                {
                    return;
                }

                for (int k = 0; k < texts.Length; k++)
                {
                    held[needed[start + k]] = texts[k];
                }

                int first = firstByRight[needed[start]], end = firstByRight[needed[start + texts.Length - 1] + 1];
                for (int chunk = first; chunk < end; chunk += ComparisonsPerBatch)
                {
                    int count = Math.Min(ComparisonsPerBatch, end - chunk);
                    Parallel.For(0, count, parallel, k =>
                    {
                        (int left, int right) = Clusterer.Unpack(pairs[from + byRight[chunk + k]]);
                        batch[k] = Compare(left, held[left]!, right, held[right]!, phraseOptions, cancellationToken);
                        int done = Interlocked.Increment(ref verified.Value);
                        if ((done & 255) == 0)
                        {
                            progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, done, pairs.Length));
                        }
                    });
                    handed += HandOver(batch.AsSpan(0, count), found);
                }

                for (int k = first; k < end; k++)
                {
                    (int left, int right) = Clusterer.Unpack(pairs[from + byRight[k]]);
                    Release(left, right);
                }

                for (int k = 0; k < texts.Length; k++)
                {
                    Release(needed[start + k], needed[start + k]);
                }
            },
            parallel);
        return handed;

        void Release(int document, int read)
        {
            if (lastPartner[document] == read)
            {
                held[document] = null;
            }
        }
    }

    /// <summary>
    /// What two documents share, or null. Every passage holds a run of MinWords words, so a pair whose runs share no
    /// fingerprint shares no passage: most candidate pairs share only a common short phrase, and merging two sorted
    /// arrays costs far less than the search.
    /// </summary>
    private static ReusePair? Compare(int left, PreparedText a, int right, PreparedText b, PhraseOptions options, CancellationToken cancellationToken)
    {
        Debug.Assert(left < right, "a pair is packed with its earlier document first");
        if (!WordSequenceHashes.AnyShared(a.Runs, b.Runs))
        {
            return null;
        }

        SharedPhrases shared = SharedPhraseFinder.Find(a.Text, a.Words, b.Text, b.Words, options, cancellationToken);
        return shared.Phrases.Count > 0 ? new ReusePair(left, right, shared) : null;
    }

    private static int HandOver(Span<ReusePair?> batch, Action<ReusePair> found)
    {
        int handed = 0;
        foreach (ReusePair? pair in batch)
        {
            if (pair is not null)
            {
                found(pair);
                handed++;
            }
        }

        batch.Clear();
        return handed;
    }

    /// <summary>
    /// A document as its pairs compare it, made once however many pairs it is in: its words (24 bytes a word) and the
    /// sorted fingerprints of its runs of MinWords words.
    /// </summary>
    private sealed record PreparedText(string Text, Token[] Words, ulong[] Runs)
    {
        public static PreparedText Of(ReadOnlySpan<char> span, ReuseOptions options)
        {
            // The text itself is kept: passages quote it.
            string text = span.ToString();
            Token[] words = SharedPhraseFinder.Tokenize(text, options.Normalization);
            return new PreparedText(text, words, WordSequenceHashes.SortedRuns(words, options.MinWords));
        }
    }
}
