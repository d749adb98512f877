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

        DocumentSketch[] sketches = SketchAll(texts, progress, cancellationToken);
        var signatures = new uint[sketches.Length][];
        for (int i = 0; i < sketches.Length; i++)
        {
            signatures[i] = sketches[i].Signature;
        }

        ulong[] candidates = Clusterer.CandidatePairs(signatures, _lsh, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        Func<int, long> rank = _options.Representative switch
        {
            RepresentativePolicy.Longest => i => -texts[i].Length,
            RepresentativePolicy.CallerOrder => i => callerOrder![i],
            _ => i => i,
        };
        return Clusterer.Cluster(texts.Count, candidates, i => sketches[i].Shingles, _options.Threshold, rank, progress, cancellationToken);
    }

    private DocumentSketch[] SketchAll(IReadOnlyList<string> texts, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var sketches = new DocumentSketch[texts.Count];
        var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism };
        long done = 0;
        int? maxDf = _options.MaxDocumentFrequency;
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, texts.Count, 256), parallel, range =>
        {
            for (int i = range.Item1; i < range.Item2; i++)
            {
                // With boilerplate suppression the signature is made after filtering, in a second pass.
                sketches[i] = maxDf is null
                    ? _sketcher.Sketch(texts[i])
                    : new DocumentSketch(Shingler.ShingleSet(texts[i], _sketcher.Parameters), []);
            }

            progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, Interlocked.Add(ref done, range.Item2 - range.Item1), texts.Count));
        });

        if (maxDf is int limit)
        {
            var frequencies = new ShingleFrequencies();
            foreach (DocumentSketch sketch in sketches)
            {
                frequencies.Add(sketch.Shingles);
            }

            Parallel.For(0, sketches.Length, parallel, i =>
            {
                ulong[] kept = frequencies.WithoutFrequent(sketches[i].Shingles, limit);
                sketches[i] = new DocumentSketch(kept, _sketcher.Hasher.Sign(kept));
            });
        }

        return sketches;
    }
}
