using Compare.Cli.Input;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Compare.Cli.Tests;

/// <summary>
/// Parquet input to the batch commands: read row group by row group, found again by row for dedup's and reuse's later
/// readings, written back by --output-corpus with every column, and refused with a message naming what is wrong.
/// </summary>
public sealed class ParquetInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("compare-parquet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<(int Exit, string Output, string Error)> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    private static async Task<(int Exit, string Output, string Error)> RunWithInputAsync(Func<Stream>? standardInput, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = await CompareCli.RunAsync(args, output, error, standardInput);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The BBC corpus as Parquet in row groups of 300, with JSON lines of the same ids and texts beside it.</summary>
    private async Task<(string Parquet, string Jsonl)> BbcAsync()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        string parquet = Path.Combine(_dir, "bbc.parquet"), jsonl = Path.Combine(_dir, "bbc.jsonl");
        await ParquetTestFiles.BbcAsync(parquet);
        await File.WriteAllLinesAsync(jsonl, corpus.Select(d => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["id"] = d.Id, ["text"] = d.Text })));
        return (parquet, jsonl);
    }

    [Theory]
    [InlineData("dedup", "--pairs", "1000000")] // the second reading takes only the candidates' texts, by row
    [InlineData("reuse", "--output", "16")] // 16 MB holds a few hundred articles: the pairs are compared in 2 readings
    public async Task BatchCommand_BbcAsParquetInRowGroups_AnswersAsForJsonLines(string command, string fileOption, string maxHeldMb)
    {
        (string parquet, string jsonl) = await BbcAsync();
        string fromParquet = Path.Combine(_dir, "from-parquet.jsonl"), fromJsonl = Path.Combine(_dir, "from-jsonl.jsonl");

        (int exit, string output, string error) = await RunAsync(command, parquet, fileOption, fromParquet, "--max-held-mb", maxHeldMb);
        (int expectedExit, string expectedOutput, string expectedError) = await RunAsync(command, jsonl, fileOption, fromJsonl, "--max-held-mb", maxHeldMb);

        Assert.True(exit == 0 && expectedExit == 0, error + expectedError);
        Assert.Equal(expectedOutput, output);
        string found = await File.ReadAllTextAsync(fromParquet);
        Assert.True(found.Split('\n').Length > 100, found);
        Assert.Equal(await File.ReadAllTextAsync(fromJsonl), found);
        Assert.Equal(command == "reuse", error.Contains("2 readings to compare them", StringComparison.Ordinal));
    }

    // An independent writer and reader: arrow-rs (the Rust Parquet of the Arrow project) through parquet-wasm, run by
    // Node.js from the scripts in Arrow/, installed from npm into the user's cache when missing (npm comes with
    // scripts/test.sh). Every codec it writes, both data page versions, dictionary pages and row groups of several sizes.
    [Theory]
    [InlineData("SNAPPY", 300, "V1")]
    [InlineData("ZSTD", 1000, "V2")]
    [InlineData("GZIP", 5000, "V1")]
    [InlineData("BROTLI", 300, "V2")]
    [InlineData("LZ4_RAW", 700, "V1")]
    [InlineData("UNCOMPRESSED", 700, "V2")]
    public async Task Dedup_ParquetWrittenByArrowRs_GivesTheJsonLinesClusters_AndArrowRsReadsItsOutputCorpus(string compression, int rowsPerGroup, string pageVersion)
    {
        string parquet = Path.Combine(_dir, "arrow.parquet"), kept = Path.Combine(_dir, "kept.parquet"), keep = Path.Combine(_dir, "keep.txt");
        await ArrowJs.RunAsync("write.mjs", TestData.BbcPath, parquet, compression, rowsPerGroup.ToString(System.Globalization.CultureInfo.InvariantCulture), pageVersion);

        (int exit, string output, string error) = await RunAsync("dedup", parquet, "--output-corpus", kept, "--keep", keep);
        (_, string expected, _) = await RunAsync("dedup", TestData.BbcPath);

        Assert.True(exit == 0, error);
        Assert.Equal(expected, output);
        string[] keptIds = await File.ReadAllLinesAsync(keep);
        using System.Text.Json.JsonDocument read = System.Text.Json.JsonDocument.Parse(await ArrowJs.RunAsync("read.mjs", kept));
        Assert.Equal(["id:Utf8", "text:Utf8", "year:Int64"], read.RootElement.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(keptIds, read.RootElement.GetProperty("ids").EnumerateArray().Select(i => i.GetString()));
        // The year written for each input line, and each text's length, come back with its row.
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        Dictionary<string, int> lineOf = corpus.Select((d, i) => (d.Id, i)).ToDictionary(p => p.Id, p => p.i);
        Assert.Equal(keptIds.Select(id => (2000 + (lineOf[id] % 20)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            read.RootElement.GetProperty("years").EnumerateArray().Select(y => y.GetString()));
        Assert.Equal(keptIds.Select(id => corpus[lineOf[id]].Text.Length), read.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetInt32()));
    }

    [Fact]
    public async Task Dedup_ParquetOutputCorpus_WritesTheKeptRowsWithEveryColumnAndThoseHaveNoDuplicatesLeft()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        var rows = corpus.Select((d, i) => new Article
        {
            Id = d.Id,
            Text = d.Text,
            Words = d.Text.Split(' ').Length,
            Score = i % 3 == 0 ? null : i / 7.0,
            Published = new DateTime(2004, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i * 97),
            Price = i * 1.25m,
            Flag = i % 2 == 0,
        }).ToList();
        string input = Path.Combine(_dir, "articles.parquet"), kept = Path.Combine(_dir, "kept.parquet"), keep = Path.Combine(_dir, "keep.txt");
        await using (FileStream stream = File.Create(input))
        {
            await ParquetSerializer.SerializeAsync(rows, stream);
        }

        (int exit, _, string error) = await RunAsync("dedup", input, "--id-field", "Id", "--text-field", "Text", "--output-corpus", kept, "--keep", keep);

        Assert.True(exit == 0, error);
        HashSet<string> keptIds = [.. await File.ReadAllLinesAsync(keep)];
        Assert.InRange(keptIds.Count, 1, corpus.Count - 1);
        await using FileStream written = File.OpenRead(kept);
        IList<Article> copied = (await ParquetSerializer.DeserializeAsync<Article>(written)).Data;
        Assert.Equal(rows.Where(r => keptIds.Contains(r.Id!)), copied);
        (_, string again, _) = await RunAsync("dedup", kept, "--id-field", "Id", "--text-field", "Text");
        Assert.Empty(again);
    }

    [Fact]
    public async Task Dedup_ParquetRowsWithoutAnIdOrText_AreReportedByRowAndSkipped_AndIntegerIdsAreRead()
    {
        string path = Path.Combine(_dir, "gaps.parquet");
        string text = TestData.Seed2014;
        await ParquetTestFiles.WriteAsync(path, 2, new ParquetTestFiles.Column(new DataField<long>("id"), new long[] { 10, 11, 12, 13, 14 }),
            new ParquetTestFiles.Column(new DataField<string>("text"), new[] { text, null, text + " Again.", "Unrelated words about the weather in Astana this week.", null }));

        (int exit, string output, string error) = await RunAsync("dedup", path, "--threshold", "0.5");

        Assert.True(exit == 0, error);
        Assert.Contains($"{path}: row 2: no \"text\"; skipped.", error, StringComparison.Ordinal);
        Assert.Contains($"{path}: row 5: no \"text\"; skipped.", error, StringComparison.Ordinal);
        Assert.Contains("3 documents, 1 cluster, 1 duplicate to drop, 2 records skipped", error, StringComparison.Ordinal);
        Assert.Contains("\"representativeId\": \"10\"", output, StringComparison.Ordinal);
        Assert.Contains("\"id\": \"12\"", output, StringComparison.Ordinal);

        (int strict, _, string strictError) = await RunAsync("dedup", path, "--strict");
        Assert.Equal((CompareCli.InputError, $"compare: {path}: row 2: no \"text\" (--strict)."), (strict, strictError.Trim()));
    }

    [Fact]
    public async Task Dedup_ParquetWithNestedColumns_ReadsItsPlainOnesButWillNotWriteItBack()
    {
        var rows = new[]
        {
            new Tagged { Id = "a", Text = TestData.Seed2014, Tags = ["x", "y"] },
            new Tagged { Id = "b", Text = TestData.Seed2014 + " More.", Tags = [] },
        };
        string path = Path.Combine(_dir, "tagged.parquet"), kept = Path.Combine(_dir, "kept.parquet");
        await using (FileStream stream = File.Create(path))
        {
            await ParquetSerializer.SerializeAsync(rows, stream);
        }

        (int exit, string output, string error) = await RunAsync("dedup", path, "--id-field", "Id", "--text-field", "Text");
        Assert.True(exit == 0, error);
        Assert.Contains("\"representativeId\": \"a\"", output, StringComparison.Ordinal);

        (int refused, string none, string why) = await RunAsync("dedup", path, "--id-field", "Id", "--text-field", "Text", "--output-corpus", kept);
        Assert.Equal((CompareCli.InputError, string.Empty), (refused, none));
        Assert.Equal($"compare: {path}: --output-corpus cannot copy the column \"Tags/list/element\" (nested or repeated); --keep and --drop write the ids instead.", why.Trim());
        Assert.False(File.Exists(kept));
    }

    [Fact]
    public async Task Dedup_ParquetThatCannotBeRead_SaysWhy()
    {
        string path = Path.Combine(_dir, "columns.parquet");
        await ParquetTestFiles.WriteAsync(path, 10, new ParquetTestFiles.Column(new DataField<string>("doc_id"), new[] { "a" }), new ParquetTestFiles.Column(new DataField<long>("body"), new long[] { 1 }),
            new ParquetTestFiles.Column(new DataField<string>("content"), new[] { "text" }));
        string junk = Path.Combine(_dir, "junk.parquet");
        await File.WriteAllTextAsync(junk, "{\"id\": \"a\", \"text\": \"not Parquet at all\"}\n");

        Assert.Equal((CompareCli.InputError, $"compare: {path}: no column \"id\"; its columns are \"doc_id\", \"body\", \"content\" (--id-field names another)."),
            await ErrorAsync("dedup", path));
        Assert.Equal((CompareCli.InputError, $"compare: {path}: the column \"body\" holds Int64, not a string."),
            await ErrorAsync("dedup", path, "--id-field", "doc_id", "--text-field", "body"));
        (int junkExit, string junkError) = await ErrorAsync("dedup", junk);
        Assert.Equal(CompareCli.InputError, junkExit);
        Assert.StartsWith($"compare: {junk}: not a readable Parquet file (", junkError, StringComparison.Ordinal);

        (int exit, string output, string error) = await RunAsync("dedup", path, "--id-field", "doc_id", "--text-field", "content");
        Assert.True(exit == 0, error);
        Assert.Empty(output);
    }

    [Fact]
    public async Task Dedup_ParquetFromStandardInputOrGzipped_IsHeldInMemoryAndAnswersAsTheFile()
    {
        (string parquet, _) = await BbcAsync();
        string gzipped = parquet + ".gz", keptFromFile = Path.Combine(_dir, "kept-file.parquet");
        await using (FileStream source = File.OpenRead(parquet))
        await using (var target = new System.IO.Compression.GZipStream(File.Create(gzipped), System.IO.Compression.CompressionLevel.Fastest))
        {
            await source.CopyToAsync(target);
        }

        (int exit, string expected, string error) = await RunAsync("dedup", parquet, "--pairs", Path.Combine(_dir, "pairs-file.jsonl"), "--output-corpus", keptFromFile);
        Assert.True(exit == 0, error);
        foreach ((string input, Func<Stream>? standardInput) in new (string, Func<Stream>?)[] { (gzipped, null), ("-", () => File.OpenRead(parquet)) })
        {
            string pairs = Path.Combine(_dir, "pairs.jsonl"), kept = Path.Combine(_dir, "kept.parquet");
            (int inputExit, string output, string inputError) = await RunWithInputAsync(standardInput, "dedup", input, "--format", "Parquet", "--pairs", pairs, "--output-corpus", kept);
            Assert.True(inputExit == 0, inputError);
            Assert.Equal(expected, output);
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(_dir, "pairs-file.jsonl")), await File.ReadAllTextAsync(pairs));
            Assert.Equal(await File.ReadAllBytesAsync(keptFromFile), await File.ReadAllBytesAsync(kept));
        }

        // Held in memory up to a bound, past which it says how to give it instead.
        await using FileStream stream = File.OpenRead(parquet);
        InvalidDataException refused = Assert.Throws<InvalidDataException>(() => ParquetFile.OpenInMemory("standard input", stream, new InputFields(), memoryLimit: stream.Length - 1));
        Assert.Equal($"standard input: Parquet over {(stream.Length - 1) / 1_000_000:N0} MB is not held in memory; give it as a .parquet file.", refused.Message);
    }

    [Fact]
    public async Task Open_RowGroupsTooLargeForTheMemory_IsRefusedNamingTheLargestAndTheWayOut()
    {
        string path = Path.Combine(_dir, "bbc.parquet");
        await ParquetTestFiles.BbcAsync(path);
        long[] textBytes;
        await using (FileStream stream = File.OpenRead(path))
        await using (ParquetReader reader = await ParquetReader.CreateAsync(stream))
        {
            textBytes = [.. reader.Metadata!.RowGroups.Select(g => g.Columns.Single(c => c.MetaData!.PathInSchema.SequenceEqual(["text"])).MetaData!.TotalUncompressedSize)];
        }

        // The two largest row groups' text, seven bytes of memory for each of its bytes.
        long needed = textBytes.OrderDescending().Take(2).Sum() * 7;
        int largest = Array.IndexOf(textBytes, textBytes.Max());
        using (ParquetFile.Open(path, new InputFields(), memoryLimit: needed))
        {
        }

        InvalidDataException refused = Assert.Throws<InvalidDataException>(() => ParquetFile.Open(path, new InputFields(), memoryLimit: needed - 1));
        Assert.Equal($"{path}: row group {largest + 1} holds {textBytes[largest] / 1e6:N0} MB of text, and reading the row groups would take about " +
            $"{needed / 1e6:N0} MB, over the {(needed - 1) / 1e6:N0} MB this run may use; write the file in smaller row groups (pyarrow: row_group_size=10000) " +
            "or give it as JSON lines.", refused.Message);
    }

    private static async Task<(int Exit, string Error)> ErrorAsync(params string[] args)
    {
        (int exit, string output, string error) = await RunAsync(args);
        Assert.Empty(output);
        return (exit, error.Trim());
    }

    /// <summary>A row of the --output-corpus test: one column of each kind it copies.</summary>
    internal sealed record Article
    {
        public string? Id { get; set; }

        public string? Text { get; set; }

        public int Words { get; set; }

        public double? Score { get; set; }

        public DateTime Published { get; set; }

        public decimal Price { get; set; }

        public bool Flag { get; set; }
    }

    internal sealed class Tagged
    {
        public string? Id { get; set; }

        public string? Text { get; set; }

        public List<string>? Tags { get; set; }
    }
}

