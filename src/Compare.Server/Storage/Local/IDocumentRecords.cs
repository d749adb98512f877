using Compare.Core;
using Compare.Core.Indexing;
using Compare.Core.Phrases;

namespace Compare.Server.Storage.Local;

/// <summary>
/// Where <see cref="LocalDocumentStore"/> keeps documents while it holds their LSH index in
/// memory: collections, texts, metadata and sketches. Collections are addressed by the key the
/// records gave them, so a call still holding a deleted collection never writes into its successor.
/// Implementations are thread-safe; a committed batch is as durable as the implementation promises.
/// </summary>
public interface IDocumentRecords : IDisposable
{
    /// <summary>What the records are, for the log: "SQLite at /data/compare.db".</summary>
    string Description { get; }

    /// <summary>Writes committed changes through to their final place (SQLite: the WAL into the database file).</summary>
    void Flush();

    /// <summary>Opens or creates the records; throws <see cref="StoreFormatException"/> when they were written by another format.</summary>
    void Open();

    /// <summary>Every stored collection.</summary>
    IReadOnlyList<CollectionRecord> ListCollections();

    /// <summary>Stores a new collection and returns it with its key.</summary>
    CollectionRecord CreateCollection(string name, CollectionSettings settings, DateTimeOffset createTime);

    /// <summary>Deletes a collection and its documents.</summary>
    void DeleteCollection(long key);

    /// <summary>Keeps the collection's last Deduplicate result in place of the one before.</summary>
    void SaveDeduplicateResult(long key, byte[] result);

    /// <summary>The collection's last Deduplicate result, or null.</summary>
    byte[]? LoadDeduplicateResult(long key);

    /// <summary>How many documents a collection holds.</summary>
    long CountDocuments(long key);

    /// <summary>
    /// Calls <paramref name="onDocument"/> with every document's id, sketch and UTF-8 size, in the order of writes. A document
    /// whose sketch cannot be read is logged and left out, here and in every read of many documents.
    /// </summary>
    void LoadSketches(long key, SketchParameters parameters, Action<string, DocumentSketch, int> onDocument, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="onDocument"/> with every document's id, signature, UTF-8 size and place in the order of
    /// writes (a number that grows with each write), in any order: what rebuilding the band index needs, read
    /// without the shingle sets. A damaged signature is taken from the document's sketch, as <see cref="GetIndexedSignatures"/> does.
    /// </summary>
    void LoadSignatures(long key, SketchParameters parameters, StoredSignatureAction onDocument, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="onDocument"/> with every document's id and passage fingerprints, in any order: what the passage
    /// index is built from. A document stored without them (before they existed) has them made from its text and kept.
    /// </summary>
    void LoadPassages(long key, SketchParameters parameters, PassageVisitor onDocument, CancellationToken cancellationToken);

    /// <summary>The sketches of those of <paramref name="ids"/> that are stored.</summary>
    Dictionary<string, DocumentSketch> GetSketches(long key, SketchParameters parameters, IEnumerable<string> ids);

    /// <summary>
    /// The signatures that those of <paramref name="ids"/> that are stored were indexed with, by the rule
    /// <see cref="LoadSignatures"/> follows: what removing them from the band index needs.
    /// </summary>
    Dictionary<string, uint[]> GetIndexedSignatures(long key, SketchParameters parameters, IEnumerable<string> ids);

    /// <summary>The stored versions of those of <paramref name="ids"/> that exist.</summary>
    Dictionary<string, DocumentVersion> Find(long key, IEnumerable<string> ids);

    /// <summary>
    /// Writes and deletes documents in one transaction, visible to reads when this returns and on disk once
    /// <see cref="EnsureDurableAsync"/>, called after, completes. Every other write is on disk when it returns.
    /// </summary>
    void Commit(CollectionRecord collection, IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes);

    /// <summary>Completes once every commit that returned before the call is on disk (at once for records kept in memory).</summary>
    Task EnsureDurableAsync();

    /// <summary>Why the records refuse every write until a restart (a failed sync), or null: what health reports.</summary>
    string? Failure { get; }

    /// <summary>A stored document, or null; <see cref="DocumentDamagedException"/> when its metadata cannot be read.</summary>
    StoredDocument? GetDocument(long key, string id, bool includeText);

    /// <summary>Those of <paramref name="ids"/> that are stored, with their texts, in the order asked; one whose metadata cannot be read is logged and left out.</summary>
    IReadOnlyList<StoredDocument> GetDocuments(long key, IReadOnlyList<string> ids);

    /// <summary>Up to <paramref name="limit"/> documents with ids after <paramref name="afterId"/>, in the records' id order.</summary>
    (IReadOnlyList<StoredDocument> Documents, bool HasMore) ListDocuments(long key, string? afterId, int limit, bool includeText);
}

/// <summary>One document as <see cref="IDocumentRecords.LoadSignatures"/> reads it; <paramref name="signature"/> is valid during the call only.</summary>
public delegate void StoredSignatureAction(string id, ReadOnlySpan<uint> signature, int utf8Length, long writtenAt);

/// <summary>A stored collection.</summary>
public sealed record CollectionRecord(long Key, string Name, CollectionSettings Settings, DateTimeOffset CreateTime);
