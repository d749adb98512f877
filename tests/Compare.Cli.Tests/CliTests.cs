using System.Text;
using System.Text.Json;

namespace Compare.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("compare-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Exit, string Output, string Error)> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = await CompareCli.RunAsync(args, output, error, cancellationToken);
        return (exit, output.ToString(), error.ToString());
    }

    private static Task<(int Exit, string Output, string Error)> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    private static List<(string Representative, List<(string Id, double Jaccard)> Members)> Clusters(string jsonLines) =>
        [.. jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using JsonDocument json = JsonDocument.Parse(line);
            return (json.RootElement.GetProperty("representativeId").GetString()!,
                json.RootElement.GetProperty("members").EnumerateArray().Select(m => (m.GetProperty("id").GetString()!, m.GetProperty("jaccard").GetDouble())).ToList());
        })];

    // Three news-like documents, two of them near-duplicates, with commas, quotes and line breaks to escape.
    private static readonly (string Id, string Text)[] Small =
    [
        ("a", "Xi Jinping met Nursultan Nazarbayev in Astana on Monday, and the two presidents agreed to deepen the \"Silk Road Economic Belt\" cooperation.\nThey also discussed trade."),
        ("b", "Xi Jinping met Nursultan Nazarbayev in Astana on Monday, and the two presidents agreed to deepen the \"Silk Road Economic Belt\" cooperation.\nThey also discussed energy."),
        ("c", "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn for the three months to December, from $639m year-earlier."),
    ];

    [Fact]
    public async Task Dedup_OutputsNamedGzip_AreWrittenCompressed_WithTheLinesOfThePlainRun()
    {
        (int plain, string clusters, _) = await RunAsync("dedup", TestData.BbcPath, "--drop", Path.Combine(_dir, "drop.txt"), "--pairs", Path.Combine(_dir, "pairs.jsonl"));
        (int gzip, _, string error) = await RunAsync("dedup", TestData.BbcPath, "--output", Path.Combine(_dir, "clusters.jsonl.gz"),
            "--drop", Path.Combine(_dir, "drop.txt.gz"), "--pairs", Path.Combine(_dir, "pairs.jsonl.gz"));

        Assert.Equal((0, 0), (plain, gzip));
        Assert.True(File.Exists(Path.Combine(_dir, "clusters.jsonl.gz")), error);
        Assert.Equal(clusters.ReplaceLineEndings("\n"), Gunzip("clusters.jsonl.gz"));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "drop.txt")), Gunzip("drop.txt.gz"));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "pairs.jsonl")), Gunzip("pairs.jsonl.gz"));
        Assert.NotEmpty(File.ReadAllText(Path.Combine(_dir, "drop.txt")));

        string Gunzip(string name)
        {
            using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(_dir, name)), System.IO.Compression.CompressionMode.Decompress);
            return new StreamReader(gzip).ReadToEnd();
        }
    }

    [Fact]
    public async Task Dedup_BbcCorpus_ClustersEveryPairTheReferenceFindsAboveTheThreshold()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        string drop = Path.Combine(_dir, "drop.txt"), keep = Path.Combine(_dir, "keep.txt");

        (int exit, string output, string error) = await RunAsync("dedup", TestData.BbcPath, "--threshold", "0.8", "--drop", drop, "--keep", keep);

        Assert.Equal(0, exit);
        var clusterOf = new Dictionary<string, int>();
        var clusters = Clusters(output);
        for (int c = 0; c < clusters.Count; c++)
        {
            Assert.Equal(clusters[c].Representative, clusters[c].Members[0].Id);
            foreach ((string id, double jaccard) in clusters[c].Members)
            {
                clusterOf.Add(id, c);
                Assert.InRange(jaccard, 0.8 - 1e-9, 1);
            }
        }

        Dictionary<(int, int), double> reference = ReferenceJaccard.Pairs([.. corpus.Select(d => d.Text)], 0.85);
        Assert.NotEmpty(reference);
        foreach ((int i, int j) in reference.Keys)
        {
            Assert.True(clusterOf.TryGetValue(corpus[i].Id, out int ci) && clusterOf.TryGetValue(corpus[j].Id, out int cj) && ci == cj,
                $"{corpus[i].Id} and {corpus[j].Id} (J={reference[(i, j)]:F3}) are not in one cluster");
        }

        string[] dropped = await File.ReadAllLinesAsync(drop), kept = await File.ReadAllLinesAsync(keep);
        Assert.Equal(clusters.Sum(c => c.Members.Count - 1), dropped.Length);
        Assert.Equal(corpus.Count, dropped.Length + kept.Length);
        Assert.Empty(dropped.Intersect(kept));
        Assert.All(clusters, c => Assert.Contains(c.Representative, kept));
        Assert.Contains($"{corpus.Count:N0} documents, {clusters.Count:N0} clusters, {dropped.Length:N0} duplicates", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.2)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    public async Task Dedup_BbcCorpusBelowTheDefaultThreshold_ClustersThePairsTheReferenceFindsAboveIt(double threshold)
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        string value = threshold.ToString(System.Globalization.CultureInfo.InvariantCulture);

        (int exit, string output, _) = await RunAsync("dedup", TestData.BbcPath, "--threshold", value);

        Assert.Equal(0, exit);
        var clusterOf = new Dictionary<string, int>();
        var clusters = Clusters(output);
        for (int c = 0; c < clusters.Count; c++)
        {
            clusters[c].Members.ForEach(m => clusterOf.Add(m.Id, c));
        }

        Dictionary<(int, int), double> reference = ReferenceJaccard.Pairs([.. corpus.Select(d => d.Text)], threshold + 0.05);
        Assert.True(reference.Count >= 150, $"{reference.Count} pairs");
        int together = reference.Keys.Count(p => clusterOf.TryGetValue(corpus[p.Item1].Id, out int a) && clusterOf.TryGetValue(corpus[p.Item2].Id, out int b) && a == b);
        Assert.True(together >= 0.99 * reference.Count, $"{together} of {reference.Count} pairs above {threshold + 0.05} clustered");
    }

    [Fact]
    public async Task Reuse_MoreCandidatePairsThanMaxPairs_FailsSayingWhyAndLeavesNoOutputFile()
    {
        string text = TestData.BbcCorpus()[3].Text;
        string jsonl = Path.Combine(_dir, "copies.jsonl");
        await File.WriteAllLinesAsync(jsonl, Enumerable.Range(0, 20).Select(i => JsonSerializer.Serialize(new { id = $"copy-{i}", text })));
        string pairs = Path.Combine(_dir, "pairs.jsonl");

        (int exit, string output, string error) = await RunAsync("reuse", jsonl, "--max-pairs", "1000", "--output", pairs);

        Assert.Equal(1, exit);
        Assert.Contains("candidate pairs, over the limit of 1,000", error, StringComparison.Ordinal);
        Assert.Contains("--max-pairs", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.Empty(Directory.GetFiles(_dir, "pairs.jsonl*"));
    }

    [Fact]
    public async Task Reuse_MoreToHoldThanMaxHeldMb_ComparesInSeveralReadingsAndWritesTheSamePairs()
    {
        // BBC's pairs span the corpus: 16 MB holds a few hundred of its articles, so they are read again twice.
        (int exit, string whole, string error) = await RunAsync("reuse", TestData.BbcPath);
        (int exitInBlocks, string inBlocks, string errorInBlocks) = await RunAsync("reuse", TestData.BbcPath, "--max-held-mb", "16");

        Assert.Equal((0, 0), (exit, exitInBlocks));
        Assert.Contains("1 reading to compare them", error, StringComparison.Ordinal);
        Assert.Contains("2 readings to compare them", errorInBlocks, StringComparison.Ordinal);
        string[] pairs = whole.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(pairs.Length > 2000, $"{pairs.Length} pairs");
        Assert.Equal(pairs.Order(StringComparer.Ordinal), inBlocks.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    // An independent reference: Dick Grune's similarity tester (Debian's similarity-tester, which scripts/test.sh
    // installs) compares every pair of BBC articles with -e and reports the runs of 7 words they share. Compare must find
    // every pair it finds; the few more it finds share runs of numbers (a tennis score), which sim_text counts as fewer words.
    [Fact]
    public async Task Reuse_Bbc_FindsEveryPairTheSimilarityTesterFinds()
    {
        string files = Directory.CreateDirectory(Path.Combine(_dir, "bbc-files")).FullName;
        var names = new List<string>();
        foreach ((string id, string text) in TestData.BbcCorpus())
        {
            names.Add(SimilarityTester.FileName(id));
            await File.WriteAllTextAsync(Path.Combine(files, names[^1]), text);
        }

        Task<HashSet<(string, string)>> peerPairs = SimilarityTester.PairsAsync(files, names);
        (int exit, string output, string error) = await RunAsync("reuse", TestData.BbcPath, "--max-documents", "1000000");
        HashSet<(string, string)> peer = await peerPairs;

        Assert.True(exit == 0, error);
        HashSet<(string, string)> ours = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(p => SimilarityTester.Ordered(SimilarityTester.FileName(p.GetProperty("leftId").GetString()!), SimilarityTester.FileName(p.GetProperty("rightId").GetString()!)))];
        Assert.True(peer.Count > 2000, $"sim_text found {peer.Count} pairs");
        Assert.Empty(peer.Except(ours));
        Assert.InRange(ours.Count - peer.Count, 0, peer.Count / 200);
    }

    [Fact]
    public async Task Reuse_ArticlesQuotingOthers_ListsEveryPairSharingSevenWordsInARowWithThePassages()
    {
        List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus().Skip(1000).Take(300)];
        var random = new Random(19);
        for (int q = 0; q < 20; q++)
        {
            string[] source = corpus[random.Next(300)].Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int length = random.Next(7, 20), start = random.Next(source.Length - length);
            string filler = string.Join(' ', Enumerable.Range(0, 40).Select(_ => "zq" + random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            corpus.Add(($"quote-{q}", $"{filler} {string.Join(' ', source[start..(start + length)])} {filler}"));
        }

        string jsonl = Path.Combine(_dir, "reuse.jsonl");
        await File.WriteAllLinesAsync(jsonl, corpus.Select(d => JsonSerializer.Serialize(new { id = d.Id, text = d.Text })));

        (int exit, string output, string error) = await RunAsync("reuse", jsonl);

        Assert.Equal(0, exit);
        var found = new HashSet<(string, string)>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            JsonElement pair = json.RootElement;
            found.Add((pair.GetProperty("leftId").GetString()!, pair.GetProperty("rightId").GetString()!));
            JsonElement longest = pair.GetProperty("passages")[0];
            Assert.True(longest.GetProperty("wordCount").GetInt32() >= 7);
            Assert.InRange(pair.GetProperty("leftCoverage").GetDouble(), 1e-9, 1);
        }

        // The engine-free reference: the pairs that have a run of seven words in common.
        HashSet<string>[] runs = [.. corpus.Select(d => ReferencePassages.Runs(d.Text, 7))];
        var expected = new List<(string, string)>();
        for (int a = 0; a < corpus.Count; a++)
        {
            for (int b = a + 1; b < corpus.Count; b++)
            {
                if (runs[a].Overlaps(runs[b]))
                {
                    expected.Add((corpus[a].Id, corpus[b].Id));
                }
            }
        }

        Assert.True(expected.Count >= 20, $"{expected.Count} pairs");
        Assert.All(expected, pair => Assert.Contains(pair, found));
        Assert.Contains($"{corpus.Count:N0} documents, {found.Count:N0} pairs sharing passages of 7+ words", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedup_JsonlCsvAndFolder_GiveTheSameClusters()
    {
        string jsonl = Path.Combine(_dir, "small.jsonl"), csv = Path.Combine(_dir, "small.csv"), folder = Path.Combine(_dir, "small");
        await File.WriteAllLinesAsync(jsonl, Small.Select(d => JsonSerializer.Serialize(new Dictionary<string, string> { ["id"] = d.Id, ["text"] = d.Text, ["source"] = "test" })));
        await File.WriteAllTextAsync(csv, "source,id,text\r\n" + string.Concat(Small.Select(d => $"test,{d.Id},\"{d.Text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"\r\n")));
        Directory.CreateDirectory(folder);
        foreach ((string id, string text) in Small)
        {
            await File.WriteAllTextAsync(Path.Combine(folder, id + ".txt"), text);
        }

        var results = new List<string>();
        foreach (string input in new[] { jsonl, csv, folder })
        {
            (int exit, string output, string error) = await RunAsync("dedup", input, "--threshold", "0.5");
            Assert.True(exit == 0, error);
            results.Add(output.Replace(".txt", string.Empty, StringComparison.Ordinal));
        }

        var clusters = Clusters(results[0]);
        Assert.Single(clusters);
        Assert.Equal(["a", "b"], clusters[0].Members.Select(m => m.Id));
        Assert.Equal(ReferenceJaccard.Jaccard(Small[0].Text, Small[1].Text), clusters[0].Members[1].Jaccard, 5);
        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
    }

    [Fact]
    public async Task Dedup_MalformedLines_AreReportedWithTheirLineNumbersAndSkipped()
    {
        string jsonl = Path.Combine(_dir, "broken.jsonl");
        await File.WriteAllLinesAsync(jsonl,
        [
            JsonSerializer.Serialize(new { id = "a", text = Small[0].Text }),
            JsonSerializer.Serialize(new { id = "b", text = Small[1].Text }),
            "{\"id\": \"x\", \"text\": ",
            "[1, 2]",
            JsonSerializer.Serialize(new { id = "y" }),
            JsonSerializer.Serialize(new { id = "a", text = "again" }),
            JsonSerializer.Serialize(new { id = 7, text = Small[2].Text }),
            """{"id": null, "text": "an id left empty by an export"}""",
            """{"id": {"value": 8}, "text": "an id nested one level down"}""",
            """{"text": "no id at all"}""",
        ]);

        (int exit, string output, string error) = await RunAsync("dedup", jsonl, "--threshold", "0.5");

        Assert.Equal(0, exit);
        Assert.Contains($"{jsonl}:3: not valid JSON", error, StringComparison.Ordinal);
        Assert.Contains($"{jsonl}:4: not a JSON object", error, StringComparison.Ordinal);
        Assert.Contains($"{jsonl}:5: no string \"text\" field", error, StringComparison.Ordinal);
        Assert.Contains($"{jsonl}:6: id \"a\" was already read", error, StringComparison.Ordinal);
        Assert.Contains($"{jsonl}:8: its \"id\" is null, not a string or a number", error, StringComparison.Ordinal);
        Assert.Contains($"{jsonl}:9: its \"id\" is an object, not a string or a number", error, StringComparison.Ordinal);
        Assert.Contains($"{jsonl}:10: no \"id\" field", error, StringComparison.Ordinal);
        Assert.Contains("3 documents, 1 cluster, 1 duplicate to drop, 7 records skipped", error, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], Clusters(output).Single().Members.Select(m => m.Id));

        (int strictExit, _, string strictError) = await RunAsync("dedup", jsonl, "--strict");
        Assert.Equal(CompareCli.InputError, strictExit);
        Assert.Contains($"{jsonl}:3: not valid JSON", strictError, StringComparison.Ordinal);
        Assert.Contains("(--strict)", strictError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedup_JsonLinesEdgeCases_ReadsBomCrlfNumbersAndLongLinesAndReportsBadRecords()
    {
        string path = Path.Combine(_dir, "edges.jsonl");
        string longText = string.Join(' ', Enumerable.Range(0, 200_000).Select(i => $"w{i}"));
        using (var file = File.Create(path))
        {
            void Line(string json, bool newline = true) => file.Write(Encoding.UTF8.GetBytes(json + (newline ? "\r\n" : "")));
            file.Write([0xEF, 0xBB, 0xBF]);
            Line(JsonSerializer.Serialize(new { id = "a", text = Small[0].Text }));
            Line($"{{\"id\": 2, \"source\": {{\"nested\": [1, 2]}}, \"text\": {JsonSerializer.Serialize(Small[1].Text)}}}");
            file.Write("{\"id\":\"bad-bytes\",\"text\":\"caf"u8);
            file.Write([0xFF, 0xFE]);
            file.Write("\"}\n"u8);
            Line("{\"id\":\"x\",\"text\":\"fine\"} trailing");
            Line(JsonSerializer.Serialize(new { id = "long", text = longText }));
            Line("");
            Line(JsonSerializer.Serialize(new { id = "d", text = Small[2].Text }), newline: false);
        }

        string keep = Path.Combine(_dir, "keep.txt");
        (int exit, string output, string error) = await RunAsync("dedup", path, "--keep", keep);

        Assert.True(exit == 0, error);
        (string representative, List<(string Id, double Jaccard)> members) = Assert.Single(Clusters(output));
        Assert.Equal("a", representative);
        Assert.Equal(["a", "2"], members.Select(m => m.Id));
        Assert.Equal(["a", "long", "d"], File.ReadAllLines(keep));
        Assert.Contains($"{path}:3: not valid", error, StringComparison.Ordinal);
        Assert.Contains($"{path}:4: not valid JSON", error, StringComparison.Ordinal);
        Assert.Contains("4 documents, 1 cluster, 1 duplicate to drop, 2 records skipped", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedup_GeneratedCorpus_FindsThePlantedDuplicatesAboveTheThresholdAndNoFalsePairs()
    {
        string path = Path.Combine(_dir, "synthetic.jsonl"), pairsPath = Path.Combine(_dir, "pairs.jsonl");
        SyntheticCorpus.WriteJsonLines(path, 10_000, seed: 7);
        var texts = new Dictionary<string, string>();
        var planted = new List<(string Copy, string Original)>();
        foreach (string line in File.ReadLines(path))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            string id = json.RootElement.GetProperty("id").GetString()!;
            texts[id] = json.RootElement.GetProperty("text").GetString()!;
            if (json.RootElement.GetProperty("duplicate_of").GetString() is { } original)
            {
                planted.Add((id, original));
            }
        }

        (int exit, string output, string error) = await RunAsync("dedup", path, "--threshold", "0.8", "--pairs", pairsPath);

        Assert.True(exit == 0, error);
        var clusterOf = new Dictionary<string, int>();
        List<(string Representative, List<(string Id, double Jaccard)> Members)> clusters = Clusters(output);
        for (int c = 0; c < clusters.Count; c++)
        {
            clusters[c].Members.ForEach(m => clusterOf.Add(m.Id, c));
        }

        var above = planted.Where(p => ReferenceJaccard.Jaccard(texts[p.Copy], texts[p.Original]) >= 0.8).ToList();
        Assert.True(above.Count > 500, $"{above.Count} planted pairs above 0.8");
        int found = above.Count(p => clusterOf.TryGetValue(p.Copy, out int c) && clusterOf.TryGetValue(p.Original, out int o) && c == o);
        Assert.True(found >= 0.99 * above.Count, $"recall {found} of {above.Count}");
        foreach (string line in File.ReadLines(pairsPath))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            string left = json.RootElement.GetProperty("leftId").GetString()!, right = json.RootElement.GetProperty("rightId").GetString()!;
            double reference = ReferenceJaccard.Jaccard(texts[left], texts[right]);
            Assert.True(reference >= 0.79, $"{left} and {right} reported at J = {reference:F3}");
            Assert.Equal(reference, json.RootElement.GetProperty("jaccard").GetDouble(), 2);
        }
    }

    [Fact]
    public async Task Dedup_CsvWithAnUnclosedQuoteOrMissingColumns_ReportsTheLine()
    {
        string csv = Path.Combine(_dir, "broken.csv");
        await File.WriteAllTextAsync(csv, $"id,text\na,\"{Small[0].Text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"\nb\nc,\"{Small[2].Text}\"\nd,\"never closed");

        (int exit, _, string error) = await RunAsync("dedup", csv);

        Assert.Equal(0, exit);
        Assert.Contains($"{csv}:4: 1 fields where the header has 2", error, StringComparison.Ordinal);
        Assert.Contains($"{csv}:6: a quoted field is not closed", error, StringComparison.Ordinal);
        Assert.Contains("2 documents", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id;text\na;some words\n", "(id;text); its fields look separated by ';': compare reads CSV separated by commas.")]
    [InlineData("id\ttext\na\tsome words\n", "(id\ttext); its fields look separated by tabs: compare reads CSV separated by commas.")]
    [InlineData("key,body\na,some words\n", "(key, body).")]
    public async Task Dedup_CsvWithoutTheIdColumn_NamesTheHeaderAndAnotherSeparator(string content, string said)
    {
        string csv = Path.Combine(_dir, "other.csv");
        await File.WriteAllTextAsync(csv, content);

        (int exit, _, string error) = await RunAsync("dedup", csv);

        Assert.Equal(CompareCli.InputError, exit);
        Assert.Contains($"{csv}:1: the header has no \"id\" column {said}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedup_BadArguments_ExitWithTheDocumentedCodes()
    {
        Assert.Equal(CompareCli.UsageError, (await RunAsync("dedup", "x.jsonl", "--threshold", "1.5")).Exit);
        Assert.Equal(CompareCli.UsageError, (await RunAsync("dedup")).Exit);
        (int tooLittle, _, string tooLittleError) = await RunAsync("dedup", TestData.BbcPath, "--max-held-mb", "8");
        Assert.Equal(CompareCli.UsageError, tooLittle);
        Assert.Contains("--max-held-mb", tooLittleError, StringComparison.Ordinal);
        (int missing, _, string error) = await RunAsync("dedup", Path.Combine(_dir, "absent.jsonl"));
        Assert.Equal(CompareCli.InputError, missing);
        Assert.Contains("absent.jsonl", error, StringComparison.Ordinal);
        Assert.Equal(CompareCli.InputError, (await RunAsync("dedup", Path.Combine(_dir, "..", Path.GetFileName(_dir), "nothing.xml"))).Exit);
    }

    [Fact]
    public async Task Dedup_Cancelled_StopsWithExitCode130()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        (int exit, _, string error) = await RunAsync(cancelled.Token, "dedup", TestData.BbcPath);

        Assert.Equal(CompareCli.Cancelled, exit);
        Assert.Contains("cancelled", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dedup_CancelledWhileSketching_StopsBeforeWritingClusters()
    {
        // The BBC corpus twenty times over (45,000 documents): long enough to cancel in the middle.
        string big = Path.Combine(_dir, "big.jsonl");
        await File.WriteAllLinesAsync(big, Enumerable.Range(0, 20).SelectMany(copy => TestData.BbcCorpus()
            .Select(d => JsonSerializer.Serialize(new { id = $"{copy}-{d.Id}", text = $"{d.Text} {copy}" }))));
        string clusters = Path.Combine(_dir, "clusters.jsonl");
        using var cancellation = new CancellationTokenSource();
        using var error = new CancelOnWrite("compare: Sketching", cancellation);

        int exit = await CompareCli.RunAsync(["dedup", big, "-o", clusters], new StringWriter(), error, cancellation.Token);

        Assert.Equal(CompareCli.Cancelled, exit);
        Assert.Contains("compare: cancelled.", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Clustering", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(clusters));
    }

    /// <summary>Standard error that cancels the run when a line starting with <paramref name="prefix"/> is written.</summary>
    private sealed class CancelOnWrite(string prefix, CancellationTokenSource cancellation) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.StartsWith(prefix, StringComparison.Ordinal) == true)
            {
                cancellation.Cancel();
            }
        }
    }

    [Fact]
    public async Task Diff_Seeds_HighlightsTheSharedPhrasesInBothTexts()
    {
        string left = Path.Combine(TestData.RepositoryRoot, "seeds", "003_2f03ddab81289ed0.txt");
        string right = Path.Combine(TestData.RepositoryRoot, "seeds", "000_964e81d81ffb6499.txt");

        (int exit, string output, _) = await RunAsync("diff", left, right, "--color", "false");

        Assert.Equal(0, exit);
        string[] sections = output.Split("== ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("construction of the Silk Road Economic Belt", sections[1][sections[1].IndexOf("[[", StringComparison.Ordinal)..], StringComparison.Ordinal);
        foreach (string section in sections[1..3])
        {
            Assert.Matches(@"\[\[[^\]]*Silk Road Economic Belt[^\]]*\]\]", section);
            Assert.Matches(@"\[\[[^\]]*Shanghai Cooperation Organization \(SCO\)[^\]]*\]\]", section);
        }

        (_, string colored, _) = await RunAsync("diff", left, right, "--color", "true");
        Assert.Contains("\u001b[30;43m", colored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_SeedsInEitherOrder_MarksBothOccurrencesOfTheSilkRoadEconomicBeltAndListsEveryOccurrence()
    {
        string report2014 = Path.Combine(TestData.RepositoryRoot, "seeds", "003_2f03ddab81289ed0.txt");
        string report2016 = Path.Combine(TestData.RepositoryRoot, "seeds", "000_964e81d81ffb6499.txt");

        foreach ((string left, string right) in new[] { (report2014, report2016), (report2016, report2014) })
        {
            (int exit, string output, _) = await RunAsync("diff", left, right, "--color", "false");

            Assert.Equal(0, exit);
            string[] sections = output.Split("== ", StringSplitOptions.RemoveEmptyEntries);
            string marked2016 = left == report2016 ? sections[1] : sections[2];
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(marked2016, @"\[\[[^\]]*Silk Road Economic Belt[^\]]*\]\]"));
            // "development of the SCO" stands twice in the 2016 report: one passage, two places on its side.
            string[] listed = sections[3].Split('\n');
            string development = Assert.Single(listed, line => line.EndsWith("words: development of the SCO", StringComparison.Ordinal));
            Assert.Matches(left == report2016 ? @"^\[\d+\.\.\d+\) \[\d+\.\.\d+\); \[\d+\.\.\d+\) 4 words" : @"^\[\d+\.\.\d+\); \[\d+\.\.\d+\) \[\d+\.\.\d+\) 4 words", development);
        }
    }

    [Fact]
    public async Task Diff_Bridge_JoinsAcrossAChangedWordAndBadValuesExitWithUsage()
    {
        string left = Path.Combine(_dir, "left.txt"), right = Path.Combine(_dir, "right.txt");
        await File.WriteAllTextAsync(left, "Kazakhstan will take over the rotating presidency of the Shanghai Cooperation Organization next year.");
        await File.WriteAllTextAsync(right, "Kazakhstan will take over the revolving presidency of the Shanghai Cooperation Organization next year.");

        (int exact, string exactOutput, _) = await RunAsync("diff", left, right, "--color", "false");
        (int bridged, string bridgedOutput, _) = await RunAsync("diff", left, right, "--color", "false", "--bridge", "1");
        (int bad, _, string error) = await RunAsync("diff", left, right, "--bridge", "11");

        Assert.Equal((0, 0), (exact, bridged));
        Assert.StartsWith("2 shared passages", exactOutput, StringComparison.Ordinal);
        Assert.StartsWith("1 shared passage; they cover 100.0 %", bridgedOutput, StringComparison.Ordinal);
        Assert.NotEqual(0, bad);
        Assert.Contains("--bridge must be a whole number 0 to 10", error, StringComparison.Ordinal);
    }
}
