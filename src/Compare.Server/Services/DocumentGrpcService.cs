using System.Buffers.Text;
using System.Text;
using Compare.Server.Application;
using Compare.Server.Hosting;
using Compare.Server.Mapping;
using Compare.Server.Storage;
using Compare.Server.Validation;
using Compare.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Compare.Server.Services;

/// <summary>compare.v1.DocumentService.</summary>
internal sealed class DocumentGrpcService(DocumentIndexService index, IOptions<LimitOptions> limits) : DocumentService.DocumentServiceBase
{
    private const int DefaultMaxNearDuplicates = 10;

    // Prepared messages of a StreamUpsertDocuments call that may be committing or waiting to: with the one being read and
    // prepared, a call holds at most this many plus one messages, each within the server's largest message size. Two let
    // the next message be prepared while one commits and another waits for it.
    private const int MaxPendingCommits = 2;

    private readonly LimitOptions _limits = limits.Value;

    public override Task<UpsertDocumentsResponse> UpsertDocuments(UpsertDocumentsRequest request, ServerCallContext context) =>
        UpsertAsync(request, string.Empty, context.CancellationToken);

    public override async Task<StreamUpsertDocumentsResponse> StreamUpsertDocuments(IAsyncStreamReader<StreamUpsertDocumentsRequest> requestStream, ServerCallContext context)
    {
        var summary = new StreamUpsertDocumentsResponse();
        long listedBytes = 0;
        int read = 0;
        // Commits run one after another, each once the one before it has been applied, while the next messages are read and
        // prepared (on every core): the store's writer never waits for a message to be prepared, nor the cores for a
        // commit, nor the writer for the disk to sync the message before (a message counts once it is durable).
        var committing = new Queue<Task<UpsertDocumentsResponse>>();
        Task applied = Task.CompletedTask;
        try
        {
            await foreach (StreamUpsertDocumentsRequest message in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                // Field names carry the message number, so a caller knows which batch to fix and that the ones before it are stored.
                DocumentIndexService.PreparedBatch next = await PrepareAsync(message.ToBatch(), $"messages[{read++}].", context.CancellationToken,
                    besideACommit: committing.Count > 0).ConfigureAwait(false);
                Task previous = applied;
                // On the pool: a local store commits synchronously, and would otherwise hold up the next read.
                Task<UpsertDocumentsResponse> apply = Task.Run(async () =>
                {
                    await previous.ConfigureAwait(false);
                    return (await index.ApplyAsync(next, context.CancellationToken).ConfigureAwait(false)).ToProto(_limits.MaxResponseBytes);
                }, context.CancellationToken);
                applied = apply;
                committing.Enqueue(DurableAsync(apply));
                while (committing.Count > MaxPendingCommits || (committing.Count > 0 && committing.Peek().IsCompleted))
                {
                    Add(await committing.Dequeue().ConfigureAwait(false));
                }
            }
        }
        catch when (committing.Count > 0)
        {
            // A message that fails, or a read that does, ends the call only once the messages before it are committed.
            await AddCommittedAsync().ConfigureAwait(false);
            throw;
        }

        await AddCommittedAsync().ConfigureAwait(false);
        return summary;

        async Task<UpsertDocumentsResponse> DurableAsync(Task<UpsertDocumentsResponse> apply)
        {
            UpsertDocumentsResponse batch = await apply.ConfigureAwait(false);
            await index.EnsureDurableAsync().ConfigureAwait(false);
            return batch;
        }

        async Task AddCommittedAsync()
        {
            while (committing.TryDequeue(out Task<UpsertDocumentsResponse>? pending))
            {
                Add(await pending.ConfigureAwait(false));
            }
        }

        void Add(UpsertDocumentsResponse batch)
        {
            summary.MessageCount++;
            summary.DocumentCount += batch.Results.Count;
            summary.CreatedCount += batch.CreatedCount;
            summary.UpdatedCount += batch.UpdatedCount;
            summary.UnchangedCount += batch.UnchangedCount;
            summary.SkippedCount += batch.SkippedCount;
            foreach (UpsertResult skipped in batch.Results.Where(r => r.Status == V1.UpsertStatus.SkippedDuplicate))
            {
                // The summary comes after all the work is committed: it must never be too big for the client to read.
                listedBytes += Encoding.UTF8.GetByteCount(skipped.Id) + 3;
                summary.SkippedIdsTruncated |= listedBytes > _limits.MaxListedIdBytes;
                if (!summary.SkippedIdsTruncated)
                {
                    summary.SkippedIds.Add(skipped.Id);
                }
            }
        }
    }

