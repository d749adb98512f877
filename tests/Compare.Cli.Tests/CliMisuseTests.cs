using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Lsh;
using Compare.Core.Phrases;
using Microsoft.AspNetCore.Builder;

namespace Compare.Cli.Tests;

/// <summary>The command line as a new user scripts it: bad values, wrong fields, other inputs, the sketch options, other outputs.</summary>
public sealed class CliMisuseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("compare-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Exit, string Output, string Error)> RunAsync(Func<Stream>? standardInput, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = await CompareCli.RunAsync(args, output, error, standardInput);
        return (exit, output.ToString(), error.ToString());
    }

    private static Task<(int Exit, string Output, string Error)> RunAsync(params string[] args) => RunAsync(null, args);

    [Theory]
    [InlineData("--threshold must be a number greater than 0 and at most 1; it was 'abc'", "dedup", "x.jsonl", "--threshold", "abc")]
    [InlineData("--threshold must be a number greater than 0 and at most 1; it was '1.5'", "dedup", "x.jsonl", "--threshold", "1.5")]
    [InlineData("--threshold must be a number greater than 0 and at most 1; it was '0,8'", "dedup", "x.jsonl", "--threshold", "0,8")]
    [InlineData("--representative must be FirstSeen or Longest; it was 'CallerOrder'", "dedup", "x.jsonl", "--representative", "CallerOrder")]
    [InlineData("--bands and --rows go together", "dedup", "x.jsonl", "--bands", "5")]
    [InlineData("--bands × --rows (20 × 7) must not exceed --num-perm (128)", "dedup", "x.jsonl", "--bands", "20", "--rows", "7")]
    [InlineData("--num-perm must be a whole number 1 to 1024; it was '0'", "dedup", "x.jsonl", "--num-perm", "0")]
    [InlineData("--ngram must be a whole number 1 to 32; it was 'five'", "dedup", "x.jsonl", "--ngram", "five")]
    [InlineData("--bridge must be a whole number 0 to 10; it was '11'", "diff", "a.txt", "b.txt", "--bridge", "11")]
    [InlineData("--top-k must be a whole number 1 to 1000; it was '0'", "similar", "a.txt", "--server", "http://localhost:1", "--top-k", "0")]
    [InlineData("--server must be an http:// or https:// address", "index", "x.jsonl", "--server", "localhost:5000")]
    [InlineData("Unrecognized command or argument '--nope'", "dedup", "x.jsonl", "--nope")]
    [InlineData("Unrecognized command or argument '-q'", "reuse", "a.jsonl", "-q", "b.jsonl")] // the inputs take every unclaimed token, a mistyped option too
    [InlineData("Required command was not provided", "compare")]
    public async Task BadCommandLine_ExitsTwoWithOneLineNamingTheOption(string expected, params string[] args)
    {
        (int exit, string output, string error) = await RunAsync(args[0] == "compare" ? [] : args);

        Assert.Equal(CompareCli.UsageError, exit);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("compare: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Contains("--help'", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedup_EveryRecordSkipped_ExitsOneNamingTheFieldsOfTheFirstRecord()
    {
        (int exit, string output, string error) = await RunAsync("dedup", TestData.BbcPath, "--text-field", "body");

        Assert.Equal(CompareCli.InputError, exit);
        Assert.Empty(output);
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CorpusFileListed, lines.Count(l => l.EndsWith("; skipped.", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("more records are skipped", StringComparison.Ordinal));
        Assert.Contains("all 2,225 records of", error, StringComparison.Ordinal);
        Assert.Contains("the first record has the fields \"id\", \"category\", \"title\", \"text\"", error, StringComparison.Ordinal);

        string binary = Path.Combine(_dir, "binary.jsonl");
        await File.WriteAllBytesAsync(binary, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 % 251))]);
        (exit, _, error) = await RunAsync("dedup", binary);
        Assert.Equal(CompareCli.InputError, exit);
        Assert.Contains("Is it JSON lines?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiffAndLookups_AFolderOrABinaryFile_ExitOneSayingWhat_AndUtf16WithItsMarkIsRead()
    {
        string binary = Path.Combine(_dir, "program.txt"), utf16 = Path.Combine(_dir, "utf16.txt");
        await File.WriteAllBytesAsync(binary, [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, .. "some readable words in it all the same"u8]);
        await File.WriteAllTextAsync(utf16, TestData.Seed2014, System.Text.Encoding.Unicode); // with its byte order mark

        foreach (string[] args in new[] { new[] { "diff", binary, TestData.Seed2014Path }, ["diff", TestData.Seed2014Path, _dir], ["similar", binary, "--server", "http://127.0.0.1:1"],
            ["passages", _dir, "--server", "http://127.0.0.1:1"] })
        {
            (int exit, string output, string error) = await RunAsync(args);
            Assert.Equal(CompareCli.InputError, exit);
            Assert.Empty(output); // no bytes of the binary file on the terminal
            Assert.Contains(args.Contains(_dir) ? $"compare: {_dir} is a folder; give a text file." : $"compare: {binary} is not text: it has a NUL byte at byte 7",
                error, StringComparison.Ordinal);
        }

        (int read, string same, _) = await RunAsync("diff", utf16, TestData.Seed2014Path);
        Assert.Equal(0, read);
        Assert.StartsWith($"1 shared passage; they cover 100.0 % of {utf16} and 100.0 % of", same, StringComparison.Ordinal);
    }

    private const int CorpusFileListed = Input.CorpusFile.ListedProblems;

    [Fact]
    public async Task Dedup_UnderACommaDecimalCulture_ReadsTheThresholdAsWrittenAndAnswersAlike()
    {
        (int _, string invariant, _) = await RunAsync("dedup", TestData.BbcPath, "--threshold", "0.7");
        CultureInfo culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            (int exit, string german, string error) = await RunAsync("dedup", TestData.BbcPath, "--threshold", "0.7");
            Assert.True(exit == 0, error);
            Assert.Equal(invariant, german);
            Assert.Contains("\"jaccard\": 0.", german, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public async Task Dedup_SketchOptions_AnswerAsTheEngineWithThoseParameters()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        foreach ((string[] options, SketchParameters parameters, LshParameters? lsh) in new (string[], SketchParameters, LshParameters?)[]
        {
            (["--ngram", "3", "--num-perm", "64"], new SketchParameters { ShingleSize = 3, NumPermutations = 64 }, null),
            (["--char-shingles", "--ngram", "9"], new SketchParameters { Kind = ShingleKind.Character, ShingleSize = 9 }, null),
            (["--bands", "32", "--rows", "4"], SketchParameters.Default, new LshParameters(32, 4)),
        })
        {
            (int exit, string output, string error) = await RunAsync(["dedup", TestData.BbcPath, "--threshold", "0.6", .. options]);
            Assert.True(exit == 0, error);

            ClusteringResult expected = new Deduplicator(parameters, new DeduplicationOptions { Threshold = 0.6, Lsh = lsh }).Run([.. corpus.Select(d => d.Text)]);
            Assert.Equal(
                expected.Clusters.Select(c => string.Join(' ', c.Members.Select(m => corpus[m.Document].Id))).Order(StringComparer.Ordinal),
                Clusters(output).Select(c => string.Join(' ', c)).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Dedup_StandardInputAndGzipOverSeveralChunks_GiveTheFilesClustersPairsAndKeptCorpusByteForByte()
    {
        // Over 8 MB: BBC twice under other ids (so every article has a copy), malformed lines, CRLF ends, and one line
        // longer than a chunk, so lines cross chunk and block edges and standard input is kept in several blocks.
        string path = Path.Combine(_dir, "big.jsonl");
        string[] bbc = await File.ReadAllLinesAsync(TestData.BbcPath);
        string longText = string.Join(' ', Enumerable.Range(0, 700_000).Select(i => $"w{i % 90_000}"));
        using (var writer = new StreamWriter(path, false, new System.Text.UTF8Encoding(false)))
        {
            for (int copy = 0; copy < 2; copy++)
            {
                foreach (string line in bbc)
                {
                    await writer.WriteAsync(copy == 0 ? line : line.Replace("\"id\": \"", "\"id\": \"copy-", StringComparison.Ordinal));
                    await writer.WriteAsync(copy == 0 ? "\n" : "\r\n");
                }

                await writer.WriteAsync("{\"id\":\"broken\"\n");
                await writer.WriteAsync(JsonSerializer.Serialize(new { id = $"long-{copy}", text = longText }) + "\n");
            }
        }

        Assert.True(new FileInfo(path).Length > 2 * 4 << 20);
        string gzipped = path + ".gz";
        await using (FileStream source = File.OpenRead(path))
        await using (var target = new GZipStream(File.Create(gzipped), CompressionLevel.Fastest))
        {
            await source.CopyToAsync(target);
        }

        var outputs = new List<(string Clusters, string Pairs, byte[] Kept, string Error)>();
        int opened = 0;
        foreach ((string input, Func<Stream>? standardInput) in new (string, Func<Stream>?)[]
        {
            (path, null), (gzipped, null), ("-", () =>
            {
                opened++;
                return File.OpenRead(path);
            }),
        })
        {
            string pairs = Path.Combine(_dir, "pairs.jsonl"), kept = Path.Combine(_dir, "kept.jsonl");
            (int exit, string clusters, string error) = await RunAsync(standardInput, "dedup", input, "--pairs", pairs, "--output-corpus", kept);
            Assert.True(exit == 0, error);
            outputs.Add((clusters, await File.ReadAllTextAsync(pairs), await File.ReadAllBytesAsync(kept), error));
        }

        Assert.Equal(1, opened);
        // Every document is in a cluster with its copy.
        Assert.Equal(2 * (bbc.Length + 1), Clusters(outputs[0].Clusters).Sum(c => c.Count));
        Assert.Contains($"{path}:{bbc.Length + 1}: not valid JSON", outputs[0].Error, StringComparison.Ordinal);
        Assert.Contains($"standard input:{bbc.Length + 1}: not valid JSON", outputs[2].Error, StringComparison.Ordinal);
        foreach ((string clusters, string pairs, byte[] kept, _) in outputs.Skip(1))
        {
            Assert.Equal(outputs[0].Clusters, clusters);
            Assert.Equal(outputs[0].Pairs, pairs);
            Assert.Equal(outputs[0].Kept, kept);
        }

        // The kept corpus is lines of the input's first copy, byte for byte and in order: each cluster keeps its first.
        string[] firstCopy = [.. bbc, JsonSerializer.Serialize(new { id = "long-0", text = longText })];
        string[] keptLines = System.Text.Encoding.UTF8.GetString(outputs[0].Kept).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(firstCopy.Where(keptLines.ToHashSet().Contains), keptLines);
        Assert.Equal(firstCopy.Length - Clusters(outputs[0].Clusters).Sum(c => (c.Count / 2) - 1), keptLines.Length);
    }

    [Fact]
    public async Task Dedup_OutputCorpus_WritesTheKeptRecordsInTheInputsFormatAndThoseHaveNoDuplicatesLeft()
    {
        string kept = Path.Combine(_dir, "kept.jsonl"), keep = Path.Combine(_dir, "keep.txt");
        (int exit, _, string error) = await RunAsync("dedup", TestData.BbcPath, "--output-corpus", kept, "--keep", keep);
        Assert.True(exit == 0, error);

        // The kept JSON lines are the input's own lines, byte for byte, in input order.
        string[] inputLines = await File.ReadAllLinesAsync(TestData.BbcPath);
        string[] keptIds = await File.ReadAllLinesAsync(keep);
        Dictionary<string, string> lineOf = inputLines.ToDictionary(l => JsonDocument.Parse(l).RootElement.GetProperty("id").ToString());
        Assert.Equal(keptIds.Select(id => lineOf[id]), await File.ReadAllLinesAsync(kept));
        Assert.True(keptIds.Length < inputLines.Length);
        (_, string again, _) = await RunAsync("dedup", kept);
        Assert.Empty(Clusters(again));

        // A CSV gives a CSV with its header; a folder gives a folder of the kept files.
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        string csv = Path.Combine(_dir, "bbc.csv"), keptCsv = Path.Combine(_dir, "kept.csv");
        await File.WriteAllTextAsync(csv, BbcShards.Csv(corpus));
        Assert.Equal(0, (await RunAsync("dedup", csv, "--output-corpus", keptCsv)).Exit);
        Assert.Equal(0, (await RunAsync("dedup", keptCsv, "--keep", Path.Combine(_dir, "keep-csv.txt"))).Exit);
        Assert.Equal(keptIds, await File.ReadAllLinesAsync(Path.Combine(_dir, "keep-csv.txt")));

        string folder = Path.Combine(_dir, "seeds"), keptFolder = Path.Combine(_dir, "kept-seeds");
        Directory.CreateDirectory(Path.Combine(folder, "2014"));
        await File.WriteAllTextAsync(Path.Combine(folder, "2014", "a.txt"), TestData.Seed2014);
        await File.WriteAllTextAsync(Path.Combine(folder, "2014", "b.txt"), TestData.Seed2014 + " One more line.");
        await File.WriteAllTextAsync(Path.Combine(folder, "c.txt"), TestData.Seed2016);
        Assert.Equal(0, (await RunAsync("dedup", folder, "--output-corpus", keptFolder)).Exit);
        Assert.Equal(["2014/a.txt", "c.txt"], Directory.EnumerateFiles(keptFolder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(keptFolder, f)).Order(StringComparer.Ordinal));
        Assert.Equal(TestData.Seed2016, await File.ReadAllTextAsync(Path.Combine(keptFolder, "c.txt")));
    }

    [Fact]
    public async Task Diff_Json_CarriesThePassagesAndCoverageUnderTheServicesNames()
    {
        string left = Path.Combine(TestData.RepositoryRoot, "seeds", "003_2f03ddab81289ed0.txt"), right = Path.Combine(TestData.RepositoryRoot, "seeds", "000_964e81d81ffb6499.txt");

        (int exit, string output, string error) = await RunAsync("diff", left, right, "--json", "--bridge", "1");

        Assert.True(exit == 0, error);
        SharedPhrases expected = SharedPhraseFinder.Find(TestData.Seed2014, TestData.Seed2016, new PhraseOptions { MaxBridgeWords = 1 });
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement[] phrases = [.. json.RootElement.GetProperty("sharedPhrases").EnumerateArray()];
        Assert.Equal(expected.Phrases.Select(p => p.Text), phrases.Select(p => p.GetProperty("text").GetString()));
        Assert.Equal(expected.Phrases.Select(p => p.LeftOccurrences.Count), phrases.Select(p => p.GetProperty("leftOccurrences").GetArrayLength()));
        Assert.Contains(phrases, p => p.GetProperty("text").GetString() == "construction of the Silk Road Economic Belt");
        Assert.Equal(expected.LeftCoverage, json.RootElement.GetProperty("leftCoverage").GetDouble(), 12);
        Assert.Equal(expected.RightCoverage, json.RootElement.GetProperty("rightCoverage").GetDouble(), 12);
    }

    [Fact]
    public async Task Index_Create_MakesTheCollectionWithTheGivenSettingsAndAMissingOneIsNamedWithTheFix()
    {
        await using WebApplication app = await ServerModeTests.StartServerAsync();
        string server = app.Urls.Single();

        (int missing, _, string missingError) = await RunAsync("index", TestData.BbcPath, "--server", server, "--collection", "news");
        (int created, _, string createdError) = await RunAsync("index", TestData.BbcPath, "--server", server, "--collection", "news", "--create",
            "--threshold", "0.6", "--ngram", "3", "--num-perm", "64");
        (int again, _, string againError) = await RunAsync("index", TestData.BbcPath, "--server", server, "--collection", "news", "--create");
        // No --collection is the default collection, which always exists: --create uses it as it is.
        (int toDefault, _, string defaultError) = await RunAsync("index", TestData.BbcPath, "--server", server, "--create");

        Assert.Equal(CompareCli.ServerError, missing);
        Assert.Contains("--create creates it", missingError, StringComparison.Ordinal);
        Assert.True(created == 0, createdError);
        Assert.Contains("collection \"news\" created", createdError, StringComparison.Ordinal);
        Assert.True(again == 0, againError);
        Assert.Contains("2,225 unchanged", againError, StringComparison.Ordinal);
        Assert.True(toDefault == 0, defaultError);
        Assert.Contains("collection \"default\" exists", defaultError, StringComparison.Ordinal);
        Assert.Contains("2,225 created", defaultError, StringComparison.Ordinal);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server);
        V1.Collection news = (await new V1.CollectionService.CollectionServiceClient(channel).GetCollectionAsync(new V1.GetCollectionRequest { Name = "news" })).Collection;
        Assert.Equal(2225, news.DocumentCount);
        Assert.Equal((3, 64, 0.6), (news.Config.ShingleSize, news.Config.NumPerm, news.Config.Threshold));
    }

    [Fact]
    public async Task ServerCommands_ServerNotRunning_SayItCannotBeReachedInPlainWords()
    {
        string address = $"http://127.0.0.1:{FreePort()}";
        string file = Path.Combine(_dir, "query.txt");
        await File.WriteAllTextAsync(file, TestData.Seed2014);

        (int exit, _, string error) = await RunAsync("similar", file, "--server", address);

        Assert.Equal(CompareCli.ServerError, exit);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"cannot reach a Compare server at {address}/ (Connection refused", line, StringComparison.Ordinal);
        Assert.DoesNotContain("subchannel", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerCommands_AServerThatIsNotGrpc_SayWhatAnswersDoesNotSpeakIt()
    {
        // A plain web server on the port: it answers HTTP/1.1 to the client's HTTP/2 preface.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        string address = $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";
        using var stop = new CancellationTokenSource();
        Task serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                System.Net.Sockets.TcpClient client = await listener.AcceptTcpClientAsync(stop.Token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        // As a web server does: read the request, answer in HTTP/1.1, keep the connection until the client leaves.
                        byte[] buffer = new byte[4096];
                        _ = await client.GetStream().ReadAsync(buffer);
                        await client.GetStream().WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray());
                        while (await client.GetStream().ReadAsync(buffer) > 0)
                        {
                        }
                    }
                });
            }
        });
        string file = Path.Combine(_dir, "query.txt");
        await File.WriteAllTextAsync(file, TestData.Seed2014);

        (int exit, _, string error) = await RunAsync("similar", file, "--server", address);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);

        Assert.Equal(CompareCli.ServerError, exit);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"compare: what answers at {address}/ does not speak gRPC (", line, StringComparison.Ordinal);
        Assert.Contains("Is it a Compare server?", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Internal", line, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static List<List<string>> Clusters(string jsonLines) =>
        [.. jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using JsonDocument json = JsonDocument.Parse(line);
            return json.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
        })];
}
