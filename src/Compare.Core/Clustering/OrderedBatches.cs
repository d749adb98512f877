using System.Collections.Concurrent;

namespace Compare.Core.Clustering;

/// <summary>
/// Batches read on the calling thread and worked on by the pool while the next is read, so a slow reader overlaps the
/// work; results are handed over in the batches' order.
/// </summary>
public static class OrderedBatches
{
    /// <summary>Texts read a batch at a time; a list is one batch, since there is no reading to overlap.</summary>
    public const int TextsPerBatch = 512;

    /// <summary>
    /// Runs <paramref name="work"/> on each of <paramref name="batches"/> on the pool while the calling thread reads the
    /// next, and <paramref name="completed"/> on each result in order, one at a time. Two batches are worked on at once,
    /// so that one's completion and the end of its parallel loop, where cores wait for the last item, overlap the
    /// next's work. A failure of either ends the run with it, after the batches in flight have finished.
    /// </summary>
    public static void Run<TBatch, TResult>(IEnumerable<TBatch> batches, Func<TBatch, TResult> work, Action<TResult> completed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(completed);
        const int InFlight = 2;
        var pending = new Queue<Task>();
        Task previous = Task.CompletedTask;
        try
        {
            foreach (TBatch batch in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (pending.Count == InFlight)
                {
                    pending.Dequeue().GetAwaiter().GetResult();
                }

                Task<TResult> worked = Task.Run(() => work(batch), cancellationToken);
                Task after = previous;
                previous = Task.WhenAll(after, worked).ContinueWith(
                    _ =>
                    {
                        after.GetAwaiter().GetResult();
                        completed(worked.GetAwaiter().GetResult());
                    },
                    cancellationToken, TaskContinuationOptions.None, TaskScheduler.Default);
                pending.Enqueue(previous);
            }

            previous.GetAwaiter().GetResult();
        }
        finally
        {
            // A failed read must not return while the pool still works on earlier batches.
            Task.WhenAll(pending).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Wait(CancellationToken.None);
        }
    }

    /// <summary>Applies <paramref name="work"/> to every text in parallel, handing results over in order with the position of each batch's first.</summary>
    public static void ForEachText<T>(IEnumerable<string> texts, TextWork<T> work, Action<int, T[]> completed, ParallelOptions options)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(completed);
        ArgumentNullException.ThrowIfNull(options);
        if (texts is IReadOnlyList<string> list)
        {
            completed(0, WorkOnTexts(list, work, options));
            return;
        }

        int start = 0;
        Run(texts.Chunk(TextsPerBatch), batch => WorkOnTexts(batch, work, options), results =>
        {
            completed(start, results);
            start += results.Length;
        }, options.CancellationToken);
    }

    /// <summary>
    /// <paramref name="work"/> on every item in parallel, in ranges small enough that every core stays busy to the end of a
    /// short list (a few hundred candidates).
    /// </summary>
    public static T[] WorkOn<TItem, T>(IReadOnlyList<TItem> items, Func<TItem, T> work, ParallelOptions options)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(options);
        var results = new T[items.Count];
        if (items.Count > 0)
        {
            int processors = options.MaxDegreeOfParallelism > 0 ? options.MaxDegreeOfParallelism : Environment.ProcessorCount;
            int rangeSize = Math.Clamp(items.Count / (8 * processors), 1, 256);
            Parallel.ForEach(Partitioner.Create(0, items.Count, rangeSize), options, range =>
            {
                for (int i = range.Item1; i < range.Item2; i++)
                {
                    results[i] = work(items[i]);
                }
            });
        }

        return results;
    }

    private static T[] WorkOnTexts<T>(IReadOnlyList<string> texts, TextWork<T> work, ParallelOptions options) => WorkOn(texts, (string text) => work(text), options);
}
