using Compare.Server.Storage;

namespace Compare.Server.Application;

/// <summary>
/// What the server does when its store has no room for writes (a full disk under SQLite, Redis at its maxmemory), the
/// same for every store: from a write refused as full until the next write that commits, health says NOT_SERVING with
/// the refusal's message, so that an orchestrator sees it; reads go on meanwhile, and writes keep being tried.
/// </summary>
internal sealed class WriteRoom(IDocumentStore store) : IStoreHealth
{
    private volatile string? _full;

    /// <inheritdoc/>
    public async Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        StoreStatus status = await store.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        return status.Ready && _full is { } full ? new StoreStatus(false, full) : status;
    }

    /// <summary>Runs a write, noting whether the store refused it as full or committed it.</summary>
    public async Task<T> WriteAsync<T>(Func<Task<T>> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        try
        {
            T result = await write().ConfigureAwait(false);
            _full = null;
            return result;
        }
        catch (StoreFullException e)
        {
            _full = e.Message;
            throw;
        }
    }
}
