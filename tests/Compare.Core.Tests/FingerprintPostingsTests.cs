using Compare.Core.Phrases;

namespace Compare.Core.Tests;

public sealed class FingerprintPostingsTests
{
    // Postings crowded into two partitions (their fingerprints share a low byte), so each fills chunks of every size
    // up to the largest; fingerprints held once, by a few documents, and by more than the boilerplate limit.
    [Fact]
    public void TakeShared_ManyChunksAPartition_KeepsExactlyTheFingerprintsAFewDocumentsHoldAsRuns()
    {
        const int MaxHolders = 10;
        var random = new Random(18);
        var postings = new List<(uint Fingerprint, int Document)>();
        for (int k = 0; k < 30_000; k++)
        {
            uint fingerprint = ((uint)random.Next(1 << 24) << 8) | (uint)(k % 2 == 0 ? 0 : 7);
            int holders = (k % 10) switch { < 6 => 1, < 9 => random.Next(2, MaxHolders + 1), _ => random.Next(MaxHolders + 1, 30) };
            postings.AddRange(Enumerable.Range(0, holders).Select(_ => (fingerprint, random.Next(1_000_000))));
        }

        // A document holds each of its fingerprints once.
        postings = [.. postings.Distinct()];
        var store = new FingerprintPostings();
        foreach ((uint fingerprint, int document) in postings)
        {
            store.Add(fingerprint, document);
        }

        (ulong[] shared, int boilerplate) = store.TakeShared(MaxHolders, CancellationToken.None);

        var groups = postings.GroupBy(p => p.Fingerprint, p => p.Document).ToList();
        var expected = groups.Where(g => g.Count() is > 1 and <= MaxHolders).ToDictionary(g => g.Key, g => g.Order().ToArray());
        Assert.Equal(groups.Count(g => g.Count() > MaxHolders), boilerplate);
        var actual = new Dictionary<uint, int[]>();
        for (int start = 0, end; start < shared.Length; start = end)
        {
            end = FingerprintPostings.RunEnd(shared, start);
            actual.Add((uint)(shared[start] >> 32), [.. shared[start..end].Select(p => (int)(uint)p)]);
        }

        Assert.True(expected.Count > 5000, $"{expected.Count} shared fingerprints");
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(a => a.Key));
    }
}
