using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Shingling;

namespace Compare.Server.Storage;

/// <summary>
/// A store: every narrow interface below, implemented once by each backend (<see cref="Local.LocalDocumentStore"/> over
/// memory or SQLite records, <see cref="Redis.RedisDocumentStore"/>), with no policy: what a batch writes, when a
/// near-duplicate skips a document and how candidates are verified are decided by
/// <see cref="Application.DocumentIndexService"/>, once for every store. Implementations are thread-safe. A missing
/// collection throws <see cref="CollectionNotFoundException"/>; a collection whose settings are no longer <c>settings</c>
/// throws <see cref="CollectionChangedException"/>. Consumers take the narrow interface they use.
/// </summary>
public interface IDocumentStore : IStoreHealth, ICollectionCatalog, IDocumentRepository, ICandidateIndex, IDeduplicateResultStore;

/// <summary>Whether the store can serve: what health checks and probes stand on.</summary>
public interface IStoreHealth
{
    /// <summary>Whether the store can serve calls now, and why not when it cannot.</summary>
    Task<StoreStatus> GetStatusAsync(CancellationToken cancellationToken);
}

/// <summary>The collections and their settings.</summary>
public interface ICollectionCatalog
{
    /// <summary>Creates a collection; throws <see cref="CollectionExistsException"/> when the name is taken.</summary>
    Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken);

    /// <summary>The collection, or null.</summary>
    Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every collection, by name.</summary>
    Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken);

    /// <summary>Deletes a collection and its documents; returns how many documents it held, or null when it did not exist.</summary>
    Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken);
}

/// <summary>A collection's documents: texts, metadata and sketches, read by id, page or all at once, and written (with their
/// index entries, all or nothing) through the collection's writer.</summary>
public interface IDocumentRepository
{
    /// <summary>
    /// Takes the collection's write lock: while the writer is open no other writer of the collection, in this
    /// process or any replica sharing the store, commits, so what it reads (versions, candidates) is what its
    /// commit changes. Waits for the lock; dispose the writer to release it.
    /// </summary>
    Task<IDocumentWriter> BeginWriteAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken);

    /// <summary>
    /// Completes once every commit (<see cref="IDocumentWriter.CommitAsync"/>) that completed before the call is durable:
    /// on disk under SQLite; at once for a store whose commits are durable, as far as it makes them, when they complete.
    /// <see cref="StoreUnavailableException"/> when the store could not make them durable.
    /// </summary>
    Task EnsureDurableAsync(CancellationToken cancellationToken);

    /// <summary>A stored document (its text only when asked), or null.</summary>
    Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken);

    /// <summary>
    /// The content hash document <paramref name="id"/> is stored with, read without its text or metadata (what tells
    /// whether a copy kept of its text is still the stored one), or null when it is not stored or its hash cannot be read.
    /// </summary>
    Task<ulong?> GetContentHashAsync(string collection, string id, CancellationToken cancellationToken);

    /// <summary>
    /// Those of <paramref name="ids"/> that are stored, with their texts, in the order asked, in one read: what comparing a query
    /// with many candidates reads. A document whose record cannot be read is logged and left out, as in every read of many.
    /// </summary>
    Task<IReadOnlyList<StoredDocument>> GetDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> documents with ids ordinally after <paramref name="afterId"/>, in ordinal id order.</summary>
    Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken);

    /// <summary>
    /// A stored document with its text, and its sketch, or null. <see cref="DocumentDamagedException"/> when its sketch
    /// cannot be read; the text is checked against its hash by the caller.
    /// </summary>
    Task<(StoredDocument Document, DocumentSketch Sketch)?> GetDocumentAndSketchAsync(string collection, CollectionSettings settings, string id, CancellationToken cancellationToken);

    /// <summary>The stored sketches of those of <paramref name="ids"/> that exist and can be read (a damaged one is logged and left out).</summary>
    Task<IReadOnlyDictionary<string, DocumentSketch>> GetSketchesAsync(string collection, CollectionSettings settings, IReadOnlyCollection<string> ids,
        CancellationToken cancellationToken);

    /// <summary>Every document with its sketch, in the order each was last written: what an exhaustive query reads.</summary>
    Task<IReadOnlyList<IndexedSketch>> GetAllSketchesAsync(string collection, CollectionSettings settings, CancellationToken cancellationToken);

    /// <summary>
    /// How many of the collection's documents hold each shingle (an estimate that never undercounts), and
    /// how many documents it has: what telling wording apart from boilerplate needs.
    /// </summary>
    Task<(DocumentFrequencySketch Frequencies, long DocumentCount)> GetDocumentFrequenciesAsync(string collection, CancellationToken cancellationToken);
}

