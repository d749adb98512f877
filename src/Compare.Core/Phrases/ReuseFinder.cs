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

    /// <summary>
    /// The most candidate pairs a search may make, counted once for each fingerprint two documents share (8 bytes each
    /// while they are sorted). A corpus whose wording recurs in many documents makes pairs quadratic in how many hold
    /// each fingerprint: beyond this the search is refused before they are made (<see cref="TooManyReusePairsException"/>).
    /// </summary>
    public int MaxCandidatePairs { get; init; } = 16_000_000;

    /// <summary>
    /// The most the documents awaiting comparison may hold at once (an estimate from their lengths: text, words and
    /// runs, about 8 bytes a character), besides the batch of documents being read. A corpus whose pairs lie farther apart
    /// than this holds is read again in as many passes as it takes. Default 1 GiB.
    /// </summary>
    public long MaxHeldBytes { get; init; } = 1L << 30;
}

/// <summary>A reuse search would make more candidate pairs than <see cref="ReuseOptions.MaxCandidatePairs"/> allows.</summary>
public sealed class TooManyReusePairsException(long pairs, long limit, int maxDocuments)
    : InvalidOperationException($"the corpus's shared wording would make {pairs:N0} candidate pairs, over the limit of {limit:N0}: wording held by up to {maxDocuments:N0} documents pairs them all; fewer documents a fingerprint (boilerplate sooner) or a higher limit would do")
{
    /// <summary>The candidate pairs the corpus would make.</summary>
    public long Pairs { get; } = pairs;

    /// <summary>The limit they exceed.</summary>
    public long Limit { get; } = limit;
}

/// <summary>Two documents of a corpus that share passages: their positions (Left &lt; Right) and what they share.</summary>
public sealed record ReusePair(int Left, int Right, SharedPhrases Shared);

/// <summary>What a reuse search found, with the boilerplate fingerprints it did not follow.</summary>
public sealed record ReuseResult(IReadOnlyList<ReusePair> Pairs, int DocumentCount, int CandidatePairs, int BoilerplateFingerprints, int Readings);

/// <summary>
/// What a reuse search handed over one pair at a time: how many pairs, of how many candidates and documents, and how many
/// times it read the paired documents again to compare them (more than once only past <see cref="ReuseOptions.MaxHeldBytes"/>).
/// </summary>
public sealed record ReuseCounts(int PairsFound, int DocumentCount, int CandidatePairs, int BoilerplateFingerprints, int Readings);

/// <summary>
/// Every pair of documents of a corpus that share a passage, as passim finds them, in time linear in the corpus while few
/// documents hold each fingerprint (past <see cref="ReuseOptions.MaxCandidatePairs"/> the search is refused): each
/// document's <see cref="PassageFingerprints"/> (one read), the pairs that share a fingerprint held by few documents
/// (<see cref="FingerprintPostings"/>, sorted a partition at a time), then each such pair compared word by word
/// (<see cref="SharedPhraseFinder"/>, a second read of only the paired documents, as <see cref="ReadingBlocks"/> plans it). Every pair sharing a run of <see cref="PassageFingerprints.GuaranteedWords"/> words is
/// found, unless all of that run's fingerprints are boilerplate.
/// </summary>
public static class ReuseFinder
{
    /// <summary>Finds the pairs of <paramref name="corpus"/> sharing passages of at least <see cref="ReuseOptions.MinWords"/> words, ordered by their later document, then their earlier (the order in which a reading of the corpus completes them).</summary>
    public static ReuseResult Find(IRereadableCorpus corpus, ReuseOptions? options = null, IProgress<ClusteringProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var pairs = new List<ReusePair>();
        ReuseCounts counts = ForEachPair(corpus, pairs.Add, options, progress, cancellationToken);
        return new ReuseResult(pairs, counts.DocumentCount, counts.CandidatePairs, counts.BoilerplateFingerprints, counts.Readings);
    }

    /// <summary>
    /// As <see cref="Find"/>, handing each pair to <paramref name="found"/> in that order as soon as its batch of
    /// comparisons is done, so that what is held does not grow with the answer.
    /// </summary>
    public static ReuseCounts ForEachPair(IRereadableCorpus corpus, Action<ReusePair> found, ReuseOptions? options = null,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(found);
        options ??= new ReuseOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinWords, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxDocumentsPerFingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxCandidatePairs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxHeldBytes);

        (FingerprintPostings postings, int[] lengths) = Fingerprint(corpus, options, progress, cancellationToken);
        (ulong[] shared, int boilerplate) = postings.TakeShared(options.MaxDocumentsPerFingerprint, cancellationToken);
        ulong[] pairs = CandidatePairs(shared, options, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, pairs.Length, pairs.Length));
        (int pairsFound, int readings) = ReuseComparisons.Run(corpus, pairs, lengths, options, found, progress, cancellationToken);
        return new ReuseCounts(pairsFound, lengths.Length, pairs.Length, boilerplate, readings);
    }

    /// <summary>Each document's fingerprints (one read of the corpus, fingerprinted on the pool) and each document's length.</summary>
    private static (FingerprintPostings Postings, int[] Lengths) Fingerprint(IRereadableCorpus corpus, ReuseOptions options,
        IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var postings = new FingerprintPostings();
        var lengths = new List<int>();
        corpus.ForEachText(
            text => (Fingerprints: PassageFingerprints.Of(text, options.Normalization), text.Length),
            (_, batch) =>
            {
                foreach ((uint[] fingerprints, int length) in batch)
                {
                    foreach (uint fingerprint in fingerprints)
                    {
                        postings.Add(fingerprint, lengths.Count);
                    }

                    lengths.Add(length);
                }

                progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, lengths.Count, corpus.Count ?? 0));
            },
            new ParallelOptions { CancellationToken = cancellationToken });
        progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, lengths.Count, lengths.Count));
        return (postings, [.. lengths]);
    }

    /// <summary>
    /// The distinct pairs (packed by <see cref="Clusterer.Pack"/>, ascending) of documents holding the same fingerprint in
    /// <paramref name="shared"/> (runs of postings). They are counted before any is made, so that a corpus making more
    /// than <see cref="ReuseOptions.MaxCandidatePairs"/> is refused rather than run out of memory.
    /// </summary>
    private static ulong[] CandidatePairs(ulong[] shared, ReuseOptions options, CancellationToken cancellationToken)
    {
        long count = 0;
        for (int start = 0, end; start < shared.Length; start = end)
        {
            end = FingerprintPostings.RunEnd(shared, start);
            long holders = end - start;
            count += holders * (holders - 1) / 2;
        }

        if (count > options.MaxCandidatePairs)
        {
            throw new TooManyReusePairsException(count, options.MaxCandidatePairs, options.MaxDocumentsPerFingerprint);
        }

        var pairs = new ulong[count];
        int made = 0;
        for (int start = 0, end; start < shared.Length; start = end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            end = FingerprintPostings.RunEnd(shared, start);
            for (int a = start; a < end; a++)
            {
                for (int b = a + 1; b < end; b++)
                {
                    pairs[made++] = Clusterer.Pack((int)(uint)shared[a], (int)(uint)shared[b]);
                }
            }
        }

        return HashSort.SortDistinct(pairs).ToArray();
    }
}
