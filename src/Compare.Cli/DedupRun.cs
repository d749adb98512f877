using System.Diagnostics;
using System.Globalization;
using Compare.Cli.Input;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Lsh;

namespace Compare.Cli;

internal sealed record DedupSettings(IReadOnlyList<InputSpec> Inputs, double Threshold, string? Output, string? Pairs, string? Keep, string? Drop, string? OutputCorpus,
    RepresentativePolicy Representative, bool Strict, SketchParameters Sketch, LshParameters? Lsh, Uri? Server = null, string Collection = "", bool Create = false, long? MaxHeldBytes = null);

/// <summary>Clusters and pairs by id, however they were computed.</summary>
internal sealed record DedupOutcome(IReadOnlyList<(string Representative, IReadOnlyList<(string Id, double Jaccard)> Members)> Clusters,
    IReadOnlyList<(string Left, string Right, double Jaccard)> Pairs);

/// <summary>
/// One dedup run: read, cluster in-process with the engine (or on a server), write clusters, pairs, keep and drop lists
/// and the kept corpus, summarise. Clusters and pairs are written as the service's JSON writes its DuplicateCluster and
/// DuplicatePair messages (<see cref="DuplicateJson"/>), so one parser reads both.
/// </summary>
internal sealed class DedupRun(TextWriter output, TextWriter error, DedupSettings settings)
{
    public Task<int> RunAsync(CancellationToken cancellationToken) =>
        ServerCommands.CallAsync(error, settings.Server, () => RunCoreAsync(cancellationToken), createsCollections: true);

    private async Task<int> RunCoreAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var corpus = new CorpusFile(settings.Inputs, settings.Strict, error, withMetadata: settings.Server is not null);
            if (settings.OutputCorpus is { } corpusPath)
            {
                corpus.EnsureKeptCanBeWritten(corpusPath);
            }

            DedupOutcome outcome = await ProgressDisplay.RunAsync(error, corpus.Position, progress => settings.Server is { } server
                ? ServerClient.DeduplicateAsync(server, settings, corpus, progress, cancellationToken)
                : Reading.Start(() => Local(corpus, progress, cancellationToken))).ConfigureAwait(false);
            corpus.EnsureSomethingRead();
            int dropped = Write(corpus, outcome);
            double seconds = clock.Elapsed.TotalSeconds;
            using var process = Process.GetCurrentProcess();
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare: {Counted.Of(corpus.Ids.Count, "document")}, {Counted.Of(outcome.Clusters.Count, "cluster")}, {Counted.Of(dropped, "duplicate to drop", "duplicates to drop")}, {Counted.Of(corpus.Skipped, "record skipped", "records skipped")}, {seconds:F1} s ({corpus.Ids.Count / seconds:N0} documents/s), peak memory {process.PeakWorkingSet64 / 1e6:N0} MB."));
            return CompareCli.Ok;
        }
        catch (Exception e) when (e is InputException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"compare: {e.Message}");
            return CompareCli.InputError;
        }
    }

    /// <summary>Writes every requested output; returns how many documents are duplicates to drop.</summary>
    private int Write(CorpusFile corpus, DedupOutcome outcome)
    {
        List<string> ids = corpus.Ids;
        LinesOutput.Write(output, settings.Output, outcome.Clusters.Select(c => DuplicateJson.Cluster(c.Representative, c.Members)));
        if (settings.Pairs is { } pairsPath)
        {
            LinesOutput.WriteFile(pairsPath, outcome.Pairs.Select(p => DuplicateJson.Pair(p.Left, p.Right, p.Jaccard)));
        }

        HashSet<string> dropped = [.. outcome.Clusters.SelectMany(c => c.Members.Skip(1).Select(m => m.Id))];
        if (settings.Drop is { } dropPath)
        {
            LinesOutput.WriteFile(dropPath, ids.Where(dropped.Contains));
        }

        if (settings.Keep is { } keepPath)
        {
            LinesOutput.WriteFile(keepPath, ids.Where(id => !dropped.Contains(id)));
        }

        if (settings.OutputCorpus is { } corpusPath)
        {
            corpus.WriteKept(corpusPath, Enumerable.Range(0, ids.Count).Where(i => !dropped.Contains(ids[i])));
        }

        return dropped.Count;
    }

    private DedupOutcome Local(CorpusFile corpus, IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        var deduplicator = new Deduplicator(settings.Sketch, new DeduplicationOptions
        {
            Threshold = settings.Threshold,
            Representative = settings.Representative,
            Lsh = settings.Lsh,
            MaxHeldBytes = settings.MaxHeldBytes ?? new DeduplicationOptions().MaxHeldBytes,
        });
        ClusteringResult result = deduplicator.Run(corpus, progress: progress, cancellationToken: cancellationToken);
        List<string> ids = corpus.Ids;
        return new DedupOutcome(
            [.. result.Clusters.Select(c => (ids[c.Representative], (IReadOnlyList<(string, double)>)[.. c.Members.Select(m => (ids[m.Document], m.Jaccard))]))],
            [.. result.Pairs.Select(p => (ids[p.Left], ids[p.Right], p.Jaccard))]);
    }
}
