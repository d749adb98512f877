using System.Diagnostics;
using System.Globalization;
using System.Text;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Server.Hosting;
using Compare.Server.Observability;
using Compare.Server.Storage;
using Microsoft.Extensions.Options;

namespace Compare.Server.Application;

/// <summary>
/// The index's workflows, written once for every store: upsert with the near-duplicate check and skip,
/// delete, find-similar, deduplicate with its remembered result, and resolving a document by id or text.
/// The gRPC services validate and map; the stores keep data and band buckets; the policy lives here.
/// </summary>
internal sealed class DocumentIndexService(IDocumentStore store, WriteRoom room, SketcherCache sketchers, DeduplicateJobs jobs, CompareMetrics metrics, TimeProvider clock,
    IOptions<LimitOptions> limits, ILogger<DocumentIndexService> logger)
{
    // Below this many documents, sketching on the calling thread beats scheduling work items.
    private const int ParallelSketchThreshold = 8;

    // A batch whose writer lost its lease to another replica is checked and written again, from the start.
    private const int MaxWriteAttempts = 8;

    // A containment search verifies at most this many of the documents sharing passages with its query.
    private const int MaxContainmentCandidates = 2_000;

    // A containment search for c verifies the documents sharing at least this share of c of the fingerprints of the side
    // that must be contained (the query's, or the document's own).
    private const double FingerprintShareOfContainment = 0.5;

    // ListDocuments with texts reads this many at a time, checking its byte budget between reads.
    private const int TextsPerRead = 16;

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    // Each collection's settings as this replica last read them (see WithSettingsAsync).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CollectionSettings> _settings = new(StringComparer.Ordinal);

    /// <summary>The collection, or <see cref="CollectionNotFoundException"/>.</summary>
    public Task<CollectionInfo> GetCollectionAsync(string collection, CancellationToken cancellationToken) =>
        store.GetRequiredCollectionAsync(collection, cancellationToken);

    /// <summary>
    /// Runs <paramref name="read"/> with the collection's settings as this replica last read them, which spares a query the
    /// store's round trip for them. Only for a read that gives them to the store: every store checks the settings a read is
    /// given against the collection's and refuses others (<see cref="CollectionChangedException"/>), and then the read runs
    /// once more with the collection's own, read afresh. A collection recreated with other settings costs one read more, once.
    /// </summary>
    public async Task<T> WithSettingsAsync<T>(string collection, Func<CollectionSettings, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        if (_settings.TryGetValue(collection, out CollectionSettings? known))
        {
            try
            {
                return await read(known).ConfigureAwait(false);
            }
            catch (CollectionChangedException)
            {
                _settings.TryRemove(new(collection, known));
            }
            catch (CollectionNotFoundException)
            {
                _settings.TryRemove(new(collection, known));
                throw;
            }
        }

        CollectionSettings settings = (await store.GetRequiredCollectionAsync(collection, cancellationToken).ConfigureAwait(false)).Settings;
        _settings.Remember(collection, settings);
        return await read(settings).ConfigureAwait(false);
    }

    /// <summary>
    /// Upserting a batch, first part, which needs no lock: the collection's settings, and each document's sketch and
    /// passage fingerprints. A stream of batches prepares the next while the one before it commits, and says so
    /// (<paramref name="besideACommit"/>): a core is then left to the commit, an ingest's serial step, which would otherwise
    /// wait its turn behind the sketching.
    /// </summary>
    public async Task<PreparedBatch> PrepareAsync(string collection, IReadOnlyList<DocumentContent> documents, UpsertOptions options, CancellationToken cancellationToken,
        bool besideACommit = false)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(options);
        CollectionInfo info = await store.GetRequiredCollectionAsync(collection, cancellationToken).ConfigureAwait(false);
        CollectionSettings settings = info.Settings;
        NearDuplicateCheck? check = options.IncludeNearDuplicates || options.SkipIfDuplicate
            ? new NearDuplicateCheck(options.NearDuplicateThreshold ?? settings.Threshold, options.IncludeNearDuplicates ? options.MaxNearDuplicates : 1, options.SkipIfDuplicate)
            : null;
        int cores = besideACommit ? Math.Max(1, Environment.ProcessorCount - 1) : Environment.ProcessorCount;
        return new PreparedBatch(collection, settings, documents, Prepare(documents, sketchers.For(settings.Parameters), cores, cancellationToken), check);
    }

    /// <summary>Upserting a batch, second part: <see cref="ApplyAsync"/>, then <see cref="EnsureDurableAsync"/>.</summary>
    public async Task<IReadOnlyList<DocumentUpsertResult>> CommitAsync(PreparedBatch batch, CancellationToken cancellationToken)
    {
        IReadOnlyList<DocumentUpsertResult> results = await ApplyAsync(batch, cancellationToken).ConfigureAwait(false);
        await EnsureDurableAsync().ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Stores a prepared batch in order, visible to reads when this completes, durable once <see cref="EnsureDurableAsync"/>,
    /// called after, completes. Each document is UNCHANGED when the stored version has the same content; with a
    /// near-duplicate check it is compared with the collection and with the batch's earlier documents, and skipped when
    /// asked and one is found. The collection's write lock is held from the first check to the commit.
    /// </summary>
    public async Task<IReadOnlyList<DocumentUpsertResult>> ApplyAsync(PreparedBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        IReadOnlyList<DocumentUpsertResult> results = await WriteAsync(batch.Collection, batch.Settings,
            writer => WriteBatchAsync(writer, batch.Collection, batch.Settings, batch.Documents, batch.Prepared, batch.Check, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        metrics.DocumentsIndexed(Count(UpsertOutcome.Created), Count(UpsertOutcome.Updated), Count(UpsertOutcome.Unchanged), Count(UpsertOutcome.SkippedDuplicate));
        return results;

        int Count(UpsertOutcome outcome) => results.Count(r => r.Outcome == outcome);
    }

    /// <summary>
    /// Completes once every batch applied before the call is durable; never cancelled, so that a caller going away cannot
    /// cut it short. Called once the write lock is released, so that the next batch is written while the disk syncs this one.
    /// </summary>
    public Task EnsureDurableAsync() => store.EnsureDurableAsync(CancellationToken.None);

    /// <summary>Deletes documents; returns those of <paramref name="ids"/> that were not stored.</summary>
    public async Task<IReadOnlyList<string>> DeleteAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        CollectionInfo info = await store.GetRequiredCollectionAsync(collection, cancellationToken).ConfigureAwait(false);
        string[] distinct = [.. ids.Distinct(StringComparer.Ordinal)];
        IReadOnlyList<string> missing = await WriteAsync<IReadOnlyList<string>>(collection, info.Settings, async writer =>
        {
            IReadOnlyDictionary<string, DocumentVersion> stored = await writer.GetVersionsAsync(distinct, cancellationToken).ConfigureAwait(false);
            string[] present = [.. distinct.Where(stored.ContainsKey)];
            if (present.Length > 0)
            {
                await writer.CommitAsync([], present, CancellationToken.None).ConfigureAwait(false);
            }

            return [.. ids.Where(id => !stored.ContainsKey(id))];
        }, cancellationToken).ConfigureAwait(false);
        await EnsureDurableAsync().ConfigureAwait(false);
        return missing;
    }

    /// <summary>A stored document, or null; its text is read and checked against its hash even when it is not returned.</summary>
    public async Task<StoredDocument?> GetDocumentAsync(string collection, string id, bool includeText, CancellationToken cancellationToken) =>
        await store.GetDocumentAsync(collection, id, includeText: true, cancellationToken).ConfigureAwait(false) is { } stored
            ? DocumentHash.Verified(stored) with { Text = includeText ? stored.Text : null }
            : null;

    /// <summary>
    /// Those of <paramref name="ids"/> that are stored and whole, with their texts, by id, in one read: a text that no longer
    /// matches its content hash is left out, as a damaged record is.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, StoredDocument>> GetWholeDocumentsAsync(string collection, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var whole = new Dictionary<string, StoredDocument>(ids.Count, StringComparer.Ordinal);
        foreach (StoredDocument stored in await store.GetDocumentsAsync(collection, ids, cancellationToken).ConfigureAwait(false))
        {
            if (DocumentHash.IsWhole(stored))
            {
                whole[stored.Id] = stored;
            }
        }

        return whole;
    }

    /// <summary>The content hash a document is stored with, read without its text; null when it is not stored.</summary>
    public Task<ulong?> GetContentHashAsync(string collection, string id, CancellationToken cancellationToken) =>
        store.GetContentHashAsync(collection, id, cancellationToken);

    /// <summary>One page of documents in code point order of their ids.</summary>
    public async Task<DocumentPage> ListDocumentsAsync(string collection, string? afterId, int limit, bool includeText, CancellationToken cancellationToken)
    {
        if (!includeText)
        {
            return await store.ListDocumentsAsync(collection, afterId, limit, includeText: false, cancellationToken).ConfigureAwait(false);
        }

        // Texts run to megabytes: read a few at a time and end the page at Limits:MaxResponseBytes (after one document at
        // least), so that neither the answer nor the server's memory grows with page_size × the largest text.
        var documents = new List<StoredDocument>();
        long bytes = 0;
        while (true)
        {
            DocumentPage chunk = await store.ListDocumentsAsync(collection, documents.Count > 0 ? documents[^1].Id : afterId,
                Math.Min(TextsPerRead, limit - documents.Count), includeText: true, cancellationToken).ConfigureAwait(false);
            foreach (StoredDocument d in chunk.Documents.Select(DocumentHash.Verified))
            {
                bytes += Encoding.UTF8.GetByteCount(d.Text ?? string.Empty) + d.Id.Length + d.Metadata.Sum(m => m.Key.Length + m.Value.Length);
                if (documents.Count > 0 && bytes > limits.Value.MaxResponseBytes)
                {
                    return new DocumentPage(documents, HasMore: true, chunk.TotalCount);
                }

                documents.Add(d);
            }

            if (!chunk.HasMore || documents.Count >= limit)
            {
                return new DocumentPage(documents, chunk.HasMore, chunk.TotalCount);
            }
        }
    }

    /// <summary>
    /// The text and sketch of a document named by id (<see cref="DocumentNotFoundException"/> when it is not stored)
    /// or given as text, sketched with the collection's settings.
    /// </summary>
    public async Task<(string Text, DocumentSketch Sketch)> ResolveAsync(string collection, CollectionSettings settings, DocumentReference reference, string field,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Text is { } text)
        {
            // Sketching a long text cannot stop half-way: a deadline that passed on an earlier text spares this one.
            cancellationToken.ThrowIfCancellationRequested();
            return (text, sketchers.For(settings.Parameters).Sketch(text));
        }

        (StoredDocument document, DocumentSketch sketch) = await store.GetDocumentAndSketchAsync(collection, settings, reference.Id!, cancellationToken).ConfigureAwait(false)
            ?? throw new DocumentNotFoundException(collection, reference.Id!, field);
        return (DocumentHash.Verified(document).Text!, sketch);
    }

    /// <summary>The text of a document named by id (checked against its hash; <see cref="DocumentNotFoundException"/> when it is not stored) or given.</summary>
    public async Task<string> ResolveTextAsync(string collection, DocumentReference reference, string field, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return reference.Text ?? (await GetDocumentAsync(collection, reference.Id!, includeText: true, cancellationToken).ConfigureAwait(false))?.Text
            ?? throw new DocumentNotFoundException(collection, reference.Id!, field);
    }

    /// <summary>
    /// Indexed documents at or above the threshold (the collection's when null), best first: the LSH candidates at the
    /// threshold's probe depth, or every document when <see cref="SimilarQuery.Exhaustive"/>, verified exactly. A containment
    /// search (a minimum containment given) takes its candidates from the passage index instead, with a threshold of 0
    /// unless one is given. A query by id leaves the document itself out unless asked.
    /// </summary>
    public Task<SimilarResult> FindSimilarAsync(string collection, DocumentReference query, SimilarQuery options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        return WithSettingsAsync(collection, settings => FindSimilarAsync(collection, settings, query, options, cancellationToken), cancellationToken);
    }

    private async Task<SimilarResult> FindSimilarAsync(string collection, CollectionSettings settings, DocumentReference query, SimilarQuery options,
        CancellationToken cancellationToken)
    {
        var criteria = new MatchCriteria(0, options.MinContainmentOfQuery, options.MinContainmentOfMatch);
        criteria = criteria with { Jaccard = options.Threshold ?? (criteria.IsContainment ? 0 : settings.Threshold) };
        bool byPassages = criteria.IsContainment && !options.Exhaustive;
        string text;
        DocumentSketch sketch;
        uint[]? passages = null;
        if (byPassages && query.Text is { } given)
        {
            // A containment search needs the query's passage fingerprints too: both from one pass over its words.
            cancellationToken.ThrowIfCancellationRequested();
            text = given;
            (sketch, passages) = sketchers.For(settings.Parameters).SketchWithPassages(given);
        }
        else
        {
            (text, sketch) = await ResolveAsync(collection, settings, query, "query", cancellationToken).ConfigureAwait(false);
        }

        (IReadOnlyList<IndexedSketch> candidates, bool truncated) = options.Exhaustive
            ? (await store.GetAllSketchesAsync(collection, settings, cancellationToken).ConfigureAwait(false), false)
            : byPassages
                ? await ContainmentCandidatesAsync(collection, settings, passages ?? PassageFingerprints.Of(text, settings.Parameters.Normalization), criteria,
                    cancellationToken).ConfigureAwait(false)
                : (await store.GetCandidatesAsync(collection, settings, sketch.Signature, settings.Lsh.ProbeDepth(criteria.Jaccard), cancellationToken).ConfigureAwait(false), false);
        string? exclude = query.Id is not null && !options.IncludeSelf ? query.Id : null;
        QueryResult result = CandidateVerifier.Verify(sketch, candidates, criteria, options.TopK, exclude, cancellationToken);
        metrics.CandidatesExamined(result.CandidatesExamined);
        return new SimilarResult(result, criteria.Jaccard, truncated);
    }

    /// <summary>
    /// A containment search's candidates: a document holding a share of the query, or a share of which the query holds, shares
    /// its wording, and the passage index names every document sharing 7 words in a row with it (however small the Jaccard
    /// of a short text and a long one is). At most <see cref="MaxContainmentCandidates"/>, those sharing the most fingerprints.
    /// </summary>
    private async Task<(IReadOnlyList<IndexedSketch> Candidates, bool Truncated)> ContainmentCandidatesAsync(string collection, CollectionSettings settings,
        uint[] fingerprints, MatchCriteria criteria, CancellationToken cancellationToken)
    {
        PassageCandidates found = await store.GetPassageCandidatesAsync(collection, settings, fingerprints, SharedPassageService.MaxDocumentsPerFingerprint,
            withOwnCounts: true, ranked: int.MaxValue, cancellationToken).ConfigureAwait(false);
        // A document holding a share c of the query's shingles shares about c of the query's (uncommon) fingerprints, a little
        // less where edits cut the runs they share; one sharing under half that is not verified. The same the other way,
        // against the document's own fingerprints (0, and so no bar, where the store does not know how many). That leaves
        // out the many documents sharing a sentence or two with the query, which neither containment can come from.
        double ofQuery = FingerprintShareOfContainment * criteria.ContainmentOfQuery * (fingerprints.Length - found.CommonFingerprints);
        double ofMatch = FingerprintShareOfContainment * criteria.ContainmentOfMatch;
        PassageCandidate[] enough = [.. found.Candidates.Where(c => c.SharedFingerprints >= (int)ofQuery && c.SharedFingerprints >= (int)(ofMatch * c.Fingerprints))];
        string[] ids = [.. enough.Take(MaxContainmentCandidates).Select(c => c.Id)];
        IReadOnlyDictionary<string, DocumentSketch> sketches = await store.GetSketchesAsync(collection, settings, ids, cancellationToken).ConfigureAwait(false);
        return ([.. ids.Where(sketches.ContainsKey).Select(id => new IndexedSketch(id, sketches[id]))], enough.Length > MaxContainmentCandidates);
    }

    /// <summary>
    /// Clusters the collection's near-duplicates at the threshold (the collection's when null), reporting progress at
    /// most every 200 ms, and keeps the result as the collection's last Deduplicate. At most
    /// Limits:MaxConcurrentDeduplicateJobs run at once; a job is stopped when the server shuts down.
    /// </summary>
    public async Task<DeduplicateReport> DeduplicateAsync(string collection, double? threshold, RepresentativePolicy policy,
        Func<ClusteringProgress, Task> onProgress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onProgress);
        using IDisposable slot = jobs.Enter();
        using var stopOrCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, jobs.Stopping);
        CancellationToken token = stopOrCancel.Token;
        try
        {
            CollectionInfo info = await store.GetRequiredCollectionAsync(collection, token).ConfigureAwait(false);
            CollectionSettings settings = info.Settings;
            double minimum = threshold ?? settings.Threshold;
            var stopwatch = Stopwatch.StartNew();
            var progress = new LatestProgress();
            using IDisposable tracked = metrics.TrackDeduplicate(collection, () => progress.Latest);
            // Progress is sent beside the work, one message at a time and never awaited by it: a client that does not read
            // holds up its own call, not a job slot.
            Task sending = onProgress(new ClusteringProgress(ClusteringStage.Loading, 0, info.DocumentCount));
            IndexCandidatePairs candidates = await store.GetCandidatePairsAsync(collection, settings, settings.Lsh.ProbeDepth(minimum), token).ConfigureAwait(false);
            if (candidates.Pairs.Length > limits.Value.MaxDeduplicatePairs)
            {
                throw new CapacityExceededException(string.Create(CultureInfo.InvariantCulture,
                    $"Collection '{collection}' has {candidates.Pairs.Length:N0} candidate pairs, over Limits:MaxDeduplicatePairs ({limits.Value.MaxDeduplicatePairs:N0}), at threshold {minimum}: too many documents look alike at that threshold. Deduplicate at a higher threshold, or split the documents into several collections."));
            }

            // Only the documents of a candidate pair are read for verification.
            HashSet<int> paired = [.. candidates.Pairs.SelectMany(p => new[] { Clusterer.Unpack(p).Left, Clusterer.Unpack(p).Right })];
            IReadOnlyDictionary<string, DocumentSketch> sketches = await store.GetSketchesAsync(collection, settings,
                [.. paired.Select(i => candidates.Ids[i])], token).ConfigureAwait(false);
            // A document deleted since the pairs were taken shares nothing.
            Func<int, ulong[]> shingles = i => sketches.TryGetValue(candidates.Ids[i], out DocumentSketch? s) ? s.Shingles : [];
            Task<IndexClusteringResult> job = Task.Run(() => SketchClustering.Cluster(candidates, shingles, minimum, policy, progress, token), token);
            ClusteringProgress? sent = null;
            while (!job.IsCompleted)
            {
                await Task.WhenAny(job, Task.Delay(ProgressInterval, token)).ConfigureAwait(false);
                if (sending.IsCompleted && progress.Latest is { } latest && latest != sent)
                {
                    await sending.ConfigureAwait(false); // a failed send ends the job
                    (sent, sending) = (latest, onProgress(latest));
                }
            }

            IndexClusteringResult clustering = await job.ConfigureAwait(false);
            slot.Dispose();
            await sending.ConfigureAwait(false);
            // Every run reports at least its final progress, however quick it was.
            await SendIfNewAsync(progress, sent, onProgress).ConfigureAwait(false);
            var report = new DeduplicateReport(minimum, policy, clustering, stopwatch.Elapsed, clock.GetUtcNow());
            await RememberAsync(collection, report).ConfigureAwait(false);
            Log.Deduplicated(logger, collection, minimum, clustering.Result.DocumentCount, clustering.Result.Clusters.Count, clustering.Result.DuplicateCount,
                stopwatch.ElapsedMilliseconds);
            return report;
        }
        catch (OperationCanceledException) when (jobs.Stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new StoreUnavailableException("The server is shutting down and stopped this Deduplicate job; run it again on another replica or after the restart.");
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Log.DeduplicateCancelled(logger, collection);
            throw;
        }
    }

    /// <summary>The collection's last finished Deduplicate, as saved, or null when none has finished.</summary>
    public Task<byte[]?> GetLastDeduplicateAsync(string collection, CancellationToken cancellationToken) =>
        store.GetDeduplicateResultAsync(collection, cancellationToken);

    private async Task RememberAsync(string collection, DeduplicateReport report)
    {
        try
        {
            byte[] saved = Mapping.ProtoMapper.ToLastDeduplicate(report, limits.Value.MaxRememberedClusters, limits.Value.MaxResponseBytes);
            await store.SaveDeduplicateResultAsync(collection, saved, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The caller gets every cluster and the summary all the same; only GetLastDeduplicate misses this run.
            Log.DeduplicateResultNotSaved(logger, collection, e.Message);
        }
    }

    private static async Task<ClusteringProgress?> SendIfNewAsync(LatestProgress progress, ClusteringProgress? sent, Func<ClusteringProgress, Task> onProgress)
    {
        if (progress.Latest is { } latest && latest != sent)
        {
            await onProgress(latest).ConfigureAwait(false);
            return latest;
        }

        return sent;
    }

    private async Task<IReadOnlyList<DocumentUpsertResult>> WriteBatchAsync(IDocumentWriter writer, string collection, CollectionSettings settings,
        IReadOnlyList<DocumentContent> documents, Prepared[] prepared, NearDuplicateCheck? check, CancellationToken cancellationToken)
    {
        DocumentSketch[] sketches = [.. prepared.Select(p => p.Sketch)];
        var stored = new Dictionary<string, DocumentVersion>(
            await writer.GetVersionsAsync([.. documents.Select(d => d.Id)], cancellationToken).ConfigureAwait(false), StringComparer.Ordinal);
        HashSet<string> damaged = await DamagedAsync(collection, settings, documents.Where(d => IsSame(stored.GetValueOrDefault(d.Id), d)), cancellationToken)
            .ConfigureAwait(false);
        // The batch's own writes so far, when there is a check: later documents are checked against them, and they supersede the stored versions.
        using SimilarityIndex? batch = check is null ? null : new SimilarityIndex(settings.Parameters, settings.Threshold, settings.Lsh);
        var results = new DocumentUpsertResult[documents.Count];
        var writes = new List<DocumentWrite>(documents.Count);
        DateTimeOffset now = clock.GetUtcNow();
        for (int i = 0; i < documents.Count; i++)
        {
            DocumentContent d = documents[i];
            IReadOnlyList<SimilarityMatch> near = check is null ? []
                : await NearDuplicatesAsync(collection, settings, d.Id, sketches[i], check, batch!, cancellationToken).ConfigureAwait(false);
            DocumentVersion? old = stored.GetValueOrDefault(d.Id);
            UpsertOutcome outcome = IsSame(old, d) && !damaged.Contains(d.Id) ? UpsertOutcome.Unchanged
                : check is { SkipIfDuplicate: true } && near.Count > 0 ? UpsertOutcome.SkippedDuplicate
                : old is null ? UpsertOutcome.Created : UpsertOutcome.Updated;
            results[i] = new DocumentUpsertResult(d.Id, outcome, sketches[i].Shingles.Length, near);
            if (outcome is UpsertOutcome.Created or UpsertOutcome.Updated)
            {
                DateTimeOffset created = old?.CreateTime ?? now;
                writes.Add(new DocumentWrite(d, sketches[i], prepared[i].Passages, created, now));
                stored[d.Id] = new DocumentVersion(d.ContentHash, d.Utf8Length, created);
                batch?.Upsert(d.Id, sketches[i]);
            }
        }

        if (writes.Count > 0)
        {
            // From here the batch is written whole or not at all, never cut short by the caller going away.
            await writer.CommitAsync(writes, [], CancellationToken.None).ConfigureAwait(false);
        }

        return results;
    }

    private static bool IsSame(DocumentVersion? stored, DocumentContent sent) =>
        stored is not null && stored.ContentHash == sent.ContentHash && stored.Utf8Length == sent.Utf8Length;

    /// <summary>
    /// Those of <paramref name="unchanged"/> (stored with the same content hash) whose stored copy is damaged: a text that
    /// fails its hash or a sketch that cannot be read. They are written again, which is how a client repairs a document.
    /// </summary>
    private async Task<HashSet<string>> DamagedAsync(string collection, CollectionSettings settings, IEnumerable<DocumentContent> unchanged,
        CancellationToken cancellationToken)
    {
        string[] ids = [.. unchanged.Select(d => d.Id).Distinct(StringComparer.Ordinal)];
        var damaged = new HashSet<string>(StringComparer.Ordinal);
        if (ids.Length == 0)
        {
            return damaged;
        }

        IReadOnlyDictionary<string, DocumentSketch> sketches = await store.GetSketchesAsync(collection, settings, ids, cancellationToken).ConfigureAwait(false);
        foreach (string id in ids)
        {
            try
            {
                if (!sketches.ContainsKey(id) || await store.GetDocumentAsync(collection, id, includeText: true, cancellationToken).ConfigureAwait(false) is not { } d)
                {
                    damaged.Add(id);
                }
                else
                {
                    DocumentHash.Verified(d);
                }
            }
            catch (DocumentDamagedException)
            {
                damaged.Add(id);
            }
        }

        return damaged;
    }

    private async Task<IReadOnlyList<SimilarityMatch>> NearDuplicatesAsync(string collection, CollectionSettings settings, string id, DocumentSketch sketch,
        NearDuplicateCheck check, SimilarityIndex batch, CancellationToken cancellationToken)
    {
        int depth = settings.Lsh.ProbeDepth(check.Threshold);
        IReadOnlyList<IndexedSketch> stored = await store.GetCandidatesAsync(collection, settings, sketch.Signature, depth, cancellationToken).ConfigureAwait(false);
        // The batch's own documents are few: below the banding's threshold each is verified rather than banded.
        IEnumerable<IndexedSketch> candidates = stored.Where(c => !batch.Contains(c.Id))
            .Concat(depth >= settings.Lsh.Rows ? batch.Candidates(sketch.Signature) : batch.Snapshot());
        return CandidateVerifier.Verify(sketch, candidates, check.Threshold, check.MaxMatches, id, cancellationToken).Matches;
    }

    private Task<T> WriteAsync<T>(string collection, CollectionSettings settings, Func<IDocumentWriter, Task<T>> write, CancellationToken cancellationToken) =>
        room.WriteAsync(() => WriteWithRetriesAsync(collection, settings, write, cancellationToken));

    private async Task<T> WriteWithRetriesAsync<T>(string collection, CollectionSettings settings, Func<IDocumentWriter, Task<T>> write, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            IDocumentWriter writer = await store.BeginWriteAsync(collection, settings, cancellationToken).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                try
                {
                    return await write(writer).ConfigureAwait(false);
                }
                catch (WriteConflictException) when (attempt < MaxWriteAttempts)
                {
                    Log.WriteRetried(logger, collection, attempt);
                }
            }
        }
    }

    /// <summary>Each document's sketch and passage fingerprints, with the collection's normalisation, on at most <paramref name="cores"/> cores.</summary>
    private static Prepared[] Prepare(IReadOnlyList<DocumentContent> documents, DocumentSketcher sketcher, int cores, CancellationToken cancellationToken)
    {
        var prepared = new Prepared[documents.Count];
        Action<int> prepare = i =>
        {
            (DocumentSketch sketch, uint[] passages) = sketcher.SketchWithPassages(documents[i].Text);
            prepared[i] = new Prepared(sketch, passages);
        };
        if (documents.Count < ParallelSketchThreshold)
        {
            for (int i = 0; i < documents.Count; i++)
            {
                prepare(i);
            }
        }
        else
        {
            Parallel.For(0, documents.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = cores }, prepare);
        }

        return prepared;
    }

    /// <summary>A batch ready to commit (<see cref="PrepareAsync"/>).</summary>
    public sealed record PreparedBatch(string Collection, CollectionSettings Settings, IReadOnlyList<DocumentContent> Documents, Prepared[] Prepared,
        NearDuplicateCheck? Check);

    /// <summary>A document's sketch and passage fingerprints.</summary>
    public sealed record Prepared(DocumentSketch Sketch, uint[] Passages);

    /// <summary>What an upsert checks each document against, when it asks.</summary>
    public sealed record NearDuplicateCheck(double Threshold, int MaxMatches, bool SkipIfDuplicate);

    /// <summary>Keeps only the newest report: progress is sent at its own pace.</summary>
    private sealed class LatestProgress : IProgress<ClusteringProgress>
    {
        private Box? _latest;

        public ClusteringProgress? Latest => Volatile.Read(ref _latest)?.Value;

        public void Report(ClusteringProgress value) => Volatile.Write(ref _latest, new Box(value));

        private sealed record Box(ClusteringProgress Value);
    }
}
