using Compare.Core.Clustering;
using Compare.Core.Lsh;
using Compare.Core.Shingling;

namespace Compare.Core.Indexing;

/// <summary>What an upsert did: the one outcome of a write, in the engine, the stores and (mapped in one place) the API.</summary>
public enum UpsertOutcome
{
    /// <summary>The id was new.</summary>
    Created = 1,

    /// <summary>The id existed with other content and was replaced.</summary>
    Updated = 2,

    /// <summary>The id existed with the same content; nothing changed.</summary>
    Unchanged = 3,

    /// <summary>A near-duplicate was indexed and the caller asked to skip such documents; nothing stored.</summary>
    SkippedDuplicate = 4,
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
        CandidateVerifier.CheckThreshold(minimum);
        List<IndexedSketch> candidates = exhaustive ? Snapshot() : Candidates(query.Signature);
        return CandidateVerifier.Verify(query, candidates, minimum, topK, excludeId, cancellationToken);
    }

    /// <summary>The documents sharing at least one band bucket with <paramref name="signature"/>, each once.</summary>
    public List<IndexedSketch> Candidates(uint[] signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        var found = new List<IndexedSketch>();
        var slots = new List<int>();
        _lock.EnterReadLock();
        try
        {
            bool[] seen = t_seen is { } s && s.Length >= _slotCount ? s : new bool[Math.Max(64, _ids.Length)];
            t_seen = null;
            _lsh.Query(signature, seen, slots);
            t_seen = seen;
            foreach (int slot in slots)
            {
                found.Add(new IndexedSketch(_ids[slot]!, _sketches[slot]!));
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        return found;
    }

    /// <summary>Every document, in the order it was last written (an update counts as a new insertion).</summary>
    public List<IndexedSketch> Snapshot()
    {
        var live = new List<(long At, IndexedSketch Document)>();
        _lock.EnterReadLock();
        try
        {
            live.Capacity = _slotById.Count;
            for (int slot = 0; slot < _slotCount; slot++)
            {
                if (_ids[slot] is { } id)
                {
                    live.Add((_insertedAt[slot], new IndexedSketch(id, _sketches[slot]!)));
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        live.Sort(static (a, b) => a.At.CompareTo(b.At));
        return live.ConvertAll(static d => d.Document);
    }

    /// <summary>
    /// Clusters every indexed document (<see cref="SketchClustering"/>) at <paramref name="threshold"/>,
    /// over a snapshot: writes may continue while it is verified.
    /// </summary>
    public IndexClusteringResult Deduplicate(double? threshold = null, RepresentativePolicy policy = RepresentativePolicy.FirstSeen,
        IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default) =>
        SketchClustering.Cluster(Snapshot(), Lsh, threshold ?? Threshold, policy, progress, cancellationToken);

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
