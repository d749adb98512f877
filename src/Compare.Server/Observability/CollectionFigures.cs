using Compare.Server.Hosting;
using Compare.Server.Storage;
using Microsoft.Extensions.Options;

namespace Compare.Server.Observability;

/// <summary>
/// Reads every collection's size from the store at Metrics:CollectionsInterval for /metrics. A scrape must not wait on
/// the store (and a gauge's callback cannot), so it reports the last reading; a store that is down or loading keeps
/// the previous one. Not a BackgroundService: since .NET 10 that starts its work with Task.Run on the stopping token,
/// and a host whose start fails (a port in use) before the run begins logs the cancelled task as a failure, with a
/// stack trace, where the server promises one line (dotnet/runtime#98935).
/// </summary>
internal sealed class CollectionFigures(IStoreHealth health, ICollectionCatalog collections, CompareMetrics metrics, IOptions<MetricsOptions> options,
    ILogger<CollectionFigures> logger)
    : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _reading = Task.CompletedTask;
    private bool _failing;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _reading = ReadEveryIntervalAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _reading.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task ReadEveryIntervalAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // the host's start goes on; the readings run on the pool
        TimeSpan interval = options.Value.CollectionsInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            bool read = await TryReadAsync(stoppingToken).ConfigureAwait(false);
            // Until a first reading (the index still loading), ask again soon rather than a whole interval later.
            await Task.Delay(read ? interval : TimeSpan.FromTicks(Math.Min(interval.Ticks, TimeSpan.TicksPerSecond)), stoppingToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<bool> TryReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!(await health.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Ready)
            {
                return false;
            }

            metrics.CollectionsRead(await collections.ListCollectionsAsync(cancellationToken).ConfigureAwait(false));
            if (_failing)
            {
                _failing = false;
                Log.FiguresReadAgain(logger);
            }

            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
#pragma warning disable CA1031 // Any failure keeps the last reading and is told once; the readings must go on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            // Kept: the figures of the last good reading, said once until a read succeeds again.
            if (!_failing)
            {
                _failing = true;
                Log.FiguresNotRead(logger, e.Message);
            }

            return false;
        }
    }
}
