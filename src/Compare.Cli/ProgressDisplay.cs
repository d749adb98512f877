using System.Diagnostics;
using System.Globalization;
using Compare.Cli.Input;
using Compare.Core.Clustering;
using Spectre.Console;

namespace Compare.Cli;

/// <summary>
/// Progress of a long run on standard error: a live bar per stage (with rate and ETA) when it is a
/// terminal, plain lines every 2 s otherwise. While the input is read, progress is the share of
/// it read (bytes, or files of a folder), since the number of documents is not known yet.
/// </summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(TextWriter error, ReadPosition reading, Func<IProgress<ClusteringProgress>, Task<T>> work)
    {
        if (!IsTerminal(error))
        {
            return await work(new ProgressLines(error, reading)).ConfigureAwait(false);
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        return await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(context => work(new ProgressBars(context, reading))).ConfigureAwait(false);
    }

    private static bool IsTerminal(TextWriter error) =>
        ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");

    private static string Describe(ClusteringStage stage) => stage switch
    {
        ClusteringStage.Sketching => "Reading and signing",
        ClusteringStage.Candidates => "Candidate pairs",
        ClusteringStage.Verifying => "Verifying pairs",
        ClusteringStage.Loading => "Loading signatures",
        _ => "Clustering",
    };

    /// <summary>One Spectre task per stage, created when the stage starts.</summary>
    private sealed class ProgressBars(ProgressContext context, ReadPosition reading) : IProgress<ClusteringProgress>
    {
        private readonly Dictionary<ClusteringStage, ProgressTask> _tasks = [];
        private readonly Lock _gate = new();

        public void Report(ClusteringProgress value)
        {
            lock (_gate)
            {
                foreach ((ClusteringStage stage, ProgressTask earlier) in _tasks)
                {
                    // Stages arrive in order: any other one seen so far is over.
                    if (stage != value.Stage && !earlier.IsFinished)
                    {
                        earlier.Value = earlier.MaxValue;
                    }
                }

                (long done, long total) = value.Total > 0 ? (value.Done, value.Total) : (reading.Done, Math.Max(1, reading.Total));
                if (!_tasks.TryGetValue(value.Stage, out ProgressTask? task))
                {
                    task = _tasks[value.Stage] = context.AddTask(Describe(value.Stage), maxValue: total);
                }

                task.MaxValue = total;
                task.Value = done;
            }
        }
    }

    /// <summary>One line per stage change or every 2 s, with rate and ETA.</summary>
    internal sealed class ProgressLines(TextWriter error, ReadPosition? input = null) : IProgress<ClusteringProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Lock _gate = new();
        private ClusteringStage? _stage;
        private TimeSpan _stageStart;
        private TimeSpan _next;

        public void Report(ClusteringProgress value)
        {
            lock (_gate)
            {
                TimeSpan now = _clock.Elapsed;
                if (value.Stage != _stage)
                {
                    _stage = value.Stage;
                    _stageStart = now;
                }
                else if (now < _next && (value.Total == 0 || value.Done < value.Total))
                {
                    return;
                }

                _next = now + TimeSpan.FromSeconds(2);
                bool reading = value.Total == 0 && input is { Total: > 0 };
                double fraction = reading ? (double)input!.Done / input.Total : value.Total > 0 ? (double)value.Done / value.Total : 0;
                double seconds = (now - _stageStart).TotalSeconds;
                string eta = fraction is > 0 and < 1 ? string.Create(CultureInfo.InvariantCulture, $", ETA {seconds * (1 - fraction) / fraction:F0} s") : string.Empty;
                string rate = seconds >= 0.1 && value.Done > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({value.Done / seconds:N0}/s{eta})") : string.Empty;
                error.WriteLine(reading
                    ? string.Create(CultureInfo.InvariantCulture, $"compare: {value.Stage}: {Counted.Of(value.Done, "document")}, {fraction:P0} of the input{rate}")
                    : string.Create(CultureInfo.InvariantCulture, $"compare: {value.Stage}: {value.Done:N0} of {value.Total:N0}{rate}"));
            }
        }
    }
}
