using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Compare.Core.Hashing;
using Compare.Core.Lsh;
using Compare.Core.Similarity;

namespace Compare.Core.Clustering;

/// <summary>
/// Candidate pairs from LSH bands, verified with exact Jaccard, merged with union-find.
/// Works on document positions 0..n-1; callers map positions to their ids.
/// </summary>
public static class Clusterer
{
    /// <summary>
    /// Buckets larger than this are linked as a star (every member paired with the first)
    /// rather than all pairs: thousands of copies of one boilerplate page stay linear.
    /// </summary>
    public const int MaxBucketForAllPairs = 64;

    /// <summary>Candidate pairs (as <c>left &lt;&lt; 32 | right</c>, left &lt; right, distinct, ascending) from banding the signatures.</summary>
    public static ulong[] CandidatePairs(IReadOnlyList<uint[]> signatures, LshParameters lsh, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signatures);
        return CandidatePairs(lsh.Bands, signatures.Count, (band, keys) =>
        {
            for (int d = 0; d < keys.Length; d++)
            {
                keys[d] = LshIndex.BandKey(signatures[d], band, lsh.Rows);
            }
        }, cancellationToken);
    }

    /// <summary>The same pairs from band keys already computed: <paramref name="bandKeys"/>[d][band], as <see cref="LshIndex.BandKeys"/> gives them.</summary>
    public static ulong[] CandidatePairs(IReadOnlyList<ulong[]> bandKeys, int bands, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bandKeys);
        return CandidatePairs(bands, bandKeys.Count, (band, keys) =>
        {
            for (int d = 0; d < keys.Length; d++)
            {
                keys[d] = bandKeys[d][band];
            }
        }, cancellationToken);
    }

    /// <summary>The same pairs from each band's keys in document order.</summary>
    public static ulong[] CandidatePairs(BandKeyColumns columns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        return CandidatePairs(columns.Bands, columns.Count, columns.CopyBand, cancellationToken);
    }

    /// <summary>Writes a band's keys in document order into <paramref name="keys"/>, one a document.</summary>
    private delegate void BandKeysOf(int band, Span<ulong> keys);

    /// <summary>
    /// Pairs from each band's keys, sorted with the documents' positions beside them in buffers from the pool: the few
    /// bands sorted at once reuse the same memory.
    /// </summary>
    private static ulong[] CandidatePairs(int bands, int count, BandKeysOf keysOfBand, CancellationToken cancellationToken)
    {
        var pairs = new ConcurrentBag<ulong[]>();
        Parallel.For(0, bands, new ParallelOptions { CancellationToken = cancellationToken }, band =>
        {
            ulong[] rentedKeys = ArrayPool<ulong>.Shared.Rent(count);
            int[] rentedOrder = ArrayPool<int>.Shared.Rent(count);
            Span<ulong> keys = rentedKeys.AsSpan(0, count);
            Span<int> order = rentedOrder.AsSpan(0, count);
            keysOfBand(band, keys);
            for (int d = 0; d < count; d++)
            {
                order[d] = d;
            }

            HashSort.Sort(keys, order);
            var found = new List<ulong>();
            var group = new List<int>();
            for (int start = 0; start < count;)
            {
                int end = start + 1;
                while (end < count && keys[end] == keys[start])
                {
                    end++;
                }

                if (end - start > 1)
                {
                    group.Clear();
                    for (int k = start; k < end; k++)
                    {
                        group.Add(order[k]);
                    }

                    AddBucketPairs(group, found);
                }

                start = end;
            }

            ArrayPool<int>.Shared.Return(rentedOrder);
            ArrayPool<ulong>.Shared.Return(rentedKeys);
            pairs.Add([.. found]);
        });

        return SortDistinct(pairs.SelectMany(p => p));
    }

    /// <summary>Adds the pairs of one bucket: all pairs when small, a star from the first-seen member when large.</summary>
    public static void AddBucketPairs(List<int> bucket, List<ulong> pairs)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        ArgumentNullException.ThrowIfNull(pairs);
        if (bucket.Count > MaxBucketForAllPairs)
        {
            int hub = bucket.Min();
            foreach (int member in bucket)
            {
                if (member != hub)
                {
                    pairs.Add(Pack(hub, member));
                }
            }

            return;
        }

        for (int a = 0; a < bucket.Count; a++)
        {
            for (int b = a + 1; b < bucket.Count; b++)
            {
                pairs.Add(Pack(bucket[a], bucket[b]));
            }
        }
    }

    /// <summary>Sorts packed pairs and removes repeats.</summary>
    public static ulong[] SortDistinct(IEnumerable<ulong> pairs)
    {
        ulong[] all = [.. pairs];
        Array.Sort(all);
        int write = 0;
        for (int read = 0; read < all.Length; read++)
        {
            if (write == 0 || all[read] != all[write - 1])
            {
                all[write++] = all[read];
            }
        }

        return all[..write];
    }

    /// <summary>
    /// Verifies <paramref name="candidatePairs"/> against <paramref name="threshold"/> with exact
    /// Jaccard over <paramref name="shingles"/> and merges the survivors into clusters.
    /// </summary>
    /// <param name="documentCount">Number of documents (positions 0..n-1).</param>
    /// <param name="candidatePairs">Packed candidate pairs from <see cref="CandidatePairs(IReadOnlyList{uint[]}, LshParameters, CancellationToken)"/>.</param>
    /// <param name="shingles">Sorted distinct shingle hashes of a document.</param>
    /// <param name="threshold">Minimum exact Jaccard of a duplicate pair.</param>
    /// <param name="rank">Representative preference: the member with the lowest rank wins, ties to the lowest position.</param>
    /// <param name="progress">Receives verification progress.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    public static ClusteringResult Cluster(int documentCount, ulong[] candidatePairs, Func<int, ulong[]> shingles, double threshold,
        Func<int, long> rank, IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidatePairs);
        ArgumentNullException.ThrowIfNull(shingles);
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        var verified = new double[candidatePairs.Length];
        long done = 0;
        Verify(candidatePairs, null, 0, candidatePairs.Length, shingles, verified, options,
            count => progress?.Report(new ClusteringProgress(ClusteringStage.Verifying, Interlocked.Add(ref done, count), candidatePairs.Length)));
        return Cluster(documentCount, candidatePairs, verified, threshold, rank, others =>
        {
            var jaccards = new double[others.Length];
            Verify(others, null, 0, others.Length, shingles, jaccards, options, _ => { });
            return jaccards;
        }, progress, cancellationToken);
    }

    /// <summary>
    /// Merges the candidate pairs whose exact Jaccard (<paramref name="verified"/>, one per pair) reaches
    /// <paramref name="threshold"/> into clusters. Each member is scored against its cluster's representative:
    /// from <paramref name="verified"/> when they were a candidate pair, else from <paramref name="otherPairs"/>, asked
    /// once with every such pair (packed, distinct, ascending) and answering one Jaccard each.
    /// </summary>
    public static ClusteringResult Cluster(int documentCount, ulong[] candidatePairs, double[] verified, double threshold,
        Func<int, long> rank, Func<ulong[], double[]> otherPairs, IProgress<ClusteringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidatePairs);
        ArgumentNullException.ThrowIfNull(verified);
        ArgumentNullException.ThrowIfNull(rank);
        ArgumentNullException.ThrowIfNull(otherPairs);
        var pairs = new List<DuplicatePair>();
        var sets = new UnionFind(documentCount);
        for (int p = 0; p < candidatePairs.Length; p++)
        {
            if (verified[p] >= threshold && verified[p] > 0)
            {
                (int left, int right) = Unpack(candidatePairs[p]);
                pairs.Add(new DuplicatePair(left, right, verified[p]));
                sets.Union(left, right);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        List<(int Representative, List<int> Members)> groups = Groups(pairs, sets, rank);
        ulong[] others = SortDistinct(groups.SelectMany(g => g.Members.Where(m => m != g.Representative).Select(m => Pack(m, g.Representative)))
            .Where(pair => Array.BinarySearch(candidatePairs, pair) < 0));
        double[] otherJaccards = others.Length == 0 ? [] : otherPairs(others);
        double Similarity(int a, int b)
        {
            ulong pair = Pack(a, b);
            int at = Array.BinarySearch(candidatePairs, pair);
            return at >= 0 ? verified[at] : otherJaccards[Array.BinarySearch(others, pair)];
        }

        var clusters = new List<DuplicateCluster>(groups.Count);
        foreach ((int representative, List<int> members) in groups)
        {
            var ordered = new List<ClusterMember>(members.Count) { new(representative, 1.0) };
            ordered.AddRange(members.Where(m => m != representative).Select(m => new ClusterMember(m, Similarity(m, representative))));
            clusters.Add(new DuplicateCluster(representative, ordered));
        }

        clusters.Sort((a, b) => a.Representative.CompareTo(b.Representative));
        progress?.Report(new ClusteringProgress(ClusteringStage.Clustering, clusters.Count, clusters.Count));
        return new ClusteringResult(documentCount, candidatePairs.Length, pairs, clusters);
    }

    /// <summary>
    /// Exact Jaccard of <paramref name="pairs"/>[<paramref name="order"/>[k]] (of <paramref name="pairs"/>[k] when
    /// <paramref name="order"/> is null) for k in [<paramref name="from"/>, <paramref name="to"/>), into the same
    /// index of <paramref name="jaccards"/>, on the pool a chunk at a time; <paramref name="verified"/> hears each chunk's size.
    /// </summary>
    internal static void Verify(ulong[] pairs, int[]? order, int from, int to, Func<int, ulong[]?> shingles, double[] jaccards,
        ParallelOptions options, Action<int> verified)
    {
        const int Chunk = 4096;
        Parallel.For(0, (to - from + Chunk - 1) / Chunk, options, chunk =>
        {
            int start = from + (chunk * Chunk), end = Math.Min(to, start + Chunk);
            for (int k = start; k < end; k++)
            {
                int p = order is null ? k : order[k];
                (int left, int right) = Unpack(pairs[p]);
                ulong[]? a = shingles(left), b = shingles(right);
                Debug.Assert(a is not null && b is not null, "Both sets of a pair are held while it is verified.");
                jaccards[p] = SetSimilarity.Jaccard(a, b);
            }

            verified(end - start);
        });
    }

    /// <summary>The clusters of <paramref name="pairs"/>: members ascending, each with its lowest-ranked member.</summary>
    private static List<(int Representative, List<int> Members)> Groups(List<DuplicatePair> pairs, UnionFind sets, Func<int, long> rank)
    {
        // Each document once, however many pairs name it: a cluster of thousands stays linear.
        var grouped = new HashSet<int>();
        var groups = new Dictionary<int, List<int>>();
        foreach (DuplicatePair pair in pairs)
        {
            foreach (int document in (ReadOnlySpan<int>)[pair.Left, pair.Right])
            {
                if (!grouped.Add(document))
                {
                    continue;
                }

                int root = sets.Find(document);
                if (!groups.TryGetValue(root, out List<int>? members))
                {
                    groups[root] = members = [];
                }

                members.Add(document);
            }
        }

        var result = new List<(int, List<int>)>(groups.Count);
        foreach (List<int> members in groups.Values)
        {
            members.Sort();
            int representative = members[0];
            foreach (int member in members)
            {
                if (rank(member) < rank(representative))
                {
                    representative = member;
                }
            }

            result.Add((representative, members));
        }

        return result;
    }

    /// <summary>Packs a pair with the smaller position first.</summary>
    public static ulong Pack(int a, int b) => a < b ? ((ulong)(uint)a << 32) | (uint)b : ((ulong)(uint)b << 32) | (uint)a;

    /// <summary>Unpacks a pair made by <see cref="Pack"/>.</summary>
    public static (int Left, int Right) Unpack(ulong pair) => ((int)(pair >> 32), (int)(uint)pair);
}
