using Compare.Server.Services;
using Compare.Server.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Compare.Server.Hosting;

/// <summary>Wires the compare.v1 services, health and reflection into an ASP.NET host.</summary>
public static class CompareServerExtensions
{
    /// <summary>Registers options, the store, gRPC with raised message limits, health checks and reflection.</summary>
    public static WebApplicationBuilder AddCompareServer(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddOptions<LimitOptions>().BindConfiguration(LimitOptions.Section)
            .Validate(l => l.MaxDocumentBytes > 0 && l.MaxBatchDocuments > 0 && l.MaxReceiveMessageBytes > 0 && l.MaxTopK > 0
                && l.DefaultTopK is > 0 && l.DefaultTopK <= l.MaxTopK && l.MaxPageSize > 0 && l.MaxFuzzyCharacters > 0 && l.MaxPartialFuzzyCharacters > 0 && l.DefaultPageSize > 0 && l.DefaultPageSize <= l.MaxPageSize,
                "Limits must be positive, and each default at most its maximum.")
            .ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section)
            .Validate(s => StorageOptions.Providers.Contains(s.Provider, StringComparer.OrdinalIgnoreCase),
                $"Storage:Provider must be one of {string.Join(", ", StorageOptions.Providers)}.")
            .ValidateOnStart();

        services.AddSingleton(TimeProvider.System);
        services.AddCompareStorage(builder.Configuration);
        services.AddSingleton<SketcherCache>();

        int maxMessage = builder.Configuration.GetSection(LimitOptions.Section).Get<LimitOptions>()?.MaxReceiveMessageBytes ?? new LimitOptions().MaxReceiveMessageBytes;
        services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = maxMessage;
            options.MaxSendMessageSize = null;
            options.Interceptors.Add<ErrorInterceptor>();
        });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().AddCheck<StoreHealthCheck>("store");
        services.Configure<KestrelServerOptions>(kestrel =>
        {
            // gRPC without TLS needs HTTP/2 with prior knowledge (grpcurl -plaintext): no HTTP/1.1 to negotiate from.
            kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2);
            // Batch ingest sends messages of many megabytes: the default 768 KB stream window and
            // 1 MB connection window would stall each one on round trips.
            kestrel.Limits.Http2.InitialStreamWindowSize = 16 * 1024 * 1024;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 32 * 1024 * 1024;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1024;
            kestrel.Limits.MaxRequestBodySize = null;
        });
        return builder;
    }

    /// <summary>Maps the compare.v1 services, grpc.health.v1 and reflection (v1 and v1alpha).</summary>
    public static WebApplication MapCompareServer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<CollectionGrpcService>();
        app.MapGrpcService<DocumentGrpcService>();
        app.MapGrpcService<SimilarityGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Compare.Server");
            StorageOptions storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
            Log.Started(logger, string.Join(", ", app.Urls), storage.Provider);
        });
        return app;
    }
}

/// <summary>Healthy once the store is loaded and its backing server answers; NOT_SERVING otherwise.</summary>
internal sealed class StoreHealthCheck(IDocumentStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        StoreStatus status = await store.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        return status.Ready ? HealthCheckResult.Healthy(status.Description) : HealthCheckResult.Unhealthy(status.Description);
    }
}
