using Compare.Server.Storage.Redis;

namespace Compare.Server.Tests;

/// <summary>The Redis store's binary version records, on their own.</summary>
public sealed class RedisRecordsTests
{
    [Theory]
    [InlineData(0L, 0)]
    [InlineData(4095L, 1)]
    [InlineData(4096L, 176)]
    [InlineData(4100L, 0)]
    [InlineData(1L << 20, 999)]
    [InlineData((1L << 32) + 7, (1 << 24) - 1)]
    [InlineData(GroupEntry.MaxHandle, 12_345)]
    public void Version_EncodedAndDecoded_KeepsEveryField(long sequence, int passages)
    {
        var version = new RedisVersion(0xFEDC_BA98_7654_3210UL, 2_653, 1_796_336_646_810, sequence, passages);

        RedisVersion decoded = RedisVersion.Decode(version.Encode())!;

        Assert.Equal(version, decoded);
        Assert.Equal(sequence, decoded.Handle);
    }

    [Fact]
    public void Version_MorePassagesThanItsFieldHolds_KeepsItsSequenceAndTheLargestCount()
    {
        RedisVersion decoded = RedisVersion.Decode(new RedisVersion(1, 2, 3, 4_100, 1 << 25).Encode())!;

        Assert.Equal((4_100L, (1 << 24) - 1), (decoded.Sequence, decoded.Passages));
    }
}
