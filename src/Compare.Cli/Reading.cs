namespace Compare.Cli;

/// <summary>Where a batch run reads its input.</summary>
internal static class Reading
{
    /// <summary>
    /// Runs <paramref name="run"/> on a thread of its own: the reading thread waits for the pool while it works, and a pool
    /// thread waiting so left one core of two idle until the pool added a thread.
    /// </summary>
    public static Task<T> Start<T>(Func<T> run) =>
        Task.Factory.StartNew(run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
