using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Shingling;
using Compare.Core.Similarity;
using Compare.Messages;
using Compare.Server.Hosting;
using Compare.Server.Mapping;
using Compare.Server.Storage;
using Compare.V1;
using Microsoft.Extensions.Options;

namespace Compare.Server.Application;

/// <summary>The answer to a Compare, and whether it came from the result cache (null when the cache was not asked).</summary>
public sealed record ComparisonAnswer(CompareResponse Response, bool? CacheHit);

/// <summary>
/// Compare of two documents of a collection, each by id or text: the collection's normalisation, its boilerplate
/// judge when one is asked for, and the result cache. The cache keeps the wire answer, so that is what this returns.
/// </summary>
internal sealed class ComparisonService(DocumentIndexService index, IDocumentRepository repository, SketcherCache sketchers, CompareResultCache cache,
    IOptions<LimitOptions> limits)
{
    /// <summary>
    /// Compares <paramref name="left"/> with <paramref name="right"/>. <paramref name="options"/> gives everything but the
    /// normalisation and the boilerplate judge, which come from the collection (<paramref name="maxPhraseDocumentFrequency"/>
    /// overrides its default); at most <paramref name="maxPhrases"/> passages are returned.
    /// </summary>
    public async Task<ComparisonAnswer> CompareAsync(string collection, DocumentReference left, DocumentReference right, ComparisonOptions options,
        double? maxPhraseDocumentFrequency, int maxPhrases, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        CollectionSettings settings = (await index.GetCollectionAsync(collection, cancellationToken).ConfigureAwait(false)).Settings;
        (string leftText, DocumentSketch leftSketch) = await index.ResolveAsync(collection, settings, left, "left", cancellationToken).ConfigureAwait(false);
        (string rightText, DocumentSketch rightSketch) = await index.ResolveAsync(collection, settings, right, "right", cancellationToken).ConfigureAwait(false);

        double boilerplate = maxPhraseDocumentFrequency ?? settings.MaxPhraseDocumentFrequency;
        CollectionBoilerplate? judge = boilerplate < 1 ? await BoilerplateAsync(collection, settings, boilerplate, cancellationToken).ConfigureAwait(false) : null;
        options = options with { Phrases = options.Phrases with { Normalization = settings.Parameters.Normalization, Boilerplate = judge } };
        string? key = null;
        if (cache.Enabled && judge is null) // boilerplate moves with every write: its answers are not kept
        {
            key = CompareResultCache.Key(leftText, rightText, $"{settings.Parameters}|{options}|{maxPhrases}|{limits.Value.MaxResponseBytes}");
            if (await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } cached)
            {
                return new ComparisonAnswer(cached, CacheHit: true);
            }
        }

        CompareResponse response = DocumentComparer.Compare(leftText, leftSketch, rightText, rightSketch, options, cancellationToken)
            .ToProto(options, maxPhrases, limits.Value.MaxResponseBytes);

        if (key is null)
        {
            return new ComparisonAnswer(response, CacheHit: null);
        }

        await cache.SetAsync(key, response, cancellationToken).ConfigureAwait(false);
        return new ComparisonAnswer(response, CacheHit: false);
    }

    private async Task<CollectionBoilerplate> BoilerplateAsync(string collection, CollectionSettings settings, double maxDocumentFraction, CancellationToken cancellationToken)
    {
        (DocumentFrequencySketch frequencies, long documents) = await repository.GetDocumentFrequenciesAsync(collection, cancellationToken).ConfigureAwait(false);
        return new CollectionBoilerplate(frequencies, documents, sketchers.For(settings.Parameters), maxDocumentFraction);
    }
}
