using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compare.Core.Lsh;

/// <summary>
/// Band buckets over document handles: small non-negative integers, dense (arrays are sized by the largest),
/// each inserted at most once until it is removed. Buckets are singly linked lists threaded through one array of
/// nodes, one node per document and band at a place computed from both, so a document costs 4 bytes a band besides
/// its buckets and inserting allocates nothing once the arrays have grown.
/// Not thread-safe: callers synchronise (see <see cref="BandIndex"/> and <see cref="Indexing.SimilarityIndex"/>).
/// </summary>
public sealed class LshIndex
{
    private const int None = -1;

    // Bands whose keys an insert holds on the stack; more (a banding of hundreds of rows of one) go to the heap.
    private const int MaxStackBands = 64;

    private readonly BucketHeads[] _heads;
    // Nodes come in two runs. Documents below _bulkDocuments (a bulk load) have theirs band by band: band × _bulkDocuments + document,
    // so each band's build writes one stretch. Later documents have theirs document by document after that run.
    private readonly int _bulkDocuments;
    private int[] _nodeNext;

    /// <summary>Creates an empty index with the given banding, sized for <paramref name="expectedDocuments"/>.</summary>
    public LshIndex(LshParameters parameters, int expectedDocuments = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedDocuments);
        if (parameters.Bands < 1 || parameters.Rows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(parameters), "Bands and rows must be positive.");
        }

        Parameters = parameters;
        _heads = new BucketHeads[parameters.Bands];
        for (int band = 0; band < _heads.Length; band++)
        {
            _heads[band] = new BucketHeads(expectedDocuments, GrowAt(band, parameters.Bands));
        }

        _nodeNext = new int[Math.Max(1024, checked(expectedDocuments * parameters.Bands))];
    }

    /// <summary>
    /// An index of documents 0 to <paramref name="documents"/> - 1 whose band keys are given band by band: document
    /// d's key in band b at <paramref name="bandKeys"/>[b × <paramref name="bandStride"/> + d]. What inserting each
    /// would give, built band by band on every core (a restart's bulk load).
    /// </summary>
    internal LshIndex(LshParameters parameters, ulong[] bandKeys, int bandStride, int documents)
    {
        Parameters = parameters;
        int bands = parameters.Bands;
        Debug.Assert(documents <= bandStride && bandKeys.Length >= (long)bandStride * bands);
        _bulkDocuments = documents;
        _nodeNext = new int[Math.Max(1024, checked(documents * bands))];
        _heads = new BucketHeads[bands];
        Parallel.For(0, bands, () => new BucketHeads.SortBuffers(documents), (band, _, buffers) =>
        {
            _heads[band] = BucketHeads.Build(bandKeys.AsSpan(band * bandStride, documents), band * documents, _nodeNext, None, buffers,
                GrowAt(band, bands));
            return buffers;
        }, static _ => { });
    }

    /// <summary>The banding in use.</summary>
    public LshParameters Parameters { get; }

    /// <summary>
    /// How full band <paramref name="band"/>'s table gets before it doubles: from 75 % down to 65 % across the bands. A
    /// document adds a bucket to every band at once, so tables that grew at the same fill grew in the same commit: all 18
    /// of a 100,000-document collection's at once took that commit 100-140 ms (holding writes and queries). Spread, they
    /// grow one or two a commit. The tables are about a tenth larger on average for it.
    /// </summary>
    private static double GrowAt(int band, int bands) => BucketHeads.MaxLoad - (0.1 * band / bands);

    /// <summary>The bucket key of one band of a signature.</summary>
    public static ulong BandKey(ReadOnlySpan<uint> signature, int band, int rows) =>
        XxHash3.HashToUInt64(MemoryMarshal.AsBytes(signature.Slice(band * rows, rows)), band);

    /// <summary>Writes the bucket key of each band of <paramref name="signature"/> to <paramref name="keys"/>.</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BandKeys(ReadOnlySpan<uint> signature, LshParameters parameters, Span<ulong> keys)
    {
        if (signature.Length < parameters.Bands * parameters.Rows || keys.Length < parameters.Bands)
        {
            throw new ArgumentException($"Signature has {signature.Length} values; bands × rows needs {parameters.Bands * parameters.Rows}.", nameof(signature));
        }

        for (int band = 0; band < parameters.Bands; band++)
        {
            keys[band] = BandKey(signature, band, parameters.Rows);
        }
    }

    /// <summary>Adds <paramref name="document"/>, not yet indexed, to the bucket of each band of <paramref name="signature"/>.</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Insert(int document, ReadOnlySpan<uint> signature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(document);
        CheckLength(signature);
        EnsureNodes(document);
        // Each band's table is large and its slot random: the keys first, a prefetch of every band's slot, then the inserts,
        // so that the bands' cache misses overlap instead of following one another.
        Span<ulong> keys = _heads.Length <= MaxStackBands ? stackalloc ulong[MaxStackBands] : new ulong[_heads.Length];
        for (int band = 0; band < _heads.Length; band++)
        {
            keys[band] = BandKey(signature, band, Parameters.Rows);
            _heads[band].Prefetch(keys[band]);
        }

        for (int band = 0; band < _heads.Length; band++)
        {
            int node = Node(document, band);
            ref int head = ref _heads[band].GetOrAdd(keys[band], out bool exists);
            _nodeNext[node] = exists ? head : None;
            head = node;
        }
    }

    /// <summary>Removes <paramref name="document"/>, which must have been inserted with the same signature.</summary>
    public void Remove(int document, ReadOnlySpan<uint> signature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(document);
        CheckLength(signature);
        for (int band = 0; band < _heads.Length; band++)
        {
            ulong key = BandKey(signature, band, Parameters.Rows);
            if (!_heads[band].TryGet(key, out int head) || document >= DocumentCapacity)
            {
                continue;
            }

            int target = Node(document, band);
            int previous = None;
            for (int node = head; node != None; previous = node, node = _nodeNext[node])
            {
                if (node != target)
                {
                    continue;
                }

                int next = _nodeNext[node];
                if (previous != None)
                {
                    _nodeNext[previous] = next;
                }
                else if (next == None)
                {
                    _heads[band].Remove(key);
                }
                else
                {
                    _heads[band].Set(key, next);
                }

                break;
            }
        }
    }

    /// <summary>
    /// Appends to <paramref name="candidates"/>, once each, the documents sharing at least one band
    /// bucket with <paramref name="signature"/> and returns how many were added. <paramref name="seen"/>
    /// is indexed by handle, must be all false on entry and is all false again on return.
    /// </summary>
    public int Query(ReadOnlySpan<uint> signature, bool[] seen, List<int> candidates)
    {
        ArgumentNullException.ThrowIfNull(seen);
        ArgumentNullException.ThrowIfNull(candidates);
        CheckLength(signature);
        int start = candidates.Count;
        for (int band = 0; band < _heads.Length; band++)
        {
            if (!_heads[band].TryGet(BandKey(signature, band, Parameters.Rows), out int node))
            {
                continue;
            }

            for (; node != None; node = _nodeNext[node])
            {
                int document = DocumentOf(node);
                if (!seen[document])
                {
                    seen[document] = true;
                    candidates.Add(document);
                }
            }
        }

        for (int i = start; i < candidates.Count; i++)
        {
            seen[candidates[i]] = false;
        }

        return candidates.Count - start;
    }

    /// <summary>Calls <paramref name="onBucket"/> with the members of every bucket holding two or more documents.</summary>
    public void ForEachSharedBucket(Action<List<int>> onBucket)
    {
        ArgumentNullException.ThrowIfNull(onBucket);
        var members = new List<int>();
        foreach (BucketHeads band in _heads)
        {
            foreach (int head in band.Heads)
            {
                if (_nodeNext[head] == None)
                {
                    continue;
                }

                members.Clear();
                for (int node = head; node != None; node = _nodeNext[node])
                {
                    members.Add(DocumentOf(node));
                }

                onBucket(members);
            }
        }
    }

    private int BulkNodes => _bulkDocuments * _heads.Length;

    // How many documents the node array has room for.
    private int DocumentCapacity => _bulkDocuments + ((_nodeNext.Length - BulkNodes) / _heads.Length);

    private int Node(int document, int band) => document < _bulkDocuments
        ? (band * _bulkDocuments) + document
        : BulkNodes + ((document - _bulkDocuments) * _heads.Length) + band;

    private int DocumentOf(int node) => node < BulkNodes
        ? node % _bulkDocuments
        : _bulkDocuments + ((node - BulkNodes) / _heads.Length);

    private void EnsureNodes(int document)
    {
        if (document < DocumentCapacity)
        {
            return;
        }

        int nodes = checked(BulkNodes + ((document + 1 - _bulkDocuments) * _heads.Length));
        Array.Resize(ref _nodeNext, Math.Max(nodes, checked(_nodeNext.Length * 2)));
    }

    private void CheckLength(ReadOnlySpan<uint> signature)
    {
        if (signature.Length < Parameters.Bands * Parameters.Rows)
        {
            throw new ArgumentException($"Signature has {signature.Length} values; bands × rows needs {Parameters.Bands * Parameters.Rows}.", nameof(signature));
        }
    }
}
