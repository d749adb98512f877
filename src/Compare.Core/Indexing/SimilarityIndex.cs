using Compare.Core.Clustering;
using Compare.Core.Lsh;
using Compare.Core.MinHash;
using Compare.Core.Shingling;
using Compare.Core.Similarity;

namespace Compare.Core.Indexing;

/// <summary>What an upsert did.</summary>
public enum UpsertOutcome
{
    /// <summary>The id was new.</summary>
    Created = 1,

    /// <summary>The id existed with other content and was replaced.</summary>
    Updated = 2,

    /// <summary>The id existed with the same shingles; nothing changed.</summary>
    Unchanged = 3,
}

/// <summary>An indexed document similar to a query, with exact and estimated scores.</summary>
/// <param name="Id">The indexed document.</param>
/// <param name="Jaccard">Exact Jaccard similarity of the shingle sets.</param>
/// <param name="EstimatedJaccard">MinHash estimate from the signatures.</param>
/// <param name="ContainmentOfQuery">|Q ∩ D| / |Q|: how much of the query the document contains.</param>
/// <param name="ContainmentOfMatch">|Q ∩ D| / |D|: how much of the document the query contains.</param>
public sealed record SimilarityMatch(string Id, double Jaccard, double EstimatedJaccard, double ContainmentOfQuery, double ContainmentOfMatch);

/// <summary>Matches ranked by exact Jaccard (then estimate, then id), and how many candidates were verified.</summary>
public sealed record QueryResult(IReadOnlyList<SimilarityMatch> Matches, int CandidatesExamined);

