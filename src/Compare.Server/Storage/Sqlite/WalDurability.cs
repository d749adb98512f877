using Microsoft.Win32.SafeHandles;

namespace Compare.Server.Storage.Sqlite;

/// <summary>
/// Makes the writer's commits durable apart from the commits themselves. The writer runs with synchronous=NORMAL: a COMMIT
/// writes its frames to the log and makes them visible, but does not sync the log. <see cref="EnsureDurableAsync"/> has
/// the log synced (fsync) outside the writer's lock, so the next batch is written while the disk syncs the last one's, and
/// writers waiting at once share one sync. Under synchronous=FULL the COMMIT, log written and synced, was 13-14 ms of a
/// stream's 30 ms serial step a batch (docs/BENCHMARKS.md). On disk the result is what FULL gives: a log is recovered up
/// to its last whole commit, and a commit is acknowledged only once a sync that began after it has returned.
/// <para>
/// Syncs run one at a time on a thread of their own, each covering every commit counted before it began; the callers it
/// covers complete together (a group commit), and none holds a pool thread meanwhile. A failed sync leaves what is on
/// disk unknown: the kernel may drop the pages it could not write and report success next time. So after one, every
/// write and every wait for durability is refused until a restart recovers the log from what the disk holds.
/// </para>
/// </summary>
internal sealed class WalDurability : IDisposable
{
    private readonly string _logPath;
    private readonly Action<SafeFileHandle> _sync;
    private readonly Lock _gate = new();
    private readonly List<(long Commit, TaskCompletionSource Done)> _waiting = [];
    private readonly SemaphoreSlim _wanted = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _thread;
    private long _committed;
    private long _durable;
    private Exception? _failure;
    private int _disposed;

    public WalDurability(string logPath, Action<SafeFileHandle> sync)
    {
        (_logPath, _sync) = (logPath, sync);
        _thread = new Thread(Run) { IsBackground = true, Name = "SQLite log syncs" };
        _thread.Start();
    }

    /// <summary>Counts a commit whose COMMIT has returned: its frames are in the log file, not yet surely on disk.</summary>
    public void Committed() => Interlocked.Increment(ref _committed);

    /// <summary>Why every write is refused (a sync failed), or null.</summary>
    public string? Failure => Volatile.Read(ref _failure) is null ? null : FailedMessage;

    /// <summary>Throws <see cref="StoreUnavailableException"/> once a sync has failed.</summary>
    public void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw Unavailable(failure);
        }
    }

    /// <summary>Completes once every commit counted before the call is on disk.</summary>
    public Task EnsureDurableAsync()
    {
        long wanted = Interlocked.Read(ref _committed);
        lock (_gate)
        {
            if (_failure is { } failure)
            {
                return Task.FromException(Unavailable(failure));
            }

            if (_durable >= wanted)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((wanted, done));
            Signal();
            return done.Task;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        _thread.Join();
        lock (_gate)
        {
            foreach ((_, TaskCompletionSource done) in _waiting)
            {
                done.TrySetException(new StoreUnavailableException("The store is closing: its last writes may not be on disk."));
            }

            _waiting.Clear();
        }

        _wanted.Dispose();
        _stopping.Dispose();
    }

    private void Signal()
    {
        if (_wanted.CurrentCount == 0)
        {
            _wanted.Release();
        }
    }

    private void Run()
    {
        while (true)
        {
            try
            {
                _wanted.Wait(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Read before the sync: every commit counted so far has written its frames, which this sync covers.
            long covered = Interlocked.Read(ref _committed);
            Exception? failed = null;
            try
            {
                // Opened by name each time, never kept: the log SQLite writes now is the one synced.
                using SafeFileHandle log = File.OpenHandle(_logPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                _sync(log);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                failed = e;
            }

            Complete(covered, failed);
        }
    }

    /// <summary>Completes the callers a sync covered (all of them, failed, when it failed); asks for another sync for the rest.</summary>
    private void Complete(long covered, Exception? failed)
    {
        lock (_gate)
        {
            if (failed is not null)
            {
                Volatile.Write(ref _failure, failed);
            }
            else
            {
                _durable = Math.Max(_durable, covered);
            }

            _waiting.RemoveAll(w =>
            {
                if (failed is not null)
                {
                    w.Done.SetException(Unavailable(failed));
                    return true;
                }

                if (w.Commit > covered)
                {
                    return false;
                }

                w.Done.SetResult();
                return true;
            });
            if (_waiting.Count > 0)
            {
                Signal();
            }
        }
    }

    private const string FailedMessage =
        "The store's disk failed to sync its log: writes are refused until the server restarts and recovers what the disk holds.";

    private static StoreUnavailableException Unavailable(Exception failure) => new(FailedMessage, failure);
}
