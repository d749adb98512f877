using Compare.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Compare.Server.Application;

/// <summary>
/// Admission of Deduplicate jobs: at most Limits:MaxConcurrentDeduplicateJobs run at once, and
/// every running job is stopped when the server begins to shut down.
/// </summary>
internal sealed class DeduplicateJobs(IOptions<LimitOptions> limits, IHostApplicationLifetime lifetime) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(limits.Value.MaxConcurrentDeduplicateJobs);

    /// <summary>Cancelled when the server begins to shut down.</summary>
    public CancellationToken Stopping => lifetime.ApplicationStopping;

    /// <summary>A slot, released when disposed; <see cref="CapacityExceededException"/> when every slot is taken.</summary>
    public IDisposable Enter()
    {
        if (!_slots.Wait(0))
        {
            throw new CapacityExceededException(
                $"{limits.Value.MaxConcurrentDeduplicateJobs} Deduplicate jobs are already running (Limits:MaxConcurrentDeduplicateJobs); retry when one has finished.");
        }

        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
