using System.Text;
using Compare.Core;
using Compare.Core.Indexing;
using Compare.Core.Phrases;

namespace Compare.Server.Storage.Local;

/// <summary>Documents in process memory: fast, and gone when the process ends.</summary>
public sealed class MemoryDocumentRecords : IDocumentRecords
{
    // Longer than any valid id and made of the largest code point: above every id.
    private static readonly string s_aboveEveryId = string.Concat(Enumerable.Repeat(char.ConvertFromUtf32(0x10FFFF), Validation.RequestValidator.MaxIdLength + 1));

    private readonly Lock _gate = new();
    private readonly Dictionary<long, MemoryCollection> _collections = [];
    private long _nextKey = 1;

    /// <inheritdoc/>
    public string Description => "process memory, not durable";

    /// <inheritdoc/>
    public void Open()
    {
    }

    /// <inheritdoc/>
    public IReadOnlyList<CollectionRecord> ListCollections()
    {
        lock (_gate)
        {
            return [.. _collections.Values.Select(c => c.Record)];
        }
    }

    /// <inheritdoc/>
    public CollectionRecord CreateCollection(string name, CollectionSettings settings, DateTimeOffset createTime)
    {
        lock (_gate)
        {
            var record = new CollectionRecord(_nextKey++, name, settings, createTime);
            _collections[record.Key] = new MemoryCollection(record);
            return record;
        }
    }

    /// <inheritdoc/>
    public void DeleteCollection(long key)
    {
        lock (_gate)
        {
            _collections.Remove(key);
        }
    }

    /// <inheritdoc/>
    public void SaveDeduplicateResult(long key, byte[] result)
    {
        lock (_gate)
        {
            if (_collections.TryGetValue(key, out MemoryCollection? c))
            {
                c.DeduplicateResult = result;
            }
        }
    }

    /// <inheritdoc/>
    public byte[]? LoadDeduplicateResult(long key)
    {
        lock (_gate)
        {
            return _collections.TryGetValue(key, out MemoryCollection? c) ? c.DeduplicateResult : null;
        }
    }

    /// <inheritdoc/>
    public long CountDocuments(long key)
    {
        lock (_gate)
        {
            return _collections.TryGetValue(key, out MemoryCollection? c) ? c.Documents.Count : 0;
        }
    }

