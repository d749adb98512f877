using Compare.Core.Clustering;

namespace Compare.Core.Tests;

public sealed class ReadingBlocksTests
{
    // Blocks checked by brute force on pairs near and far: no moment of a block's reading holds more than the budget
    // (unless one document alone does), and a block ends only where its next document would not fit.
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(40)]
    public void Ends_PairsNearAndFar_HoldNoMoreThanTheBudgetAndEndOnlyWhereTheNextDoesNotFit(int budgetInDocuments)
    {
        const int Documents = 2000;
        var random = new Random(budgetInDocuments);
        int[] lengths = [.. Enumerable.Range(0, Documents).Select(_ => random.Next(100, 10_000))]; // a document's bytes
        var pairs = new HashSet<ulong>();
        for (int k = 0; k < 3000; k++)
        {
            int a = random.Next(Documents - 1);
            int b = random.Next(2) == 0 ? Math.Min(a + 1 + random.Next(20), Documents - 1) : a + 1 + random.Next(Documents - a - 1);
            pairs.Add(Clusterer.Pack(a, b));
        }

        ulong[] sorted = [.. pairs.Order()];
        long budget = budgetInDocuments * 5000L;
        List<int> ends = ReadingBlocks.Ends(sorted, Documents, d => lengths[d], budget);

        int[] last = Enumerable.Repeat(-1, Documents).ToArray();
        foreach ((int left, int right) in sorted.Select(Clusterer.Unpack))
        {
            last[left] = Math.Max(last[left], right);
        }

        long Bytes(IEnumerable<int> documents) => documents.Sum(d => (long)lengths[d]);
        int start = 0;
        foreach (int end in ends)
        {
            int[] earlier = [.. Enumerable.Range(start, end - start).Where(d => last[d] >= 0)];
            for (int t = start; t < Documents; t++)
            {
                int[] heldNow = [.. earlier.Where(d => d <= t && t <= last[d])];
                Assert.True(Bytes(heldNow) <= budget || heldNow.Length == 1, $"block {start}-{end} holds {Bytes(heldNow)} at {t}");
            }

            if (end < Documents)
            {
                Assert.True(last[end] >= 0);
                Assert.True(Bytes(earlier.Where(d => last[d] >= end)) + lengths[end] > budget, $"block {start}-{end} ended early");
            }

            start = end;
        }

        Assert.Equal(Documents, ends[^1]);
        Assert.True(budgetInDocuments > 20 || ends.Count > 10, $"{ends.Count} blocks");
    }

    [Fact]
    public void PairRanges_EverythingFits_IsOneRangeOfEveryPair()
    {
        ulong[] pairs = [Clusterer.Pack(0, 5), Clusterer.Pack(0, 9), Clusterer.Pack(3, 4), Clusterer.Pack(7, 8)];

        Assert.Equal([(0, 4)], ReadingBlocks.PairRanges(pairs, 10, _ => 100, budget: 1000));
        Assert.Equal([(0, 2), (2, 4)], ReadingBlocks.PairRanges(pairs, 10, _ => 100, budget: 100));
    }
}
