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
        ServerCommands.CallAsync(error, settings.Server, () => Task.Run(() => Run(cancellationToken), CancellationToken.None));

    private int Run(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        LoadedCorpus? corpus = CorpusLoader.Load(settings.Input, settings.Fields, settings.Strict, error, cancellationToken);
        if (corpus is null)
        {
            return CompareCli.InputError;
        }

        (List<string> ids, List<string> texts, int skipped) = corpus;
        DedupOutcome outcome = settings.Server is { } server
            ? ServerClient.Deduplicate(server, settings, ids, texts, new ProgressLines(error), cancellationToken)
            : Local(ids, texts, cancellationToken);

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

        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compare: {ids.Count:N0} documents, {outcome.Clusters.Count:N0} clusters, {dropped.Count:N0} duplicates to drop, {skipped:N0} records skipped, {clock.Elapsed.TotalSeconds:F1} s."));
        return CompareCli.Ok;
    }

    private DedupOutcome Local(List<string> ids, List<string> texts, CancellationToken cancellationToken)
    {
        var deduplicator = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = settings.Threshold, Representative = settings.Representative });
        ClusteringResult result = deduplicator.Run(texts, progress: new ProgressLines(error), cancellationToken: cancellationToken);
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

    /// <summary>Progress to standard error: one line per stage change or every 2 s, with rate and ETA.</summary>
    internal sealed class ProgressLines(TextWriter error) : IProgress<ClusteringProgress>
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
                bool newStage = value.Stage != _stage;
                if (newStage)
                {
                    _stage = value.Stage;
                    _stageStart = now;
                }
                else if (now < _next && value.Done < value.Total)
                {
                    return;
                }

                _next = now + TimeSpan.FromSeconds(2);
                double seconds = (now - _stageStart).TotalSeconds;
                double rate = seconds >= 0.1 ? value.Done / seconds : 0;
                string eta = rate > 0 && value.Total > value.Done ? $", ETA {(value.Total - value.Done) / rate:F0} s" : string.Empty;
                string speed = rate > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({rate:N0}/s{eta})") : string.Empty;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"compare: {value.Stage}: {value.Done:N0} of {value.Total:N0}{speed}"));
            }
        }
    }
}
