using Compare.Cli;

// Ctrl-C cancels the run, which stops at its next check and exits 130; a second Ctrl-C ends the process.
using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !interrupted.IsCancellationRequested;
    interrupted.Cancel();
};
return await CompareCli.RunAsync(args, Console.Out, Console.Error, interrupted.Token);
