using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace Compare.Cli.Tests;

/// <summary>compare export: a collection out as JSON lines, which compare index takes back into a copy.</summary>
public sealed class ExportTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = await CompareCli.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Export_ThenIndexIntoANewCollection_CopiesEveryDocumentWithItsMetadata_AndExportsAlike()
    {
        // Pages of at most 40 KB of answer: the export follows dozens of page tokens, and a longer article fills a page alone.
        await using WebApplication app = await ServerModeTests.StartServerAsync(new() { ["Limits:MaxResponseBytes"] = "40000" });
        string server = app.Urls.Single();
        DirectoryInfo directory = Directory.CreateTempSubdirectory("compare-export-");
        try
        {
            // BBC with metadata of every kind a record's other fields make: plain, non-ASCII, quotes, a line break, a number.
            string source = Path.Combine(directory.FullName, "bbc.jsonl");
            Dictionary<string, JsonObject> records = [];
            await using (var writer = new StreamWriter(source))
            {
                int n = 0;
                foreach (string line in File.ReadLines(TestData.BbcPath))
                {
                    JsonObject record = JsonNode.Parse(line)!.AsObject();
                    record["desk"] = $"été \"{n % 5}\"\nLondon";
                    record["n"] = n++;
                    records[(string)record["id"]!] = record;
                    await writer.WriteLineAsync(record.ToJsonString());
                }
            }

            string exported = Path.Combine(directory.FullName, "bbc-out.jsonl.gz");
            Assert.Equal(0, (await RunAsync("index", source, "--server", server, "--collection", "bbc", "--create", "--threshold", "0.7")).Exit);
            (int exit, _, string error) = await RunAsync("export", "--server", server, "--collection", "bbc", "--output", exported);
            Assert.True(exit == 0, error);
            Assert.Contains($"{records.Count:N0} documents of collection \"bbc\" written to {exported} (threshold 0.7,", error, StringComparison.Ordinal);

            // Each line is its record: the id, the text, and every other field as a string (index keeps metadata as text), in id order.
            string[] lines = await ReadGzipLinesAsync(exported);
            Assert.Equal(records.Count, lines.Length);
            string[] ids = [.. lines.Select(line => (string)JsonNode.Parse(line)!["id"]!)];
            Assert.Equal(records.Keys.Order(StringComparer.Ordinal), ids);
            foreach (string line in lines)
            {
                JsonObject got = JsonNode.Parse(line)!.AsObject(), expected = records[(string)got["id"]!];
                Assert.Equal(expected.Select(p => p.Key).Order(StringComparer.Ordinal), got.Select(p => p.Key).Order(StringComparer.Ordinal));
                foreach ((string field, JsonNode? value) in expected)
                {
                    Assert.Equal(value!.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string)value! : value.ToJsonString(), (string)got[field]!);
                }
            }

            // The export indexed into a collection made with the original's settings (as the README moves one) exports
            // byte for byte the same and deduplicates alike.
            using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server);
            var collections = new V1.CollectionService.CollectionServiceClient(channel);
            V1.CollectionConfig config = (await collections.GetCollectionAsync(new V1.GetCollectionRequest { Name = "bbc" })).Collection.Config;
            await collections.CreateCollectionAsync(new V1.CreateCollectionRequest { Name = "copy", Config = config });
            Assert.Equal(0, (await RunAsync("index", exported, "--server", server, "--collection", "copy")).Exit);
            (int again, string copied, string againError) = await RunAsync("export", "--server", server, "--collection", "copy");
            Assert.True(again == 0, againError);
            Assert.Equal(string.Join('\n', lines) + "\n", copied.ReplaceLineEndings("\n"));
            var similarity = new V1.SimilarityService.SimilarityServiceClient(channel);
            Assert.Equal(await PairsAsync(similarity, "bbc"), await PairsAsync(similarity, "copy"));
            Assert.NotEmpty(await PairsAsync(similarity, "copy"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Export_Refusals_SayWhyAndLeaveNoFile()
    {
        await using WebApplication app = await ServerModeTests.StartServerAsync();
        string server = app.Urls.Single();
        DirectoryInfo directory = Directory.CreateTempSubdirectory("compare-export-");
        try
        {
            string output = Path.Combine(directory.FullName, "out.jsonl");

            (int missing, _, string missingError) = await RunAsync("export", "--server", server, "--collection", "nope", "-o", output);
            Assert.Equal(CompareCli.ServerError, missing);
            Assert.Contains("Collection 'nope' does not exist.", missingError, StringComparison.Ordinal);
            Assert.DoesNotContain("--create", missingError, StringComparison.Ordinal); // export has none

            (int csv, _, string csvError) = await RunAsync("export", "--server", server, "-o", Path.Combine(directory.FullName, "out.csv"));
            Assert.Equal(CompareCli.UsageError, csv);
            Assert.Contains("export writes JSON lines", csvError, StringComparison.Ordinal);

            // Texts read from "body" leave a "text" field among the metadata: exported under "text" it would be lost.
            string source = Path.Combine(directory.FullName, "bodies.jsonl");
            await File.WriteAllLinesAsync(source, ["""{"id": "a", "body": "the first text of all", "text": "a summary"}""", """{"id": "b", "body": "another text"}"""]);
            Assert.Equal(0, (await RunAsync("index", source, "--server", server, "--text-field", "body")).Exit);
            (int clash, _, string clashError) = await RunAsync("export", "--server", server, "-o", output);
            Assert.Equal(CompareCli.InputError, clash);
            Assert.Contains("document \"a\" has a metadata entry named \"text\"", clashError, StringComparison.Ordinal);
            Assert.Empty(directory.GetFiles("out.*"));

            (int renamed, string lines, string renamedError) = await RunAsync("export", "--server", server, "--text-field", "body");
            Assert.True(renamed == 0, renamedError);
            Assert.Equal(
                """{"id":"a","body":"the first text of all","text":"a summary"}""" + "\n" + """{"id":"b","body":"another text"}""" + "\n",
                lines.ReplaceLineEndings("\n"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Export_ADamagedDocument_IsLeftOutAndNamed_AndEveryOtherIsWritten()
    {
        DirectoryInfo directory = Directory.CreateTempSubdirectory("compare-export-");
        try
        {
            Dictionary<string, string?> sqlite = new() { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = directory.FullName };
            List<(string Id, string Text)> corpus = [.. TestData.BbcCorpus()];
            await using (WebApplication app = await ServerModeTests.StartServerAsync(sqlite))
            {
                Assert.Equal(0, (await RunAsync("index", TestData.BbcPath, "--server", app.Urls.Single())).Exit);
                await app.StopAsync();
            }

            // One letter of two stored texts changed on disk, far apart (different pages of the listing), under their intact hashes.
            string[] damaged = [corpus[10].Id, corpus[2000].Id];
            string file = Path.Combine(directory.FullName, Compare.Server.Storage.Sqlite.SqliteDocumentRecords.FileName);
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
            {
                connection.Open();
                using SqliteCommand command = connection.CreateCommand();
                command.CommandText = "UPDATE documents SET text = 'X' || substr(text, 2) WHERE id IN ($a, $b)";
                command.Parameters.AddWithValue("$a", damaged[0]);
                command.Parameters.AddWithValue("$b", damaged[1]);
                Assert.Equal(2, command.ExecuteNonQuery());
            }

            SqliteConnection.ClearAllPools();
            await using (WebApplication app = await ServerModeTests.StartServerAsync(sqlite))
            {
                string exported = Path.Combine(directory.FullName, "out.jsonl");
                (int exit, _, string error) = await RunAsync("export", "--server", app.Urls.Single(), "-o", exported);

                Assert.Equal(CompareCli.ServerError, exit);
                Assert.Contains($"{corpus.Count - 2:N0} documents of collection \"default\" written", error, StringComparison.Ordinal);
                Assert.Contains($"2 damaged documents left out (the server answered DATA_LOSS): {string.Join(", ", damaged.Order(StringComparer.Ordinal).Select(id => $"\"{id}\""))}.",
                    error, StringComparison.Ordinal);
                Dictionary<string, string> written = File.ReadLines(exported).Select(line => JsonNode.Parse(line)!)
                    .ToDictionary(record => (string)record["id"]!, record => (string)record["text"]!);
                Assert.Equal(corpus.Where(d => !damaged.Contains(d.Id)).ToDictionary(d => d.Id, d => d.Text), written);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static async Task<string[]> PairsAsync(V1.SimilarityService.SimilarityServiceClient similarity, string collection)
    {
        var pairs = new List<string>();
        using var call = similarity.Deduplicate(new V1.DeduplicateRequest { Collection = collection, Threshold = 0.5, IncludePairs = true });
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            if (call.ResponseStream.Current.Pair is { } pair)
            {
                pairs.Add(string.Join(' ', new[] { pair.LeftId, pair.RightId }.Order(StringComparer.Ordinal)) + $" {pair.Jaccard:R}");
            }
        }

        return [.. pairs.Order(StringComparer.Ordinal)];
    }

    private static async Task<string[]> ReadGzipLinesAsync(string path)
    {
        await using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