    /// <inheritdoc/>
    public void LoadSketches(long key, SketchParameters parameters, Action<string, DocumentSketch, int> onDocument, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onDocument);
        lock (_gate)
        {
            if (_collections.TryGetValue(key, out MemoryCollection? c))
            {
                foreach (StoredEntry e in c.Documents.Values.OrderBy(e => e.Sequence))
                {
                    onDocument(e.Write.Id, e.Write.Sketch, e.Write.Content.Utf8Length);
                }
            }
        }
    }

    /// <inheritdoc/>
    public void LoadSignatures(long key, SketchParameters parameters, StoredSignatureAction onDocument, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onDocument);
        lock (_gate)
        {
            if (_collections.TryGetValue(key, out MemoryCollection? c))
            {
                foreach (StoredEntry e in c.Documents.Values)
                {
                    onDocument(e.Write.Id, e.Write.Sketch.Signature, e.Write.Content.Utf8Length, e.Sequence);
                }
            }
        }
    }

    /// <inheritdoc/>
    public void LoadPassages(long key, SketchParameters parameters, PassageVisitor onDocument, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onDocument);
        lock (_gate)
        {
            if (_collections.TryGetValue(key, out MemoryCollection? c))
            {
                foreach (StoredEntry e in c.Documents.Values)
                {
                    onDocument(e.Write.Id, e.Write.Passages);
                }
            }
        }
    }

    /// <inheritdoc/>
    public Dictionary<string, DocumentSketch> GetSketches(long key, SketchParameters parameters, IEnumerable<string> ids)
    {
        var found = new Dictionary<string, DocumentSketch>(StringComparer.Ordinal);
        lock (_gate)
        {
            if (_collections.TryGetValue(key, out MemoryCollection? c))
            {
                foreach (string id in ids)
                {
                    if (c.Documents.TryGetValue(id, out StoredEntry? e))
                    {
                        found[id] = e.Write.Sketch;
                    }
                }
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public Dictionary<string, uint[]> GetIndexedSignatures(long key, SketchParameters parameters, IEnumerable<string> ids) =>
        GetSketches(key, parameters, ids).ToDictionary(e => e.Key, e => e.Value.Signature, StringComparer.Ordinal);

    /// <inheritdoc/>
    public Dictionary<string, DocumentVersion> Find(long key, IEnumerable<string> ids)
    {
        var found = new Dictionary<string, DocumentVersion>(StringComparer.Ordinal);
        lock (_gate)
        {
            if (_collections.TryGetValue(key, out MemoryCollection? c))
            {
                foreach (string id in ids)
                {
                    if (c.Documents.TryGetValue(id, out StoredEntry? e))
                    {
                        found[id] = new DocumentVersion(e.Write.Content.ContentHash, e.Write.Content.Utf8Length, e.Write.CreateTime);
                    }
                }
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public void Commit(CollectionRecord collection, IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(writes);
        ArgumentNullException.ThrowIfNull(deletes);
        lock (_gate)
        {
            if (!_collections.TryGetValue(collection.Key, out MemoryCollection? c))
            {
                return;
            }

            foreach (DocumentWrite w in writes)
            {
                // A rewrite counts as a new insertion, as SQLite's REPLACE gives it a new seq.
                c.Documents[w.Id] = new StoredEntry(w, c.NextSequence++);
                c.Ids.Add(w.Id);
            }

            foreach (string id in deletes)
            {
                c.Documents.Remove(id);
                c.Ids.Remove(id);
            }
        }
    }

    /// <inheritdoc/>
    public StoredDocument? GetDocument(long key, string id, bool includeText)
    {
        lock (_gate)
        {
            return _collections.TryGetValue(key, out MemoryCollection? c) && c.Documents.TryGetValue(id, out StoredEntry? e) ? e.ToStored(includeText) : null;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<StoredDocument> GetDocuments(long key, IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        lock (_gate)
        {
            return _collections.TryGetValue(key, out MemoryCollection? c)
                ? [.. ids.Select(id => c.Documents.GetValueOrDefault(id)?.ToStored(includeText: true)).OfType<StoredDocument>()]
                : [];
        }
    }

    /// <inheritdoc/>
    public Task EnsureDurableAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public string? Failure => null;

    /// <inheritdoc/>
    public (IReadOnlyList<StoredDocument> Documents, bool HasMore) ListDocuments(long key, string? afterId, int limit, bool includeText)
    {
        lock (_gate)
        {
            if (!_collections.TryGetValue(key, out MemoryCollection? c))
            {
                return ([], false);
            }

            IEnumerable<string> ids = afterId is null ? c.Ids : c.Ids.GetViewBetween(afterId, s_aboveEveryId).SkipWhile(id => id == afterId);
            var page = new List<StoredDocument>(Math.Min(limit, c.Ids.Count));
            foreach (string id in ids)
            {
                if (page.Count == limit)
                {
                    return (page, true);
                }

                page.Add(c.Documents[id].ToStored(includeText));
            }

            return (page, false);
        }
    }

    /// <summary>Nothing to release.</summary>
    public void Flush()
    {
    }

    public void Dispose()
    {
    }

    private sealed record StoredEntry(DocumentWrite Write, long Sequence)
    {
        public StoredDocument ToStored(bool includeText) =>
            new(Write.Id, includeText ? Write.Content.Text : null, Write.Content.Metadata, Write.Sketch.Shingles.Length, Write.Content.Length,
                Write.Content.ContentHash, Write.CreateTime, Write.UpdateTime);
    }

    private sealed class MemoryCollection(CollectionRecord record)
    {
        public CollectionRecord Record { get; } = record;

        public Dictionary<string, StoredEntry> Documents { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> Ids { get; } = new(CodePointComparer.Instance);

        public byte[]? DeduplicateResult { get; set; }

        public long NextSequence { get; set; }
    }

    /// <summary>
    /// Code point order, which is the order of UTF-8 bytes that SQLite and Redis page in; UTF-16
    /// ordinal order differs from it for characters above U+FFFF.
    /// </summary>
    private sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null)
            {
                return x is null ? (y is null ? 0 : -1) : 1;
            }

            SpanRuneEnumerator a = x.AsSpan().EnumerateRunes(), b = y.AsSpan().EnumerateRunes();
            while (true)
            {
                bool hasA = a.MoveNext(), hasB = b.MoveNext();
                if (!hasA || !hasB)
                {
                    return hasA ? 1 : hasB ? -1 : 0;
                }

                int byRune = a.Current.Value.CompareTo(b.Current.Value);
                if (byRune != 0)
                {
                    return byRune;
                }
            }
        }
    }
}
