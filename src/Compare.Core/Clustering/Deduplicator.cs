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
}

/// <summary>Batch dedup of an in-memory corpus: sketch in parallel, band, verify, cluster.</summary>
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
        _lsh = options.Lsh ?? LshParameters.Optimal(options.Threshold, parameters.NumPermutations);
        _lsh.Validate(parameters.NumPermutations);
    }

    /// <summary>The banding in use.</summary>
    public LshParameters Lsh => _lsh;

    /// <summary>Clusters <paramref name="texts"/>; <paramref name="callerOrder"/> ranks representatives under <see cref="RepresentativePolicy.CallerOrder"/>.</summary>
    public ClusteringResult Run(IReadOnlyList<string> texts, IReadOnlyList<long>? callerOrder = null,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (_options.Representative == RepresentativePolicy.CallerOrder && (callerOrder is null || callerOrder.Count != texts.Count))
        {
            throw new ArgumentException("CallerOrder needs one rank per document.", nameof(callerOrder));
        }

        Func<int, long> rank = _options.Representative switch
        {
            RepresentativePolicy.Longest => i => -texts[i].Length,
            RepresentativePolicy.CallerOrder => i => callerOrder![i],
            _ => i => i,
        };
        if (_options.MaxDocumentFrequency is not null)
        {
            DocumentSketch[] sketches = SketchAll(texts, progress, cancellationToken);
            ulong[] pairs = Clusterer.CandidatePairs([.. sketches.Select(s => s.Signature)], _lsh, cancellationToken);
            progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, pairs.Length, pairs.Length));
            return Clusterer.Cluster(texts.Count, pairs, i => sketches[i].Shingles, _options.Threshold, rank, progress, cancellationToken);
        }

        // Exact shingle sets cost a sort each and are needed only to verify candidates: sign
        // everything, then build sets for the documents in a candidate pair.
        uint[][] signatures = SignAll(texts, progress, cancellationToken);
        ulong[] candidates = Clusterer.CandidatePairs(signatures, _lsh, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        var sets = new ulong[texts.Count][];
        int[] needed = [.. candidates.SelectMany(p => new[] { (int)(p >> 32), (int)(uint)p }).Distinct()];
        Parallel.ForEach(needed, ParallelOptionsFor(cancellationToken), i => sets[i] = Shingler.ShingleSet(texts[i], _sketcher.Parameters));
        return Clusterer.Cluster(texts.Count, candidates, i => sets[i], _options.Threshold, rank, progress, cancellationToken);
    }

    private ParallelOptions ParallelOptionsFor(CancellationToken cancellationToken) =>
        new() { CancellationToken = cancellationToken, MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism };

    private uint[][] SignAll(IReadOnlyList<string> texts, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var signatures = new uint[texts.Count][];
        long done = 0;
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, texts.Count, 256), ParallelOptionsFor(cancellationToken), range =>
        {
            for (int i = range.Item1; i < range.Item2; i++)
            {
                signatures[i] = new uint[_sketcher.Parameters.NumPermutations];
                _sketcher.Sign(texts[i], signatures[i]);
            }

            progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, Interlocked.Add(ref done, range.Item2 - range.Item1), texts.Count));
        });
        return signatures;
    }

    /// <summary>Boilerplate suppression: count document frequencies over exact sets, filter, then sign.</summary>
    private DocumentSketch[] SketchAll(IReadOnlyList<string> texts, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var sets = new ulong[texts.Count][];
        long done = 0;
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, texts.Count, 256), ParallelOptionsFor(cancellationToken), range =>
        {
            for (int i = range.Item1; i < range.Item2; i++)
            {
                sets[i] = Shingler.ShingleSet(texts[i], _sketcher.Parameters);
            }

            progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, Interlocked.Add(ref done, range.Item2 - range.Item1), texts.Count));
        });

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
