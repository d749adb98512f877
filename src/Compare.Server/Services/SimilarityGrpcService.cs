using Compare.Core.Clustering;
using Compare.Core.Phrases;
using Compare.Core.Similarity;
using Compare.Server.Application;
using Compare.Server.Hosting;
using Compare.Server.Mapping;
using Compare.Server.Validation;
using Compare.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Compare.Server.Services;

/// <summary>compare.v1.SimilarityService.</summary>
internal sealed class SimilarityGrpcService(DocumentIndexService index, ComparisonService comparisons, SharedPassageService passages, IOptions<LimitOptions> limits)
    : SimilarityService.SimilarityServiceBase
{
    /// <summary>Trailer that says whether a Compare answer came from the result cache: "hit" or "miss".</summary>
    public const string CacheTrailer = "compare-cache";

    private const int MaxPhraseWords = 1000;

    // The longest shortest-passage a passage search takes: longer ones are better asked of Compare.
    private const int MaxPassageWords = 64;

    private readonly LimitOptions _limits = limits.Value;

    public override async Task<CompareResponse> Compare(CompareRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        RequestValidator.Reference(request.Left, "left", _limits, violations);
        RequestValidator.Reference(request.Right, "right", _limits, violations);
        int minWords = RequestValidator.Count(request.MinPhraseWords, PhraseOptions.DefaultMinWords, MaxPhraseWords, "min_phrase_words", null, violations);
        int bridge = RequestValidator.Count(request.MaxBridgeWords, 0, RequestValidator.MaxBridgeWords, "max_bridge_words", null, violations);
        int minRatio = RequestValidator.Count(request.MinSentenceRatio, 80, 100, "min_sentence_ratio", null, violations);
        int maxPhrases = RequestValidator.Count(request.MaxPhrases, _limits.MaxPhrases, _limits.MaxPhrases, "max_phrases", "Limits:MaxPhrases", violations);
        double boilerplate = RequestValidator.PhraseDocumentFrequency(request.HasMaxPhraseDocumentFrequency, request.MaxPhraseDocumentFrequency, 1,
            "max_phrase_document_frequency", violations);
        violations.ThrowIfAny();

        var options = new ComparisonOptions
        {
            Phrases = new PhraseOptions { MinWords = minWords, MaxBridgeWords = bridge },
            IncludeFuzzy = !request.HasIncludeFuzzy || request.IncludeFuzzy,
            MaxFuzzyCharacters = _limits.MaxFuzzyCharacters,
            MaxPartialCharacters = _limits.MaxPartialFuzzyCharacters,
            IncludeDiff = request.IncludeDiff,
            IncludeSimilarSentences = request.IncludeSimilarSentences,
            MinSentenceRatio = minRatio,
        };
        ComparisonAnswer answer = await comparisons.CompareAsync(collection, request.Left.ToReference(), request.Right.ToReference(), options,
            request.HasMaxPhraseDocumentFrequency ? boilerplate : null, maxPhrases, context.CancellationToken).ConfigureAwait(false);
        if (answer.CacheHit is { } hit)
        {
            context.ResponseTrailers.Add(CacheTrailer, hit ? "hit" : "miss");
        }

        return answer.Response;
    }

    public override async Task<FindSimilarResponse> FindSimilar(FindSimilarRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        RequestValidator.Reference(request.Query, "query", _limits, violations);
        int topK = RequestValidator.Count(request.TopK, _limits.DefaultTopK, _limits.MaxTopK, "top_k", "Limits:MaxTopK", violations);
        double threshold = RequestValidator.Threshold(request.HasThreshold, request.Threshold, 0, "threshold", violations);
        double ofQuery = RequestValidator.Threshold(request.HasMinContainmentOfQuery, request.MinContainmentOfQuery, 0, "min_containment_of_query", violations);
        double ofMatch = RequestValidator.Threshold(request.HasMinContainmentOfMatch, request.MinContainmentOfMatch, 0, "min_containment_of_match", violations);
        violations.ThrowIfAny();

        var query = new SimilarQuery(request.HasThreshold ? threshold : null, topK, request.IncludeSelf, request.Exhaustive, ofQuery, ofMatch);
        SimilarResult found = await index.FindSimilarAsync(collection, request.Query.ToReference(), query, context.CancellationToken).ConfigureAwait(false);
        var response = new FindSimilarResponse { CandidatesExamined = found.Result.CandidatesExamined, Threshold = found.Threshold, Truncated = found.Truncated };
        response.Matches.AddRange(found.Result.Matches.Select(m => m.ToProto()));
        return response;
    }

    public override async Task<FindSharedPassagesResponse> FindSharedPassages(FindSharedPassagesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        RequestValidator.Reference(request.Query, "query", _limits, violations);
        int minWords = RequestValidator.Count(request.MinWords, PassageFingerprints.GuaranteedWords, MaxPassageWords, "min_words", null, violations);
        if (request.MinWords == 1)
        {
            violations.Add("min_words", "must be at least 2 (or 0 for the default, 7), was 1.");
        }

        int bridge = RequestValidator.Count(request.MaxBridgeWords, 0, RequestValidator.MaxBridgeWords, "max_bridge_words", null, violations);
        int topK = RequestValidator.Count(request.TopK, _limits.DefaultTopK, _limits.MaxTopK, "top_k", "Limits:MaxTopK", violations);
        violations.ThrowIfAny();

        SharedPassagesResult found = await passages.FindAsync(collection, request.Query.ToReference(), new PhraseOptions { MinWords = minWords, MaxBridgeWords = bridge },
            topK, context.CancellationToken).ConfigureAwait(false);
        return found.ToProto(_limits.MaxPhrases, _limits.MaxResponseBytes);
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

        var stream = new StallGuardedStream<DeduplicateResponse>(responseStream, context, _limits.StalledStreamTimeout);
        DeduplicateReport report = await index.DeduplicateAsync(collection, request.HasThreshold ? threshold : null, policy,
            progress => stream.WriteAsync(progress.ToProto()), context.CancellationToken).ConfigureAwait(false);
        IndexClusteringResult clustering = report.Clustering;
        foreach (V1.DuplicateCluster part in clustering.Result.Clusters.SelectMany(c => c.ToMessages(clustering.Ids, _limits.MaxResponseBytes)))
        {
            await stream.WriteAsync(new DeduplicateResponse { Cluster = part }).ConfigureAwait(false);
        }

        if (request.IncludePairs)
        {
            foreach (Core.Clustering.DuplicatePair pair in clustering.Result.Pairs)
            {
                await stream.WriteAsync(pair.ToProto(clustering.Ids)).ConfigureAwait(false);
            }
        }

        await stream.WriteAsync(new DeduplicateResponse { Summary = report.ToSummary() }).ConfigureAwait(false);

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

        byte[] saved = await index.GetLastDeduplicateAsync(collection, context.CancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound("compare.v1.DeduplicateResult", collection,
                $"No Deduplicate of collection '{collection}' has finished yet: run one (SimilarityService/Deduplicate).");
        return GetLastDeduplicateResponse.Parser.ParseFrom(saved);
    }
}
