using System.Collections.Concurrent;
using Compare.Core.Clustering;
using Compare.Core.Indexing;

namespace Compare.Server.Storage;

/// <summary>Keeps everything in process memory: fast, and gone when the process ends.</summary>
public sealed class InMemoryDocumentStore : IDocumentStore, IDisposable
{
    private readonly ConcurrentDictionary<string, MemoryCollection> _collections = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates a store holding only the empty default collection.</summary>
    public InMemoryDocumentStore(TimeProvider time)
    {
        _time = time;
        _collections[CollectionNames.Default] = new MemoryCollection(CollectionNames.Default, CollectionSettings.Default, time.GetUtcNow());
    }

    /// <inheritdoc/>
    public Task<CollectionInfo> CreateCollectionAsync(string name, CollectionSettings settings, CancellationToken cancellationToken)
    {
        var created = new MemoryCollection(name, settings, _time.GetUtcNow());
        if (!_collections.TryAdd(name, created))
        {
            created.Dispose();
            throw new CollectionExistsException(name);
        }

        return Task.FromResult(created.Info());
    }

    /// <inheritdoc/>
    public Task<CollectionInfo?> GetCollectionAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(_collections.TryGetValue(name, out MemoryCollection? c) ? c.Info() : null);

    /// <inheritdoc/>
    public Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<CollectionInfo>>([.. _collections.Values.Select(c => c.Info()).OrderBy(c => c.Name, StringComparer.Ordinal)]);

    /// <inheritdoc/>
    public Task<long?> DeleteCollectionAsync(string name, CancellationToken cancellationToken)
    {
        // Not disposed: calls that already hold it may still be reading; the collector reclaims it.
        return Task.FromResult<long?>(_collections.TryRemove(name, out MemoryCollection? removed) ? removed.Info().DocumentCount : null);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DocumentWriteResult>> UpsertAsync(string collection, CollectionSettings settings, IReadOnlyList<DocumentWrite> documents,
        NearDuplicateCheck? check, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DocumentWriteResult>>(Find(collection, settings).Upsert(documents, check, _time.GetUtcNow()));

    /// <inheritdoc/>
    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken) =>
        Task.FromResult(Find(collection).Get(id, includeText));

    /// <inheritdoc/>
    public Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken) =>
        Task.FromResult(Find(collection).List(afterId, limit, includeText));

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> DeleteDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(Find(collection).Delete(ids));

    /// <inheritdoc/>
    public Task<(string Text, DocumentSketch Sketch)?> GetTextAndSketchAsync(string collection, string id, CancellationToken cancellationToken) =>
        Task.FromResult(Find(collection).GetTextAndSketch(id));

    /// <inheritdoc/>
    public Task<QueryResult> FindSimilarAsync(string collection, DocumentSketch query, SimilarityQuery options, CancellationToken cancellationToken)
    {
        MemoryCollection c = Find(collection);
        if (query.Signature.Length != c.Settings.Parameters.NumPermutations)
        {
            throw new CollectionChangedException(collection);
        }

        return Task.FromResult(c.Index.Query(query, options.Threshold, options.TopK, options.ExcludeId, options.Exhaustive));
    }

    /// <inheritdoc/>
    public Task<IndexClusteringResult> DeduplicateAsync(string collection, double threshold, RepresentativePolicy policy,
        IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken) =>
        Task.FromResult(Find(collection).Index.Deduplicate(threshold, policy, progress, cancellationToken));

    /// <summary>Releases every collection's index.</summary>
    public void Dispose()
    {
        foreach (MemoryCollection c in _collections.Values)
        {
            c.Dispose();
        }
    }

    private MemoryCollection Find(string name, CollectionSettings? expected = null)
    {
        if (!_collections.TryGetValue(name, out MemoryCollection? c))
        {
            throw new CollectionNotFoundException(name);
        }

        return expected is null || expected == c.Settings ? c : throw new CollectionChangedException(name);
    }

    private sealed record Entry(string Text, IReadOnlyDictionary<string, string> Metadata, ulong ContentHash, int Length, int Utf8Length,
        int ShingleCount, DateTimeOffset CreateTime, DateTimeOffset UpdateTime);

    /// <summary>One collection: documents by id, ids in order for paging, and the similarity index.</summary>
    private sealed class MemoryCollection(string name, CollectionSettings settings, DateTimeOffset createTime) : IDisposable
    {
        // Longer than any valid id and made of the largest UTF-16 unit: ordinally above every id.
        private static readonly string s_aboveEveryId = new('\uffff', Validation.RequestValidator.MaxIdLength + 1);

