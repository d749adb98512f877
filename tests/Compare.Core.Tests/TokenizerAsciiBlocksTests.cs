using System.Text;
using Compare.Core.Hashing;
using Compare.Core.Text;

namespace Compare.Core.Tests;

/// <summary>
/// The tokenizer's ASCII blocks (64 characters classified and folded with vectors, words read off bit masks) against its character loop, the
/// reference: the same words, bytes, hashes and offsets for every text, at lengths around the vector widths.
/// </summary>
public sealed class TokenizerAsciiBlocksTests
{
    // Pieces a text is built from: ASCII words and separators, and everything the character loop handles apart.
    private static readonly string[] Pieces =
    [
        "a", "Zx", "the", "Silk", "ROAD", "Economic2016", "42", "0x1F", "SCO", "abcdefghijklmno", "ABCDEFGHIJKLMNOP", "abcdefghijklmnopq",
        " ", "  ", "\n", "\t", ",", ".", "(", ")", "-", "'", "_", "@", "\u007F", "\0",
        "é", "caf\u00e9", "\u00df", "\u0130", "\u03a3\u03bf", "e\u0301", "\u00ad", "\u200d", "\u00a0", "\u2019", "\u201c", "\u2014",
        "\U0001F600", "\U0001D400", "\uD800", "\uDC00", "\u4e2d\u56fd", "\u3042", "\u00bd", "\uff21",
    ];

    private static readonly NormalizationOptions[] Options =
        [NormalizationOptions.Default, new(FoldDigits: true), new(FoldDiacritics: true), new(CjkBigrams: false)];

    [Fact]
    public void AsciiBlocks_RandomTextsAcrossSeveralBlocks_GiveTheCharacterLoopsTokens()
    {
        var random = new Random(2016);
        for (int round = 0; round < 4_000; round++)
        {
            var text = new StringBuilder();
            int target = random.Next(0, 300);
            while (text.Length < target)
            {
                text.Append(random.Next(4) == 0 ? LongAsciiWord(random) : Pieces[random.Next(Pieces.Length)]);
            }

            AssertSameTokens(text.ToString(), Options[round % Options.Length], (ulong)round);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(200)]
    public void AsciiBlocks_OneWordOfEachLength_EndedEveryWay_GiveTheCharacterLoopsTokens(int length)
    {
        string word = new([.. Enumerable.Range(0, length).Select(i => "aZ9qK"[i % 5])]);
        foreach (string end in new[] { "", " ", "é", "\u00ad", "\u2019", "\u4e2d", "\U0001F600", "\uD800", "e\u0301" })
        {
            foreach (string before in new[] { "", " ", "x\u00e9 ", new string('q', 63) + " ", "ab " + new string(' ', 60), new string('z', 70) })
            {
                AssertSameTokens(before + word + end + " tail", NormalizationOptions.Default, 7);
            }
        }
    }

    [Fact]
    public void AsciiBlocks_TheBbcCorpus_GivesTheCharacterLoopsTokens()
    {
        foreach (string text in Corpus.Bbc())
        {
            AssertSameTokens(text, NormalizationOptions.Default, 0x5EED);
        }
    }

    [Fact]
    public void WordHash_WholeWordAndWithSlack_EqualTheByteByByteDefinition()
    {
        var random = new Random(5);
        for (int length = 0; length <= 70; length++)
        {
            byte[] bytes = new byte[length];
            random.NextBytes(bytes);
            // Sixteen bytes of slack, none of them zero: the hash masks what it reads past the word.
            byte[] slack = [.. bytes, .. Enumerable.Repeat((byte)0xA5, 16)];
            Assert.Equal(ByteByByte(bytes, 42), WordHash.Hash(bytes, 42));
            Assert.Equal(ByteByByte(bytes, 42), WordHash.HashWithSlack(ref slack[0], length, 42));
        }
    }

    /// <summary>The hash as the tokenizer computed it before words were hashed whole: a byte at a time into 8-byte lanes.</summary>
    private static ulong ByteByByte(byte[] bytes, ulong seed)
    {
        ulong state = seed, lane = 0;
        for (int k = 0; k < bytes.Length; k++)
        {
            lane |= (ulong)bytes[k] << ((k & 7) << 3);
            if ((k & 7) == 7)
            {
                state = System.Numerics.BitOperations.RotateLeft(state ^ (lane * 0x9E3779B185EBCA87UL), 31) * 0xC2B2AE3D27D4EB4FUL;
                lane = 0;
            }
        }

        ulong mixed = state ^ (lane * 0x165667B19E3779F9UL) ^ ((ulong)bytes.Length * 0x9E3779B185EBCA87UL);
        // MurmurHash3's fmix64.
        mixed = (mixed ^ (mixed >> 33)) * 0xff51afd7ed558ccdUL;
        mixed = (mixed ^ (mixed >> 33)) * 0xc4ceb9fe1a85ec53UL;
        return mixed ^ (mixed >> 33);
    }

    private static string LongAsciiWord(Random random) =>
        new([.. Enumerable.Range(0, random.Next(1, 40)).Select(_ => "abcxyzABCXYZ0189"[random.Next(16)])]);

    private static void AssertSameTokens(string text, NormalizationOptions options, ulong seed)
    {
        var reference = new Recorder(new List<string>());
        Tokenizer.Run(text, options, seed, ref reference, AsciiBlocks.None);
        // Vector256 falls back to the scalar fold where the machine lacks it.
        foreach (AsciiBlocks blocks in new[] { AsciiBlocks.Scalar, AsciiBlocks.Vector256 })
        {
            var fast = new Recorder(new List<string>());
            Tokenizer.Run(text, options, seed, ref fast, blocks);
            Assert.True(reference.Tokens.SequenceEqual(fast.Tokens), $"{blocks}, text {Escape(text)}: {string.Join(" | ", reference.Tokens)} against {string.Join(" | ", fast.Tokens)}");
        }
    }

    private static string Escape(string text) => string.Concat(text.Select(c => c is >= ' ' and < '\u007F' ? c.ToString() : $"\\u{(int)c:x4}"));

    private struct Recorder(List<string> tokens) : ITokenSink
    {
        public readonly List<string> Tokens = tokens;

        public readonly void OnToken(ulong hash, ReadOnlySpan<byte> normalizedUtf8, int start, int end, int codePointStart, int codePointEnd) =>
            Tokens.Add($"{hash:x16} {Convert.ToHexString(normalizedUtf8)} {start}-{end} {codePointStart}-{codePointEnd}");
    }
}
