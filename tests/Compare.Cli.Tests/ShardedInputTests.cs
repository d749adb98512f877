using System.IO.Compression;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace Compare.Cli.Tests;

/// <summary>
/// A corpus in shards: several input files read as one corpus in the order given, of any kinds the CLI reads, answering
/// as the same documents in one file do; --output-corpus writes each shard's kept records under its name.
/// </summary>
public sealed class ShardedInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("compare-shards-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = await CompareCli.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    // The second readings of both commands run in several passes (16 MB), so they cross from shard to shard more than once.
    [Theory]
    [InlineData("dedup", "--pairs")]
    [InlineData("reuse", "--output")]
    public async Task BatchCommand_BbcInShardsOfEveryKind_AnswersAsTheWholeFile(string command, string fileOption)
    {
        string[] shards = await BbcShards.WriteAsync(_dir);
        string fromShards = Path.Combine(_dir, "from-shards.jsonl"), fromWhole = Path.Combine(_dir, "from-whole.jsonl");

        (int exit, string output, string error) = await RunAsync([command, .. shards, fileOption, fromShards, "--max-held-mb", "16"]);
        (int wholeExit, string wholeOutput, string wholeError) = await RunAsync(command, TestData.BbcPath, fileOption, fromWhole, "--max-held-mb", "16");

        Assert.True(exit == 0 && wholeExit == 0, error + wholeError);
        Assert.Equal(wholeOutput, output);
        string found = await File.ReadAllTextAsync(fromShards);
        Assert.True(found.Split('\n').Length > 100, found);
        Assert.Equal(await File.ReadAllTextAsync(fromWhole), found);
        Assert.Contains($"{TestData.BbcCorpus().Count:N0} documents", error, StringComparison.Ordinal);
        Assert.Equal(command == "reuse", error.Contains("2 readings to compare them", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OutputCorpus_Shards_WritesEachShardsKeptRecordsUnderItsNameUncompressed()
    {
        string[] shards = await BbcShards.WriteAsync(_dir);
        // A fifth shard of copies of the first shard's first ten articles under new ids: every one of them is dropped.
        string copies = Path.Combine(_dir, "copies.jsonl");
        await File.WriteAllLinesAsync(copies, TestData.BbcCorpus().Take(10).Select(d => BbcShards.JsonLine("copy-" + d.Id, d.Text)));
        string output = Path.Combine(_dir, "kept"), keep = Path.Combine(_dir, "keep.txt");

        (int exit, _, string error) = await RunAsync(["dedup", .. shards, copies, "--output-corpus", output, "--keep", keep]);

        Assert.True(exit == 0, error);
        string[] kept = await File.ReadAllLinesAsync(keep);
        Assert.DoesNotContain(kept, id => id.StartsWith("copy-", StringComparison.Ordinal));
        Assert.Equal(["a.jsonl", "b.jsonl.gz", "c.parquet", "copies.jsonl", "d.csv", "e.jsonl.zst"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(0, new FileInfo(Path.Combine(output, "copies.jsonl")).Length);
        // Each shard's file holds its own kept records in order, compressed as the shard was: JSON lines byte for byte, the
        // Parquet rows, the CSV records.
        List<string> written = [];
        foreach (string shard in shards)
        {
            string target = Path.Combine(output, Path.GetFileName(shard));
            string[] ids = await IdsAsync(target);
            if (!target.EndsWith(".parquet", StringComparison.Ordinal) && !target.EndsWith(".csv", StringComparison.Ordinal))
            {
                string[] lines = Lines(await TextOfAsync(shard));
                Assert.Equal(lines.Where(l => ids.Contains(JsonDocument.Parse(l).RootElement.GetProperty("id").GetString())), Lines(await TextOfAsync(target)));
            }

            written.AddRange(ids);
        }

        Assert.Equal(kept, written);
    }

    [Fact]
    public async Task Dedup_AFolderOfShards_ReadsThemInPathOrder_AndOutputCorpusMirrorsTheFolder()
    {
        string corpus = Path.Combine(_dir, "corpus");
        Directory.CreateDirectory(Path.Combine(corpus, "part2"));
        string[] shards = await BbcShards.WriteAsync(corpus);
        foreach (string later in shards[2..])
        {
            File.Move(later, Path.Combine(corpus, "part2", Path.GetFileName(later)));
        }

        await File.WriteAllTextAsync(Path.Combine(corpus, "README.md"), "Files the CLI does not read are left alone.");
        string output = Path.Combine(_dir, "kept"), keep = Path.Combine(_dir, "keep.txt"), wholeKeep = Path.Combine(_dir, "whole-keep.txt");

        (int exit, string clusters, string error) = await RunAsync("dedup", corpus, "--output-corpus", output, "--keep", keep);
        (int wholeExit, string wholeClusters, string wholeError) = await RunAsync("dedup", TestData.BbcPath, "--keep", wholeKeep);

        Assert.True(exit == 0 && wholeExit == 0, error + wholeError);
        Assert.Equal(wholeClusters, clusters);
        Assert.Equal(await File.ReadAllLinesAsync(wholeKeep), await File.ReadAllLinesAsync(keep));
        Assert.Equal(["a.jsonl", "b.jsonl.gz", "part2/c.parquet", "part2/d.csv", "part2/e.jsonl.zst"],
            Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output, f).Replace('\\', '/')).Order(StringComparer.Ordinal));
        string[] written = [.. await IdsAsync(Path.Combine(output, "a.jsonl")), .. await IdsAsync(Path.Combine(output, "b.jsonl.gz")),
            .. await IdsAsync(Path.Combine(output, "part2", "c.parquet")), .. await IdsAsync(Path.Combine(output, "part2", "d.csv")),
            .. await IdsAsync(Path.Combine(output, "part2", "e.jsonl.zst"))];
        Assert.Equal(await File.ReadAllLinesAsync(keep), written);
    }

    [Theory]
    [InlineData("kept.jsonl.zst")]
    [InlineData("kept.jsonl.gz")]
    [InlineData("kept.csv.gz")]
    public async Task OutputCorpus_NamedCompressed_IsWrittenCompressedAsItsNameSays(string name)
    {
        string input = Path.Combine(_dir, "bbc" + Path.GetExtension(name[..name.LastIndexOf('.')]));
        if (input.EndsWith(".csv", StringComparison.Ordinal))
        {
            await File.WriteAllTextAsync(input, BbcShards.Csv(TestData.BbcCorpus()));
        }
        else
        {
            File.Copy(TestData.BbcPath, input);
        }

        string compressed = Path.Combine(_dir, name), plain = Path.Combine(_dir, name[..name.LastIndexOf('.')]);

        (int exit, _, string error) = await RunAsync("dedup", input, "--output-corpus", compressed);
        (int plainExit, _, string plainError) = await RunAsync("dedup", input, "--output-corpus", plain);

        Assert.True(exit == 0 && plainExit == 0, error + plainError);
        Assert.True(new FileInfo(compressed).Length * 2 < new FileInfo(plain).Length, $"{new FileInfo(compressed).Length} bytes against {new FileInfo(plain).Length}");
        Assert.Equal(await File.ReadAllTextAsync(plain), await TextOfAsync(compressed));
        Assert.Equal(2068, (await IdsAsync(plain)).Length);
    }

    // The kept lines are read a megabyte at a time: lines longer than that, lines across its edges and CRLF endings.
    [Fact]
    public async Task OutputCorpus_LinesLongerThanTheReadWindowAndCrlf_AreCopiedWhole()
    {
        IReadOnlyList<(string Id, string Text)> bbc = TestData.BbcCorpus();
        var random = new Random(11);
        List<string> lines = [.. bbc.Take(600).Select(d => BbcShards.JsonLine(d.Id, d.Text))];
        lines.Insert(100, BbcShards.JsonLine("long-1", string.Join(' ', Enumerable.Range(0, 400_000).Select(_ => "w" + random.Next(100_000).ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        lines.Insert(300, BbcShards.JsonLine("long-2", string.Join(' ', Enumerable.Range(0, 300_000).Select(_ => "v" + random.Next(100_000).ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        lines.Add(BbcShards.JsonLine("copy", bbc[5].Text));
        string input = Path.Combine(_dir, "long.jsonl"), output = Path.Combine(_dir, "kept.jsonl"), drop = Path.Combine(_dir, "drop.txt");
        await File.WriteAllTextAsync(input, string.Join("\r\n", lines) + "\r\n");
        Assert.True(lines[100].Length > 2 << 20);

        (int exit, _, string error) = await RunAsync("dedup", input, "--output-corpus", output, "--drop", drop);

        Assert.True(exit == 0, error);
        HashSet<string> dropped = [.. await File.ReadAllLinesAsync(drop)];
        Assert.Contains("copy", dropped);
        Assert.Equal(lines.Where(l => !dropped.Contains(JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!)), await File.ReadAllLinesAsync(output));
    }

    [Fact]
    public async Task OutputCorpus_ParquetNamedCompressed_IsRefusedBeforeAnyWork()
    {
        string parquet = Path.Combine(_dir, "bbc.parquet"), clusters = Path.Combine(_dir, "clusters.jsonl");
        await ParquetTestFiles.BbcAsync(parquet);

        (int exit, string output, string error) = await RunAsync("dedup", parquet, "-o", clusters, "--output-corpus", Path.Combine(_dir, "kept.parquet.zst"));

        Assert.Equal(CompareCli.InputError, exit);
        Assert.Contains("kept.parquet.zst: Parquet compresses its own columns, and --output-corpus writes it as it is; name it without .zst.", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(File.Exists(clusters));
    }

    [Fact]
    public async Task Shards_AnIdInTwoShards_IsReportedAtItsSecondPlaceAndReadOnce()
    {
        string first = Path.Combine(_dir, "first.jsonl"), second = Path.Combine(_dir, "second.jsonl");
        await File.WriteAllLinesAsync(first, [BbcShards.JsonLine("x", "one text about the Silk Road Economic Belt"), BbcShards.JsonLine("y", "another text")]);
        await File.WriteAllLinesAsync(second, [BbcShards.JsonLine("z", "a third text"), BbcShards.JsonLine("x", "a text under a repeated id")]);

        (int exit, _, string error) = await RunAsync("dedup", first, second, "--keep", Path.Combine(_dir, "keep.txt"));

        Assert.True(exit == 0, error);
        Assert.Contains($"{second}:2: id \"x\" was already read; skipped.", error, StringComparison.Ordinal);
        Assert.Equal(["x", "y", "z"], await File.ReadAllLinesAsync(Path.Combine(_dir, "keep.txt")));
        Assert.Contains("3 documents, 0 clusters, 0 duplicates to drop, 1 record skipped", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shards_ThatCannotBeRead_AreRefusedNamingThem_BeforeAnyOutput()
    {
        string a = Path.Combine(_dir, "a.jsonl"), nested = Path.Combine(_dir, "nested");
        await File.WriteAllLinesAsync(a, [BbcShards.JsonLine("x", "a text")]);
        Directory.CreateDirectory(nested);
        await File.WriteAllLinesAsync(Path.Combine(nested, "a.jsonl"), [BbcShards.JsonLine("y", "another text")]);
        string clusters = Path.Combine(_dir, "clusters.jsonl"), notes = Path.Combine(_dir, "notes");
        Directory.CreateDirectory(notes);
        await File.WriteAllTextAsync(Path.Combine(notes, "x.md"), "# not a corpus");

        (string[] Args, string Message)[] cases =
        [
            (["dedup", a, Path.Combine(_dir, "missing.jsonl"), "-o", clusters], $"{Path.Combine(_dir, "missing.jsonl")}: no such file or folder."),
            (["dedup", a, "-", "-o", clusters], "standard input (-) is read only on its own"),
            (["dedup", a, nested, "-o", clusters, "--output-corpus", Path.Combine(_dir, "out")], $"{a} and {Path.Combine(nested, "a.jsonl")} would both be written to {Path.Combine(_dir, "out", "a.jsonl")}"),
            (["dedup", notes, "-o", clusters], $"{notes}: a folder is read as .txt files, one document each, or as shards (.jsonl, .csv, .parquet, compressed or not); it holds neither."),
            (["dedup", a, Path.Combine(_dir, "texts"), "-o", clusters], $"{Path.Combine(_dir, "texts")}: a folder of .txt files is read only on its own"),
            (["dedup", a, Path.Combine(_dir, "b.parquet.gz"), "-o", clusters], "b.parquet.gz: compressed Parquet is read only on its own"),
            (["dedup", a, Path.Combine(_dir, "junk.jsonl.zst"), "-o", clusters], $"{Path.Combine(_dir, "junk.jsonl.zst")}: not readable as Zstandard"),
            (["dedup", Path.Combine(_dir, "empty.jsonl"), Path.Combine(_dir, "other.jsonl"), "-o", clusters],
                $"the only record of {Path.Combine(_dir, "empty.jsonl")}, {Path.Combine(_dir, "other.jsonl")} was skipped: the first record has the fields \"id\", \"body\""),
            (["reuse", a, Path.Combine(_dir, "cut.jsonl.zst"), "-o", clusters], $"{Path.Combine(_dir, "cut.jsonl.zst")}: it ends inside a Zstandard frame (cut short?)."),
            (["dedup", a, Path.Combine(nested, "a.jsonl"), "-o", clusters, "--output-corpus", Path.Combine(_dir, "out")], $"would both be written to {Path.Combine(_dir, "out", "a.jsonl")}"),
            (["dedup", a, Path.Combine(nested, "a.jsonl"), "-o", clusters, "--output-corpus", a], "with several inputs or a folder of shards, --output-corpus names a folder"),
        ];
        await File.WriteAllBytesAsync(Path.Combine(_dir, "b.parquet.gz"), []);
        await File.WriteAllTextAsync(Path.Combine(_dir, "junk.jsonl.zst"), "not Zstandard at all");
        await File.WriteAllTextAsync(Path.Combine(_dir, "empty.jsonl"), "");
        await File.WriteAllLinesAsync(Path.Combine(_dir, "other.jsonl"), ["{\"id\": \"x\", \"body\": \"the text under another name\"}"]);
        string[] shards = await BbcShards.WriteAsync(Directory.CreateDirectory(Path.Combine(_dir, "bbc")).FullName);
        await File.WriteAllBytesAsync(Path.Combine(_dir, "cut.jsonl.zst"), (await File.ReadAllBytesAsync(shards[4]))[..5000]);
        Directory.CreateDirectory(Path.Combine(_dir, "texts"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "texts", "one.txt"), "a document");
        foreach ((string[] args, string message) in cases)
        {
            (int exit, string output, string error) = await RunAsync(args);

            Assert.True(exit == CompareCli.InputError, string.Join(' ', args) + ": " + error);
            Assert.Contains(message, error, StringComparison.Ordinal);
            Assert.Empty(output);
            Assert.False(File.Exists(clusters), string.Join(' ', args));
            Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
        }

        Assert.Equal([BbcShards.JsonLine("x", "a text")], await File.ReadAllLinesAsync(a));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // A file's text, decompressed as its name says: gzip by .NET's GZipStream, Zstandard by the zstd program.
    private static async Task<string> TextOfAsync(string path)
    {
        if (path.EndsWith(".zst", StringComparison.Ordinal))
        {
            (int exit, string output, string error) = await ChildProcess.RunAsync("zstd", ["-d", "-q", "-c", path]);
            Assert.True(exit == 0, error);
            return output;
        }

        await using Stream file = File.OpenRead(path);
        await using Stream text = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(text);
        return await reader.ReadToEndAsync();
    }

    // The ids of a written shard, whatever its kind.
    private static async Task<string[]> IdsAsync(string path)
    {
        if (path.EndsWith(".parquet", StringComparison.Ordinal))
        {
            await using FileStream file = File.OpenRead(path);
            await using ParquetReader reader = await ParquetReader.CreateAsync(file);
            DataField id = reader.Schema.DataFields.Single(f => f.Name == "id");
            var ids = new List<string>();
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using ParquetRowGroupReader group = reader.OpenRowGroupReader(g);
                string?[] values = new string?[group.RowCount];
                await group.ReadAsync(id, values.AsMemory());
                ids.AddRange(values.Select(i => i!));
            }

            return [.. ids];
        }

        string text = await TextOfAsync(path);
        return path.Contains(".csv", StringComparison.Ordinal)
            ? [.. CsvFirstFields(text).Skip(1)]
            : [.. Lines(text).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!)];
    }

    // The first field of every record of an RFC 4180 text, whose quoted fields may hold commas, quotes and line breaks.
    private static IEnumerable<string> CsvFirstFields(string csv)
    {
        var field = new System.Text.StringBuilder();
        bool quoted = false, first = true;
        for (int i = 0; i < csv.Length; i++)
        {
            char c = csv[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                {
                    field.Append(first ? "\"" : "");
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else if (first)
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',' && first)
            {
                yield return field.ToString();
                (first, field) = (false, new System.Text.StringBuilder());
            }
            else if (c == '\n')
            {
                first = true;
            }
            else if (first && c != '\r')
            {
                field.Append(c);
            }
        }
    }
}

/// <summary>
/// The BBC corpus in five shards of five kinds, in corpus order: JSON lines, gzipped JSON lines, Parquet, CSV, and JSON
/// lines in two Zstandard frames written by the zstd program (an independent writer; scripts/test.sh installs it).
/// </summary>
internal static class BbcShards
{
    public static string JsonLine(string id, string text) => JsonSerializer.Serialize(new Dictionary<string, string> { ["id"] = id, ["text"] = text });

    /// <summary>A CSV with the header "id,text" and a record a document, every text quoted (RFC 4180).</summary>
    public static string Csv(IEnumerable<(string Id, string Text)> documents) =>
        "id,text\r\n" + string.Concat(documents.Select(d => $"{d.Id},\"{d.Text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"\r\n"));

    public static async Task<string[]> WriteAsync(string directory)
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        int fifth = corpus.Count / 5;
        (string Id, string Text)[][] parts = [.. Enumerable.Range(0, 5).Select(k => corpus.Skip(k * fifth).Take(k == 4 ? int.MaxValue : fifth).ToArray())];
        string[] paths = [.. new[] { "a.jsonl", "b.jsonl.gz", "c.parquet", "d.csv", "e.jsonl.zst" }.Select(name => Path.Combine(directory, name))];

        await File.WriteAllLinesAsync(paths[0], parts[0].Select(d => JsonLine(d.Id, d.Text)));
        await using (var gzip = new GZipStream(File.Create(paths[1]), CompressionLevel.Fastest))
        await using (var writer = new StreamWriter(gzip))
        {
            foreach ((string id, string text) in parts[1])
            {
                await writer.WriteLineAsync(JsonLine(id, text));
            }
        }

        await ParquetTestFiles.WriteAsync(paths[2], 100, new ParquetTestFiles.Column(new DataField<string>("id"), parts[2].Select(d => d.Id).ToArray()),
            new ParquetTestFiles.Column(new DataField<string>("text"), parts[2].Select(d => d.Text).ToArray()));
        await File.WriteAllTextAsync(paths[3], Csv(parts[3]));
        await using (FileStream zstandard = File.Create(paths[4]))
        {
            foreach ((string Id, string Text)[] half in parts[4].Chunk((parts[4].Length / 2) + 1))
            {
                string plain = Path.Combine(directory, "half.jsonl");
                await File.WriteAllLinesAsync(plain, half.Select(d => JsonLine(d.Id, d.Text)));
                (int exit, _, string error) = await ChildProcess.RunAsync("zstd", ["-q", "-f", plain, "-o", plain + ".zst"]);
                Assert.True(exit == 0, error);
                await zstandard.WriteAsync(await File.ReadAllBytesAsync(plain + ".zst"));
                File.Delete(plain);
                File.Delete(plain + ".zst");
            }
        }

        return paths;
    }
}
