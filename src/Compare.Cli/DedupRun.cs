using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Compare.Cli.Input;
using Compare.Core;
using Compare.Core.Clustering;

namespace Compare.Cli;

internal sealed record DedupSettings(string Input, double Threshold, string? Output, string? Pairs, string? Keep, string? Drop, InputFields Fields,
    RepresentativePolicy Representative, bool Strict, Uri? Server = null, string Collection = "");

/// <summary>Clusters and pairs by id, however they were computed.</summary>
internal sealed record DedupOutcome(IReadOnlyList<(string Representative, IReadOnlyList<(string Id, double Jaccard)> Members)> Clusters,
    IReadOnlyList<(string Left, string Right, double Jaccard)> Pairs);

/// <summary>One dedup run: read, cluster in-process with the engine, write clusters, pairs, keep and drop lists, summarise.</summary>
internal sealed class DedupRun(TextWriter output, TextWriter error, DedupSettings settings)
{
    public Task<int> RunAsync(CancellationToken cancellationToken) =>
        ServerCommands.CallAsync(error, settings.Server, () => RunCoreAsync(cancellationToken));

    private async Task<int> RunCoreAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        CorpusFile corpus;
        DedupOutcome outcome;
        try
        {
            corpus = new CorpusFile(settings.Input, settings.Fields, settings.Strict, error, withMetadata: settings.Server is not null);
            outcome = await ProgressDisplay.RunAsync(error, corpus.Position, progress => settings.Server is { } server
                ? ServerClient.DeduplicateAsync(server, settings, corpus, progress, cancellationToken)
                : Task.Run(() => Local(corpus, progress, cancellationToken), CancellationToken.None)).ConfigureAwait(false);
        }
        catch (InputException e)
        {
            error.WriteLine($"compare: {e.Message}");
            return CompareCli.InputError;
        }

        List<string> ids = corpus.Ids;
        WriteClusters(outcome);
        if (settings.Pairs is { } pairsPath)
        {
            WriteLines(pairsPath, outcome.Pairs.Select(p => Json(w =>
            {
                w.WriteString("left_id", p.Left);
                w.WriteString("right_id", p.Right);
                w.WriteNumber("jaccard", Math.Round(p.Jaccard, 6));
            })));
        }

        HashSet<string> dropped = [.. outcome.Clusters.SelectMany(c => c.Members.Skip(1).Select(m => m.Id))];
        if (settings.Drop is { } dropPath)
        {
            WriteLines(dropPath, ids.Where(dropped.Contains));
        }

        if (settings.Keep is { } keepPath)
        {
            WriteLines(keepPath, ids.Where(id => !dropped.Contains(id)));
        }

        double seconds = clock.Elapsed.TotalSeconds;
        using var process = Process.GetCurrentProcess();
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compare: {ids.Count:N0} documents, {outcome.Clusters.Count:N0} clusters, {dropped.Count:N0} duplicates to drop, {corpus.Skipped:N0} records skipped, {seconds:F1} s ({ids.Count / seconds:N0} documents/s), peak memory {process.PeakWorkingSet64 / 1e6:N0} MB."));
        return CompareCli.Ok;
    }

    private DedupOutcome Local(CorpusFile corpus, IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        var deduplicator = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = settings.Threshold, Representative = settings.Representative });
        ClusteringResult result = deduplicator.Run(corpus, progress: progress, cancellationToken: cancellationToken);
        List<string> ids = corpus.Ids;
        return new DedupOutcome(
            [.. result.Clusters.Select(c => (ids[c.Representative], (IReadOnlyList<(string, double)>)[.. c.Members.Select(m => (ids[m.Document], m.Jaccard))]))],
            [.. result.Pairs.Select(p => (ids[p.Left], ids[p.Right], p.Jaccard))]);
    }

    private void WriteClusters(DedupOutcome outcome)
    {
        IEnumerable<string> lines = outcome.Clusters.Select(c => Json(w =>
        {
            w.WriteString("representative_id", c.Representative);
            w.WriteStartArray("members");
            foreach ((string id, double jaccard) in c.Members)
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteNumber("jaccard", Math.Round(jaccard, 6));
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }));
        if (settings.Output is { } path)
        {
            WriteLines(path, lines);
        }
        else
        {
            foreach (string line in lines)
            {
                output.WriteLine(line);
            }
        }
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteLines(string path, IEnumerable<string> lines) => File.WriteAllLines(path, lines, new UTF8Encoding(false));
}
