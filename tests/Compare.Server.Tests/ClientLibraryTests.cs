using System.IO.Compression;
using System.Xml.Linq;
using Compare.Client;
using Compare.V1;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Compare.Server.Tests;

/// <summary>Compare.Client against the real server: its helpers, its DI registration, its API key and its retries.</summary>
public sealed class ClientLibraryTests
{
    private const string Key = "client-library-test-key-0123456789";

    [Fact]
    public async Task AddCompareClient_HelpersIndexCompareFindAndDeduplicate_AsTheServiceAnswers()
    {
        // A small response budget, so the cluster of copies below arrives in parts the helper must join.
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new()
        {
            ["Limits:MaxResponseBytes"] = "4000",
            ["Security:ApiKeys:0"] = Key,
        });
        await using (app)
        using (channel)
        {
            await using ServiceProvider provider = new ServiceCollection()
                .AddCompareClient(options => (options.Address, options.ApiKey, options.UpsertBatchSize) = (new Uri(app.Urls.Single()), Key, 64))
                .BuildServiceProvider();
            CompareClient client = provider.GetRequiredService<CompareClient>();

            (Collection created, bool isNew) = await client.EnsureCollectionAsync("news", new CollectionConfig { Threshold = 0.5 });
            (Collection existing, bool isNewAgain) = await client.EnsureCollectionAsync("news", new CollectionConfig { Threshold = 0.9 });
            Assert.Equal((true, false, 0.5, 0.5), (isNew, isNewAgain, created.Config.Threshold, existing.Config.Threshold));

            // 200 BBC articles and 150 copies of the 2014 report under long ids, streamed in messages of 64.
            string[] copies = [.. Enumerable.Range(0, 150).Select(i => $"syndicated/copy-of-the-2014-report-{i:D4}")];
            Document[] documents = [.. TestData.BbcCorpus().Take(200).Select(d => new Document { Id = d.Id, Text = d.Text }),
                .. copies.Select(id => new Document { Id = id, Text = TestData.Seed2014 })];
            var sent = new List<long>();
            StreamUpsertDocumentsResponse stored = await client.UpsertManyAsync("news", ToAsync(documents), new Recorded<long>(sent));
            Assert.Equal((6L, 350L, 350L), (stored.MessageCount, stored.DocumentCount, stored.CreatedCount));
            Assert.Equal([64L, 128, 192, 256, 320, 350], sent);

            IReadOnlyList<SimilarityMatch> found = await client.FindSimilarAsync("news", TestData.Seed2014, threshold: 0.9, topK: 200);
            Assert.Equal(copies, found.Select(m => m.Id).Order(StringComparer.Ordinal));
            Assert.All(found, m => Assert.Equal(1.0, m.Jaccard));

            CompareResponse compared = await client.CompareTextsAsync(TestData.Seed2014, TestData.Seed2016);
            Assert.Equal(ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2016), compared.Jaccard, 9);
            Assert.Equal(1.0, (await client.CompareDocumentsAsync("news", copies[0], copies[^1])).Jaccard);

            var stages = new List<DeduplicateProgress>();
            DeduplicateResult result = await client.DeduplicateAsync(new DeduplicateRequest { Collection = "news", Threshold = 0.9 }, new Recorded<DeduplicateProgress>(stages));
            DuplicateCluster ofCopies = Assert.Single(result.Clusters, c => c.RepresentativeId.StartsWith("syndicated/", StringComparison.Ordinal));
            Assert.Equal(copies, ofCopies.Members.Select(m => m.Id).Order(StringComparer.Ordinal));
            Assert.All(result.Clusters, c => Assert.Equal((0, 1, c.RepresentativeId), (c.Part, c.PartCount, c.Members[0].Id)));
            Assert.Equal((long)result.Clusters.Count, result.Summary.ClusterCount);
            Assert.Equal(result.Clusters.Sum(c => c.Members.Count - 1L), result.Summary.DuplicateCount);
            Assert.NotEmpty(stages);

