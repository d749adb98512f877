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
    /// reading (keeping 4 bytes per permutation and its length), the second reads only the documents
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

        var lengths = new List<int>(corpus.Count ?? 0);
        var signatures = new List<uint[]>(corpus.Count ?? 0);
        int permutations = _sketcher.Parameters.NumPermutations;
        ForEachBatch(corpus.ReadAll(cancellationToken),
            text =>
            {
                var signature = new uint[permutations];
                _sketcher.Sign(text, signature);
                return (Signature: signature, text.Length);
            },
            (_, batch) =>
            {
                foreach ((uint[] signature, int length) in batch)
                {
                    signatures.Add(signature);
                    lengths.Add(length);
                }

                progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, signatures.Count, corpus.Count ?? 0));
            },
            cancellationToken);

        int count = signatures.Count;
        Func<int, long> rank = Rank(count, i => lengths[i], callerOrder);
        ulong[] candidates = Clusterer.CandidatePairs(signatures, _lsh, cancellationToken);
        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        signatures.Clear();
        signatures.TrimExcess();

        // Exact shingle sets cost a sort each and are needed only to verify candidates.
        int[] needed = DocumentsIn(candidates, count);
        var sets = new ulong[count][];
        ForEachBatch(corpus.ReadAt(needed, cancellationToken), text => Shingler.ShingleSet(text, _sketcher.Parameters),
            (start, batch) =>
            {
                for (int k = 0; k < batch.Length; k++)
                {
                    sets[needed[start + k]] = batch[k];
                }
            },
            cancellationToken);
        return Clusterer.Cluster(count, candidates, i => sets[i], _options.Threshold, rank, progress, cancellationToken);
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

    /// <summary>The documents named by packed candidate pairs, ascending.</summary>
    private static int[] DocumentsIn(ulong[] candidates, int count)
    {
        var inPair = new bool[count];
        foreach (ulong pair in candidates)
        {
            inPair[(int)(pair >> 32)] = true;
            inPair[(int)(uint)pair] = true;
        }

        var documents = new List<int>();
        for (int i = 0; i < count; i++)
        {
            if (inPair[i])
            {
                documents.Add(i);
            }
        }

        return [.. documents];
    }

    /// <summary>
    /// Applies <paramref name="work"/> to every text in parallel batches, in order: the calling
    /// thread reads batch k + 1 while the pool works on batch k, so a slow reader overlaps the work.
    /// <paramref name="completed"/> receives each batch's results (and its first position) in order.
    /// Texts already in a list are one batch: there is no reading to overlap.
    /// </summary>
    private void ForEachBatch<T>(IEnumerable<string> texts, Func<string, T> work, Action<int, T[]> completed, CancellationToken cancellationToken)
    {
        if (texts is IReadOnlyList<string> list)
        {
            // Ranges small enough that both cores stay busy to the end of a short list (a few hundred candidates).
            var all = new T[list.Count];
            if (list.Count > 0)
            {
                int rangeSize = Math.Clamp(list.Count / (8 * _options.MaxDegreeOfParallelism), 1, 256);
                Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, list.Count, rangeSize), ParallelOptionsFor(cancellationToken), range =>
                {
                    for (int i = range.Item1; i < range.Item2; i++)
                    {
                        all[i] = work(list[i]);
                    }
                });
            }

            completed(0, all);
            return;
        }

        const int BatchSize = 512;
        Task pending = Task.CompletedTask;
        var batch = new List<string>(BatchSize);
        int start = 0;
        try
        {
            foreach (string text in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                batch.Add(text);
                if (batch.Count == BatchSize)
                {
                    pending.GetAwaiter().GetResult();
                    pending = Process(batch, start);
                    start += batch.Count;
                    batch = new List<string>(BatchSize);
                }
            }

            pending.GetAwaiter().GetResult();
            Process(batch, start).GetAwaiter().GetResult();
        }
        finally
        {
            // A failed read must not return while the pool still works on the previous batch.
            pending.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Wait(CancellationToken.None);
        }

        Task Process(List<string> texts, int first) => Task.Run(() =>
        {
            var results = new T[texts.Count];
            Parallel.For(0, texts.Count, ParallelOptionsFor(cancellationToken), k => results[k] = work(texts[k]));
            completed(first, results);
        }, cancellationToken);
    }

    private ParallelOptions ParallelOptionsFor(CancellationToken cancellationToken) =>
        new() { CancellationToken = cancellationToken, MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism };

    /// <summary>Boilerplate suppression: count document frequencies over exact sets, filter, then sign.</summary>
    private DocumentSketch[] SketchAll(IReadOnlyList<string> texts, IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        var sets = new ulong[texts.Count][];
        ForEachBatch(texts, text => Shingler.ShingleSet(text, _sketcher.Parameters), (start, batch) =>
        {
            batch.CopyTo(sets, start);
            progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, start + batch.Length, texts.Count));
        }, cancellationToken);

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
