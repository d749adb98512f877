using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Compare.Server.Storage;

namespace Compare.Server.Tests;

public sealed class DocumentHashTests
{
    // The stored definition written out: XXH3 (seed 0) of the text's UTF-8 bytes, then of each metadata entry in ordinal key
    // order, its key's and value's UTF-8 byte lengths (32-bit little-endian) and their bytes. All in one call.
    private static ulong Reference(string text, IReadOnlyDictionary<string, string> metadata)
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(text));
        foreach ((string key, string value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            byte[] k = Encoding.UTF8.GetBytes(key), v = Encoding.UTF8.GetBytes(value);
            var lengths = new byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(lengths, k.Length);
            BinaryPrimitives.WriteInt32LittleEndian(lengths.AsSpan(4), v.Length);
            bytes.AddRange(lengths);
            bytes.AddRange(k);
            bytes.AddRange(v);
        }

        return XxHash3.HashToUInt64(bytes.ToArray());
    }

    [Fact]
    public void Of_IsXxh3OfTheTextAndSortedMetadata_ForTextsHashedWholeAndInSlices()
    {
        var random = new Random(5);
        string Text(int length) => new([.. Enumerable.Range(0, length).Select(_ => random.Next(20) switch
        {
            0 => 'é',
            1 => '中',
            2 => '\uD800', // a lone surrogate: encoded as U+FFFD, the same in every path
            _ => (char)('a' + random.Next(26)),
        })]);

        // Around the length hashed whole (64 Ki chars) and the slice of 4,096 chars, a surrogate pair across a slice's end.
        string[] texts =
        [
            "", "a", "The Silk Road Economic Belt", Text(4095) + "😀" + Text(10), Text(64 * 1024 - 1), Text(64 * 1024), Text(64 * 1024 + 1), Text(200_000),
        ];
        IReadOnlyDictionary<string, string>[] metadatas =
        [
            new Dictionary<string, string>(),
            new Dictionary<string, string> { ["source"] = "bbc" },
            new Dictionary<string, string> { ["z"] = "1", ["a"] = "ü", ["B"] = "" },
        ];
        foreach (string text in texts)
        {
            foreach (IReadOnlyDictionary<string, string> metadata in metadatas)
            {
                Assert.Equal(Reference(text, metadata), DocumentHash.Of(text, metadata));
            }
        }
    }
}