            // The key came from the options: a client without one is refused.
            using var keyless = new CompareClient(new CompareClientOptions { Address = new Uri(app.Urls.Single()), MaxAttempts = 1 });
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => keyless.CompareTextsAsync("a b c", "a b d"));
        }
    }

    [Theory]
    [InlineData(3, 2, StatusCode.OK, 3)]
    [InlineData(3, 5, StatusCode.Unavailable, 3)]
    [InlineData(1, 1, StatusCode.Unavailable, 1)]
    public async Task Retries_WhileTheServerAnswersUnavailable_UpToMaxAttempts(int maxAttempts, int failures, StatusCode expected, int attempts)
    {
        var flaky = new UnavailableFirst(failures);
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(services =>
        {
            services.AddSingleton(flaky);
            services.Configure<GrpcServiceOptions>(grpc => grpc.Interceptors.Add<UnavailableFirst>());
        });
        await using (app)
        using (channel)
        {
            using var client = new CompareClient(new CompareClientOptions
            {
                Address = new Uri(app.Urls.Single()),
                MaxAttempts = maxAttempts,
                InitialBackoff = TimeSpan.FromMilliseconds(10),
                MaxBackoff = TimeSpan.FromMilliseconds(50),
            });

            StatusCode status = StatusCode.OK;
            try
            {
                Assert.Equal(1.0, (await client.CompareTextsAsync("the same words here", "the same words here")).Jaccard);
            }
            catch (RpcException e)
            {
                status = e.StatusCode;
            }

            Assert.Equal((expected, attempts), (status, flaky.Calls));
        }
    }

    [Fact]
    public void Options_OutOfRange_AreRefusedNamingTheSetting()
    {
        var tooMany = new CompareClientOptions { MaxAttempts = 6 };
        Assert.Contains("MaxAttempts", Assert.ThrowsAny<System.ComponentModel.DataAnnotations.ValidationException>(() => new CompareClient(tooMany)).Message, StringComparison.Ordinal);
        var backwards = new CompareClientOptions { InitialBackoff = TimeSpan.FromSeconds(10), MaxBackoff = TimeSpan.FromSeconds(1) };
        Assert.Contains("InitialBackoff", Assert.ThrowsAny<System.ComponentModel.DataAnnotations.ValidationException>(() => new CompareClient(backwards)).Message, StringComparison.Ordinal);
        var tiny = new CompareClientOptions { MaxReceiveMessageBytes = 10 };
        Assert.Contains("MaxReceiveMessageBytes", Assert.ThrowsAny<System.ComponentModel.DataAnnotations.ValidationException>(() => new CompareClient(tiny)).Message, StringComparison.Ordinal);
        var eager = new CompareClientOptions { KeepAlivePing = TimeSpan.FromMilliseconds(10) };
        Assert.Contains("KeepAlivePing", Assert.ThrowsAny<System.ComponentModel.DataAnnotations.ValidationException>(() => new CompareClient(eager)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_ToAPeerThatAcceptsAndNeverAnswers_FailWithinTheirPings_WithAndWithoutDependencyInjection()
    {
        // Accepts every connection and says nothing, as a hung process or a black-holing firewall would. Before the
        // client pinged, a call here waited for ever.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var held = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.TcpClient>();
        using var stop = new CancellationTokenSource();
        Task accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                held.Add(await listener.AcceptTcpClientAsync(stop.Token));
            }
        });
        var address = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}");

        using var direct = new CompareClient(new CompareClientOptions { Address = address, KeepAlivePing = TimeSpan.FromSeconds(1), MaxAttempts = 1 });
        await using ServiceProvider provider = new ServiceCollection()
            .AddCompareClient(options => (options.Address, options.KeepAlivePing, options.MaxAttempts) = (address, TimeSpan.FromSeconds(1), 1))
            .BuildServiceProvider();
        foreach (CompareClient client in new[] { direct, provider.GetRequiredService<CompareClient>() })
        {
            // The test's own bound: a minute, far above the 2 to 3 s the pings take.
            using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            RpcException e = await Assert.ThrowsAsync<RpcException>(() => client.Collections.ListCollectionsAsync(new ListCollectionsRequest(), cancellationToken: bound.Token).ResponseAsync);
            Assert.False(bound.IsCancellationRequested, "the call waited for the test's bound");
            Assert.NotEqual(StatusCode.Cancelled, e.StatusCode);
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accepting);
        foreach (System.Net.Sockets.TcpClient connection in held)
        {
            connection.Dispose();
        }
    }

    [Fact]
    public async Task Package_InstalledInANewProject_RunsTheReadmeExampleAgainstTheServer()
    {
        string packages = Directory.CreateTempSubdirectory("compare-packages-").FullName;
        string example = Directory.CreateTempSubdirectory("compare-client-example-").FullName;
        try
        {
            // The README's packing: Compare.Protos and Compare.Client, from the build these tests run against.
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            foreach (string project in new[] { "Compare.Protos", "Compare.Client" })
            {
                await RunAsync("pack", Path.Combine(TestData.RepositoryRoot, "src", project), "-c", configuration, "--no-build", "-o", packages);
            }

            using (ZipArchive package = ZipFile.OpenRead(Path.Combine(packages, "Compare.Client.1.0.0.nupkg")))
            {
                Assert.Contains(package.Entries, e => e.FullName == "lib/net10.0/Compare.Client.dll");
                using Stream nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
                string[] dependencies = [.. XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => $"{e.Attribute("id")!.Value} {e.Attribute("version")!.Value}")];
                Assert.Contains("Compare.Protos 1.0.0", dependencies);
                Assert.Contains(dependencies, d => d.StartsWith("Grpc.Net.ClientFactory ", StringComparison.Ordinal));
            }

            // A new console project that installs the package and whose Program.cs is the README's example. Its own
            // package folder, so no earlier run's Compare.Client is reused; the machine's folder serves the rest offline.
            string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            await File.WriteAllTextAsync(Path.Combine(example, "Example.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
                  <ItemGroup><PackageReference Include="Compare.Client" Version="1.0.0" /></ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(example, "nuget.config"), $"""
                <configuration><packageSources><clear /><add key="built" value="{packages}" /><add key="machine" value="{globalPackages}" /></packageSources></configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(example, "Program.cs"), ReadmeClientExample());
            await RunAsync("build", example, "-c", "Release", "-p:RestorePackagesPath=" + Path.Combine(example, "packages"));

            (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
            await using (app)
            using (channel)
            {
                string output = await RunAsync("run", "--no-build", "-c", "Release", "--project", example, "--", app.Urls.Single());
                string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                string jaccard = ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2016).ToString("F3", System.Globalization.CultureInfo.CurrentCulture);
                Assert.Equal([
                    $"Jaccard {jaccard}; longest shared passage: construction of the Silk Road Economic Belt",
                    $"near-duplicate: 2014 (Jaccard {ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2014 + " An extra closing line."):F3})",
                    "0 clusters, 0 documents to drop"], lines);
            }
        }
        finally
        {
            Directory.Delete(packages, recursive: true);
            Directory.Delete(example, recursive: true);
        }
    }

    /// <summary>The first C# block of the README's client section.</summary>
    private static string ReadmeClientExample()
    {
        string readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md"));
        int section = readme.IndexOf("## From .NET: Compare.Client", StringComparison.Ordinal);
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    /// <summary>Runs dotnet from the repository's root (the example reads the seeds from there); its output, or the test fails showing it.</summary>
    private static async Task<string> RunAsync(params string[] args)
    {
        (int exit, string output, string error) = await ServerProcess.RunToEndAsync("dotnet", args, workingDirectory: TestData.RepositoryRoot);
        Assert.True(exit == 0, $"dotnet {string.Join(' ', args)}: {output}{error}");
        return output;
    }

    private static async IAsyncEnumerable<Document> ToAsync(IEnumerable<Document> documents)
    {
        foreach (Document document in documents)
        {
            await Task.Yield();
            yield return document;
        }
    }

    private sealed class Recorded<T>(List<T> values) : IProgress<T>
    {
        public void Report(T value) => values.Add(value);
    }

    /// <summary>A fault on the server: its first <paramref name="failures"/> compare.v1 calls answer UNAVAILABLE, as a store that is loading does.</summary>
    private sealed class UnavailableFirst(int failures) : Interceptor
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
            context.Method.StartsWith("/compare.v1.", StringComparison.Ordinal) && Interlocked.Increment(ref _calls) <= failures
                ? throw new RpcException(new Status(StatusCode.Unavailable, "The store is loading."))
                : continuation(request, context);
    }
}