        private readonly Lock _gate = new();
        private readonly Dictionary<string, Entry> _documents = new(StringComparer.Ordinal);
        private readonly SortedSet<string> _ids = new(StringComparer.Ordinal);
        private long _textBytes;

        public CollectionSettings Settings { get; } = settings;

        public SimilarityIndex Index { get; } = new(settings.Parameters, settings.Threshold, settings.Lsh);

        public CollectionInfo Info()
        {
            lock (_gate)
            {
                return new CollectionInfo(name, Settings, createTime, _documents.Count, _textBytes);
            }
        }

        public DocumentWriteResult[] Upsert(IReadOnlyList<DocumentWrite> documents, NearDuplicateCheck? check, DateTimeOffset now)
        {
            var results = new DocumentWriteResult[documents.Count];
            // Writers are serialised so that a near-duplicate check and the write after it see the same index.
            lock (_gate)
            {
                for (int i = 0; i < documents.Count; i++)
                {
                    DocumentWrite d = documents[i];
                    bool exists = _documents.TryGetValue(d.Id, out Entry? old);
                    bool unchanged = exists && old!.ContentHash == d.ContentHash && old.Text == d.Text && SameMetadata(old.Metadata, d.Metadata);
                    IReadOnlyList<SimilarityMatch> near = check is null ? [] : Index.Query(d.Sketch, check.Threshold, check.MaxMatches, d.Id).Matches;
                    if (unchanged)
                    {
                        results[i] = new DocumentWriteResult(WriteOutcome.Unchanged, near);
                        continue;
                    }

                    if (check is { SkipIfDuplicate: true } && near.Count > 0)
                    {
                        results[i] = new DocumentWriteResult(WriteOutcome.SkippedDuplicate, near);
                        continue;
                    }

                    Index.Upsert(d.Id, d.Sketch);
                    _documents[d.Id] = new Entry(d.Text, d.Metadata, d.ContentHash, d.Length, d.Utf8Length, d.Sketch.Shingles.Length,
                        exists ? old!.CreateTime : now, now);
                    _textBytes += d.Utf8Length - (exists ? old!.Utf8Length : 0);
                    if (!exists)
                    {
                        _ids.Add(d.Id);
                    }

                    results[i] = new DocumentWriteResult(exists ? WriteOutcome.Updated : WriteOutcome.Created, near);
                }
            }

            return results;
        }

        public StoredDocument? Get(string id, bool includeText)
        {
            lock (_gate)
            {
                return _documents.TryGetValue(id, out Entry? e) ? ToStored(id, e, includeText) : null;
            }
        }

        public (string Text, DocumentSketch Sketch)? GetTextAndSketch(string id)
        {
            lock (_gate)
            {
                return _documents.TryGetValue(id, out Entry? e) && Index.TryGetSketch(id, out DocumentSketch? sketch) ? (e.Text, sketch) : null;
            }
        }

        public DocumentPage List(string? afterId, int limit, bool includeText)
        {
            lock (_gate)
            {
                IEnumerable<string> ids = afterId is null ? _ids : _ids.GetViewBetween(afterId, s_aboveEveryId).SkipWhile(id => id == afterId);
                var page = new List<StoredDocument>(Math.Min(limit, _ids.Count));
                bool hasMore = false;
                foreach (string id in ids)
                {
                    if (page.Count == limit)
                    {
                        hasMore = true;
                        break;
                    }

                    page.Add(ToStored(id, _documents[id], includeText));
                }

                return new DocumentPage(page, hasMore, _documents.Count);
            }
        }

        public List<string> Delete(IReadOnlyList<string> ids)
        {
            var missing = new List<string>();
            lock (_gate)
            {
                foreach (string id in ids)
                {
                    if (_documents.Remove(id, out Entry? e))
                    {
                        Index.Remove(id);
                        _ids.Remove(id);
                        _textBytes -= e.Utf8Length;
                    }
                    else
                    {
                        missing.Add(id);
                    }
                }
            }

            return missing;
        }

        public void Dispose() => Index.Dispose();

        private static StoredDocument ToStored(string id, Entry e, bool includeText) =>
            new(id, includeText ? e.Text : null, e.Metadata, e.ShingleCount, e.Length, e.ContentHash, e.CreateTime, e.UpdateTime);

        private static bool SameMetadata(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
            a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out string? v) && v == kv.Value);
    }
}
