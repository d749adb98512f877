using Compare.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Compare.Cli.Tests;

public sealed class ServerModeTests
{
    [Fact]
    public async Task Dedup_WithServer_UploadsThenAnswersAsTheInProcessRunDoes()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "Memory" });
        builder.AddCompareServer();
        await using WebApplication app = builder.Build();
        app.MapCompareServer();
        await app.StartAsync();
        string server = app.Urls.Single();

        using var localOut = new StringWriter();
        using var serverOut = new StringWriter();
        using var localErr = new StringWriter();
        using var serverErr = new StringWriter();
        int local = await CompareCli.RunAsync(["dedup", TestData.BbcPath, "--threshold", "0.8"], localOut, localErr);
        int remote = await CompareCli.RunAsync(["dedup", TestData.BbcPath, "--threshold", "0.8", "--server", server], serverOut, serverErr);

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

    // Clusters as sorted lines: the server streams them in its own order.
    private static string[] Normalised(string jsonLines) => [.. jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
}
