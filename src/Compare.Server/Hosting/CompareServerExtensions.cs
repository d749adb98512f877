using Compare.Core.Indexing;
using Compare.Server.Application;
using Compare.Server.Observability;
using Compare.Server.Security;
using Compare.Server.Services;
using Compare.Server.Storage;
using Compare.Server.Storage.Local;
using Compare.Server.Web;
using Google.Protobuf.Reflection;
using Google.Rpc;
using Grpc.AspNetCore.HealthChecks;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Health.V1;
using Grpc.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Compare.Server.Hosting;

/// <summary>Wires the compare.v1 services, health and reflection into an ASP.NET host.</summary>
public static class CompareServerExtensions
{
    /// <summary>Registers options, the store, gRPC with raised message limits, health checks and reflection.</summary>
    public static WebApplicationBuilder AddCompareServer(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        // Every section bound once, checked at start by validators generated at build time: one message per key.
        services.AddValidatedOptions<LimitOptions, LimitOptionsValidator>(LimitOptions.Section);
        services.AddValidatedOptions<SecurityOptions, SecurityOptionsValidator>(SecurityOptions.Section);
        services.AddValidatedOptions<MetricsOptions, MetricsOptionsValidator>(MetricsOptions.Section);
        services.AddValidatedOptions<StorageOptions, StorageOptionsValidator>(StorageOptions.Section);
        services.AddValidatedOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.Section);
        services.AddValidatedOptions<CacheOptions, CacheOptionsValidator>(CacheOptions.Section);
        services.AddOptions<HostOptions>().Configure<IOptions<LimitOptions>>((host, limits) => host.ShutdownTimeout = limits.Value.ShutdownTimeout);

