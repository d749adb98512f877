using Compare.Cli.Input;

namespace Compare.Cli.Tests;

public sealed class StandardInputSourceTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(StandardInputSource.BlockBytes)]
    [InlineData((3 * StandardInputSource.BlockBytes) + 12_345)]
    public void Open_AgainAfterAPartRead_ReplaysEveryByteAndReadsStandardInputOnce(int length)
    {
        byte[] input = new byte[length];
        new Random(length).NextBytes(input);
        int opened = 0;
        using var source = new StandardInputSource(() =>
        {
            opened++;
            return new MemoryStream(input);
        });

        // The first read stops early; opening again reads the rest of standard input before replaying it all.
        using (Stream first = source.Open())
        {
            first.ReadAtLeast(new byte[Math.Min(length, 1000)], Math.Min(length, 1000), throwOnEndOfStream: false);
        }

        for (int replay = 0; replay < 2; replay++)
        {
            using Stream again = source.Open();
            var copy = new MemoryStream();
            again.CopyTo(copy);
            Assert.Equal(input, copy.ToArray());
        }

        Assert.Equal(1, opened);
    }

    [Fact]
    public void Open_InputOverTheLimitEvenCompressed_IsRefusedNamingAFileAsTheWayOut()
    {
        // Random bytes do not compress: five blocks against a limit of one megabyte.
        byte[] input = new byte[5 * StandardInputSource.BlockBytes];
        new Random(5).NextBytes(input);
        using var source = new StandardInputSource(() => new MemoryStream(input), limit: 1 << 20);
        using Stream stream = source.Open();

        IOException refused = Assert.Throws<IOException>(() => stream.CopyTo(Stream.Null));

        Assert.Contains("give the input as a file", refused.Message, StringComparison.Ordinal);
    }
}