/// <summary>
/// Documents by id with their sketches, an LSH index over the signatures, and exact verification
/// of every candidate: a match reported above a threshold is truly above it. Thread-safe: queries
/// run concurrently, writes are exclusive.
/// </summary>
public sealed class SimilarityIndex : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _slotById = new(StringComparer.Ordinal);
    private readonly LshIndex _lsh;
    private string?[] _ids = new string?[64];
    private DocumentSketch?[] _sketches = new DocumentSketch?[64];
    private long[] _insertedAt = new long[64];
    private readonly Stack<int> _freeSlots = new();
    private int _slotCount;
    private long _insertions;

    [ThreadStatic]
    private static bool[]? t_seen;

    /// <summary>Creates an empty index. Bands and rows come from <paramref name="threshold"/> unless given.</summary>
    /// <param name="parameters">Sketch parameters of every stored sketch.</param>
    /// <param name="threshold">Default similarity threshold; the LSH banding is tuned for it.</param>
    /// <param name="lsh">Bands and rows; null chooses them from the threshold.</param>
    /// <param name="countFrequencies">Keep <see cref="Frequencies"/> (1 MiB) for boilerplate; a throwaway index needs none.</param>
    public SimilarityIndex(SketchParameters parameters, double threshold = 0.8, LshParameters? lsh = null, bool countFrequencies = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(threshold is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "Threshold must be between 0 and 1.");
        }

        Sketcher = new DocumentSketcher(parameters);
        Threshold = threshold;
        Lsh = lsh ?? LshParameters.Optimal(threshold, parameters.NumPermutations);
        Lsh.Validate(parameters.NumPermutations);
        _lsh = new LshIndex(Lsh);
        Frequencies = countFrequencies ? new DocumentFrequencySketch() : null;
    }

    /// <summary>How many stored documents hold each shingle, when the index counts them (null otherwise).</summary>
    public DocumentFrequencySketch? Frequencies { get; }

    /// <summary>The sketcher every stored sketch was made with.</summary>
    public DocumentSketcher Sketcher { get; }

    /// <summary>Shingling and signature parameters.</summary>
    public SketchParameters Parameters => Sketcher.Parameters;

    /// <summary>Default threshold of queries; the banding is tuned for it.</summary>
    public double Threshold { get; }

    /// <summary>The banding in use.</summary>
    public LshParameters Lsh { get; }

    /// <summary>Number of documents.</summary>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _slotById.Count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Sketches <paramref name="text"/> and stores it under <paramref name="id"/>.</summary>
    public UpsertOutcome Upsert(string id, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Upsert(id, Sketcher.Sketch(text));
    }

    /// <summary>Stores a sketch made with <see cref="Sketcher"/> under <paramref name="id"/>, replacing any other content.</summary>
    public UpsertOutcome Upsert(string id, DocumentSketch sketch)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(sketch);
        if (sketch.Signature.Length != Parameters.NumPermutations)
        {
            throw new ArgumentException($"Signature has {sketch.Signature.Length} values; this index uses {Parameters.NumPermutations}.", nameof(sketch));
        }

        _lock.EnterWriteLock();
        try
        {
            UpsertOutcome outcome = UpsertOutcome.Created;
            if (_slotById.TryGetValue(id, out int existing))
            {
                DocumentSketch old = _sketches[existing]!;
                if (old.Shingles.AsSpan().SequenceEqual(sketch.Shingles) && old.Signature.AsSpan().SequenceEqual(sketch.Signature))
                {
                    return UpsertOutcome.Unchanged;
                }

                RemoveSlot(id, existing);
                outcome = UpsertOutcome.Updated;
            }

            int slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : NewSlot();
            _ids[slot] = id;
            _sketches[slot] = sketch;
            _insertedAt[slot] = _insertions++;
            _slotById[id] = slot;
            _lsh.Insert(slot, sketch.Signature);
            Frequencies?.Add(sketch.Shingles);
            return outcome;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes <paramref name="id"/>; returns false when it was not indexed.</summary>
    public bool Remove(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        _lock.EnterWriteLock();
        try
        {
            if (!_slotById.TryGetValue(id, out int slot))
            {
                return false;
            }

            RemoveSlot(id, slot);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>True when <paramref name="id"/> is indexed.</summary>
    public bool Contains(string id) => TryGetSketch(id, out _);

    /// <summary>The stored sketch of <paramref name="id"/>.</summary>
    public bool TryGetSketch(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DocumentSketch? sketch)
    {
        ArgumentNullException.ThrowIfNull(id);
        _lock.EnterReadLock();
        try
        {
            if (_slotById.TryGetValue(id, out int slot))
            {
                sketch = _sketches[slot]!;
                return true;
            }

            sketch = null;
            return false;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Finds indexed documents with exact Jaccard ≥ <paramref name="threshold"/> (the index
    /// threshold when null), best first, at most <paramref name="topK"/> (0 for all).
    /// LSH proposes candidates; <paramref name="exhaustive"/> verifies every document instead,
    /// for thresholds well below the one the banding was tuned for; it checks
    /// <paramref name="cancellationToken"/> as it goes, since it reads every document.
    /// </summary>
    public QueryResult Query(DocumentSketch query, double? threshold = null, int topK = 0, string? excludeId = null, bool exhaustive = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        double minimum = threshold ?? Threshold;
        if (!(minimum is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), minimum, "Threshold must be between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        var matches = new List<SimilarityMatch>();
        int examined;
        _lock.EnterReadLock();
        try
        {
            var candidates = new List<int>();
            if (exhaustive)
            {
                for (int slot = 0; slot < _slotCount; slot++)
                {
                    if (_ids[slot] is not null)
                    {
                        candidates.Add(slot);
                    }
                }
            }
            else
            {
                bool[] seen = t_seen is { } s && s.Length >= _slotCount ? s : new bool[Math.Max(64, _ids.Length)];
                t_seen = null;
                _lsh.Query(query.Signature, seen, candidates);
                t_seen = seen;
            }

            examined = candidates.Count;
            for (int k = 0; k < candidates.Count; k++)
            {
                if ((k & 4095) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                int slot = candidates[k];
                string id = _ids[slot]!;
                if (id == excludeId)
                {
                    examined--;
                    continue;
                }

                DocumentSketch sketch = _sketches[slot]!;
                int shared = SetSimilarity.IntersectionCount(query.Shingles, sketch.Shingles);
                double jaccard = SetSimilarity.Jaccard(query.Shingles.Length, sketch.Shingles.Length, shared);
                if (jaccard >= minimum && jaccard > 0)
                {
                    matches.Add(new SimilarityMatch(id, jaccard, MinHasher.EstimateJaccard(query.Signature, sketch.Signature),
                        SetSimilarity.Containment(query.Shingles.Length, shared), SetSimilarity.Containment(sketch.Shingles.Length, shared)));
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        matches.Sort(static (a, b) =>
        {
            int byJaccard = b.Jaccard.CompareTo(a.Jaccard);
            if (byJaccard != 0)
            {
                return byJaccard;
            }

            int byEstimate = b.EstimatedJaccard.CompareTo(a.EstimatedJaccard);
            return byEstimate != 0 ? byEstimate : string.CompareOrdinal(a.Id, b.Id);
        });
        if (topK > 0 && matches.Count > topK)
        {
            matches.RemoveRange(topK, matches.Count - topK);
        }

        return new QueryResult(matches, examined);
    }

    /// <summary>
    /// Clusters every indexed document: pairs from shared LSH buckets, verified at
    /// <paramref name="threshold"/>, merged with union-find. Ids come back in the clusters.
    /// A snapshot is taken under the read lock; writes may continue while it is verified.
    /// </summary>
    public IndexClusteringResult Deduplicate(double? threshold = null, RepresentativePolicy policy = RepresentativePolicy.FirstSeen,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        double minimum = threshold ?? Threshold;
        if (!(minimum is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), minimum, "Threshold must be between 0 and 1.");
        }

        if (policy == RepresentativePolicy.CallerOrder)
        {
            throw new ArgumentException("An index ranks representatives by first insertion or by length.", nameof(policy));
        }

        string[] ids;
        DocumentSketch[] sketches;
        long[] insertedAt;
        ulong[] candidates;
        _lock.EnterReadLock();
        try
        {
            // Compact the live slots into positions 0..n-1.
            var positionOfSlot = new int[_slotCount];
            var liveIds = new List<string>(_slotById.Count);
            var liveSketches = new List<DocumentSketch>(_slotById.Count);
            var liveInsertedAt = new List<long>(_slotById.Count);
            for (int slot = 0; slot < _slotCount; slot++)
            {
                positionOfSlot[slot] = -1;
                if (_ids[slot] is { } id)
                {
                    positionOfSlot[slot] = liveIds.Count;
                    liveIds.Add(id);
                    liveSketches.Add(_sketches[slot]!);
                    liveInsertedAt.Add(_insertedAt[slot]);
                }
            }

            var pairs = new List<ulong>();
            var positions = new List<int>();
            _lsh.ForEachSharedBucket(bucket =>
            {
                positions.Clear();
                foreach (int slot in bucket)
                {
                    positions.Add(positionOfSlot[slot]);
                }

                Clusterer.AddBucketPairs(positions, pairs);
            });
            candidates = Clusterer.SortDistinct(pairs);
            ids = [.. liveIds];
            sketches = [.. liveSketches];
            insertedAt = [.. liveInsertedAt];
        }
        finally
        {
            _lock.ExitReadLock();
        }

        progress?.Report(new ClusteringProgress(ClusteringStage.Candidates, candidates.Length, candidates.Length));
        Func<int, long> rank = policy == RepresentativePolicy.Longest ? i => -sketches[i].Shingles.Length : i => insertedAt[i];
        ClusteringResult result = Clusterer.Cluster(ids.Length, candidates, i => sketches[i].Shingles, minimum, rank, progress, cancellationToken);
        return new IndexClusteringResult(ids, result);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();

    private int NewSlot()
    {
        if (_slotCount == _ids.Length)
        {
            Array.Resize(ref _ids, _slotCount * 2);
            Array.Resize(ref _sketches, _slotCount * 2);
            Array.Resize(ref _insertedAt, _slotCount * 2);
        }

        return _slotCount++;
    }

    private void RemoveSlot(string id, int slot)
    {
        _lsh.Remove(slot, _sketches[slot]!.Signature);
        Frequencies?.Remove(_sketches[slot]!.Shingles);
        _slotById.Remove(id);
        _ids[slot] = null;
        _sketches[slot] = null;
        _freeSlots.Push(slot);
    }
}

/// <summary>Clustering of an index: positions in <see cref="ClusteringResult"/> index <see cref="Ids"/>.</summary>
/// <param name="Ids">Document ids by position.</param>
/// <param name="Result">Pairs and clusters over positions.</param>
public sealed record IndexClusteringResult(IReadOnlyList<string> Ids, ClusteringResult Result);
