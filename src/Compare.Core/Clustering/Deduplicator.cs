using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Shingling;

namespace Compare.Core.Clustering;

/// <summary>Options of a batch dedup run.</summary>
public sealed record DeduplicationOptions
{
    /// <summary>Minimum exact Jaccard of a duplicate pair. Default 0.8.</summary>
    public double Threshold { get; init; } = 0.8;

    /// <summary>Banding; chosen from <see cref="Threshold"/> when null.</summary>
    public LshParameters? Lsh { get; init; }

    /// <summary>Which cluster member is kept.</summary>
    public RepresentativePolicy Representative { get; init; } = RepresentativePolicy.FirstSeen;

    /// <summary>
    /// Boilerplate suppression: shingles found in more than this many documents of the corpus are
    /// ignored (passim's maxDF, MOSS's -m). Null keeps every shingle.
    /// </summary>
    public int? MaxDocumentFrequency { get; init; }

    /// <summary>Threads to use; defaults to every core.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// The most the shingle sets awaiting verification may hold at once in a streamed run (an estimate from the
    /// documents' lengths, 8 bytes a shingle), besides the batch being read. A corpus whose candidate pairs lie farther
    /// apart than this holds is read again in as many passes as it takes (<see cref="ReadingBlocks"/>). Default 1 GiB.
    /// </summary>
    public long MaxHeldBytes { get; init; } = 1L << 30;
}

/// <summary>Batch dedup: sketch in parallel, band, verify candidates exactly, cluster; in memory or streamed.</summary>
public sealed class Deduplicator
{
    private readonly DocumentSketcher _sketcher;
    private readonly DeduplicationOptions _options;
    private readonly LshParameters _lsh;

