using Compare.Core.Indexing;
using Compare.Server.Application;
using Compare.Server.Storage;
using Compare.Server.Storage.Local;
using Compare.Server.Storage.Redis;
using Compare.Server.Storage.Sqlite;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Compare.Server.Hosting;

/// <summary>Chooses the store from Storage:Provider and opens it when the host starts.</summary>
internal static class StorageRegistration
{
    public static IServiceCollection AddCompareStorage(this IServiceCollection services, IConfiguration configuration)
    {
        // Whether Redis is configured decides which cache implementation is registered, so it is read here; the
        // values themselves come from the validated options.
        if (!string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.Section}:{nameof(RedisOptions.Configuration)}"]))
        {
            // One multiplexer per process, shared by the store and the result cache. It connects in the
            // background and reconnects by itself: a Redis that is down makes calls UNAVAILABLE, not the host fail.
            services.AddSingleton<IConnectionMultiplexer>(sp => ConnectionMultiplexer.Connect(MultiplexerOptions(sp.GetRequiredService<IOptions<RedisOptions>>().Value)));
            services.AddStackExchangeRedisCache(_ => { });
            services.AddOptions<RedisCacheOptions>().Configure<IServiceProvider>((cache, sp) =>
            {
                cache.InstanceName = sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix + ":cache:";
                cache.ConnectionMultiplexerFactory = () => Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>());
            });
        }
        else
        {
            services.AddDistributedMemoryCache();
            // Every distinct pair is a new entry: without a bound the cache would grow for its whole time to live.
            services.AddOptions<MemoryDistributedCacheOptions>().Configure<IOptions<CacheOptions>>((cache, options) => cache.SizeLimit = options.Value.MemoryLimitBytes);
        }

        services.AddSingleton<CompareResultCache>();
        services.AddSingleton<SqliteDocumentRecords>(sp => new SqliteDocumentRecords(sp.GetRequiredService<IOptions<StorageOptions>>().Value.Path,
            sp.GetRequiredService<ILogger<SqliteDocumentRecords>>()));
        services.AddSingleton<MemoryDocumentRecords>();
        services.AddSingleton<IDocumentRecords>(sp => IsProvider(sp, StorageOptions.Memory)
            ? sp.GetRequiredService<MemoryDocumentRecords>()
            : sp.GetRequiredService<SqliteDocumentRecords>());
        services.AddSingleton<LocalDocumentStore>();
        services.AddSingleton<IDocumentStore>(sp =>
        {
            if (!IsProvider(sp, StorageOptions.Redis))
            {
                return sp.GetRequiredService<LocalDocumentStore>();
            }

            RedisOptions redis = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            if (string.IsNullOrWhiteSpace(redis.Configuration))
            {
                throw new OptionsValidationException(StorageOptions.Section, typeof(StorageOptions),
                    ["Storage:Provider is Redis but Redis:Configuration (host:port[,options]) is not set."]);
            }

            return new RedisFaultTranslation(new RedisDocumentStore(sp.GetRequiredService<IConnectionMultiplexer>(), redis.KeyPrefix, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<SketcherCache>(), sp.GetRequiredService<ILogger<RedisDocumentStore>>()));
        });
        // Each consumer takes the narrow interface it uses; all are the one store.
        services.AddSingleton<WriteRoom>();
        services.AddSingleton<IStoreHealth>(sp => sp.GetRequiredService<WriteRoom>());
        services.AddSingleton<ICollectionCatalog>(sp => sp.GetRequiredService<IDocumentStore>());
        services.AddSingleton<IDocumentRepository>(sp => sp.GetRequiredService<IDocumentStore>());
        services.AddSingleton<ICandidateIndex>(sp => sp.GetRequiredService<IDocumentStore>());
        services.AddSingleton<IDeduplicateResultStore>(sp => sp.GetRequiredService<IDocumentStore>());
        services.AddHostedService<StoreStartup>();
        return services;
    }

    private static bool IsProvider(IServiceProvider services, string provider) =>
        string.Equals(services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider, provider, StringComparison.OrdinalIgnoreCase);

    private static ConfigurationOptions MultiplexerOptions(RedisOptions redis)
    {
        ConfigurationOptions options = ConfigurationOptions.Parse(redis.Configuration!);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 5000;
        // A batch is one MULTI/EXEC: 1,000 documents of news are ~13 MB and ~60,000 commands (passage, forest and bucket
        // sets), which a Redis on a busy 2-core machine took over 5 s to answer. A Redis that is down fails at once
        // (FailFast); only a Redis that accepts and does not answer waits this long.
        options.AsyncTimeout = 30_000;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // Reconnection attempts back off to at most 2 s apart (the client's default lets them drift to 10 s): calls are
        // UNAVAILABLE for about that long after a Redis comes back, and a Redis loading its data is seen loading (calls
        // answered UNAVAILABLE "cannot serve yet") rather than reached only once it is done.
        options.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 2000);
        return options;
    }
}

/// <summary>Opens the store before the server accepts calls; a store that cannot open stops the host with its reason.</summary>
internal sealed class StoreStartup(IDocumentStore store, ILogger<StoreStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        store is IStartableStore startable ? startable.StartAsync(cancellationToken) : Task.CompletedTask;

    // Hosted services stop in reverse order: the web server, started after this, has drained its calls by now.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (store is IStartableStore startable)
        {
            await startable.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.Stopped(logger);
    }
}
