using Microsoft.Win32.SafeHandles;

namespace Compare.Server.Storage.Sqlite;

/// <summary>
/// Makes the writer's commits durable apart from the commits themselves. The writer runs with synchronous=NORMAL: a COMMIT
/// writes its frames to the log and makes them visible, but does not sync the log. <see cref="EnsureDurable"/> syncs the
/// log (fsync) outside the writer's lock, so the next batch is written while the disk syncs the last one's, and writers
/// waiting at once share one sync. Under synchronous=FULL the COMMIT, log written and synced, was 13-14 ms of a stream's
/// 30 ms serial step a batch (docs/BENCHMARKS.md). On disk the result is what FULL gives: a log is recovered up to its
/// last whole commit, and a commit is acknowledged only once a sync that began after it has returned.
/// <para>
/// One sync covers every commit counted before it began, so callers waiting meanwhile share it (a group commit). A failed
/// sync leaves what is on disk unknown: the kernel may drop the pages it could not write and report success next time.
/// So after one, every write and every wait for durability is refused until a restart recovers the log from what the disk
/// holds.
/// </para>
/// </summary>
internal sealed class WalDurability(string logPath, Action<SafeFileHandle> sync)
{
    private readonly Lock _syncing = new();
    private long _committed;
    private long _durable;
    private Exception? _failure;

    /// <summary>Counts a commit whose COMMIT has returned: its frames are in the log file, not yet surely on disk.</summary>
    public void Committed() => Interlocked.Increment(ref _committed);

    /// <summary>Why every write is refused (a sync failed), or null.</summary>
    public string? Failure => Volatile.Read(ref _failure) is { } failure ? Unavailable(failure).Message : null;

    /// <summary>Throws <see cref="StoreUnavailableException"/> once a sync has failed.</summary>
    public void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw Unavailable(failure);
        }
    }

    /// <summary>Returns once every commit counted before the call is on disk.</summary>
    public void EnsureDurable()
    {
        long wanted = Interlocked.Read(ref _committed);
        lock (_syncing)
        {
            ThrowIfFailed();
            if (_durable >= wanted)
            {
                return;
            }

            // Read before the sync: every commit counted so far has written its frames, which this sync covers.
            long covered = Interlocked.Read(ref _committed);
            try
            {
                // Opened by name each time, never kept: the log SQLite writes now is the one synced.
                using SafeFileHandle log = File.OpenHandle(logPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                sync(log);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Volatile.Write(ref _failure, e);
                throw Unavailable(e);
            }

            _durable = covered;
        }
    }

    private static StoreUnavailableException Unavailable(Exception failure) =>
        new("The store's disk failed to sync its log: writes are refused until the server restarts and recovers what the disk holds.", failure);
}
