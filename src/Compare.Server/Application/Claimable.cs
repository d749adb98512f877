namespace Compare.Server.Application;

/// <summary>
/// Work queued to the pool that the thread waiting for it may run itself if no pool thread has begun it: whichever claims it
/// first runs it, once. On two cores the waiting thread would otherwise sit idle while the pool drains a queue.
/// </summary>
internal sealed class Claimable<T>(Func<Task<T>> work)
{
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _claimed;

    public Task<T> Result => _result.Task;

    /// <summary>Runs the work unless another thread has claimed it; an async work's completion is left to its own awaits.</summary>
    public void TryRun()
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            return;
        }

        Task<T> running;
        try
        {
            running = work();
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            running = Task.FromException<T>(failure);
        }

        if (running.IsCompleted)
        {
            Complete(running);
        }
        else
        {
            running.ContinueWith(static (done, state) => ((Claimable<T>)state!).Complete(done), this, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void Complete(Task<T> done)
    {
        if (done.IsCanceled)
        {
            _result.SetCanceled();
        }
        else if (done.IsFaulted)
        {
            _result.SetException(done.Exception!.InnerExceptions);
        }
        else
        {
            _result.SetResult(done.Result);
        }
    }
}

/// <summary>Queues <see cref="Claimable{T}"/> work to the pool, and runs a set of it with the waiting thread's help.</summary>
internal static class Claimable
{
    public static Claimable<T> Queue<T>(Claimable<T> claimable)
    {
        ArgumentNullException.ThrowIfNull(claimable);
        ThreadPool.UnsafeQueueUserWorkItem(static c => c.TryRun(), claimable, preferLocal: false);
        return claimable;
    }

    public static Claimable<T> Queue<T>(Func<Task<T>> work) => Queue(new Claimable<T>(work));

    /// <summary>
    /// The results of <paramref name="work"/>, in order: all but the first are queued to the pool (unless
    /// <paramref name="alreadyQueued"/>), then this thread runs the first and, from the last back, any the pool has not begun.
    /// </summary>
    public static Task<T[]> RunAllAsync<T>(IReadOnlyList<Claimable<T>> work, bool alreadyQueued = false)
    {
        ArgumentNullException.ThrowIfNull(work);
        for (int i = 1; i < work.Count && !alreadyQueued; i++)
        {
            Queue(work[i]);
        }

        if (work.Count > 0)
        {
            work[0].TryRun();
        }

        for (int i = work.Count - 1; i > 0; i--)
        {
            work[i].TryRun();
        }

        return Task.WhenAll(work.Select(w => w.Result));
    }
}