        services.AddSingleton(TimeProvider.System);
        services.AddCompareStorage(builder.Configuration);
        services.AddSingleton<SketcherCache>();
        services.AddSingleton<CompareMetrics>();
        services.AddSingleton<CallerRateLimiter>();
        services.AddSingleton<DeduplicateJobs>();
        services.AddSingleton<DocumentIndexService>();
        services.AddSingleton<ComparisonService>();
        services.AddSingleton<LongPassageTexts>();
        services.AddSingleton<SharedPassageService>();
        // Interceptors registered in DI are resolved from it rather than built for every call.
        services.AddSingleton<RequestLogInterceptor>();
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<ApiKeyInterceptor>();
        services.AddSingleton<RateLimitInterceptor>();
        services.AddSingleton<ErrorInterceptor>();
        services.AddHostedService<CollectionFigures>();
        // Registered whether or not Metrics:Enabled: the endpoint is what the setting turns off.
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("compare", serviceVersion: ServerCommandLine.Release, autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
                .AddMeter(CompareMetrics.MeterName, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel")
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        // A failed start is reported once, in one line, by Program; the host would log it again with its stack.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        services.AddGrpc(options =>
        {
            options.MaxSendMessageSize = null;
            // Outermost first: every call is logged and measured, including those refused for a key or a rate.
            options.Interceptors.Add<RequestLogInterceptor>();
            options.Interceptors.Add<ApiKeyInterceptor>();
            options.Interceptors.Add<RateLimitInterceptor>();
            options.Interceptors.Add<ErrorInterceptor>();
        }).AddJsonTranscoding(options =>
        {
            options.TypeRegistry = TypeRegistry.FromMessages(BadRequest.Descriptor, ResourceInfo.Descriptor, ErrorInfo.Descriptor);
            // Proto3's JSON mapping: 64-bit integers as strings, which JavaScript and jq cannot round (a seed
            // copied through them would change). Requests may send either form.
            options.JsonSettings.WriteInt64sAsStrings = true;
        });
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<LimitOptions>>((grpc, limits) =>
        {
            grpc.MaxReceiveMessageSize = limits.Value.MaxReceiveMessageBytes;
            grpc.CompressionProviders = [new CappedGzipCompressionProvider(limits.Value.MaxReceiveMessageBytes)];
        });
        // Registered before AddGrpcReflection, which adds its own only where none is: the documented descriptors,
        // read from Compare.Protos when a client first asks for reflection, not at every start.
        var described = new Lazy<Google.Protobuf.Reflection.ServiceDescriptor[]>(() => [.. V1.DocumentedDescriptors.Services, Health.Descriptor,
            Grpc.Reflection.V1.ServerReflection.Descriptor, Grpc.Reflection.V1Alpha.ServerReflection.Descriptor]);
        services.AddSingleton(_ => new ReflectionV1ServiceImpl(described.Value));
        services.AddSingleton(_ => new ReflectionServiceImpl(described.Value));
        services.AddGrpcReflection();
        services.AddOpenApiDescription();
        services.AddGrpcHealthChecks().AddCheck<StoreHealthCheck>("store");
        // grpc.health.v1 answers for the server ("") and for each compare.v1 service by name: all stand on the store.
        services.Configure<GrpcHealthChecksOptions>(health =>
        {
            foreach (string service in CompareServiceNames)
            {
                health.Services.Map(service, _ => true);
            }
        });
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitOptions>>((kestrel, limits) =>
        {
            kestrel.Limits.MaxConcurrentConnections = limits.Value.MaxConnections > 0 ? limits.Value.MaxConnections : ConnectionBudget.FromOpenFileLimit();
            kestrel.Limits.MaxConcurrentUpgradedConnections = kestrel.Limits.MaxConcurrentConnections;
            // A peer that vanished without closing is found by a ping and let go, rather than holding its slot for ever.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            // One port for gRPC (HTTP/2, with prior knowledge when cleartext: grpcurl -plaintext) and for the
            // browser view and JSON routes (HTTP/1.1); TLS endpoints negotiate with ALPN as usual.
            kestrel.ConfigureEndpointDefaults(endpoint =>
            {
                endpoint.Protocols = HttpProtocols.Http1AndHttp2;
                endpoint.Use(PriorKnowledgeHttp2.Middleware(endpoint.ApplicationServices));
            });
            kestrel.AllowAlternateSchemes = true;
            // Batch ingest sends messages of many megabytes: the default 768 KB stream window and
            // 1 MB connection window would stall each one on round trips.
            kestrel.Limits.Http2.InitialStreamWindowSize = 16 * 1024 * 1024;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 32 * 1024 * 1024;
            kestrel.Limits.Http2.MaxStreamsPerConnection = limits.Value.MaxStreamsPerConnection;
            kestrel.Limits.MaxRequestBodySize = null;
        });
        // grpc-dotnet's binder, replaced by one whose deserializers refuse malformed requests as INVALID_ARGUMENT
        // (JSON transcoding's own provider stays: it reads JSON, not protobuf bytes). The binder is whatever AddGrpc
        // registers as a method provider, found by asking AddGrpc itself. Last, because AddGrpcSwagger and the like
        // call AddGrpc again, which adds the binder back.
        Type[] grpcBinders = [.. new ServiceCollection().AddGrpc().Services
            .Where(d => d.ServiceType == typeof(IServiceMethodProvider<>)).Select(d => d.ImplementationType!)];
        foreach (Microsoft.Extensions.DependencyInjection.ServiceDescriptor binder in services
            .Where(d => d.ServiceType == typeof(IServiceMethodProvider<>) && grpcBinders.Contains(d.ImplementationType)).ToList())
        {
            services.Remove(binder);
        }
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(ValidatingServiceMethodProvider<>));
        return builder;
    }

    /// <summary>The compare.v1 services, each answered by name by grpc.health.v1.</summary>
    public static readonly string[] CompareServiceNames =
        [V1.CollectionService.Descriptor.FullName, V1.DocumentService.Descriptor.FullName, V1.SimilarityService.Descriptor.FullName];

    /// <summary>Where documents are kept, for the startup log (a Redis configuration may hold a password, so it is not shown).</summary>
    private static string StoreDescription(IServiceProvider services)
    {
        StorageOptions storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        return string.Equals(storage.Provider, StorageOptions.Redis, StringComparison.OrdinalIgnoreCase)
            ? $"Redis, keys under {services.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix}:"
            : services.GetRequiredService<IDocumentRecords>().Description;
    }

    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/> and validates it with <typeparamref name="TValidator"/> when the host starts.</summary>
    private static void AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.TryAddEnumerable(Microsoft.Extensions.DependencyInjection.ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }

    /// <summary>Maps the compare.v1 services, grpc.health.v1 and reflection (v1 and v1alpha).</summary>
    public static WebApplication MapCompareServer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(ApiKeyGate.InvokeAsync);
        app.MapGrpcService<CollectionGrpcService>();
        app.MapGrpcService<DocumentGrpcService>();
        app.MapGrpcService<SimilarityGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapProbes();
        if (app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled)
        {
            app.MapPrometheusScrapingEndpoint(Probes.MetricsPath);
        }

        app.MapWebView();
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Compare.Server");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            IServiceProvider services = app.Services;
            Log.Started(logger, ServerCommandLine.Version, string.Join(", ", app.Urls), StoreDescription(services),
                services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections);
            SecurityOptions security = services.GetRequiredService<IOptions<SecurityOptions>>().Value;
            if (security.ApiKeys.Count == 0)
            {
                Log.NoApiKeys(logger);
            }
            else
            {
                Log.ApiKeysRequired(logger, security.ApiKeys.Count, !security.RequireKeyForHealth, !security.RequireKeyForReflection, !security.RequireKeyForMetrics);
            }
        });
        // Resolved now: a start that fails stops the host after its services are disposed.
        CompareMetrics metrics = app.Services.GetRequiredService<CompareMetrics>();
        double shutdownSeconds = app.Services.GetRequiredService<IOptions<LimitOptions>>().Value.ShutdownTimeout.TotalSeconds;
        app.Lifetime.ApplicationStopping.Register(() => Log.Stopping(logger, metrics.InFlight, shutdownSeconds));
        return app;
    }
}

/// <summary>Healthy once the store is loaded and its backing server answers; NOT_SERVING otherwise.</summary>
internal sealed class StoreHealthCheck(IStoreHealth store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        StoreStatus status = await store.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        return status.Ready ? HealthCheckResult.Healthy(status.Description) : HealthCheckResult.Unhealthy(status.Description);
    }
}