/// <summary>Parquet files written for the tests with Parquet.Net's column writer.</summary>
internal static class ParquetTestFiles
{
    /// <summary>A column to write: its field and one value a row (an array of the field's type).</summary>
    public sealed record Column(DataField Field, Array Values);

    /// <summary>Writes the columns in row groups of <paramref name="groupRows"/> rows.</summary>
    public static async Task WriteAsync(string path, int groupRows, params Column[] columns)
    {
        int rows = columns[0].Values.Length;
        await using FileStream stream = File.Create(path);
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns.Select(c => (Field)c.Field)), stream);
        for (int first = 0; first < rows; first += groupRows)
        {
            int count = Math.Min(groupRows, rows - first);
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            foreach ((DataField field, Array values) in columns)
            {
                Task written = values switch
                {
                    string?[] strings => group.WriteAsync(field, strings[first..(first + count)]),
                    long[] longs => group.WriteAsync(field, (ReadOnlyMemory<long>)longs.AsMemory(first, count)),
                    double?[] doubles => group.WriteAsync(field, (ReadOnlyMemory<double?>)doubles.AsMemory(first, count)),
                    bool[] flags => group.WriteAsync(field, (ReadOnlyMemory<bool>)flags.AsMemory(first, count)),
                    DateTime[] times => group.WriteAsync(field, (ReadOnlyMemory<DateTime>)times.AsMemory(first, count)),
                    decimal[] amounts => group.WriteAsync(field, (ReadOnlyMemory<decimal>)amounts.AsMemory(first, count)),
                    _ => throw new ArgumentException($"no writer for {values.GetType()}"),
                };
                await written;
            }
        }
    }

    /// <summary>The BBC corpus in row groups of 300: its ids, a row number, its texts, and a time a row.</summary>
    public static Task BbcAsync(string path)
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        return WriteAsync(path, 300, new Column(new DataField<string>("id"), corpus.Select(d => d.Id).ToArray()),
            new Column(new DataField<long>("n"), Enumerable.Range(0, corpus.Count).Select(i => (long)i).ToArray()),
            new Column(new DataField<string>("text"), corpus.Select(d => d.Text).ToArray()),
            new Column(new DataField<DateTime>("published"), Enumerable.Range(0, corpus.Count).Select(i => new DateTime(2004, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(i)).ToArray()));
    }
}

