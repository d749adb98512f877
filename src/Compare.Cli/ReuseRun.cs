using System.Diagnostics;
using System.Globalization;
using Compare.Cli.Input;
using Compare.Core.Phrases;
using Compare.Messages;
using Google.Protobuf;

namespace Compare.Cli;

/// <summary>
/// One reuse run: every pair of documents of a corpus that share passages (<see cref="ReuseFinder"/>), one JSON line a pair
/// with its passages and coverage, named as the service's FindSharedPassages names them; then a summary on standard error.
/// </summary>
internal sealed class ReuseRun(TextWriter output, TextWriter error, IReadOnlyList<InputSpec> inputs, bool strict, ReuseOptions options, string? outputPath,
    ReuseReport? report = null)
{
    private static readonly JsonFormatter Json = JsonFormatter.Default;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var corpus = new CorpusFile(inputs, strict, error);
            // Each pair is written as soon as it is found: the pairs of a corpus whose wording recurs do not fit in memory.
            ReuseCounts found = await ProgressDisplay.RunAsync(error, corpus.Position, progress => Reading.Start(() => LinesOutput.Stream(output, outputPath,
                lines =>
                {
                    ReuseCounts counts = ReuseFinder.ForEachPair(corpus, pair =>
                    {
                        lines.WriteLine(Json.Format(ToMessage(corpus.Ids, pair)));
                        report?.Offer(pair);
                    }, options, progress, cancellationToken);
                    corpus.EnsureSomethingRead();
                    return counts;
                }))).ConfigureAwait(false);

            if (report is not null)
            {
                int pages = report.Write(corpus, options, found, cancellationToken);
                error.WriteLine($"compare: the report is {Path.Combine(report.Directory, "index.html")} ({Counted.Of(pages, "pair")}, most shared words first).");
            }

            double seconds = clock.Elapsed.TotalSeconds;
            using var process = Process.GetCurrentProcess();
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare: {Counted.Of(found.DocumentCount, "document")}, {Counted.Of(found.PairsFound, "pair")} sharing passages of {options.MinWords}+ words ({Counted.Of(found.CandidatePairs, "candidate pair")}, {Counted.Of(found.BoilerplateFingerprints, "boilerplate fingerprint")} left out, {Counted.Of(found.Readings, "reading")} to compare them), {Counted.Of(corpus.Skipped, "record skipped", "records skipped")}, {seconds:F1} s, peak memory {process.PeakWorkingSet64 / 1e6:N0} MB."));
            return CompareCli.Ok;
        }
        catch (TooManyReusePairsException e)
        {
            error.WriteLine($"compare: {e.Message} (--max-documents, --max-pairs).");
            return CompareCli.InputError;
        }
        catch (Exception e) when (e is InputException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"compare: {e.Message}");
            return CompareCli.InputError;
        }
    }

    /// <summary>A pair as a PassageMatch of the left document's search: its id, the right one's, and what they share.</summary>
    private static V1.ReusedPassages ToMessage(List<string> ids, ReusePair pair)
    {
        var message = new V1.ReusedPassages
        {
            LeftId = ids[pair.Left],
            RightId = ids[pair.Right],
            LeftSharedWordCount = pair.Shared.LeftSharedWords,
            RightSharedWordCount = pair.Shared.RightSharedWords,
            LeftCoverage = pair.Shared.LeftCoverage,
            RightCoverage = pair.Shared.RightCoverage,
        };
        message.Passages.AddRange(pair.Shared.Phrases.Select(ComparisonMessages.ToProto));
        return message;
    }
}
