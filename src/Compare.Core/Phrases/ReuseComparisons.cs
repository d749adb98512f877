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
        128 + (2L * length) + ((long)(Unsafe.SizeOf<Token>() + sizeof(ulong) + (length >= PassageText.LongCharacters ? sizeof(int) : 0)) * length / CharactersPerWord);

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
        ReadingBlocks.ReadInOrder(corpus, pairs, from, to, documents, text => PassageText.Of(text.ToString(), options.Normalization, options.MinWords),
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

    /// <summary>What two documents share, or null (<see cref="SharedPhraseFinder.Find(PassageText, PassageText, PhraseOptions, CancellationToken)"/>).</summary>
    private static ReusePair? Compare(int left, PassageText a, int right, PassageText b, PhraseOptions options, CancellationToken cancellationToken)
    {
        Debug.Assert(left < right, "a pair is packed with its earlier document first");
        return SharedPhraseFinder.Find(a, b, options, cancellationToken) is { Phrases.Count: > 0 } shared ? new ReusePair(left, right, shared) : null;
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
}
