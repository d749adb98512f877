using System.Diagnostics;

namespace Compare.Core.Clustering;

/// <summary>
/// Each band's keys in document order, grown a fixed-size chunk at a time: a million documents' keys are written once
/// and never copied into a larger array, as a list's would be each time it doubled. Memory touched for the first time
/// is most of what a million documents cost on a VM.
/// </summary>
public sealed class BandKeyColumns
{
    private const int ChunkShift = 16;
    private const int ChunkLength = 1 << ChunkShift;
    private readonly List<ulong[]>[] _chunks;

    /// <summary>Creates empty columns for <paramref name="bands"/> bands.</summary>
    public BandKeyColumns(int bands)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bands);
        _chunks = new List<ulong[]>[bands];
        for (int band = 0; band < bands; band++)
        {
            _chunks[band] = [];
        }
    }

    /// <summary>The number of bands.</summary>
    public int Bands => _chunks.Length;

    /// <summary>The number of documents added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds the next document's keys, one a band.</summary>
    public void Add(ReadOnlySpan<ulong> keys)
    {
        if (keys.Length != _chunks.Length)
        {
            throw new ArgumentException($"Expected {_chunks.Length} band keys, got {keys.Length}.", nameof(keys));
        }

        int at = Count & (ChunkLength - 1);
        for (int band = 0; band < keys.Length; band++)
        {
            if (at == 0)
            {
                // Every slot is written before it is read: zeroing first would touch the memory twice.
                _chunks[band].Add(GC.AllocateUninitializedArray<ulong>(ChunkLength));
            }

            _chunks[band][^1][at] = keys[band];
        }

        Count++;
    }

    /// <summary>Copies <paramref name="band"/>'s keys, in document order, to the first <see cref="Count"/> slots of <paramref name="destination"/>.</summary>
    public void CopyBand(int band, Span<ulong> destination)
    {
        Debug.Assert(destination.Length >= Count, "The destination holds every document's key.");
        List<ulong[]> chunks = _chunks[band];
        for (int chunk = 0; chunk < chunks.Count; chunk++)
        {
            int start = chunk << ChunkShift;
            chunks[chunk].AsSpan(0, Math.Min(ChunkLength, Count - start)).CopyTo(destination[start..]);
        }
    }
}
