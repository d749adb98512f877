using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Compare.Core.Lsh;

/// <summary>
/// Band buckets over integer document handles. Buckets are singly linked lists threaded through
/// two flat arrays, so inserting a document allocates nothing per band once the arrays have grown.
/// Not thread-safe: callers synchronise (see <see cref="BandIndex"/> and <see cref="Indexing.SimilarityIndex"/>).
/// </summary>
public sealed class LshIndex
{
    private const int None = -1;
    private readonly Dictionary<ulong, int>[] _heads;
    private int[] _nodeDocument;
    private int[] _nodeNext;
    private int _nodeCount;
    private int _freeNode = None;

    /// <summary>Creates an empty index with the given banding, sized for <paramref name="expectedDocuments"/>.</summary>
    public LshIndex(LshParameters parameters, int expectedDocuments = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedDocuments);
        if (parameters.Bands < 1 || parameters.Rows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(parameters), "Bands and rows must be positive.");
        }

        Parameters = parameters;
        _heads = new Dictionary<ulong, int>[parameters.Bands];
        for (int band = 0; band < _heads.Length; band++)
        {
            _heads[band] = new Dictionary<ulong, int>(expectedDocuments);
        }

        int nodes = Math.Max(1024, checked(expectedDocuments * parameters.Bands));
        _nodeDocument = new int[nodes];
        _nodeNext = new int[nodes];
    }

    /// <summary>The banding in use.</summary>
    public LshParameters Parameters { get; }

    /// <summary>The bucket key of one band of a signature.</summary>
    public static ulong BandKey(ReadOnlySpan<uint> signature, int band, int rows) =>
        XxHash3.HashToUInt64(MemoryMarshal.AsBytes(signature.Slice(band * rows, rows)), band);

    /// <summary>Adds <paramref name="document"/> to the bucket of each band of <paramref name="signature"/>.</summary>
    public void Insert(int document, ReadOnlySpan<uint> signature)
    {
        CheckLength(signature);
        for (int band = 0; band < _heads.Length; band++)
        {
            ulong key = BandKey(signature, band, Parameters.Rows);
            int node = AllocateNode(document);
            ref int head = ref CollectionsMarshal.GetValueRefOrAddDefault(_heads[band], key, out bool exists);
            _nodeNext[node] = exists ? head : None;
            head = node;
        }
    }

    /// <summary>Removes <paramref name="document"/>, which must have been inserted with the same signature.</summary>
    public void Remove(int document, ReadOnlySpan<uint> signature)
    {
        CheckLength(signature);
        for (int band = 0; band < _heads.Length; band++)
        {
            ulong key = BandKey(signature, band, Parameters.Rows);
            if (!_heads[band].TryGetValue(key, out int head))
            {
                continue;
            }

            int previous = None;
            for (int node = head; node != None; previous = node, node = _nodeNext[node])
            {
                if (_nodeDocument[node] != document)
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
                    _heads[band][key] = next;
                }

                _nodeNext[node] = _freeNode;
                _freeNode = node;
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
            if (!_heads[band].TryGetValue(BandKey(signature, band, Parameters.Rows), out int node))
            {
                continue;
            }

            for (; node != None; node = _nodeNext[node])
            {
                int document = _nodeDocument[node];
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
        foreach (Dictionary<ulong, int> band in _heads)
        {
            foreach (int head in band.Values)
            {
                if (_nodeNext[head] == None)
                {
                    continue;
                }

                members.Clear();
                for (int node = head; node != None; node = _nodeNext[node])
                {
                    members.Add(_nodeDocument[node]);
                }

                onBucket(members);
            }
        }
    }

    private int AllocateNode(int document)
    {
        int node;
        if (_freeNode != None)
        {
            node = _freeNode;
            _freeNode = _nodeNext[node];
        }
        else
        {
            if (_nodeCount == _nodeDocument.Length)
            {
                Array.Resize(ref _nodeDocument, _nodeCount * 2);
                Array.Resize(ref _nodeNext, _nodeCount * 2);
            }

            node = _nodeCount++;
        }

        _nodeDocument[node] = document;
        return node;
    }

    private void CheckLength(ReadOnlySpan<uint> signature)
    {
        if (signature.Length < Parameters.Bands * Parameters.Rows)
        {
            throw new ArgumentException($"Signature has {signature.Length} values; bands × rows needs {Parameters.Bands * Parameters.Rows}.", nameof(signature));
        }
    }
}
