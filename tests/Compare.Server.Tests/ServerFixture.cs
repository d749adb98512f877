using Compare.Server.Hosting;
using Compare.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Compare.Server.Tests;

/// <summary>The real server on a free loopback port, and a channel to it.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;
    private readonly string _data = Directory.CreateTempSubdirectory("compare-test-").FullName;

    public GrpcChannel Channel { get; private set; } = null!;

    /// <summary>The server's one address: gRPC, the JSON routes and the browser view.</summary>
    public Uri Address => new(_app!.Urls.Single());

    public CollectionService.CollectionServiceClient Collections => new(Channel);

    public DocumentService.DocumentServiceClient Documents => new(Channel);

    public SimilarityService.SimilarityServiceClient Similarity => new(Channel);

    /// <summary>The shared server runs the default provider, SQLite, in a directory of its own.</summary>
    public async Task InitializeAsync() => (_app, Channel) = await StartAsync(settings: new() { ["Storage:Path"] = _data });

    /// <summary>
    /// Starts a server and waits until it serves; <paramref name="settings"/> are configuration
    /// keys (the store is in memory unless they say otherwise) and <paramref name="configure"/>
    /// may replace its services (registrations made last win).
    /// </summary>
    public static async Task<(WebApplication App, GrpcChannel Channel)> StartAsync(Action<IServiceCollection>? configure = null,
        Dictionary<string, string?>? settings = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "Memory" });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddCompareServer();
        configure?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        app.MapCompareServer();
        await app.StartAsync();
        var channel = GrpcChannel.ForAddress(app.Urls.Single(), new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        // A server that guards health is asked with its first key.
        await WaitUntilServingAsync(channel, settings?.GetValueOrDefault("Security:ApiKeys:0") is { } key ? new Metadata { { "authorization", $"Bearer {key}" } } : null);
        return (app, channel);
    }

    /// <summary>A server as the other StartAsync starts it, whose every log line from Information up goes to <paramref name="logs"/>.</summary>
    public static Task<(WebApplication App, GrpcChannel Channel)> StartAsync(CapturedLogs logs, Dictionary<string, string?>? settings = null) =>
        StartAsync(services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.Configure<LoggerFilterOptions>(o => o.MinLevel = LogLevel.Information);
        }, settings);

    /// <summary>Polls grpc.health.v1 until the server answers SERVING (its index loaded), for at most a minute.</summary>
    public static async Task WaitUntilServingAsync(GrpcChannel channel, Metadata? headers = null)
    {
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        HealthCheckResponse.Types.ServingStatus status = HealthCheckResponse.Types.ServingStatus.Unknown;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                status = (await health.CheckAsync(new HealthCheckRequest(), headers, deadline: DateTime.UtcNow.AddSeconds(5))).Status;
                if (status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The server did not become SERVING within a minute; last status {status}.");
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        TempDirectory.Delete(_data);
    }

    /// <summary>An upsert of <paramref name="documents"/> into <paramref name="collection"/> ("" for the default).</summary>
    public static UpsertDocumentsRequest Batch(string collection, IEnumerable<(string Id, string Text)> documents)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.AddRange(documents.Select(d => new Document { Id = d.Id, Text = d.Text }));
        return request;
    }

    /// <summary>The two seed reports as documents "2014" and "2016", and any <paramref name="extra"/> ones, as one batch.</summary>
    public static UpsertDocumentsRequest Seeds(string collection = "", params (string Id, string Text)[] extra)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.Add(new Document { Id = "2014", Text = TestData.Seed2014 });
        request.Documents.Add(new Document { Id = "2016", Text = TestData.Seed2016 });
        request.Documents.AddRange(extra.Select(d => new Document { Id = d.Id, Text = d.Text }));
        return request;
    }

    /// <summary>A fresh collection holding the seeds (and any <paramref name="extra"/> documents).</summary>
    public async Task<string> SeedsCollectionAsync(params (string Id, string Text)[] extra)
    {
        string c = await NewCollectionAsync();
        await Documents.UpsertDocumentsAsync(Seeds(c, extra));
        return c;
    }

    /// <summary>A fresh collection with the default configuration, so tests do not see each other's documents.</summary>
    public async Task<string> NewCollectionAsync(CollectionConfig? config = null)
    {
        string name = "t-" + Guid.NewGuid().ToString("N")[..12];
        await Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Config = config ?? new CollectionConfig() });
        return name;
    }
}

[CollectionDefinition(Name)]
public sealed class ServerTestGroup : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}

/// <summary>Tests that read process-wide meters or measure elapsed time run alone, after the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "timing-sensitive";
}

/// <summary>Tests that keep both cores busy for many seconds run alone, after the others, so as not to starve their timeouts.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyLoad
{
    public const string Name = "heavy-load";
}

/// <summary>A fresh directory under the system's temporary folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("compare-test-").FullName;

    public void Dispose() => Delete(Path);

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still be releasing a file; the temporary folder is cleaned by the system.
        }
    }
}
