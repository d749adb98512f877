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

    private readonly LimitOptions _limits = limits.Value;

    public override Task<UpsertDocumentsResponse> UpsertDocuments(UpsertDocumentsRequest request, ServerCallContext context) =>
        UpsertAsync(request, string.Empty, context.CancellationToken);

    public override async Task<StreamUpsertDocumentsResponse> StreamUpsertDocuments(IAsyncStreamReader<StreamUpsertDocumentsRequest> requestStream, ServerCallContext context)
    {
        var summary = new StreamUpsertDocumentsResponse();
        long listedBytes = 0;
        int read = 0;
        Task<UpsertDocumentsResponse>? committing = null;
        try
        {
            await foreach (StreamUpsertDocumentsRequest message in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                // Each message is validated and sketched (on every core) while the one before it commits (on one core and
                // the disk). Field names carry the message number, so a caller knows which batch to fix and that the ones
                // before it are stored.
                DocumentIndexService.PreparedBatch next = await PrepareAsync(message.ToBatch(), $"messages[{read++}].", context.CancellationToken).ConfigureAwait(false);
                await AddCommittedAsync().ConfigureAwait(false);
                // On the pool: a local store commits synchronously, and would otherwise finish before the next read.
                committing = Task.Run(() => CommitAsync(next, context.CancellationToken), context.CancellationToken);
            }
        }
        catch when (committing is not null)
        {
            // A message that fails, or a read that does, ends the call only once the message before it is committed.
            await AddCommittedAsync().ConfigureAwait(false);
            throw;
        }

        await AddCommittedAsync().ConfigureAwait(false);
        return summary;

        async Task AddCommittedAsync()
        {
            if (committing is { } pending)
            {
                committing = null;
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

    private Task<DocumentIndexService.PreparedBatch> PrepareAsync(UpsertDocumentsRequest request, string prefix, CancellationToken cancellationToken)
    {
        var violations = new FieldViolations();
        string collection = RequestValidator.Collection(request.Collection, violations, prefix + "collection");
        DocumentContent[] documents = RequestValidator.Batch(request, _limits, violations, prefix);
        int maxNear = RequestValidator.Count(request.MaxNearDuplicates, DefaultMaxNearDuplicates, _limits.MaxTopK, prefix + "max_near_duplicates", "Limits:MaxTopK", violations);
        double threshold = RequestValidator.Threshold(request.HasNearDuplicateThreshold, request.NearDuplicateThreshold, 0, prefix + "near_duplicate_threshold", violations);
        violations.ThrowIfAny();

        var options = new UpsertOptions(request.HasNearDuplicateThreshold ? threshold : null, request.IncludeNearDuplicates, maxNear, request.SkipIfDuplicate);
        return index.PrepareAsync(collection, documents, options, cancellationToken);
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
