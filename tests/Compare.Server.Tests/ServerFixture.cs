using Compare.Server.Hosting;
using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Compare.Server.Tests;

/// <summary>The real server on a free loopback port, and a channel to it.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public GrpcChannel Channel { get; private set; } = null!;

    public CollectionService.CollectionServiceClient Collections => new(Channel);

    public DocumentService.DocumentServiceClient Documents => new(Channel);

    public SimilarityService.SimilarityServiceClient Similarity => new(Channel);

    public async Task InitializeAsync() => (_app, Channel) = await StartAsync();

    /// <summary>Starts a server; <paramref name="configure"/> may replace its services (registrations made last win).</summary>
    public static async Task<(WebApplication App, GrpcChannel Channel)> StartAsync(Action<IServiceCollection>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddCompareServer();
        configure?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        app.MapCompareServer();
        await app.StartAsync();
        return (app, GrpcChannel.ForAddress(app.Urls.Single(), new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null }));
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
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
