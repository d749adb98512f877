using System.Globalization;
using Compare.Server.Storage;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Compare.Server.Tests;

// Meters are matched by name across the process: other servers' calls must not run at the same time.
[Collection(TimingSensitive.Name)]
public sealed class ObservabilityTests
{
    [Fact]
    public async Task Metrics_AfterCalls_ArePublishedForPrometheusOnTheServersOwnPort()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Metrics:CollectionsInterval"] = "00:00:00.050" });
        await using (app)
        using (channel)
        {
            string collection = $"observed-{Guid.NewGuid():N}";
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = collection });
            var documents = new DocumentService.DocumentServiceClient(channel);
            var request = new UpsertDocumentsRequest
            {
                Collection = collection,
                Documents = { new Document { Id = "2014", Text = TestData.Seed2014 }, new Document { Id = "2016", Text = TestData.Seed2016 } },
            };
            await documents.UpsertDocumentsAsync(request);
            await documents.UpsertDocumentsAsync(request);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await similarity.FindSimilarAsync(new FindSimilarRequest { Collection = collection, Query = new DocumentRef { Id = "2014" }, Exhaustive = true, Threshold = 0.01 });
            await RpcAssert.FailsAsync(StatusCode.NotFound, () => documents.GetDocumentAsync(new GetDocumentRequest { Collection = collection, Id = "missing" }).ResponseAsync);

            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
            // The collection's figures are read at an interval: wait for a reading taken after both documents were stored.
            string scrape = await ScrapeUntilAsync(http, s => s.Split('\n').Any(l => l.StartsWith("compare_collection_documents{", StringComparison.Ordinal)
                && l.Contains($"collection=\"{collection}\"", StringComparison.Ordinal) && l[(l.LastIndexOf('}') + 2)..].Split(' ')[0] == "2"));

            Assert.Equal(2, Sample(scrape, "compare_rpc_calls_total", "method=\"/compare.v1.DocumentService/UpsertDocuments\"", "status=\"OK\""));
            Assert.Equal(1, Sample(scrape, "compare_rpc_calls_total", "method=\"/compare.v1.DocumentService/GetDocument\"", "status=\"NotFound\""));
            Assert.Equal(2, Sample(scrape, "compare_rpc_duration_seconds_count", "method=\"/compare.v1.DocumentService/UpsertDocuments\"", "status=\"OK\""));
            Assert.Equal(2, Sample(scrape, "compare_documents_indexed_total", "result=\"created\""));
            Assert.Equal(2, Sample(scrape, "compare_documents_indexed_total", "result=\"unchanged\""));
            Assert.Equal(1, Sample(scrape, "compare_lsh_candidates_count"));
            Assert.Equal(2, Sample(scrape, "compare_collection_documents", $"collection=\"{collection}\""));
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(TestData.Seed2014) + System.Text.Encoding.UTF8.GetByteCount(TestData.Seed2016),
                Sample(scrape, "compare_collection_text_bytes", $"collection=\"{collection}\""));
            string version = typeof(Hosting.CompareServerExtensions).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion.Split('+')[0];
            Assert.Equal(1, Sample(scrape, "compare_build_info", $"version=\"{version}\""));
            Assert.Equal(1, Sample(scrape, "target_info", "service_name=\"compare\"", $"service_version=\"{version}\""));
            Assert.Contains("\ndotnet_gc_heap_total_allocated_bytes_total", "\n" + scrape, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CollectionFigures_ListingFailsWithAnyError_KeepTheLastReadingSayItOnceAndResumeWhenItWorks()
    {
        var logs = new CapturedLogs();
        var catalog = new FailingCatalog();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.AddSingleton<ICollectionCatalog>(provider => catalog.Over(provider.GetRequiredService<IDocumentStore>()));
        }, new() { ["Metrics:CollectionsInterval"] = "00:00:00.020" });
        await using (app)
        using (channel)
        {
            string collection = $"figures-{Guid.NewGuid():N}";
            await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = collection });
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
            await ScrapeUntilAsync(http, s => s.Contains($"collection=\"{collection}\"", StringComparison.Ordinal));

            // Not a store exception: an error no one expected. The readings go on, the last figures stay, one line says so.
            catalog.Failure = new InvalidOperationException("listing broke");
            await WaitUntilAsync(() => catalog.Failed >= 5);
            string during = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            catalog.Failure = null;
            await WaitUntilAsync(() => logs.All.Contains("are read again", StringComparison.Ordinal));

            Assert.Contains($"collection=\"{collection}\"", during, StringComparison.Ordinal);
            Assert.Single(logs.Lines, l => l.Message.Contains("could not be read (listing broke)", StringComparison.Ordinal));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !condition(); await Task.Delay(10))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the condition did not hold within 30 s");
        }
    }

    /// <summary>The store's catalog, which fails with <see cref="Failure"/> while it is set.</summary>
    private sealed class FailingCatalog
    {
        private int _failed;

        public Exception? Failure { get; set; }

        public int Failed => Volatile.Read(ref _failed);

        public ICollectionCatalog Over(IDocumentStore store) => new Catalog(this, store);

        private sealed class Catalog(FailingCatalog owner, IDocumentStore store) : ICollectionCatalog
        {
            public Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken) =>
                store.CreateCollectionAsync(name, settings, cancellationToken);

            public Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken) => store.GetCollectionAsync(name, cancellationToken);

            public Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken)
            {
                if (owner.Failure is { } failure)
                {
                    Interlocked.Increment(ref owner._failed);
                    throw failure;
                }

                return store.ListCollectionsAsync(cancellationToken);
            }

            public Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken) => store.DeleteCollectionAsync(name, cancellationToken);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("false")]
    public async Task MetricsAndProbes_WithApiKeys_MetricsNeedAKeyUnlessOpenedAndProbesStayOpen(string? requireKeyForMetrics)
    {
        const string Key = "observability-key-0123456789";
        var settings = new Dictionary<string, string?> { ["Security:ApiKeys:0"] = Key };
        if (requireKeyForMetrics is not null)
        {
            settings["Security:RequireKeyForMetrics"] = requireKeyForMetrics;
        }

        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: settings);
        await using (app)
        using (channel)
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
            using HttpResponseMessage keyless = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
            using var withKey = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { { "authorization", $"Bearer {Key}" } } };
            using HttpResponseMessage keyed = await http.SendAsync(withKey);
            using var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { { "x-api-key", "not-the-key-0123456789" } } };
            using HttpResponseMessage wrong = await http.SendAsync(wrongKey);

            Assert.Equal(System.Net.HttpStatusCode.OK, keyed.StatusCode);
            Assert.Contains("compare_build_info", await keyed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            if (requireKeyForMetrics == "false")
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, keyless.StatusCode);
            }
            else
            {
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, keyless.StatusCode);
                Assert.Equal("Bearer", keyless.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Contains("requires an API key", await keyless.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, wrong.StatusCode);
            }

            Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
            Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/readyz", UriKind.Relative)));
        }
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient http, Func<string, bool> done)
    {
        string scrape = string.Empty;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            scrape = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            if (done(scrape))
            {
                return scrape;
            }
        }

        Assert.Fail($"The scrape never showed what was awaited:\n{scrape}");
        return scrape;
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
