using Compare.Server.Storage;
using Compare.Server.Storage.Local;
using Compare.Server.Storage.Redis;
using Compare.Server.Storage.Sqlite;
using Compare.Server.Application;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Compare.Server.Hosting;

/// <summary>Chooses the store from Storage:Provider and opens it when the host starts.</summary>
internal static class StorageRegistration
{
    public static IServiceCollection AddCompareStorage(this IServiceCollection services, IConfiguration configuration)
    {
        StorageOptions storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        RedisOptions redis = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        if (!string.IsNullOrWhiteSpace(redis.Configuration))
        {
            // One multiplexer per process, shared by the store and the result cache. It connects in the
            // background and reconnects by itself: a Redis that is down makes calls UNAVAILABLE, not the host fail.
            ConfigurationOptions options = ConfigurationOptions.Parse(redis.Configuration);
            options.AbortOnConnectFail = false;
            options.ConnectTimeout = 2000;
            options.SyncTimeout = 5000;
            options.AsyncTimeout = 5000;
            options.BacklogPolicy = BacklogPolicy.FailFast;
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
            services.AddStackExchangeRedisCache(cache => cache.InstanceName = redis.KeyPrefix + ":cache:");
            services.AddOptions<RedisCacheOptions>().Configure<IServiceProvider>((cache, sp) =>
                cache.ConnectionMultiplexerFactory = () => Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>()));
        }
        else
        {
            // Every distinct pair is a new entry: without a bound the cache would grow for its whole time to live.
            long limit = configuration.GetSection(CacheOptions.Section).Get<CacheOptions>()?.MemoryLimitBytes ?? new CacheOptions().MemoryLimitBytes;
            services.AddDistributedMemoryCache(cache => cache.SizeLimit = limit);
        }

        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.Section);
        services.AddSingleton<CompareResultCache>();

        if (string.Equals(storage.Provider, StorageOptions.Redis, StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(redis.Configuration))
            {
                throw new OptionsValidationException(StorageOptions.Section, typeof(StorageOptions),
                    ["Storage:Provider is Redis but Redis:Configuration (host:port[,options]) is not set."]);
            }

            services.AddSingleton<IDocumentStore>(sp =>
                new RedisDocumentStore(sp.GetRequiredService<IConnectionMultiplexer>(), redis.KeyPrefix, sp.GetRequiredService<TimeProvider>()));
        }
        else if (string.Equals(storage.Provider, StorageOptions.Memory, StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton<IDocumentRecords, MemoryDocumentRecords>();
            services.AddSingleton<IDocumentStore, LocalDocumentStore>();
        }
        else
        {
            services.AddSingleton<IDocumentRecords>(_ => new SqliteDocumentRecords(storage.Path));
            services.AddSingleton<IDocumentStore, LocalDocumentStore>();
        }

        services.AddHostedService<StoreStartup>();
        return services;
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
