using Compare.Server.Application;

namespace Compare.Server.Tests;

/// <summary>Work run once by whichever thread claims it, results in order, failures and cancellations carried to the waiter.</summary>
public sealed class ClaimableTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(257)]
    public async Task Every_item_runs_exactly_once_and_results_keep_their_order(int count)
    {
        int[] runs = new int[count];
        Claimable<int>[] work = [.. Enumerable.Range(0, count).Select(i => new Claimable<int>(() =>
        {
            Interlocked.Increment(ref runs[i]);
            Thread.SpinWait(200);
            return Task.FromResult(i * 3);
        }))];

        int[] results = await Claimable.RunAllAsync(work);

        Assert.Equal(Enumerable.Range(0, count).Select(i => i * 3), results);
        Assert.All(runs, r => Assert.Equal(1, r));
        work[0].TryRun();
        Assert.Equal(1, runs[0]);
    }

    [Fact]
    public async Task Work_queued_before_is_not_queued_again_and_still_runs_once()
    {
        int runs = 0;
        Claimable<int>[] work = [.. Enumerable.Range(0, 64).Select(i => Claimable.Queue(() => Task.FromResult(Interlocked.Increment(ref runs) > 0 ? i : -1)))];

        int[] results = await Claimable.RunAllAsync(work, alreadyQueued: true);

        Assert.Equal(Enumerable.Range(0, 64), results);
        Assert.Equal(64, runs);
    }

    [Fact]
    public async Task Asynchronous_work_is_awaited_to_its_end()
    {
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Claimable<string>[] work = [new(async () => await gate.Task + "!"), new(() => Task.FromResult("second"))];

        Task<string[]> all = Claimable.RunAllAsync(work);
        Assert.False(all.IsCompleted);
        gate.SetResult("first");

        Assert.Equal(["first!", "second"], await all);
    }

    [Fact]
    public async Task A_failure_thrown_before_or_after_an_await_reaches_the_waiter()
    {
        Claimable<int>[] thrownAtOnce = [new(() => Task.FromResult(1)), new(() => throw new InvalidOperationException("at once"))];
        Claimable<int>[] thrownLater = [new(async () =>
        {
            await Task.Yield();
            throw new InvalidOperationException("later");
        })];

        Assert.Equal("at once", (await Assert.ThrowsAsync<InvalidOperationException>(() => Claimable.RunAllAsync(thrownAtOnce))).Message);
        Assert.Equal("later", (await Assert.ThrowsAsync<InvalidOperationException>(() => Claimable.RunAllAsync(thrownLater))).Message);
    }

    [Fact]
    public async Task A_cancelled_work_cancels_the_wait()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        Claimable<int>[] work = [new(() => Task.FromCanceled<int>(cancellation.Token)), new(() => Task.FromResult(2))];

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Claimable.RunAllAsync(work));
    }
}
