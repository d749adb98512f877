using System.Runtime.InteropServices;
using Compare.Core.Clustering;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>Options of a corpus-wide text-reuse search.</summary>
public sealed record ReuseOptions
{
    /// <summary>Shortest passage reported, in words (at least 2). Default <see cref="PassageFingerprints.GuaranteedWords"/>, the length every pair is found from.</summary>
    public int MinWords { get; init; } = PassageFingerprints.GuaranteedWords;

    /// <summary>Differing words a passage may bridge on each side, as <see cref="PhraseOptions.MaxBridgeWords"/>.</summary>
    public int MaxBridgeWords { get; init; }

    /// <summary>A fingerprint held by more documents than this is boilerplate (a footer, a agency credit) and pairs no one.</summary>
    public int MaxDocumentsPerFingerprint { get; init; } = 100;

    /// <summary>How words are normalised before they are compared.</summary>
    public NormalizationOptions Normalization { get; init; } = NormalizationOptions.Default;
}

/// <summary>Two documents of a corpus that share passages: their positions (Left &lt; Right) and what they share.</summary>
public sealed record ReusePair(int Left, int Right, SharedPhrases Shared);

/// <summary>What a reuse search found, with the boilerplate fingerprints it did not follow.</summary>
public sealed record ReuseResult(IReadOnlyList<ReusePair> Pairs, int DocumentCount, int CandidatePairs, int BoilerplateFingerprints);

/// <summary>
/// Every pair of documents of a corpus that share a passage, as passim finds them, in time linear in the corpus: each
/// document's <see cref="PassageFingerprints"/> (one read), the pairs that share a fingerprint held by few documents (one
/// sort of every fingerprint), then each such pair compared word by word (<see cref="SharedPhraseFinder"/>, a second read
/// of only the paired documents). Every pair sharing a run of <see cref="PassageFingerprints.GuaranteedWords"/> words is
/// found, unless all of that run's fingerprints are boilerplate.
/// </summary>
public static class ReuseFinder
{
    /// <summary>Finds the pairs of <paramref name="corpus"/> sharing passages of at least <see cref="ReuseOptions.MinWords"/> words, ordered by position.</summary>
    public static ReuseResult Find(IRereadableCorpus corpus, ReuseOptions? options = null, IProgress<ClusteringProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        options ??= new ReuseOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinWords, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxDocumentsPerFingerprint);

        // One entry per document and fingerprint: fingerprint << 32 | position, sorted, so each fingerprint's documents are a run.
        var entries = new List<ulong>();
        int documents = 0;
        corpus.ForEachText(
            text => PassageFingerprints.Of(text, options.Normalization),
            (_, batch) =>
            {
                foreach (uint[] fingerprints in batch)
                {
                    foreach (uint fingerprint in fingerprints)
                    {
                        entries.Add(((ulong)fingerprint << 32) | (uint)documents);
                    }

                    documents++;
                }

                progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, documents, corpus.Count ?? 0));
            },
            new ParallelOptions { CancellationToken = cancellationToken });

        progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, documents, documents));
        (ulong[] pairs, int boilerplate) = CandidatePairs(entries, options.MaxDocumentsPerFingerprint, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, pairs.Length, pairs.Length));
        return new ReuseResult(Verify(corpus, pairs, options, progress, cancellationToken), documents, pairs.Length, boilerplate);
    }

    /// <summary>The distinct pairs (packed by <see cref="Clusterer.Pack"/>, ascending) sharing a fingerprint that at most <paramref name="maxDocuments"/> hold.</summary>
    private static (ulong[] Pairs, int Boilerplate) CandidatePairs(List<ulong> entries, int maxDocuments, CancellationToken cancellationToken)
    {
        Span<ulong> sorted = CollectionsMarshal.AsSpan(entries);
        HashSort.Sort(sorted);
        var pairs = new List<ulong>();
        int boilerplate = 0;
        for (int start = 0, end; start < sorted.Length; start = end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            uint fingerprint = (uint)(sorted[start] >> 32);
            for (end = start + 1; end < sorted.Length && (uint)(sorted[end] >> 32) == fingerprint; end++)
            {
            }

            if (end - start > maxDocuments)
            {
                boilerplate++;
                continue;
            }

            for (int a = start; a < end; a++)
            {
                for (int b = a + 1; b < end; b++)
                {
                    pairs.Add(Clusterer.Pack((int)(uint)sorted[a], (int)(uint)sorted[b]));
                }
            }
        }

        return (Clusterer.SortDistinct(pairs), boilerplate);
    }

    /// <summary>Reads the paired documents again and compares each pair word by word; keeps those sharing a passage.</summary>
    private static List<ReusePair> Verify(IRereadableCorpus corpus, ulong[] pairs, ReuseOptions options, IProgress<ClusteringProgress>? progress,
        CancellationToken cancellationToken)
    {
        int[] positions = [.. pairs.SelectMany(p => new[] { Clusterer.Unpack(p).Left, Clusterer.Unpack(p).Right }).Distinct().Order()];
        var texts = new Dictionary<int, string>(positions.Length);
        int read = 0;
        foreach (string text in corpus.ReadAt(positions, cancellationToken))
        {
            texts[positions[read++]] = text;
        }

        var phraseOptions = new PhraseOptions { MinWords = options.MinWords, MaxBridgeWords = options.MaxBridgeWords, Normalization = options.Normalization };
        // A document is in many pairs: its words are made once (24 bytes a word) rather than once a pair, and with them its
        // runs of MinWords words. Every passage holds such a run, so a pair whose runs share no fingerprint shares no passage:
        // most candidate pairs share only a common short phrase, and merging two sorted arrays costs far less than the search.
        var prepared = new (Token[] Words, ulong[] Runs)[positions.Length];
        Parallel.For(0, positions.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            Token[] tokens = SharedPhraseFinder.Tokenize(texts[positions[i]], options.Normalization);
            prepared[i] = (tokens, WordSequenceHashes.SortedRuns(tokens, options.MinWords));
        });
        Dictionary<int, (Token[] Words, ulong[] Runs)> documentsAt = positions.Zip(prepared).ToDictionary(p => p.First, p => p.Second);

        var found = new ReusePair?[pairs.Length];
        int verified = 0;
        Parallel.For(0, pairs.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            (int left, int right) = Clusterer.Unpack(pairs[i]);
            (Token[] Words, ulong[] Runs) a = documentsAt[left], b = documentsAt[right];
            if (WordSequenceHashes.AnyShared(a.Runs, b.Runs))
            {
                SharedPhrases shared = SharedPhraseFinder.Find(texts[left], a.Words, texts[right], b.Words, phraseOptions, cancellationToken);
                found[i] = shared.Phrases.Count > 0 ? new ReusePair(left, right, shared) : null;
            }

            if ((Interlocked.Increment(ref verified) & 255) == 0)
            {
                progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, verified, pairs.Length));
            }
        });
        progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, pairs.Length, pairs.Length));
        return [.. found.OfType<ReusePair>()];
    }
}
