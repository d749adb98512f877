using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Clustering;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// The second half of a reuse search: the candidate pairs compared word by word, reading only the paired documents again
/// as <see cref="ReadingBlocks"/> plans it, within <see cref="ReuseOptions.MaxHeldBytes"/>. A held document is its text,
/// words and runs of MinWords words.
/// </summary>
internal static class ReuseComparisons
{
    // Comparisons made before their pairs are handed over: a corpus whose wording recurs shares passages in millions of
    // pairs, and holding every pair's passages until the end ran a 100,000-document corpus out of memory.
    private const int ComparisonsPerBatch = 1 << 16;

    // News averages five to six characters a word with its space; five errs towards reading again rather than holding more.
    private const int CharactersPerWord = 5;

    // A document this long keeps where each of its runs starts (4 bytes a word), so that its pairs with documents at
    // least LopsidedRatio times shorter search only the stretches where their runs meet (RunWindows).
    private const int LongCharacters = 16_384;
    private const int LopsidedRatio = 4;

    /// <summary>
    /// Compares <paramref name="pairs"/> (packed, distinct, ascending) of documents of the given lengths, handing over
    /// those sharing a passage: block by block, and within a block by their later document, then their earlier.
    /// Returns how many it handed over and how many readings of the corpus it took.
    /// </summary>
    public static (int Handed, int Readings) Run(IRereadableCorpus corpus, ulong[] pairs, int[] lengths, ReuseOptions options,
        Action<ReusePair> found, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var verified = new StrongBox<int>();
        int handed = 0;
        List<(int From, int To)> readings = ReadingBlocks.PairRanges(pairs, lengths.Length, d => HeldBytes(lengths[d]), options.MaxHeldBytes);
        foreach ((int from, int to) in readings)
        {
            handed += InReadingOrder(corpus, pairs, from, to, lengths.Length, options, found, progress, verified, cancellationToken);
        }

        progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, pairs.Length, pairs.Length));
        return (handed, readings.Count);
    }

    /// <summary>What holding a document of <paramref name="length"/> characters for its comparisons costs: its text, words and runs.</summary>
    public static long HeldBytes(int length) =>
        128 + (2L * length) + ((long)(Unsafe.SizeOf<Token>() + sizeof(ulong) + (length >= LongCharacters ? sizeof(int) : 0)) * length / CharactersPerWord);

    /// <summary>
    /// Reads the documents of <paramref name="pairs"/>[<paramref name="from"/>..<paramref name="to"/>] again, in position
    /// order, and compares each pair when its later document is read, handing over those sharing a passage in that order.
    /// Returns how many it handed over.
    /// </summary>
    private static int InReadingOrder(IRereadableCorpus corpus, ulong[] pairs, int from, int to, int documents, ReuseOptions options,
        Action<ReusePair> found, IProgress<ClusteringProgress>? progress, StrongBox<int> verified, CancellationToken cancellationToken)
    {
        var parallel = new ParallelOptions { CancellationToken = cancellationToken };
        var phraseOptions = new PhraseOptions { MinWords = options.MinWords, MaxBridgeWords = options.MaxBridgeWords, Normalization = options.Normalization };
        var batch = new ReusePair?[Math.Min(ComparisonsPerBatch, to - from)];
        int handed = 0;
        ReadingBlocks.ReadInOrder(corpus, pairs, from, to, documents, text => PreparedText.Of(text, options),
            (held, byRight, first, end) =>
            {
                for (int chunk = first; chunk < end; chunk += ComparisonsPerBatch)
                {
                    int count = Math.Min(ComparisonsPerBatch, end - chunk);
                    Parallel.For(0, count, parallel, k =>
                    {
                        (int left, int right) = Clusterer.Unpack(pairs[byRight[chunk + k]]);
                        batch[k] = Compare(left, held[left]!, right, held[right]!, phraseOptions, cancellationToken);
                        int done = Interlocked.Increment(ref verified.Value);
                        if ((done & 255) == 0)
                        {
                            progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, done, pairs.Length));
                        }
                    });
                    handed += HandOver(batch.AsSpan(0, count), found);
                }
            },
            parallel);
        return handed;
    }

    /// <summary>
    /// What two documents share, or null. Every passage holds a run of MinWords words, so a pair whose runs share no
    /// fingerprint shares no passage: most candidate pairs share only a common short phrase, and merging two sorted
    /// arrays costs far less than the search.
    /// </summary>
    private static ReusePair? Compare(int left, PreparedText a, int right, PreparedText b, PhraseOptions options, CancellationToken cancellationToken)
    {
        Debug.Assert(left < right, "a pair is packed with its earlier document first");
        // A long document is searched only in the stretches its shorter partner's runs meet; not with bridging, whose
        // passages may reach past the runs two documents share.
        (Token[] Words, int[]? Places)? wordsA = (a.Words, null), wordsB = (b.Words, null);
        if (options.MaxBridgeWords == 0 && Lopsided(a, b))
        {
            wordsA = Stretches(a, b, options);
        }
        else if (options.MaxBridgeWords == 0 && Lopsided(b, a))
        {
            wordsB = Stretches(b, a, options);
        }
        else if (!WordSequenceHashes.AnyShared(a.Runs, b.Runs))
        {
            return null;
        }

        if (wordsA is not { } inA || wordsB is not { } inB)
        {
            return null; // no run in common
        }

        // Searched in stretches, a document still counts all its words.
        SharedPhrases shared = SharedPhraseFinder.Find(a.Text, inA.Words, inA.Places, b.Text, inB.Words, inB.Places, options, cancellationToken) with
        {
            LeftWordCount = a.Words.Length,
            RightWordCount = b.Words.Length,
        };
        return shared.Phrases.Count > 0 ? new ReusePair(left, right, shared) : null;
    }

    private static bool Lopsided(PreparedText longer, PreparedText shorter) =>
        longer.RunStarts is not null && longer.Words.Length >= LopsidedRatio * (long)shorter.Words.Length;

    private static (Token[] Words, int[]? Places)? Stretches(PreparedText longer, PreparedText shorter, PhraseOptions options) =>
        RunWindows.Where(shorter.Runs, longer.Runs, longer.RunStarts!, longer.Words, options.MinWords);

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
    /// A document as its pairs compare it, made once however many pairs it is in: its words (24 bytes a word), the sorted
    /// fingerprints of its runs of MinWords words and, for a long document, where each of those runs starts.
    /// </summary>
    private sealed record PreparedText(string Text, Token[] Words, ulong[] Runs, int[]? RunStarts)
    {
        public static PreparedText Of(ReadOnlySpan<char> span, ReuseOptions options)
        {
            // The text itself is kept: passages quote it.
            string text = span.ToString();
            Token[] words = SharedPhraseFinder.Tokenize(text, options.Normalization);
            if (text.Length < LongCharacters)
            {
                return new PreparedText(text, words, WordSequenceHashes.SortedRuns(words, options.MinWords), null);
            }

            (ulong[] runs, int[] starts) = WordSequenceHashes.SortedRunsWithStarts(words, options.MinWords);
            return new PreparedText(text, words, runs, starts);
        }
    }
}
