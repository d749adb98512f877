using System.Text;
using Compare.Cli.Input;

namespace Compare.Cli.Tests;

public sealed class JsonRecordFastPathTests
{
    private static readonly InputFields Fields = new();

    private static readonly string[] StringPieces =
    [
        "plain words", "", " ", "é", "😀", "中文", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\b\\f\\r", "\\u00e9", "\\u20AC", "\\u0000",
        "\\uD83D\\uDE00", "\\uD800", "\\uDC00x", "\\x", "\\u12", "\\", "\t", "\u0001", "\"", "{", "}", ",", ":",
    ];

    private static readonly byte[][] InvalidUtf8 = [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0xAF]];

    private static readonly string[] OtherValues =
    [
        "0", "-0", "12", "-3.25", "1e10", "2E-3", "6.02e+23", "01", "1.", ".5", "-", "1e", "true", "false", "null", "nul", "truex",
        "{\"a\":1}", "[1,2]", "[]", "{}", "\"s\"",
    ];

    [Fact]
    public void TryRead_RandomAndBrokenRecords_AcceptsOnlyWhatTheReaderAcceptsWithTheSameIdAndText()
    {
        var random = new Random(2016);
        int accepted = 0;
        for (int n = 0; n < 30_000; n++)
        {
            byte[] line = RandomLine(random);
            char[] fastText = new char[Math.Max(1, line.Length)], referenceText = new char[Math.Max(1, line.Length)];
            bool fast = JsonRecordFastPath.TryRead(line, "id"u8, "text"u8, fastText, out string? fastId, out int fastLength);
            List<string>? names = null;
            string? referenceId = DocumentReader.ReadRecord(line, Fields, "id"u8, "text"u8, referenceText, out int referenceLength, null, ref names, out string? reason);
            if (!fast)
            {
                continue;
            }

            accepted++;
            string shown = Encoding.UTF8.GetString(line);
            Assert.True(reason is null, $"{shown}: the reader says {reason}");
            Assert.Equal(referenceId, fastId);
            Assert.Equal(new string(referenceText, 0, referenceLength), new string(fastText, 0, fastLength));
        }

        // The generator makes well-formed records often enough that the fast path is exercised, not only refused.
        Assert.InRange(accepted, 3_000, 29_000);
    }

    [Fact]
    public void TryRead_TheBbcCorpus_TakesEveryLineWithTheReadersIdAndText()
    {
        foreach (string text in File.ReadLines(TestData.BbcPath))
        {
            byte[] line = Encoding.UTF8.GetBytes(text);
            char[] fastText = new char[line.Length], referenceText = new char[line.Length];
            Assert.True(JsonRecordFastPath.TryRead(line, "id"u8, "text"u8, fastText, out string? id, out int length));
            List<string>? names = null;
            Assert.Equal(DocumentReader.ReadRecord(line, Fields, "id"u8, "text"u8, referenceText, out int referenceLength, null, ref names, out _), id);
            Assert.Equal(new string(referenceText, 0, referenceLength), new string(fastText, 0, length));
        }
    }

    private static byte[] RandomLine(Random random)
    {
        var line = new List<byte>();
        void Add(string s) => line.AddRange(Encoding.UTF8.GetBytes(s));
        void Space()
        {
            if (random.Next(4) == 0)
            {
                Add(random.Next(3) switch { 0 => " ", 1 => "\t", _ => "  \r" });
            }
        }

        void String()
        {
            Add("\"");
            for (int k = random.Next(6); k > 0; k--)
            {
                if (random.Next(40) == 0)
                {
                    line.AddRange(InvalidUtf8[random.Next(InvalidUtf8.Length)]);
                }
                else if (random.Next(3) == 0)
                {
                    // A run of plain text of any length, so that escapes and the rest fall at every offset of a 32-byte block.
                    Add(new string([.. Enumerable.Range(0, random.Next(1, 90)).Select(_ => " abcdefghijklmnopqrstuvwxyzABC0123456789.,'~"[random.Next(44)])]));
                }
                else
                {
                    // Mostly pieces that keep the string well formed; now and then one that breaks it.
                    Add(StringPieces[random.Next(random.Next(5) == 0 ? StringPieces.Length : 16)]);
                }
            }

            Add("\"");
        }

        Space();
        Add(random.Next(60) == 0 ? "[" : "{");
        var keys = new List<string> { "id", "text" };
        for (int extra = random.Next(3); extra > 0; extra--)
        {
            keys.Add(random.Next(4) == 0 ? "i\\u0064" : $"f{random.Next(3)}");
        }

        if (random.Next(10) == 0)
        {
            keys.Add(random.Next(2) == 0 ? "id" : "text");
        }

        if (random.Next(30) == 0)
        {
            keys.Remove(random.Next(2) == 0 ? "id" : "text");
        }

        foreach (string key in keys.OrderBy(_ => random.Next()))
        {
            Space();
            Add($"\"{key}\"");
            Space();
            Add(random.Next(80) == 0 ? "=" : ":");
            Space();
            if (key == "text" ? random.Next(20) != 0 : key == "id" ? random.Next(3) != 0 : random.Next(2) == 0)
            {
                String();
            }
            else
            {
                Add(OtherValues[random.Next(OtherValues.Length)]);
            }

            Space();
            Add(random.Next(60) == 0 ? ";" : ",");
        }

        line.RemoveAt(line.Count - 1);
        if (random.Next(40) == 0)
        {
            Add(",");
        }

        Add(random.Next(60) == 0 ? "" : "}");
        Space();
        if (random.Next(60) == 0)
        {
            Add(random.Next(2) == 0 ? "x" : "{}");
        }

        return [.. line];
    }
}
