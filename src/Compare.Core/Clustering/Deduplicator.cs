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
        uint[][] signatures;
        Func<int, ulong[]>? shingles = null;
        if (_options.MaxDocumentFrequency is not null)
        {
            DocumentSketch[] sketches = SketchAll(texts, progress, cancellationToken);
            signatures = [.. sketches.Select(s => s.Signature)];
            shingles = i => sketches[i].Shingles;
        }
        else
        {
            signatures = new uint[texts.Count][];
            ForEachDocument(texts.Count, i =>
            {
                signatures[i] = new uint[_sketcher.Parameters.NumPermutations];
                _sketcher.Sign(texts[i], signatures[i]);
            }, progress, cancellationToken);
        }

        ulong[] candidates = Clusterer.CandidatePairs(signatures, _lsh, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        if (shingles is null)
        {
            // Exact shingle sets cost a sort each and are needed only to verify candidates: they
            // are built for the documents in a candidate pair, not for every document.
            var sets = new ulong[texts.Count][];
            int[] needed = [.. candidates.SelectMany(p => new[] { (int)(p >> 32), (int)(uint)p }).Distinct()];
            Parallel.ForEach(needed, ParallelOptionsFor(cancellationToken), i => sets[i] = Shingler.ShingleSet(texts[i], _sketcher.Parameters));
            shingles = i => sets[i];
        }

        return Clusterer.Cluster(texts.Count, candidates, shingles, _options.Threshold, rank, progress, cancellationToken);
    }

    private ParallelOptions ParallelOptionsFor(CancellationToken cancellationToken) =>
        new() { CancellationToken = cancellationToken, MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism };

    /// <summary>Runs <paramref name="work"/> for every document in parallel ranges, reporting sketching progress.</summary>
    private void ForEachDocument(int count, Action<int> work, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        long done = 0;
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, count, 256), ParallelOptionsFor(cancellationToken), range =>
        {
            for (int i = range.Item1; i < range.Item2; i++)
            {
                work(i);
            }

            progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, Interlocked.Add(ref done, range.Item2 - range.Item1), count));
        });
    }

    /// <summary>Boilerplate suppression: count document frequencies over exact sets, filter, then sign.</summary>
    private DocumentSketch[] SketchAll(IReadOnlyList<string> texts, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var sets = new ulong[texts.Count][];
        ForEachDocument(texts.Count, i => sets[i] = Shingler.ShingleSet(texts[i], _sketcher.Parameters), progress, cancellationToken);

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
