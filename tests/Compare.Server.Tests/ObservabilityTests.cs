using System.Globalization;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

// Meters are matched by name across the process: other servers' calls must not run at the same time.
[Collection(TimingSensitive.Name)]
public sealed class ObservabilityTests
{
    [Fact]
    public async Task Metrics_AfterCalls_ArePublishedForPrometheusOnTheirOwnPort()
    {
        int port = ServerProcess.FreePort();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Metrics:Port"] = port.ToString(CultureInfo.InvariantCulture) });
        await using (app)
        using (channel)
        {
            var documents = new DocumentService.DocumentServiceClient(channel);
            var request = new UpsertDocumentsRequest
            {
                Collection = "default",
                Documents = { new Document { Id = "2014", Text = TestData.Seed2014 }, new Document { Id = "2016", Text = TestData.Seed2016 } },
            };
            await documents.UpsertDocumentsAsync(request);
            await documents.UpsertDocumentsAsync(request);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await similarity.FindSimilarAsync(new FindSimilarRequest { Query = new DocumentRef { Id = "2014" }, Exhaustive = true, Threshold = 0.01 });
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Id = "missing" }).ResponseAsync);

            using var http = new HttpClient();
            string scrape = await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"));

            Assert.Equal(2, Sample(scrape, "compare_rpc_calls_total", "method=\"/compare.v1.DocumentService/UpsertDocuments\"", "status=\"OK\""));
            Assert.Equal(1, Sample(scrape, "compare_rpc_calls_total", "method=\"/compare.v1.DocumentService/GetDocument\"", "status=\"NotFound\""));
            Assert.Equal(2, Sample(scrape, "compare_rpc_duration_seconds_count", "method=\"/compare.v1.DocumentService/UpsertDocuments\"", "status=\"OK\""));
            Assert.Equal(2, Sample(scrape, "compare_documents_indexed_total", "result=\"created\""));
            Assert.Equal(2, Sample(scrape, "compare_documents_indexed_total", "result=\"unchanged\""));
            Assert.Equal(1, Sample(scrape, "compare_lsh_candidates_count"));
            Assert.Contains("\ndotnet_gc_heap_total_allocated_bytes_total", "\n" + scrape, StringComparison.Ordinal);
        }
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    private static double Sample(string scrape, string name, params string[] labels)
    {
        string[] lines = [.. scrape.Split('\n').Where(l => (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            && labels.All(label => l.Contains(label, StringComparison.Ordinal)))];
        Assert.True(lines.Length == 1, $"{lines.Length} samples of {name} with {string.Join(", ", labels)} in:\n{scrape}");
        // "name{labels} value [timestamp]": the value follows the closing brace (or the name when there are no labels).
        string line = lines[0];
        int valueStart = line.Contains('}', StringComparison.Ordinal) ? line.LastIndexOf('}') + 2 : name.Length + 1;
        return double.Parse(line[valueStart..].Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
