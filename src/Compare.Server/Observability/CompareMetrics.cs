using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Compare.Core.Clustering;
using Compare.Server.Hosting;
using Compare.Server.Storage;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Compare.Server.Observability;

/// <summary>Prometheus scraping on the server's own port, bound from the "Metrics" configuration section.</summary>
public sealed class MetricsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Metrics";

    /// <summary>Serve Prometheus text at /metrics (behind the API key when keys are set, see Security:RequireKeyForMetrics). Default on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the per-collection figures (documents, text bytes) are read from the store. Default 15 s.</summary>
    [SettingRange("Metrics:CollectionsInterval", "00:00:00.010", "1.00:00:00")]
    public TimeSpan CollectionsInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Validates <see cref="MetricsOptions"/> with code generated at build time.</summary>
[OptionsValidator]
public sealed partial class MetricsOptionsValidator : IValidateOptions<MetricsOptions>;

/// <summary>
/// The server's instruments, on the "Compare.Server" meter: calls by method and status, their latency, documents
/// indexed, LSH candidates per query, running Deduplicate jobs' progress, each collection's size, and the version.
/// </summary>
internal sealed class CompareMetrics
{
    public const string MeterName = "Compare.Server";

    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _documents;
    private readonly Histogram<long> _candidates;
    private readonly ConcurrentDictionary<object, (string Collection, Func<ClusteringProgress?> Progress)> _jobs = new();
    private IReadOnlyList<CollectionInfo> _collections = [];
    private long _inFlight;

    public CompareMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(MeterName);
        _calls = meter.CreateCounter<long>("compare.rpc.calls", "{call}", "gRPC calls finished, by method and status.");
        _duration = meter.CreateHistogram<double>("compare.rpc.duration", "s", "gRPC call duration, by method and status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _active = meter.CreateUpDownCounter<long>("compare.rpc.active", "{call}", "gRPC calls in flight.");
        _documents = meter.CreateCounter<long>("compare.documents.indexed", "{document}", "Documents written by upserts, by result (created, updated, unchanged, skipped).");
        _candidates = meter.CreateHistogram<long>("compare.lsh.candidates", "{document}", "Documents an LSH query examined before exact verification.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10_000, 100_000] });
        meter.CreateObservableGauge("compare.deduplicate.progress", ObserveJobs, "1", "Share of the current stage done, per running Deduplicate job (stage and collection as tags).");
        meter.CreateObservableGauge("compare.collection.documents", () => ObserveCollections(c => c.DocumentCount), "{document}", "Documents in each collection.");
        meter.CreateObservableGauge("compare.collection.text", () => ObserveCollections(c => c.TextBytes), "By", "UTF-8 bytes of the texts in each collection.");
        meter.CreateObservableGauge("compare.build.info", () => new Measurement<long>(1, new KeyValuePair<string, object?>("version", ServerCommandLine.Release)),
            description: "1, with the server's version as a tag.");
    }

    /// <summary>Calls in flight now (for the shutdown log).</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    public void CallStarted()
    {
        Interlocked.Increment(ref _inFlight);
        _active.Add(1);
    }

    public void CallFinished(string method, StatusCode status, TimeSpan elapsed)
    {
        Interlocked.Decrement(ref _inFlight);
        _active.Add(-1);
        var tags = new TagList { { "method", method }, { "status", status.ToString() } };
        _calls.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void DocumentsIndexed(long created, long updated, long unchanged, long skipped)
    {
        Add("created", created);
        Add("updated", updated);
        Add("unchanged", unchanged);
        Add("skipped", skipped);

        void Add(string result, long count)
        {
            if (count > 0)
            {
                _documents.Add(count, new KeyValuePair<string, object?>("result", result));
            }
        }
    }

    public void CandidatesExamined(long count) => _candidates.Record(count);

    /// <summary>The collections as last read from the store, reported until the next reading.</summary>
    public void CollectionsRead(IReadOnlyList<CollectionInfo> collections) => Volatile.Write(ref _collections, collections);

    private IEnumerable<Measurement<long>> ObserveCollections(Func<CollectionInfo, long> figure) =>
        Volatile.Read(ref _collections).Select(c => new Measurement<long>(figure(c), new KeyValuePair<string, object?>("collection", c.Name)));

    /// <summary>Reports a running job's progress until the returned handle is disposed.</summary>
    public IDisposable TrackDeduplicate(string collection, Func<ClusteringProgress?> progress)
    {
        var job = new JobHandle(this);
        _jobs[job] = (collection, progress);
        return job;
    }

    private IEnumerable<Measurement<double>> ObserveJobs()
    {
        foreach ((string collection, Func<ClusteringProgress?> progress) in _jobs.Values)
        {
            if (progress() is { } p)
            {
                yield return new Measurement<double>(p.Total > 0 ? (double)p.Done / p.Total : 0,
                    new KeyValuePair<string, object?>("collection", collection), new KeyValuePair<string, object?>("stage", p.Stage.ToString()));
            }
        }
    }

    private sealed class JobHandle(CompareMetrics owner) : IDisposable
    {
        public void Dispose() => owner._jobs.TryRemove(this, out _);
    }
}