    public override async Task<GetDocumentResponse> GetDocument(GetDocumentRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        RequestValidator.Id(request.Id, "id", violations);
        violations.ThrowIfAny();
        Storage.StoredDocument document = await index.GetDocumentAsync(collection, request.Id, request.IncludeText, context.CancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.NotFound("compare.v1.Document", request.Id, $"Document '{request.Id}' is not in collection '{collection}'.");
        return new GetDocumentResponse { Document = document.ToProto() };
    }

    public override async Task<ListDocumentsResponse> ListDocuments(ListDocumentsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        if (request.PageSize < 0)
        {
            violations.Add("page_size", $"must not be negative, was {request.PageSize}.");
        }

        // Larger pages are served at the limit rather than refused, as AIP-158 recommends.
        int pageSize = request.PageSize == 0 ? _limits.DefaultPageSize : Math.Min(request.PageSize, _limits.MaxPageSize);
        string? after = DecodePageToken(request.PageToken, violations);
        violations.ThrowIfAny();

        DocumentPage page = await index.ListDocumentsAsync(collection, after, pageSize, request.IncludeText, context.CancellationToken).ConfigureAwait(false);
        var response = new ListDocumentsResponse
        {
            TotalCount = page.TotalCount,
            NextPageToken = page.HasMore ? EncodePageToken(page.Documents[^1].Id) : string.Empty,
        };
        response.Documents.AddRange(page.Documents.Select(d => d.ToProto()));
        return response;
    }

    public override async Task<DeleteDocumentsResponse> DeleteDocuments(DeleteDocumentsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations);
        if (request.Ids.Count == 0)
        {
            violations.Add("ids", "must hold at least one id.");
        }

        for (int i = 0; i < request.Ids.Count; i++)
        {
            RequestValidator.Id(request.Ids[i], $"ids[{i}]", violations);
        }

        violations.ThrowIfAny();
        string[] ids = [.. request.Ids.Distinct(StringComparer.Ordinal)];
        IReadOnlyList<string> missing = await index.DeleteAsync(collection, ids, context.CancellationToken).ConfigureAwait(false);
        var response = new DeleteDocumentsResponse { DeletedCount = ids.Length - missing.Count };
        response.NotFoundIds.AddRange(missing);
        return response;
    }

    private async Task<UpsertDocumentsResponse> UpsertAsync(UpsertDocumentsRequest request, string prefix, CancellationToken cancellationToken) =>
        await CommitAsync(await PrepareAsync(request, prefix, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    private Task<DocumentIndexService.PreparedBatch> PrepareAsync(UpsertDocumentsRequest request, string prefix, CancellationToken cancellationToken,
        bool besideACommit = false)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations, prefix + "collection");
        DocumentContent[] documents = RequestValidator.Batch(request, _limits, violations, prefix);
        int maxNear = RequestValidator.Count(request.MaxNearDuplicates, DefaultMaxNearDuplicates, _limits.MaxTopK, prefix + "max_near_duplicates", "Limits:MaxTopK", violations);
        double threshold = RequestValidator.Threshold(request.HasNearDuplicateThreshold, request.NearDuplicateThreshold, 0, prefix + "near_duplicate_threshold", violations);
        violations.ThrowIfAny();

        var options = new UpsertOptions(request.HasNearDuplicateThreshold ? threshold : null, request.IncludeNearDuplicates, maxNear, request.SkipIfDuplicate);
        return index.PrepareAsync(collection, documents, options, cancellationToken, besideACommit);
    }

    private async Task<UpsertDocumentsResponse> CommitAsync(DocumentIndexService.PreparedBatch batch, CancellationToken cancellationToken) =>
        (await index.CommitAsync(batch, cancellationToken).ConfigureAwait(false)).ToProto(_limits.MaxResponseBytes);

    private static string EncodePageToken(string lastId) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lastId));

    private static string? DecodePageToken(string token, FieldViolations violations)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            string after = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            if (after.Length is > 0 and <= RequestValidator.MaxIdLength)
            {
                return after;
            }
        }
        catch (FormatException)
        {
        }

        violations.Add("page_token", "is not a token this server issued; pass next_page_token from the previous page.");
        return null;
    }
}
