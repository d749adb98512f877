using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Compare.Core.Lsh;

/// <summary>
/// Builds a <see cref="BandIndex"/> from stored documents, as a restart does: each document's band keys are
/// computed as it is read, and the buckets are built afterwards band by band on every core, several times faster
/// than one <see cref="BandIndex.Add"/> each. Not thread-safe: one reader adds, then <see cref="Build"/> once.
/// </summary>
public sealed class BandIndexLoader
{
    private readonly LshParameters _parameters;
    private string[] _ids;
    private long[] _writtenAt;
    private ulong[] _bandKeys;
    private int _count;
    private bool _built;

    /// <summary>An empty loader sized for <paramref name="expectedDocuments"/> (it grows past that as needed).</summary>
    public BandIndexLoader(LshParameters parameters, int expectedDocuments)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedDocuments);
        if (parameters.Bands < 1 || parameters.Rows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(parameters), "Bands and rows must be positive.");
        }

        _parameters = parameters;
        int capacity = Math.Max(64, expectedDocuments);
        _ids = new string[capacity];
        _writtenAt = new long[capacity];
        _bandKeys = new ulong[checked(capacity * parameters.Bands)];
    }

    // Band keys are kept band by band (band b's at b × capacity), so each band's build reads its keys in one stretch.
    private int Capacity => _ids.Length;

    /// <summary>How many documents were added.</summary>
    public int Count => _count;

    /// <summary>Adds a stored document: its id (each once), its signature and its place in the order of writes.</summary>
    // A restart runs this over every document once: optimised from the first call, where tiering would promote it only after the load.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(string id, ReadOnlySpan<uint> signature, long writtenAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ObjectDisposedException.ThrowIf(_built, this);
        if (_count == Capacity)
        {
            Grow();
        }

        Span<ulong> keys = stackalloc ulong[_parameters.Bands];
        LshIndex.BandKeys(signature, _parameters, keys);
        for (int band = 0; band < keys.Length; band++)
        {
            _bandKeys[(band * Capacity) + _count] = keys[band];
        }

        _ids[_count] = id;
        _writtenAt[_count] = writtenAt;
        _count++;
    }

    /// <summary>The index of every document added; the loader is spent afterwards.</summary>
    public BandIndex Build()
    {
        ObjectDisposedException.ThrowIf(_built, this);
        _built = true;
        Debug.Assert(_bandKeys.Length == Capacity * _parameters.Bands);
        var index = new BandIndex(_parameters, _ids, _writtenAt, _count, _bandKeys, Capacity);
        _bandKeys = [];
        return index;
    }

    private void Grow()
    {
        int capacity = checked(_count * 2);
        var bandKeys = new ulong[checked(capacity * _parameters.Bands)];
        for (int band = 0; band < _parameters.Bands; band++)
        {
            Array.Copy(_bandKeys, band * Capacity, bandKeys, band * capacity, _count);
        }

        _bandKeys = bandKeys;
        Array.Resize(ref _ids, capacity);
        Array.Resize(ref _writtenAt, capacity);
    }
}
