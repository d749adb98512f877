using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Compare.Cli.Input;
using Compare.Core;
using Compare.Core.Clustering;

namespace Compare.Cli;

internal sealed record DedupSettings(string Input, double Threshold, string? Output, string? Pairs, string? Keep, string? Drop, InputFields Fields,
    RepresentativePolicy Representative, bool Strict);

/// <summary>One dedup run: read, cluster in-process with the engine, write clusters, pairs, keep and drop lists, summarise.</summary>
internal sealed class DedupRun(TextWriter output, TextWriter error, DedupSettings settings)
{
    public Task<int> RunAsync(CancellationToken cancellationToken) => Task.Run(() => Run(cancellationToken), CancellationToken.None);

    private int Run(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var ids = new List<string>();
        var texts = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int skipped = 0;
        InputProblem? fatal = null;
        try
        {
            foreach (InputDocument d in DocumentReader.Read(settings.Input, settings.Fields, Report))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (fatal is not null)
                {
                    break;
                }

                if (!seen.Add(d.Id))
                {
                    Report(new InputProblem(d.Source, $"id \"{d.Id}\" was already read"));
                    continue;
                }

                ids.Add(d.Id);
                texts.Add(d.Text);
            }
        }
        catch (Exception e) when (e is IOException or NotSupportedException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"compare: {e.Message}");
            return CompareCli.InputError;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("compare: cancelled.");
            return CompareCli.Cancelled;
        }

        if (fatal is not null)
        {
            error.WriteLine($"compare: {fatal.Source}: {fatal.Reason} (--strict).");
            return CompareCli.InputError;
        }

        ClusteringResult result;
        try
        {
            var deduplicator = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = settings.Threshold, Representative = settings.Representative });
            result = deduplicator.Run(texts, progress: new ProgressLines(error), cancellationToken: cancellationToken);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("compare: cancelled.");
            return CompareCli.Cancelled;
        }

        WriteClusters(result, ids);
        if (settings.Pairs is { } pairsPath)
        {
            WriteLines(pairsPath, result.Pairs.Select(p => Json(w =>
            {
                w.WriteString("left_id", ids[p.Left]);
                w.WriteString("right_id", ids[p.Right]);
                w.WriteNumber("jaccard", Math.Round(p.Jaccard, 6));
            })));
        }

        HashSet<int> dropped = [.. result.DocumentsToDrop()];
        if (settings.Drop is { } dropPath)
        {
            WriteLines(dropPath, dropped.Order().Select(i => ids[i]));
        }

        if (settings.Keep is { } keepPath)
        {
            WriteLines(keepPath, Enumerable.Range(0, ids.Count).Where(i => !dropped.Contains(i)).Select(i => ids[i]));
        }

        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compare: {ids.Count:N0} documents, {result.Clusters.Count:N0} clusters, {result.DuplicateCount:N0} duplicates to drop, {skipped:N0} records skipped, {clock.Elapsed.TotalSeconds:F1} s."));
        return CompareCli.Ok;

        void Report(InputProblem problem)
        {
            if (settings.Strict)
            {
                fatal ??= problem;
                return;
            }

            skipped++;
            error.WriteLine($"compare: {problem.Source}: {problem.Reason}; skipped.");
        }
    }

    private void WriteClusters(ClusteringResult result, List<string> ids)
    {
        IEnumerable<string> lines = result.Clusters.Select(c => Json(w =>
        {
            w.WriteString("representative_id", ids[c.Representative]);
            w.WriteStartArray("members");
            foreach (ClusterMember m in c.Members)
            {
                w.WriteStartObject();
                w.WriteString("id", ids[m.Document]);
                w.WriteNumber("jaccard", Math.Round(m.Jaccard, 6));
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
    private sealed class ProgressLines(TextWriter error) : IProgress<ClusteringProgress>
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
