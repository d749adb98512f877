using Microsoft.AspNetCore.Builder;

namespace Compare.Cli.Tests;

/// <summary>
/// The README's install of the CLI: <c>dotnet publish src/Compare.Cli -c Release -o DIR</c> gives one native
/// executable (Native AOT, with no trimming or AOT warning, which the build treats as errors). It must answer as the
/// in-process CLI does, its gRPC client included.
/// </summary>
public sealed class NativeExecutableTests
{
    [Fact]
    public async Task PublishedNativeCompare_AnswersAsTheInProcessCli_AgainstFilesAndAServer()
    {
        DirectoryInfo work = Directory.CreateTempSubdirectory("compare-native-");
        try
        {
            // Its own artifacts folder, so the publish does not rewrite the build these tests run against.
            string directory = Path.Combine(work.FullName, "bin");
            (int published, string log, string errors) = await ChildProcess.RunAsync("dotnet",
                ["publish", Path.Combine(TestData.RepositoryRoot, "src", "Compare.Cli"), "-c", "Release", "-o", directory, "--artifacts-path", Path.Combine(work.FullName, "artifacts")]);
            Assert.True(published == 0, log + errors);
            string compare = Path.Combine(directory, "compare");
            Assert.DoesNotContain(Directory.GetFiles(directory), f => f.EndsWith(".dll", StringComparison.Ordinal));

            (int versionExit, string version, _) = await ChildProcess.RunAsync(compare, ["--version"]);
            Assert.Equal(0, versionExit);
            Assert.StartsWith("1.0.0", version, StringComparison.Ordinal);

            await SameAsInProcessAsync(compare, ["dedup", TestData.BbcPath, "--threshold", "0.8"]);
            await SameAsInProcessAsync(compare, ["diff", Seed("003_2f03ddab81289ed0.txt"), Seed("000_964e81d81ffb6499.txt"), "--json"]);
            // The HTML report's embedded script and styles are in the executable.
            await CompareCli.RunAsync(["diff", Seed("003_2f03ddab81289ed0.txt"), Seed("000_964e81d81ffb6499.txt"), "--html", Path.Combine(work.FullName, "report.html")], new StringWriter(), new StringWriter());
            (int reported, _, string reportError) = await ChildProcess.RunAsync(compare,
                ["diff", Seed("003_2f03ddab81289ed0.txt"), Seed("000_964e81d81ffb6499.txt"), "--html", Path.Combine(work.FullName, "report-native.html")]);
            Assert.True(reported == 0, reportError);
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(work.FullName, "report.html")), await File.ReadAllTextAsync(Path.Combine(work.FullName, "report-native.html")));
            // Parquet.Net in the native executable: read by column, found again by row, and written back whole.
            string parquet = Path.Combine(work.FullName, "bbc.parquet");
            await ParquetTestFiles.BbcAsync(parquet);
            await SameAsInProcessAsync(compare, ["dedup", parquet, "--output-corpus", Path.Combine(work.FullName, "kept.parquet")]);
            (int keptExit, _, string keptError) = await ChildProcess.RunAsync(compare, ["dedup", parquet, "--output-corpus", Path.Combine(work.FullName, "kept-native.parquet")]);
            Assert.True(keptExit == 0, keptError);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(work.FullName, "kept.parquet")), await File.ReadAllBytesAsync(Path.Combine(work.FullName, "kept-native.parquet")));
            (int misuse, _, string misuseError) = await ChildProcess.RunAsync(compare, ["dedup", TestData.BbcPath, "--threshold", "abc"]);
            Assert.Equal((CompareCli.UsageError, 1), (misuse, misuseError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length));

            await using WebApplication server = await ServerModeTests.StartServerAsync();
            string address = server.Urls.Single();
            (int indexed, _, string indexError) = await ChildProcess.RunAsync(compare, ["index", Path.Combine(TestData.RepositoryRoot, "seeds"), "--server", address]);
            Assert.True(indexed == 0, indexError);
            await SameAsInProcessAsync(compare, ["similar", Seed("003_2f03ddab81289ed0.txt"), "--server", address, "--threshold", "0.001", "--exhaustive"]);
            await SameAsInProcessAsync(compare, ["export", "--server", address]);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static string Seed(string name) => Path.Combine(TestData.RepositoryRoot, "seeds", name);

    private static async Task SameAsInProcessAsync(string compare, string[] args)
    {
        using var expected = new StringWriter();
        int expectedExit = await CompareCli.RunAsync(args, expected, new StringWriter());
        (int exit, string output, string error) = await ChildProcess.RunAsync(compare, args);
        Assert.True(exit == expectedExit, error);
        Assert.Equal(expected.ToString(), output);
    }
}
