using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Shingling;

namespace Compare.Server.Storage;

/// <summary>
/// Collections, their documents and a similarity index over them. Implementations are
/// thread-safe. A missing collection throws <see cref="CollectionNotFoundException"/>.
/// </summary>
public interface IDocumentStore
{
    /// <summary>Whether the store can serve calls now, and why not when it cannot.</summary>
    Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken);

    /// <summary>Creates a collection; throws <see cref="CollectionExistsException"/> when the name is taken.</summary>
    Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken);

    /// <summary>The collection, or null.</summary>
    Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every collection, by name.</summary>
    Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken);

    /// <summary>Deletes a collection and its documents; returns how many documents it held, or null when it did not exist.</summary>
    Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a batch in order, all or nothing with respect to validation: every document was
    /// sketched with <paramref name="settings"/>, which must still be the collection's.
    /// </summary>
    Task<IReadOnlyList<DocumentWriteResult>> UpsertAsync(string collection, CollectionSettings settings, IReadOnlyList<DocumentWrite> documents,
        NearDuplicateCheck? check, CancellationToken cancellationToken);

    /// <summary>A stored document (its text only when asked), or null.</summary>
    Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> documents with ids ordinally after <paramref name="afterId"/>.</summary>
    Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken);

    /// <summary>Deletes documents; returns the ids that were not stored.</summary>
    Task<IReadOnlyList<string>> DeleteDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken);

    /// <summary>A stored document's text and sketch, or null.</summary>
    Task<(string Text, DocumentSketch Sketch)?> GetTextAndSketchAsync(string collection, string id, CancellationToken cancellationToken);

    /// <summary>Indexed documents similar to a sketch made with the collection's settings.</summary>
    Task<QueryResult> FindSimilarAsync(string collection, DocumentSketch query, SimilarityQuery options, CancellationToken cancellationToken);

    /// <summary>
    /// How many of the collection's documents hold each shingle (an estimate that never undercounts), and
    /// how many documents it has: what telling wording apart from boilerplate needs.
    /// </summary>
    Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken);

    /// <summary>Rebuilds the collection's LSH index from its stored signatures; returns how many documents it holds.</summary>
    Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken);

    /// <summary>Keeps what the collection's last finished Deduplicate found (the server's encoding), in place of the one before.</summary>
    Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken);

    /// <summary>What the collection's last finished Deduplicate found, as saved, or null when none has been saved.</summary>
    Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken);

    /// <summary>Clusters the collection's near-duplicates.</summary>
    Task<IndexClusteringResult> DeduplicateAsync(string collection, double threshold, RepresentativePolicy policy,
        IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>A store with work to do when the host starts (open files, rebuild indexes, connect).</summary>
public interface IStartableStore
{
    /// <summary>Fails fast on what makes the store unusable; long work continues in the background.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>At shutdown, after the last call: stops background work and writes everything through to storage.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>A document to store with its sketch, content hash, length in code points and size in UTF-8 bytes.</summary>
public sealed record DocumentWrite(string Id, string Text, IReadOnlyDictionary<string, string> Metadata, DocumentSketch Sketch, ulong ContentHash, int Length, int Utf8Length);

/// <summary>Near-duplicate checks made before each document of a batch is stored.</summary>
/// <param name="Threshold">Lowest exact Jaccard of a near-duplicate.</param>
/// <param name="MaxMatches">Most matches reported per document.</param>
/// <param name="SkipIfDuplicate">Do not store a document that has one.</param>
public sealed record NearDuplicateCheck(double Threshold, int MaxMatches, bool SkipIfDuplicate);

/// <summary>What happened to one document of a batch.</summary>
public enum WriteOutcome
{
    /// <summary>The id was new.</summary>
    Created = 1,

    /// <summary>The id existed with other content.</summary>
    Updated = 2,

    /// <summary>The id existed with the same text and metadata.</summary>
    Unchanged = 3,

    /// <summary>A near-duplicate was indexed; nothing stored.</summary>
    SkippedDuplicate = 4,
}

/// <summary>The outcome for one document, with its near-duplicates when a check was asked for.</summary>
public sealed record DocumentWriteResult(WriteOutcome Outcome, IReadOnlyList<SimilarityMatch> NearDuplicates);

/// <summary>A stored document.</summary>
public sealed record StoredDocument(string Id, string? Text, IReadOnlyDictionary<string, string> Metadata, int ShingleCount, int Length,
    ulong ContentHash, DateTimeOffset CreateTime, DateTimeOffset UpdateTime);

/// <summary>One page of documents and the collection's size.</summary>
public sealed record DocumentPage(IReadOnlyList<StoredDocument> Documents, bool HasMore, long TotalCount);

/// <summary>Options of a similarity query.</summary>
public sealed record SimilarityQuery(double Threshold, int TopK, string? ExcludeId, bool Exhaustive);

/// <summary>Whether a store serves calls, with a sentence for the health check and the log.</summary>
public sealed record StoreStatus(bool Ready, string Description);

/// <summary>Base of the store's expected failures.</summary>
public abstract class StoreException(string message) : Exception(message);

/// <summary>No collection of that name.</summary>
public sealed class CollectionNotFoundException(string name) : StoreException($"Collection '{name}' does not exist.")
{
    /// <summary>The missing collection.</summary>
    public string Name { get; } = name;
}

/// <summary>A collection of that name already exists.</summary>
public sealed class CollectionExistsException(string name) : StoreException($"Collection '{name}' already exists.")
{
    /// <summary>The existing collection.</summary>
    public string Name { get; } = name;
}

/// <summary>The collection was replaced by another of the same name while a call was working; the call can be retried.</summary>
public sealed class CollectionChangedException(string name) : StoreException($"Collection '{name}' was deleted and recreated during the call; retry it.")
{
    /// <summary>The collection.</summary>
    public string Name { get; } = name;
}

/// <summary>The store cannot serve calls for now (loading, or its backing server is unreachable); the call can be retried.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The data on disk was written by an incompatible format version, or is not Compare's.</summary>
public sealed class StoreFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The rules every store applies to a document of a batch before writing it.</summary>
public static class WriteRules
{
    /// <summary>
    /// The outcome of a document that is not to be written: UNCHANGED when the stored version has
    /// the same content hash and size, SKIPPED_DUPLICATE when the check asks to skip and found one;
    /// null when it is to be written.
    /// </summary>
    public static DocumentWriteResult? NotWritten(DocumentWrite document, ulong? storedHash, int storedUtf8Length, NearDuplicateCheck? check,
        IReadOnlyList<SimilarityMatch> nearDuplicates)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (storedHash == document.ContentHash && storedUtf8Length == document.Utf8Length)
        {
            return new DocumentWriteResult(WriteOutcome.Unchanged, nearDuplicates);
        }

        return check is { SkipIfDuplicate: true } && nearDuplicates.Count > 0 ? new DocumentWriteResult(WriteOutcome.SkippedDuplicate, nearDuplicates) : null;
    }
}

/// <summary>Lookups every service needs.</summary>
public static class DocumentStoreExtensions
{
    /// <summary>The collection; throws <see cref="CollectionNotFoundException"/> when it does not exist.</summary>
    public static async Task<CollectionInfo> GetRequiredCollectionAsync(this IDocumentStore store, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.GetCollectionAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new CollectionNotFoundException(name);
    }
}