    /// <summary>Creates a deduplicator; validates both arguments.</summary>
    public Deduplicator(SketchParameters parameters, DeduplicationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.Threshold is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Threshold, "Threshold must be between 0 and 1.");
        }

        _sketcher = new DocumentSketcher(parameters);
        _options = options;
        _lsh = options.Lsh ?? LshParameters.ForThreshold(options.Threshold, parameters.NumPermutations);
        _lsh.Validate(parameters.NumPermutations);
    }

    /// <summary>The banding in use.</summary>
    public LshParameters Lsh => _lsh;

    /// <summary>Clusters <paramref name="texts"/>; <paramref name="callerOrder"/> ranks representatives under <see cref="RepresentativePolicy.CallerOrder"/>.</summary>
    public ClusteringResult Run(IReadOnlyList<string> texts, IReadOnlyList<long>? callerOrder = null,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (_options.MaxDocumentFrequency is null)
        {
            return Run(new InMemoryCorpus(texts), callerOrder, progress, cancellationToken);
        }

        Func<int, long> rank = Rank(texts.Count, i => texts[i].Length, callerOrder);
        DocumentSketch[] sketches = SketchAll(texts, progress, cancellationToken);
        ulong[] candidates = Clusterer.CandidatePairs([.. sketches.Select(s => s.Signature)], _lsh, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        return Clusterer.Cluster(texts.Count, candidates, i => sketches[i].Shingles, _options.Threshold, rank, progress, cancellationToken);
    }

    /// <summary>
    /// Clusters a corpus read as a stream, in two passes: the first signs every document while
    /// reading (keeping its band keys and its length), the second reads only the documents
    /// in candidate pairs to build the exact shingle sets that verify them. Reading overlaps signing.
    /// </summary>
    /// <exception cref="NotSupportedException">Boilerplate suppression is on: it needs every shingle set at once.</exception>
    public ClusteringResult Run(IRereadableCorpus corpus, IReadOnlyList<long>? callerOrder = null,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (_options.MaxDocumentFrequency is not null)
        {
            throw new NotSupportedException("Boilerplate suppression (MaxDocumentFrequency) counts every shingle of the corpus; use the in-memory overload.");
        }

        ParallelOptions parallel = ParallelOptionsFor(cancellationToken);
        (BandKeyColumns keys, List<int> lengths) = SignAll(corpus, parallel, progress);
        int count = lengths.Count;
        Func<int, long> rank = Rank(count, i => lengths[i], callerOrder);
        ulong[] candidates = Clusterer.CandidatePairs(keys, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        double[] verified = VerifyInReadingOrder(corpus, candidates, lengths, parallel, progress);
        return Clusterer.Cluster(count, candidates, verified, _options.Threshold, rank,
            others => VerifyInReadingOrder(corpus, others, lengths, parallel, progress: null), progress, cancellationToken);
    }

    /// <summary>
    /// The first pass: every document's band keys and length. Only the band keys are kept (8 bytes a band, 144 for 18
    /// bands, where the signature is 512): memory touched for the first time is most of what a million documents cost
    /// on a VM.
    /// </summary>
    private (BandKeyColumns Keys, List<int> Lengths) SignAll(IRereadableCorpus corpus, ParallelOptions parallel, IProgress<ClusteringProgress>? progress)
    {
        int bands = _lsh.Bands, permutations = _sketcher.Parameters.NumPermutations;
        var lengths = new List<int>(corpus.Count ?? 0);
        var columns = new BandKeyColumns(bands);
        corpus.ForEachText(
            text =>
            {
                // At most SketchParameters.MaxPermutations (4 KB): validated with the parameters.
                Span<uint> signature = stackalloc uint[permutations];
                _sketcher.Sign(text, signature);
                var keys = new ulong[bands];
                LshIndex.BandKeys(signature, _lsh, keys);
                return (Keys: keys, text.Length);
            },
            (_, batch) =>
            {
                foreach ((ulong[] keys, int length) in batch)
                {
                    columns.Add(keys);
                    lengths.Add(length);
                }

                progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, lengths.Count, corpus.Count ?? 0));
            },
            parallel);
        return (columns, lengths);
    }

    /// <summary>
    /// Exact Jaccard of each of <paramref name="pairs"/> (packed, distinct, ascending), reading only the documents in
    /// them, in position order, as <see cref="ReadingBlocks"/> plans it within <see cref="DeduplicationOptions.MaxHeldBytes"/>.
    /// A document's shingle set is built once a reading (a sort each) and held only until its last partner has been read.
    /// </summary>
    private double[] VerifyInReadingOrder(IRereadableCorpus corpus, ulong[] pairs, List<int> lengths, ParallelOptions parallel,
        IProgress<ClusteringProgress>? progress)
    {
        var jaccards = new double[pairs.Length];
        // A word shingle a word, a character shingle a character: 8 bytes each, and the array's own.
        int charactersPerShingle = _sketcher.Parameters.Kind == ShingleKind.Character ? 1 : 5;
        long done = 0;
        foreach ((int from, int to) in ReadingBlocks.PairRanges(pairs, lengths.Count, d => 32 + (8L * lengths[d] / charactersPerShingle), _options.MaxHeldBytes))
        {
            ReadingBlocks.ReadInOrder(corpus, pairs, from, to, lengths.Count, text => Shingler.ShingleSet(text, _sketcher.Parameters),
                (sets, byRight, first, end) => Clusterer.Verify(pairs, byRight, first, end, i => sets[i], jaccards, parallel,
                    verified => progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, Interlocked.Add(ref done, verified), pairs.Length))),
                parallel);
        }

        return jaccards;
    }

    private Func<int, long> Rank(int count, Func<int, int> length, IReadOnlyList<long>? callerOrder)
    {
        if (_options.Representative == RepresentativePolicy.CallerOrder && (callerOrder is null || callerOrder.Count != count))
        {
            throw new ArgumentException("CallerOrder needs one rank per document.", nameof(callerOrder));
        }

        return _options.Representative switch
        {
            RepresentativePolicy.Longest => i => -length(i),
            RepresentativePolicy.CallerOrder => i => callerOrder![i],
            _ => i => i,
        };
    }

    private ParallelOptions ParallelOptionsFor(CancellationToken cancellationToken) =>
        new() { CancellationToken = cancellationToken, MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism };

    /// <summary>Boilerplate suppression: count document frequencies over exact sets, filter, then sign.</summary>
    private DocumentSketch[] SketchAll(IReadOnlyList<string> texts, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var sets = new ulong[texts.Count][];
        OrderedBatches.ForEachText(texts, text => Shingler.ShingleSet(text, _sketcher.Parameters), (start, batch) =>
        {
            batch.CopyTo(sets, start);
            progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, start + batch.Length, texts.Count));
        }, ParallelOptionsFor(cancellationToken));

        var frequencies = new ShingleFrequencies();
        foreach (ulong[] set in sets)
        {
            frequencies.Add(set);
        }

        int limit = _options.MaxDocumentFrequency!.Value;
        var sketches = new DocumentSketch[texts.Count];
        Parallel.For(0, sets.Length, ParallelOptionsFor(cancellationToken), i =>
        {
            ulong[] kept = frequencies.WithoutFrequent(sets[i], limit);
            sketches[i] = new DocumentSketch(kept, _sketcher.Hasher.Sign(kept));
        });
        return sketches;
    }
}
