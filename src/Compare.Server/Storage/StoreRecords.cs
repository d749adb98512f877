using Compare.Core.Indexing;

namespace Compare.Server.Storage;

/// <summary>A document as a caller sent it, validated: its content hash, length in code points and size in UTF-8 bytes.</summary>
public sealed record DocumentContent(string Id, string Text, IReadOnlyDictionary<string, string> Metadata, ulong ContentHash, int Length, int Utf8Length);

/// <summary>A document to store: its content, its sketch, its passage fingerprints (<see cref="Core.Phrases.PassageFingerprints"/>) and its times.</summary>
public sealed record DocumentWrite(DocumentContent Content, DocumentSketch Sketch, uint[] Passages, DateTimeOffset CreateTime, DateTimeOffset UpdateTime)
{
    /// <summary>The document's id.</summary>
    public string Id => Content.Id;
}

/// <summary>What a write needs to know of the version already stored.</summary>
public sealed record DocumentVersion(ulong ContentHash, int Utf8Length, DateTimeOffset CreateTime);

/// <summary>A stored document.</summary>
public sealed record StoredDocument(string Id, string? Text, IReadOnlyDictionary<string, string> Metadata, int ShingleCount, int Length,
    ulong ContentHash, DateTimeOffset CreateTime, DateTimeOffset UpdateTime);

/// <summary>One page of documents and the collection's size.</summary>
public sealed record DocumentPage(IReadOnlyList<StoredDocument> Documents, bool HasMore, long TotalCount);

/// <summary>Whether a store serves calls, with a sentence for the health check and the log.</summary>
public sealed record StoreStatus(bool Ready, string Description);
