using System.Diagnostics;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Shingling;
using Compare.Core.Similarity;
using Compare.Server.Hosting;
using Compare.Server.Mapping;
using Compare.Server.Observability;
using Compare.Server.Storage;
using Compare.Server.Validation;
using Compare.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Compare.Server.Services;

/// <summary>compare.v1.SimilarityService.</summary>
internal sealed class SimilarityGrpcService(IDocumentStore store, SketcherCache sketchers, CompareResultCache cache, IOptions<LimitOptions> limits,
    DeduplicateJobs jobs, CompareMetrics metrics, TimeProvider clock, ILogger<SimilarityGrpcService> logger) : SimilarityService.SimilarityServiceBase
{
    /// <summary>Trailer that says whether a Compare answer came from the result cache: "hit" or "miss".</summary>
    public const string CacheTrailer = "compare-cache";

    private const int MaxPhraseWords = 1000;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    private readonly LimitOptions _limits = limits.Value;

    public override async Task<CompareResponse> Compare(CompareRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        RequestValidator.Reference(request.Left, "left", _limits, violations);
        RequestValidator.Reference(request.Right, "right", _limits, violations);
        int minWords = RequestValidator.Count(request.MinPhraseWords, PhraseOptions.DefaultMinWords, MaxPhraseWords, "min_phrase_words", "1000 words", violations);
        int bridge = RequestValidator.Count(request.MaxBridgeWords, 0, RequestValidator.MaxBridgeWords, "max_bridge_words", $"{RequestValidator.MaxBridgeWords} words", violations);
        int minRatio = RequestValidator.Count(request.MinSentenceRatio, 80, 100, "min_sentence_ratio", "100", violations);
        int maxPhrases = RequestValidator.Count(request.MaxPhrases, _limits.MaxPhrases, _limits.MaxPhrases, "max_phrases", "Limits:MaxPhrases", violations);
        double requestedBoilerplate = RequestValidator.PhraseDocumentFrequency(request.HasMaxPhraseDocumentFrequency, request.MaxPhraseDocumentFrequency, 1,
            "max_phrase_document_frequency", violations);
        violations.ThrowIfAny();

        CollectionInfo info = await store.GetRequiredCollectionAsync(collection, context.CancellationToken).ConfigureAwait(false);
        DocumentSketcher sketcher = sketchers.For(info.Settings.Parameters);
        (string leftText, DocumentSketch leftSketch) = await ResolveAsync(collection, request.Left, "left", sketcher, context.CancellationToken).ConfigureAwait(false);
        (string rightText, DocumentSketch rightSketch) = await ResolveAsync(collection, request.Right, "right", sketcher, context.CancellationToken).ConfigureAwait(false);

        double boilerplate = request.HasMaxPhraseDocumentFrequency ? requestedBoilerplate : info.Settings.MaxPhraseDocumentFrequency;
        CollectionBoilerplate? judge = boilerplate < 1 ? await BoilerplateAsync(collection, sketcher, boilerplate, context.CancellationToken).ConfigureAwait(false) : null;
        var options = new ComparisonOptions
        {
            Phrases = new PhraseOptions { MinWords = minWords, MaxBridgeWords = bridge, Normalization = info.Settings.Parameters.Normalization, Boilerplate = judge },
            IncludeFuzzy = !request.HasIncludeFuzzy || request.IncludeFuzzy,
            MaxFuzzyCharacters = _limits.MaxFuzzyCharacters,
            MaxPartialCharacters = _limits.MaxPartialFuzzyCharacters,
            IncludeDiff = request.IncludeDiff,
            IncludeSimilarSentences = request.IncludeSimilarSentences,
            MinSentenceRatio = minRatio,
        };
        string? key = null;
        if (cache.Enabled && judge is null) // boilerplate moves with every write: its answers are not kept
        {
            key = CompareResultCache.Key(leftText, rightText, $"{info.Settings.Parameters}|{options}|{maxPhrases}");
            if (await cache.GetAsync(key, context.CancellationToken).ConfigureAwait(false) is { } cached)
            {
                context.ResponseTrailers.Add(CacheTrailer, "hit");
                return cached;
            }
        }

        CompareResponse response = DocumentComparer.Compare(leftText, leftSketch, rightText, rightSketch, options, context.CancellationToken).ToProto(maxPhrases);
        if (response.Fuzzy is { } fuzzy)
        {
            fuzzy.MaxCharacters = options.MaxFuzzyCharacters;
            fuzzy.MaxPartialCharacters = options.MaxPartialCharacters;
        }

        if (key is not null)
        {
            await cache.SetAsync(key, response, context.CancellationToken).ConfigureAwait(false);
            context.ResponseTrailers.Add(CacheTrailer, "miss");
        }

        return response;
    }

    private async Task<CollectionBoilerplate> BoilerplateAsync(string collection, DocumentSketcher sketcher, double maxDocumentFraction, CancellationToken cancellationToken)
    {
        (DocumentFrequencySketch frequencies, long documents) = await store.GetDocumentFrequenciesAsync(collection, cancellationToken).ConfigureAwait(false);
        return new CollectionBoilerplate(frequencies, documents, sketcher, maxDocumentFraction);
    }

    public override async Task<FindSimilarResponse> FindSimilar(FindSimilarRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        RequestValidator.Reference(request.Query, "query", _limits, violations);
        int topK = RequestValidator.Count(request.TopK, _limits.DefaultTopK, _limits.MaxTopK, "top_k", "Limits:MaxTopK", violations);
        double threshold = RequestValidator.Threshold(request.HasThreshold, request.Threshold, 0, "threshold", violations);
        violations.ThrowIfAny();

        CollectionInfo info = await store.GetRequiredCollectionAsync(collection, context.CancellationToken).ConfigureAwait(false);
        threshold = request.HasThreshold ? threshold : info.Settings.Threshold;
        (_, DocumentSketch sketch) = await ResolveAsync(collection, request.Query, "query", sketchers.For(info.Settings.Parameters), context.CancellationToken).ConfigureAwait(false);
        string? exclude = request.Query.SourceCase == DocumentRef.SourceOneofCase.Id && !request.IncludeSelf ? request.Query.Id : null;

        QueryResult result = await store.FindSimilarAsync(collection, sketch, new SimilarityQuery(threshold, topK, exclude, request.Exhaustive), context.CancellationToken)
            .ConfigureAwait(false);
        metrics.CandidatesExamined(result.CandidatesExamined);
        var response = new FindSimilarResponse { CandidatesExamined = result.CandidatesExamined, Threshold = threshold };
        response.Matches.AddRange(result.Matches.Select(m => m.ToProto()));
        return response;
    }

    public override async Task Deduplicate(DeduplicateRequest request, IServerStreamWriter<DeduplicateResponse> responseStream, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        double threshold = RequestValidator.Threshold(request.HasThreshold, request.Threshold, 0, "threshold", violations);
        Core.Clustering.RepresentativePolicy policy = request.Representative switch
        {
            V1.RepresentativePolicy.Unspecified or V1.RepresentativePolicy.FirstSeen => Core.Clustering.RepresentativePolicy.FirstSeen,
            V1.RepresentativePolicy.Longest => Core.Clustering.RepresentativePolicy.Longest,
            _ => Invalid(),
        };
        violations.ThrowIfAny();

        using IDisposable slot = jobs.Enter();
        using var stopOrCancel = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, jobs.Stopping);
        CancellationToken cancellationToken = stopOrCancel.Token;
        CollectionInfo info = await store.GetRequiredCollectionAsync(collection, cancellationToken).ConfigureAwait(false);
        threshold = request.HasThreshold ? threshold : info.Settings.Threshold;
        var stopwatch = Stopwatch.StartNew();
        var progress = new LatestProgress();
        using IDisposable tracked = metrics.TrackDeduplicate(collection, () => progress.Latest);
        Task<IndexClusteringResult> job = Task.Run(() => store.DeduplicateAsync(collection, threshold, policy, progress, cancellationToken), cancellationToken);

        IndexClusteringResult outcome;
        try
        {
            ClusteringProgress? sent = null;
            while (!job.IsCompleted)
            {
                await Task.WhenAny(job, Task.Delay(ProgressInterval, cancellationToken)).ConfigureAwait(false);
                if (progress.Latest is { } latest && latest != sent)
                {
                    await responseStream.WriteAsync(latest.ToProto(), cancellationToken).ConfigureAwait(false);
                    sent = latest;
                }
            }

            outcome = await job.ConfigureAwait(false);
            // Every stream carries at least the final progress event, however quick the job was.
            if (progress.Latest is { } last && last != sent)
            {
                await responseStream.WriteAsync(last.ToProto(), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (jobs.Stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The server is shutting down and stopped this Deduplicate job; run it again on another replica or after the restart."));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DeduplicateCancelled(logger, collection);
            throw;
        }

        ClusteringResult result = outcome.Result;
        var remembered = new GetLastDeduplicateResponse
        {
            Representative = request.Representative == V1.RepresentativePolicy.Unspecified ? V1.RepresentativePolicy.FirstSeen : request.Representative,
            Truncated = result.Clusters.Count > _limits.MaxRememberedClusters,
        };
        foreach (Core.Clustering.DuplicateCluster cluster in result.Clusters)
        {
            DeduplicateResponse message = cluster.ToProto(outcome.Ids);
            await responseStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            if (remembered.Clusters.Count < _limits.MaxRememberedClusters)
            {
                remembered.Clusters.Add(message.Cluster);
            }
        }

        if (request.IncludePairs)
        {
            foreach (Core.Clustering.DuplicatePair pair in result.Pairs)
            {
                await responseStream.WriteAsync(pair.ToProto(outcome.Ids), cancellationToken).ConfigureAwait(false);
            }
        }

        int duplicates = result.DuplicateCount;
        remembered.Summary = new DeduplicateSummary
        {
            DocumentCount = result.DocumentCount,
            ClusterCount = result.Clusters.Count,
            DuplicateCount = duplicates,
            CandidatePairCount = result.CandidatePairs,
            VerifiedPairCount = result.Pairs.Count,
            Elapsed = Duration.FromTimeSpan(stopwatch.Elapsed),
            Threshold = threshold,
        };
        await responseStream.WriteAsync(new DeduplicateResponse { Summary = remembered.Summary }, cancellationToken).ConfigureAwait(false);
        remembered.FinishTime = Timestamp.FromDateTimeOffset(clock.GetUtcNow());
        try
        {
            await store.SaveDeduplicateResultAsync(collection, remembered.ToByteArray(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The caller has every cluster and the summary already; only GetLastDeduplicate misses this run.
            Log.DeduplicateResultNotSaved(logger, collection, e.Message);
        }
        Log.Deduplicated(logger, collection, threshold, result.DocumentCount, result.Clusters.Count, duplicates, stopwatch.ElapsedMilliseconds);

        Core.Clustering.RepresentativePolicy Invalid()
        {
            violations.Add("representative", $"unknown value {(int)request.Representative}.");
            return Core.Clustering.RepresentativePolicy.FirstSeen;
        }
    }

    public override async Task<GetLastDeduplicateResponse> GetLastDeduplicate(GetLastDeduplicateRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        violations.ThrowIfAny();

        byte[] saved = await store.GetDeduplicateResultAsync(collection, context.CancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound("compare.v1.DeduplicateResult", collection,
                $"No Deduplicate of collection '{collection}' has finished yet: run one (SimilarityService/Deduplicate).");
        return GetLastDeduplicateResponse.Parser.ParseFrom(saved);
    }

    private async Task<(string Text, DocumentSketch Sketch)> ResolveAsync(string collection, DocumentRef reference, string field, DocumentSketcher sketcher,
        CancellationToken cancellationToken)
    {
        if (reference.SourceCase == DocumentRef.SourceOneofCase.Text)
        {
            // Sketching a long text cannot stop half-way: a deadline that passed on the first text spares the second.
            cancellationToken.ThrowIfCancellationRequested();
            return (reference.Text, sketcher.Sketch(reference.Text));
        }

        return await store.GetTextAndSketchAsync(collection, reference.Id, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound("compare.v1.Document", reference.Id, $"{field}.id: document '{reference.Id}' is not in collection '{collection}'.");
    }

    /// <summary>Keeps only the newest report: the stream sends progress at its own pace.</summary>
    private sealed class LatestProgress : IProgress<ClusteringProgress>
    {
        private StrongBox? _latest;

        public ClusteringProgress? Latest => Volatile.Read(ref _latest)?.Value;

        public void Report(ClusteringProgress value) => Volatile.Write(ref _latest, new StrongBox(value));

        private sealed record StrongBox(ClusteringProgress Value);
    }
}
