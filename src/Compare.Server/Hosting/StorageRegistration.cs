using Compare.Server.Storage;
using Compare.Server.Storage.Local;
using Compare.Server.Storage.Sqlite;

namespace Compare.Server.Hosting;

/// <summary>Chooses the store from Storage:Provider and opens it when the host starts.</summary>
internal static class StorageRegistration
{
    public static IServiceCollection AddCompareStorage(this IServiceCollection services, IConfiguration configuration)
    {
        StorageOptions storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        if (string.Equals(storage.Provider, StorageOptions.Memory, StringComparison.OrdinalIgnoreCase))
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
internal sealed class StoreStartup(IDocumentStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        store is IStartableStore startable ? startable.StartAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