/// <summary>The scripts in Arrow/ run by Node.js beside parquet-wasm and apache-arrow, pinned, installed from npm into the user's cache when missing.</summary>
internal static class ArrowJs
{
    private const string Packages = "parquet-wasm@0.8.0 apache-arrow@21.2.0";
    private static readonly SemaphoreSlim Installing = new(1, 1);

    /// <summary>Runs one of the scripts with <paramref name="args"/>; returns what it printed, failing the test when it fails.</summary>
    public static async Task<string> RunAsync(string script, params string[] args)
    {
        string tools = await InstallAsync();
        File.Copy(Path.Combine(TestData.RepositoryRoot, "tests", "Compare.Cli.Tests", "Arrow", script), Path.Combine(tools, script), overwrite: true);
        (int exit, string output, string error) = await ChildProcess.RunAsync("node", [Path.Combine(tools, script), .. args]);
        Assert.True(exit == 0, $"node {script}: {error}");
        return output;
    }

    private static async Task<string> InstallAsync()
    {
        string cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        string tools = Path.Combine(cache, "compare", "arrow-js-" + Packages.Replace(' ', '-').Replace('@', '-'));
        await Installing.WaitAsync();
        try
        {
            if (!Directory.Exists(Path.Combine(tools, "node_modules", "parquet-wasm")) || !Directory.Exists(Path.Combine(tools, "node_modules", "apache-arrow")))
            {
                Directory.CreateDirectory(tools);
                (int exit, _, string error) = await ChildProcess.RunAsync("npm", ["install", "--silent", "--no-audit", "--no-fund", "--prefix", tools, .. Packages.Split(' ')]);
                Assert.True(exit == 0, $"npm install {Packages} (scripts/test.sh installs npm): {error}");
            }
        }
        finally
        {
            Installing.Release();
        }

        return tools;
    }
}
