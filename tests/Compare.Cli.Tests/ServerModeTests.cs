using Compare.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Compare.Cli.Tests;

public sealed class ServerModeTests
{
    [Theory]
    [InlineData("0.8")]
    [InlineData("0.3")] // below the collection's threshold: the server probes its prefix forest
    public async Task Dedup_WithServer_UploadsThenAnswersAsTheInProcessRunDoes(string threshold)
    {
        await using WebApplication app = await StartServerAsync();
        string server = app.Urls.Single();

        using var localOut = new StringWriter();
        using var serverOut = new StringWriter();
        using var localErr = new StringWriter();
        using var serverErr = new StringWriter();
        int local = await CompareCli.RunAsync(["dedup", TestData.BbcPath, "--threshold", threshold], localOut, localErr);
        int remote = await CompareCli.RunAsync(["dedup", TestData.BbcPath, "--threshold", threshold, "--server", server], serverOut, serverErr);

        Assert.Equal(0, local);
        Assert.True(remote == 0, serverErr.ToString());
        Assert.NotEmpty(localOut.ToString());
        Assert.Equal(Normalised(localOut.ToString()), Normalised(serverOut.ToString()));
        int clusters = Normalised(localOut.ToString()).Length;
        Assert.Contains($" documents, {clusters:N0} clusters", localErr.ToString(), StringComparison.Ordinal);
        Assert.Contains($" documents, {clusters:N0} clusters", serverErr.ToString(), StringComparison.Ordinal);

        int refused = await CompareCli.RunAsync(["dedup", TestData.BbcPath, "--server", server, "--collection", "missing"], new StringWriter(), serverErr);
        Assert.Equal(CompareCli.ServerError, refused);
        Assert.Contains("NotFound", serverErr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DedupAndIndex_WithServer_BbcInShards_UploadEveryShardAndAnswerAsTheWholeFile()
    {
        await using WebApplication app = await StartServerAsync();
        string server = app.Urls.Single();
        DirectoryInfo directory = Directory.CreateTempSubdirectory("compare-cli-");
        string[] shards = await BbcShards.WriteAsync(directory.FullName);
        using var localOut = new StringWriter();
        using var serverOut = new StringWriter();
        using var error = new StringWriter();

        int local = await CompareCli.RunAsync(["dedup", TestData.BbcPath], localOut, error);
        int remote = await CompareCli.RunAsync(["dedup", .. shards, "--server", server, "--collection", "shards", "--create"], serverOut, error);
        int indexed = await CompareCli.RunAsync(["index", .. shards, "--server", server, "--collection", "shards"], new StringWriter(), error);
        directory.Delete(recursive: true);

        Assert.True(local == 0 && remote == 0 && indexed == 0, error.ToString());
        Assert.NotEmpty(localOut.ToString());
        Assert.Equal(Normalised(localOut.ToString()), Normalised(serverOut.ToString()));
        int documents = TestData.BbcCorpus().Count;
        Assert.Contains($"{documents:N0} documents sent: 0 created, 0 updated, {documents:N0} unchanged", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexThenSimilar_SeedsFolder_FindsTheFileItself()
    {
        await using WebApplication app = await StartServerAsync();
        string server = app.Urls.Single();
        string seeds = Path.Combine(TestData.RepositoryRoot, "seeds");
        using var error = new StringWriter();
        using var output = new StringWriter();

        int indexed = await CompareCli.RunAsync(["index", seeds, "--server", server], new StringWriter(), error);
        double seedsJaccard = ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2016);
        Assert.InRange(seedsJaccard, 1e-4, 0.5);
        int similar = await CompareCli.RunAsync(["similar", Path.Combine(seeds, "003_2f03ddab81289ed0.txt"), "--server", server,
            "--threshold", (seedsJaccard / 2).ToString(System.Globalization.CultureInfo.InvariantCulture), "--exhaustive"], output, error);

        Assert.True(indexed == 0 && similar == 0, error.ToString());
        int files = Directory.GetFiles(seeds, "*.txt").Length;
        Assert.Contains($"{files:N0} documents sent: {files:N0} created", error.ToString(), StringComparison.Ordinal);
        string[] matches = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("1.0000\t1.0000\t1.0000\t003_2f03ddab81289ed0.txt", matches[0]);
        Assert.Equal($"{seedsJaccard.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)}\t", matches[1][..7]);
        Assert.EndsWith("\t000_964e81d81ffb6499.txt", matches[1], StringComparison.Ordinal);
        Assert.Contains($"compare: {matches.Length} matches at Jaccard ≥", error.ToString(), StringComparison.Ordinal);
        using var alone = new StringWriter();
        Assert.Equal(0, await CompareCli.RunAsync(["similar", Path.Combine(seeds, "003_2f03ddab81289ed0.txt"), "--server", server, "--threshold", "0.9"], new StringWriter(), alone));
        Assert.Contains("compare: 1 match at Jaccard ≥ 0.90", alone.ToString(), StringComparison.Ordinal);
        Assert.Equal(CompareCli.UsageError, await CompareCli.RunAsync(["similar", "x.txt"], new StringWriter(), new StringWriter()));
    }

    [Fact]
    public async Task Passages_SeedReport_ListsTheOtherReportWithTheSilkRoadPassage()
    {
        await using WebApplication app = await StartServerAsync();
        string server = app.Urls.Single();
        string seeds = Path.Combine(TestData.RepositoryRoot, "seeds");
        using var error = new StringWriter();
        using var output = new StringWriter();

        int indexed = await CompareCli.RunAsync(["index", seeds, "--server", server, "--collection", "passages", "--create"], new StringWriter(), error);
        int found = await CompareCli.RunAsync(["passages", Path.Combine(seeds, "003_2f03ddab81289ed0.txt"), "--server", server, "--collection", "passages"], output, error);

        Assert.True(indexed == 0 && found == 0, error.ToString());
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The file itself first (all its words), then the 2016 report by the passages they share.
        Assert.Equal("003_2f03ddab81289ed0.txt", lines[0].Split('\t')[3]);
        string wholeFile = lines[0].Split('\t')[4];
        Assert.EndsWith("…", wholeFile, StringComparison.Ordinal);
        Assert.InRange(wholeFile.Length, 60, 121);
        string[] other = Assert.Single(lines, l => l.Split('\t')[3] == "000_964e81d81ffb6499.txt").Split('\t');
        Assert.InRange(int.Parse(other[0], System.Globalization.CultureInfo.InvariantCulture), 7, 1000);
        Assert.Contains($"compare: {lines.Length} documents share passages with the file; every shared passage of 7+ words is found", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(CompareCli.UsageError, await CompareCli.RunAsync(["passages", "x.txt", "--server", server, "--min-words", "1"], new StringWriter(), new StringWriter()));
    }

    [Theory]
    [InlineData("the Silk Road\nEconomic Belt", 120, "the Silk Road Economic Belt")]
    [InlineData("one two three four", 10, "one two…")]
    [InlineData("abcdefghijklmnop", 10, "abcdefghij…")]
    public void Excerpt_LongOrBrokenPassage_IsOneLineCutAtAWord(string passage, int limit, string expected) =>
        Assert.Equal(expected, ServerCommands.Excerpt(passage, limit));

    [Fact]
    public async Task Index_JsonLinesWithOtherFields_StoresThemAsMetadata()
    {
        V1.StoredDocument[] stored = await IndexedAsync("meta.jsonl", path => File.WriteAllTextAsync(path, """
            {"id": "n1", "text": "Xi Jinping met Nursultan Nazarbayev in Astana.", "source": "Xinhua", "year": 2014, "tags": ["a", "b"]}
            """), "n1");

        Assert.Equal("Xi Jinping met Nursultan Nazarbayev in Astana.", stored[0].Text);
        Assert.Equal(new Dictionary<string, string> { ["source"] = "Xinhua", ["year"] = "2014", ["tags"] = "[\"a\", \"b\"]" }, stored[0].Metadata);
    }

    [Fact]
    public async Task Index_ParquetWithOtherColumns_StoresThePlainOnesAsMetadata()
    {
        V1.StoredDocument[] stored = await IndexedAsync("meta.parquet", path => ParquetTestFiles.WriteAsync(path, 1,
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<string>("id"), new[] { "n1", "n2" }),
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<string>("text"), new[] { "Xi Jinping met Nursultan Nazarbayev in Astana.", "Trade was discussed." }),
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<string>("source"), new[] { "Xinhua", null }),
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<long>("year"), new long[] { 2014, 2016 }),
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<double?>("score"), new double?[] { 0.25, null }),
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<bool>("wire"), new[] { true, false }),
            new ParquetTestFiles.Column(new Parquet.Schema.DataField<DateTime>("published"), new[] { DateTime.UnixEpoch, DateTime.UnixEpoch })), "n1", "n2");

        Assert.Equal("Xi Jinping met Nursultan Nazarbayev in Astana.", stored[0].Text);
        // Times are not among the plain columns metadata takes; a null leaves its column out of that row.
        Assert.Equal(new Dictionary<string, string> { ["source"] = "Xinhua", ["year"] = "2014", ["score"] = "0.25", ["wire"] = "true" }, stored[0].Metadata);
        Assert.Equal(new Dictionary<string, string> { ["year"] = "2016", ["wire"] = "false" }, stored[1].Metadata);
    }

    // A file named fileName, written by write, uploaded with compare index into a fresh server's default collection; the
    // documents ids name, as the server then holds them.
    private static async Task<V1.StoredDocument[]> IndexedAsync(string fileName, Func<string, Task> write, params string[] ids)
    {
        await using WebApplication app = await StartServerAsync();
        string server = app.Urls.Single();
        DirectoryInfo directory = Directory.CreateTempSubdirectory("compare-cli-");
        string path = Path.Combine(directory.FullName, fileName);
        await write(path);
        using var error = new StringWriter();

        int exit = await CompareCli.RunAsync(["index", path, "--server", server, "--collection", "default"], new StringWriter(), error);
        directory.Delete(recursive: true);

        Assert.True(exit == 0, error.ToString());
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server);
        var documents = new V1.DocumentService.DocumentServiceClient(channel);
        var stored = new List<V1.StoredDocument>();
        foreach (string id in ids)
        {
            stored.Add((await documents.GetDocumentAsync(new V1.GetDocumentRequest { Id = id, IncludeText = true })).Document);
        }

        return [.. stored];
    }

    internal static async Task<WebApplication> StartServerAsync(Dictionary<string, string?>? settings = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "Memory" });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.AddCompareServer();
        WebApplication app = builder.Build();
        app.MapCompareServer();
        await app.StartAsync();
        // Calls are UNAVAILABLE until the store has loaded (as a client would see); the tests start once it has.
        var store = app.Services.GetRequiredService<Compare.Server.Storage.IDocumentStore>();
        while (!(await store.GetStatusAsync(CancellationToken.None)).Ready)
        {
            await Task.Delay(10);
        }

        return app;
    }

    // Clusters as sorted lines: the server streams them in its own order.
    private static string[] Normalised(string jsonLines) => [.. jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
}

