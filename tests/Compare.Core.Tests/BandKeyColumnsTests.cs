using Compare.Core.Clustering;

namespace Compare.Core.Tests;

public sealed class BandKeyColumnsTests
{
    // Chunks hold 65,536 documents: counts on either side of one and two chunk boundaries.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(131_073)]
    public void CopyBand_AcrossChunkBoundaries_GivesEveryKeyInDocumentOrder(int count)
    {
        const int Bands = 3;
        var columns = new BandKeyColumns(Bands);
        for (int d = 0; d < count; d++)
        {
            columns.Add([Key(d, 0), Key(d, 1), Key(d, 2)]);
        }

        Assert.Equal(count, columns.Count);
        for (int band = 0; band < Bands; band++)
        {
            var copied = new ulong[count + 1];
            copied[count] = 42;
            columns.CopyBand(band, copied);
            Assert.Equal(Enumerable.Range(0, count).Select(d => Key(d, band)), copied[..count]);
            Assert.Equal(42UL, copied[count]);
        }
    }

    [Fact]
    public void CandidatePairs_FromColumnsAcrossChunks_EqualThoseFromEachDocumentsKeys()
    {
        // Keys drawn from a small range collide often, including between documents in different chunks.
        var random = new Random(7);
        ulong[][] keys = [.. Enumerable.Range(0, 70_000).Select(_ => new[] { (ulong)random.Next(60_000), (ulong)random.Next(60_000) })];
        var columns = new BandKeyColumns(2);
        foreach (ulong[] documentKeys in keys)
        {
            columns.Add(documentKeys);
        }

        ulong[] pairs = Clusterer.CandidatePairs(columns);

        Assert.Equal(Clusterer.CandidatePairs(keys, 2), pairs);
        Assert.Contains(pairs, p => Clusterer.Unpack(p) is ( < 65_536, >= 65_536));
    }

    [Fact]
    public void Add_WrongNumberOfKeys_IsRefused() =>
        Assert.Throws<ArgumentException>(() => new BandKeyColumns(3).Add([1, 2]));

    private static ulong Key(int document, int band) => ((ulong)band << 40) ^ ((ulong)document * 0x9E3779B97F4A7C15UL);
}