/// <summary>Which documents may be near a query: band buckets and the prefix forest over signatures, and passage fingerprints.
/// It names candidates; verifying them is the caller's (Core's <see cref="Core.Indexing.CandidateVerifier"/>). Every read is
/// given the settings its query was made with, and refuses settings other than the collection's with
/// <see cref="CollectionChangedException"/>: a caller may hold settings it read earlier (DocumentIndexService.WithSettingsAsync).</summary>
public interface ICandidateIndex
{
    /// <summary>
    /// The documents that agree with <paramref name="signature"/> on the first <paramref name="depth"/> values of at least
    /// one band, with their sketches: at the bands' rows, those sharing a band bucket; shallower (a query below the
    /// banding's threshold, <see cref="Core.Lsh.LshParameters.ProbeDepth"/>), a prefix of at most
    /// <see cref="Core.Lsh.PrefixForest.MaxDepth"/> values.
    /// </summary>
    Task<IReadOnlyList<IndexedSketch>> GetCandidatesAsync(string collection, CollectionSettings settings, uint[] signature, int depth, CancellationToken cancellationToken);

    /// <summary>
    /// Every document in the order each was last written, and the pairs that agree on the first <paramref name="depth"/>
    /// values of a band (<see cref="GetCandidatesAsync"/>): the pairs of the band buckets at the bands' rows.
    /// </summary>
    Task<IndexCandidatePairs> GetCandidatePairsAsync(string collection, CollectionSettings settings, int depth, CancellationToken cancellationToken);

    /// <summary>
    /// The documents holding at least one of <paramref name="fingerprints"/> (a query's <see cref="Core.Phrases.PassageFingerprints"/>),
    /// with how many each holds and, when <paramref name="withOwnCounts"/>, how many it has (0 where the store does not know or
    /// was not asked), most shared first, then by id; a fingerprint held by more than <paramref name="maxDocumentsPerFingerprint"/>
    /// documents is counted as common and not followed. Only the first <paramref name="ranked"/> need be named (a store that
    /// looks each candidate's id up apart names about those), the others counted (<see cref="PassageCandidates.Found"/>).
    /// </summary>
    Task<PassageCandidates> GetPassageCandidatesAsync(string collection, CollectionSettings settings, uint[] fingerprints, int maxDocumentsPerFingerprint,
        bool withOwnCounts, int ranked, CancellationToken cancellationToken);

    /// <summary>Rebuilds the collection's LSH index from its stored signatures; returns how many documents it holds.</summary>
    Task<long> RebuildIndexAsync(string collection, CancellationToken cancellationToken);
}

/// <summary>What each collection's last finished Deduplicate found.</summary>
public interface IDeduplicateResultStore
{
    /// <summary>Keeps what the collection's last finished Deduplicate found (the server's encoding), in place of the one before.</summary>
    Task SaveDeduplicateResultAsync(string collection, byte[] result, CancellationToken cancellationToken);

    /// <summary>What the collection's last finished Deduplicate found, as saved, or null when none has been saved.</summary>
    Task<byte[]?> GetDeduplicateResultAsync(string collection, CancellationToken cancellationToken);
}

/// <summary>One collection's writer, holding its write lock until disposed.</summary>
public interface IDocumentWriter : IAsyncDisposable
{
    /// <summary>The stored versions of those of <paramref name="ids"/> that exist.</summary>
    Task<IReadOnlyDictionary<string, DocumentVersion>> GetVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>
    /// Writes and deletes documents, their band buckets and their shingle counts, all or nothing, visible to reads when
    /// this completes; durable once <see cref="IDocumentRepository.EnsureDurableAsync"/>, called after, completes (so the
    /// caller can release the write lock first). Throws <see cref="WriteConflictException"/> when the lock was lost before
    /// the commit (nothing was written).
    /// </summary>
    Task CommitAsync(IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes, CancellationToken cancellationToken);
}

/// <summary>A store with work to do when the host starts (open files, rebuild indexes, connect).</summary>
public interface IStartableStore
{
    /// <summary>Fails fast on what makes the store unusable; long work continues in the background.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>At shutdown, after the last call: stops background work and writes everything through to storage.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>Lookups every service needs.</summary>
public static class DocumentStoreExtensions
{
    /// <summary>The collection; throws <see cref="CollectionNotFoundException"/> when it does not exist.</summary>
    public static async Task<CollectionInfo> GetRequiredCollectionAsync(this ICollectionCatalog store, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.GetCollectionAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new CollectionNotFoundException(name);
    }
}
