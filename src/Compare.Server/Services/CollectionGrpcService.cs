using Compare.Server.Hosting;
using Compare.Server.Mapping;
using Compare.Server.Storage;
using Compare.Server.Validation;
using Compare.V1;
using Grpc.Core;

namespace Compare.Server.Services;

/// <summary>compare.v1.CollectionService.</summary>
internal sealed class CollectionGrpcService(ICollectionCatalog collections, ICandidateIndex index, ILogger<CollectionGrpcService> logger) : CollectionService.CollectionServiceBase
{
    public override async Task<CreateCollectionResponse> CreateCollection(CreateCollectionRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        if (request.Name.Length == 0)
        {
            violations.Add("name", "is required to create a collection (the 'default' collection always exists).");
        }

        string name = RequestValidator.Collection(request.Name, violations, "name");
        RequestValidator.NoDotSegments(name, "name", violations);
        CollectionSettings settings = RequestValidator.Settings(request.Config, violations);
        violations.ThrowIfAny();
        CollectionInfo created = await collections.CreateCollectionAsync(name, settings, context.CancellationToken).ConfigureAwait(false);
        Log.CollectionCreated(logger, name, settings.ToString());
        return new CreateCollectionResponse { Collection = created.ToProto() };
    }

    public override async Task<GetCollectionResponse> GetCollection(GetCollectionRequest request, ServerCallContext context)
    {
        string name = RequestValidator.Collection(request.Name, "name");
        CollectionInfo info = await collections.GetRequiredCollectionAsync(name, context.CancellationToken).ConfigureAwait(false);
        return new GetCollectionResponse { Collection = info.ToProto() };
    }

    public override async Task<ListCollectionsResponse> ListCollections(ListCollectionsRequest request, ServerCallContext context)
    {
        IReadOnlyList<CollectionInfo> all = await collections.ListCollectionsAsync(context.CancellationToken).ConfigureAwait(false);
        var response = new ListCollectionsResponse();
        response.Collections.AddRange(all.Select(c => c.ToProto()));
        return response;
    }

    public override async Task<DeleteCollectionResponse> DeleteCollection(DeleteCollectionRequest request, ServerCallContext context)
    {
        string name = RequestValidator.Collection(request.Name, "name");
        if (name == CollectionNames.Default)
        {
            throw RpcErrors.FailedPrecondition("DEFAULT_COLLECTION", name,
                "The default collection cannot be deleted; delete its documents with DeleteDocuments instead.");
        }

        long deleted = await collections.DeleteCollectionAsync(name, context.CancellationToken).ConfigureAwait(false)
            ?? throw new CollectionNotFoundException(name);
        Log.CollectionDeleted(logger, name, deleted);
        return new DeleteCollectionResponse { DeletedDocumentCount = deleted };
    }

    public override async Task<RebuildCollectionIndexResponse> RebuildCollectionIndex(RebuildCollectionIndexRequest request, ServerCallContext context)
    {
        string name = RequestValidator.Collection(request.Name, "name");
        long indexed = await index.RebuildIndexAsync(name, context.CancellationToken).ConfigureAwait(false);
        Log.IndexRebuilt(logger, name, indexed);
        return new RebuildCollectionIndexResponse { IndexedDocumentCount = indexed };
    }
}
