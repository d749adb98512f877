using Compare.Server.Hosting;
using Microsoft.Data.Sqlite;

namespace Compare.Server.Storage.Sqlite;

/// <summary>
/// Copies the write-ahead log into the database file on a thread and connection of its own, so that no commit waits for
/// it. SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages: on the storage benchmark
/// (batches of 1,000 news articles, ~280 pages each) every fourth commit took 60-90 ms instead of 15-20, and commits are
/// the one serial step of an ingest. The writer turns its own off and asks for a checkpoint after each commit
/// (<see cref="Request"/>); a checkpoint never blocks the writer or readers (PASSIVE), and what a durable commit is does
/// not change: a commit is acknowledged once the log holding it is synced, as before.
/// <para>
/// SQLite starts the log again from its beginning only when a write finds it wholly copied, so under a stream of writes
/// the log may grow while checkpoints run beside them. Past <see cref="MaxLogPages"/> the writer therefore copies it
/// whole itself before its next commit, which then starts it again (<see cref="CheckpointIfLogTooLong"/>): the log stays
/// bounded as under SQLite's own checkpoints (a reader still on an old snapshot holds it back either way).
/// </para>
/// </summary>
internal sealed class WalCheckpointer : IDisposable
{
    /// <summary>The log's size, in pages, past which the writer copies it whole itself (256 MB of 16 KiB pages).</summary>
    public const int MaxLogPages = 16_000;

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _requested = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _thread;

    // Held while a checkpoint runs: the writer's waits for the thread's, so that it copies the log to its end.
    private readonly Lock _checkpointing = new();
    private long _logPages;
    private int _disposed;

    public WalCheckpointer(string connectionString, ILogger logger)
    {
        _logger = logger;
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        _thread = new Thread(Run) { IsBackground = true, Name = "SQLite checkpoints" };
        _thread.Start();
    }

    /// <summary>How many pages the log held at the last checkpoint.</summary>
    public long LogPages => Interlocked.Read(ref _logPages);

    /// <summary>
    /// Called by the writer before a write, under its lock: when the log has grown past <see cref="MaxLogPages"/>, copies it
    /// to its end on <paramref name="writer"/>, so that the write starts it again.
    /// </summary>
    public void CheckpointIfLogTooLong(SqliteConnection writer)
    {
        if (LogPages > MaxLogPages)
        {
            lock (_checkpointing)
            {
                Interlocked.Exchange(ref _logPages, Checkpoint(writer, "PASSIVE"));
            }
        }
    }

    /// <summary>Asks for a checkpoint (after a commit); requests made while one runs are served by the next.</summary>
    public void Request()
    {
        if (_requested.CurrentCount == 0)
        {
            try
            {
                _requested.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another commit asked in the same instant: one checkpoint serves both.
            }
        }
    }

    /// <summary>Runs a checkpoint of <paramref name="mode"/> on <paramref name="connection"/>; returns the log's size in pages.</summary>
    public static long Checkpoint(SqliteConnection connection, string mode)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode})";
        using SqliteDataReader reader = command.ExecuteReader();
        return reader.Read() ? reader.GetInt64(1) : 0;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        _thread.Join();
        _connection.Dispose();
        _requested.Dispose();
        _stopping.Dispose();
    }

    private void Run()
    {
        while (true)
        {
            try
            {
                _requested.Wait(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                lock (_checkpointing)
                {
                    Interlocked.Exchange(ref _logPages, Checkpoint(_connection, "PASSIVE"));
                }
            }
            catch (SqliteException e)
            {
                // A full disk, say: the log keeps every commit meanwhile, and the next request tries again.
                Log.CheckpointFailed(_logger, e.Message);
            }
        }
    }
}
