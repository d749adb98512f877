using System.Net;
using System.Text.RegularExpressions;
using Compare.V1;
using Grpc.Health.V1;

namespace Compare.Server.Tests;

/// <summary>
/// The server as an operator meets it: published with the README's command, started from anywhere, asked for its
/// version, probed over HTTP, refused a start with one line, and run as two replicas by the README's recipe.
/// </summary>
public sealed partial class DeploymentTests
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    [Fact]
    public async Task Published_StartedFromAnotherDirectory_FindsItsConfigurationAndKeepsDataInTheUserDataDirectory()
    {
        using var elsewhere = new TempDirectory();
        using var home = new TempDirectory();
        string server = await Published.Value;
        var environment = new Dictionary<string, string> { ["XDG_DATA_HOME"] = home.Path };

        await using (ServerProcess process = await ServerProcess.StartAsync(environment, executable: server, workingDirectory: elsewhere.Path))
        {
            await process.Documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Documents = { new Document { Id = "2014", Text = TestData.Seed2014 } } });
            await WaitForAsync(() => process.Output.Contains("/compare.v1.DocumentService/UpsertDocuments OK", StringComparison.Ordinal));

            string database = Path.Combine(home.Path, "compare", "compare.db");
            Assert.True(File.Exists(database), process.Output);
            Assert.Empty(Directory.EnumerateFileSystemEntries(elsewhere.Path));
            // The startup line names the version and the data file.
            Assert.Matches(@"Compare \d+\.\d+\.\d+\S* is serving compare\.v1 on http://127\.0\.0\.1:\d+ \(store: SQLite at " + Regex.Escape(database), process.Output);
            // appsettings.json was read: ASP.NET's per-request lines are off, Kestrel does not warn about HTTP/2.
            Assert.DoesNotContain("Request starting", process.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("HTTP/2 is not enabled", process.Output, StringComparison.Ordinal);
        }

        (int exit, string output, _) = await ServerProcess.RunToEndAsync(server, ["--version"], workingDirectory: elsewhere.Path);
        Assert.Equal(0, exit);
        Assert.Matches(@"^Compare\.Server \d+\.\d+\.\d+\S*\n$", output);
        (exit, output, _) = await ServerProcess.RunToEndAsync(server, ["--help"], workingDirectory: elsewhere.Path);
        Assert.Equal(0, exit);
        Assert.Contains("--urls URL", output, StringComparison.Ordinal);
        Assert.Contains("/readyz", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_PortInUseOrDataDirectoryInUse_OneLineNamingTheProblemAndTheFix()
    {
        using var data = new TempDirectory();
        using var other = new TempDirectory();
        await using ServerProcess first = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = data.Path });
        string server = await Published.Value;

        (int exit, string output, string error) = await ServerProcess.RunToEndAsync(server, ["--urls", first.Address],
            new Dictionary<string, string> { ["Storage__Path"] = other.Path });
        Assert.Equal(1, exit);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Failed to bind to address {first.Address}: address already in use", line, StringComparison.Ordinal);
        Assert.Contains("choose another address with --urls", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output + error, StringComparison.Ordinal);

        (exit, output, error) = await ServerProcess.RunToEndAsync(server, ["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}"],
            new Dictionary<string, string> { ["Storage__Path"] = data.Path });
        Assert.Equal(1, exit);
        line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("is in use by another Compare server", line, StringComparison.Ordinal);
        Assert.Contains("Storage__Path", line, StringComparison.Ordinal);

        (exit, _, error) = await ServerProcess.RunToEndAsync(server, ["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--Limits:MaxPhrases=0"],
            new Dictionary<string, string> { ["Storage__Path"] = other.Path });
        Assert.Equal(1, exit);
        Assert.Contains("Limits:MaxPhrases must be positive; it was 0.", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);

        // A value configuration cannot convert at all is said the same way, not as the binder's exception.
        (exit, _, error) = await ServerProcess.RunToEndAsync(server, ["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--Limits:MaxTopK=ten"],
            new Dictionary<string, string> { ["Storage__Path"] = other.Path });
        Assert.Equal(1, exit);
        Assert.Equal("Compare.Server could not start: Limits:MaxTopK must be a whole number; it was 'ten'.", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim());
    }

    [Fact]
    public async Task Probes_StoreDownThenUp_ReadyzFollowsTheStoreWhileHealthzStaysOk()
    {
        int redisPort = ServerProcess.FreePort();
        await using ServerProcess process = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage__Provider"] = "Redis",
            ["Redis__Configuration"] = $"127.0.0.1:{redisPort}",
        }, waitUntilServing: false);
        using var http = new HttpClient { BaseAddress = new Uri(process.Address) };
        var health = new Health.HealthClient(process.Channel);

        await WaitForAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable);
        using (HttpResponseMessage ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.StartsWith("not ready: ", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await health.CheckAsync(new HealthCheckRequest { Service = "compare.v1.SimilarityService" })).Status);

        await using RedisServer redis = await RedisServer.StartAsync(redisPort);
        await WaitForAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK);
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/readyz", UriKind.Relative)));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "compare.v1.SimilarityService" })).Status);
    }

    // The README's recipe: Storage__Provider=Redis Redis__Configuration=127.0.0.1:6379 dotnet run ... -- --urls http://127.0.0.1:5001 &
    [GeneratedRegex(@"^(?<settings>(?:\w+=\S+ )+)dotnet run -c Release --project src/Compare\.Server -- --urls http://127\.0\.0\.1:500[12] &$", RegexOptions.Multiline)]
    private static partial Regex ReplicaLine();

    [Fact]
    public async Task TwoReplicas_AsTheReadmeStartsThem_BothServeAndSeeEachOthersWrites()
    {
        string readme = await File.ReadAllTextAsync(Path.Combine(TestData.RepositoryRoot, "README.md"));
        Match[] replicas = [.. ReplicaLine().Matches(readme).Cast<Match>()];
        Assert.Equal(2, replicas.Length);
        await using RedisServer redis = await RedisServer.StartAsync();
        // Each line's settings as written, on this test's own Redis port; nothing else is set (metrics included).
        Dictionary<string, string>[] settings = [.. replicas.Select(r => r.Groups["settings"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1].Replace("127.0.0.1:6379", redis.Configuration, StringComparison.Ordinal)))];

        await using ServerProcess one = await ServerProcess.StartAsync(settings[0]);
        await using ServerProcess two = await ServerProcess.StartAsync(settings[1]);
        await one.Documents.UpsertDocumentsAsync(new UpsertDocumentsRequest { Documents = { new Document { Id = "2014", Text = TestData.Seed2014 } } });

        FindSimilarResponse found = await two.Similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Text = TestData.Seed2014 } });
        Assert.Equal("2014", Assert.Single(found.Matches).Id);
        using var http = new HttpClient();
        Assert.Contains("compare_build_info", await http.GetStringAsync(new Uri($"{one.Address}/metrics")), StringComparison.Ordinal);
        Assert.Contains("compare_build_info", await http.GetStringAsync(new Uri($"{two.Address}/metrics")), StringComparison.Ordinal);
    }

    /// <summary>The README's publish command, once per test run, into a temporary directory: the executable's path.</summary>
    private static async Task<string> PublishAsync()
    {
        string directory = Directory.CreateTempSubdirectory("compare-published-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(directory, recursive: true);
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        // --no-build: the tests run against the build they were built with, and nothing rewrites the server's bin folder under them.
        (int exit, string output, string error) = await ServerProcess.RunToEndAsync("dotnet",
            ["publish", Path.Combine(TestData.RepositoryRoot, "src", "Compare.Server"), "-c", configuration, "--no-build", "-o", directory]);
        Assert.True(exit == 0, output + error);
        string executable = Path.Combine(directory, "Compare.Server");
        Assert.True(File.Exists(executable), output);
        return executable;
    }

    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(() => Task.FromResult(condition()));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
        }

        Assert.Fail("The condition did not hold within a minute.");
    }
}
