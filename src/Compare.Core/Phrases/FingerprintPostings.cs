using System.Buffers;
using System.Diagnostics;
using Compare.Core.Hashing;

namespace Compare.Core.Phrases;

/// <summary>
/// Every (fingerprint, document) of a corpus, 8 bytes each, packed as <c>fingerprint &lt;&lt; 32 | document</c>. They are
/// kept in 256 partitions by the fingerprint's low byte, in chunks, so that nothing is copied as they grow; each partition
/// is then sorted on its own (a 256th of the scratch one sort of them all would need) and dropped, keeping only the
/// fingerprints that several documents share. Most fingerprints are held by one document.
/// </summary>
internal sealed class FingerprintPostings
{
    private const int Partitions = 256;

    // A partition's chunks double from 1,024 postings (8 KB) to 16,384 (128 KB): a small corpus wastes little in 256
    // partitions, and a large one's chunks are allocated past the large-object threshold, where the collector never copies
    // them as it would copy smaller ones surviving into older generations.
    private const int FirstChunkLength = 1024;
    private const int MaxChunkLength = 16384;

    private readonly List<ulong[]>?[] _chunks = new List<ulong[]>?[Partitions];
    private readonly int[] _lastChunkCount = new int[Partitions];

    /// <summary>Adds that <paramref name="document"/> holds <paramref name="fingerprint"/>.</summary>
    public void Add(uint fingerprint, int document)
    {
        int partition = (int)(fingerprint & (Partitions - 1));
        List<ulong[]> chunks = _chunks[partition] ??= [];
        if (chunks.Count == 0 || _lastChunkCount[partition] == chunks[^1].Length)
        {
            chunks.Add(new ulong[Math.Min(MaxChunkLength, FirstChunkLength << Math.Min(chunks.Count, 4))]);
            _lastChunkCount[partition] = 0;
        }

        chunks[^1][_lastChunkCount[partition]++] = ((ulong)fingerprint << 32) | (uint)document;
    }

    /// <summary>
    /// The postings of fingerprints held by 2 to <paramref name="maxHolders"/> documents, each fingerprint's a run sorted
    /// by document, and how many fingerprints more documents hold. Consumes the postings: each partition is dropped once
    /// sorted.
    /// </summary>
    public (ulong[] Shared, int Boilerplate) TakeShared(int maxHolders, CancellationToken cancellationToken)
    {
        var kept = new ulong[Partitions][];
        var boilerplate = new int[Partitions];
        Parallel.For(0, Partitions, new ParallelOptions { CancellationToken = cancellationToken }, partition =>
        {
            (kept[partition], boilerplate[partition]) = SharedIn(partition, maxHolders);
            _chunks[partition] = null;
        });

        var shared = new ulong[kept.Sum(k => (long)k.Length)];
        int at = 0;
        foreach (ulong[] part in kept)
        {
            part.CopyTo(shared, at);
            at += part.Length;
        }

        return (shared, boilerplate.Sum());
    }

    private (ulong[] Shared, int Boilerplate) SharedIn(int partition, int maxHolders)
    {
        List<ulong[]>? chunks = _chunks[partition];
        if (chunks is null)
        {
            return ([], 0);
        }

        int length = chunks.Take(chunks.Count - 1).Sum(c => c.Length) + _lastChunkCount[partition];
        ulong[] rented = ArrayPool<ulong>.Shared.Rent(length);
        try
        {
            Span<ulong> postings = rented.AsSpan(0, length);
            int at = 0;
            for (int c = 0; c < chunks.Count; c++)
            {
                int filled = c == chunks.Count - 1 ? _lastChunkCount[partition] : chunks[c].Length;
                chunks[c].AsSpan(0, filled).CopyTo(postings[at..]);
                at += filled;
            }

            // The partition's fingerprints share their low byte only: the high bits, which the sort buckets by, are uniform.
            HashSort.Sort(postings);
            var shared = new List<ulong>();
            int boilerplate = 0;
            for (int start = 0, end; start < postings.Length; start = end)
            {
                end = RunEnd(postings, start);
                if (end - start > maxHolders)
                {
                    boilerplate++;
                }
                else if (end - start > 1)
                {
                    shared.AddRange(postings[start..end]);
                }
            }

            return ([.. shared], boilerplate);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>Where the run of postings sharing <paramref name="sorted"/>[<paramref name="start"/>]'s fingerprint ends.</summary>
    public static int RunEnd(ReadOnlySpan<ulong> sorted, int start)
    {
        Debug.Assert(start < sorted.Length, "a run starts inside the postings");
        uint fingerprint = (uint)(sorted[start] >> 32);
        int end = start + 1;
        while (end < sorted.Length && (uint)(sorted[end] >> 32) == fingerprint)
        {
            end++;
        }

        return end;
    }
}