/// <summary>Tests that set the process's environment, which every other CLI test would see: run alone.</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;

[Collection(nameof(ProcessEnvironment))]
public sealed class ServerModeApiKeyTests
{
    [Fact]
    public async Task Index_AgainstAServerWithKeys_NeedsCompareApiKey_AndSaysSoWithoutIt()
    {
        const string key = "cli-test-key-0123456789abcdef";
        await using WebApplication app = await ServerModeTests.StartServerAsync(new() { ["Security:ApiKeys:0"] = key });
        string server = app.Urls.Single();
        string seeds = Path.Combine(TestData.RepositoryRoot, "seeds");

        using var refusedError = new StringWriter();
        int refused = await CompareCli.RunAsync(["index", seeds, "--server", server], new StringWriter(), refusedError);
        Assert.Equal(CompareCli.ServerError, refused);
        Assert.Contains("answered Unauthenticated", refusedError.ToString(), StringComparison.Ordinal);
        Assert.Contains("(set COMPARE_API_KEY to the key)", refusedError.ToString(), StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("COMPARE_API_KEY", key);
        try
        {
            using var error = new StringWriter();
            using var output = new StringWriter();
            int indexed = await CompareCli.RunAsync(["index", seeds, "--server", server], new StringWriter(), error);
            int similar = await CompareCli.RunAsync(["similar", Path.Combine(seeds, "003_2f03ddab81289ed0.txt"), "--server", server], output, error);
            Assert.True(indexed == 0 && similar == 0, error.ToString());
            Assert.StartsWith("1.0000\t1.0000\t1.0000\t003_2f03ddab81289ed0.txt", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("COMPARE_API_KEY", null);
        }
    }
}
