using System.Runtime.CompilerServices;
using Compare.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Compare.Client;

/// <summary>
/// A Compare server's three services, and helpers for the common calls: compare two texts, index documents
/// (one batch or a stream of any length), find an indexed document's near-duplicates, deduplicate a collection.
/// Every call is retried while the server answers UNAVAILABLE (see <see cref="CompareClientOptions"/>); other
/// failures surface as <see cref="RpcException"/> with the server's status and field-level details.
/// </summary>
public sealed class CompareClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly int _upsertBatchSize;

    /// <summary>A client with its own channel to <see cref="CompareClientOptions.Address"/>; dispose it to close the channel.</summary>
    public CompareClient(CompareClientOptions options)
        : this(CreateChannel(options), options)
    {
    }

    /// <summary>A client over the three typed clients, as <c>AddCompareClient</c> registers them; it owns no channel.</summary>
    public CompareClient(CollectionService.CollectionServiceClient collections, DocumentService.DocumentServiceClient documents,
        SimilarityService.SimilarityServiceClient similarity, int upsertBatchSize = 500)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(upsertBatchSize, 1);
        Collections = collections ?? throw new ArgumentNullException(nameof(collections));
        Documents = documents ?? throw new ArgumentNullException(nameof(documents));
        Similarity = similarity ?? throw new ArgumentNullException(nameof(similarity));
        _upsertBatchSize = upsertBatchSize;
    }

    private CompareClient(GrpcChannel channel, CompareClientOptions options)
        : this(WithApiKey(channel, options.ApiKey), options.UpsertBatchSize) => _ownedChannel = channel;

    private CompareClient(CallInvoker invoker, int upsertBatchSize)
        : this(new(invoker), new(invoker), new(invoker), upsertBatchSize)
    {
    }

    /// <summary>CreateCollection, GetCollection, ListCollections, DeleteCollection, RebuildCollectionIndex.</summary>
    public CollectionService.CollectionServiceClient Collections { get; }

    /// <summary>UpsertDocuments, StreamUpsertDocuments, GetDocument, ListDocuments, DeleteDocuments.</summary>
    public DocumentService.DocumentServiceClient Documents { get; }

    /// <summary>Compare, FindSimilar, Deduplicate, GetLastDeduplicate.</summary>
    public SimilarityService.SimilarityServiceClient Similarity { get; }

    /// <summary>
    /// A channel to the server under the options' retry policy and receive limit. Callers that make their own clients
    /// from it add the API key with <see cref="WithApiKey"/>.
    /// </summary>
    public static GrpcChannel CreateChannel(CompareClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var channel = new GrpcChannelOptions { HttpHandler = options.CreateHttpHandler(), DisposeHttpClient = true };
        options.ConfigureChannel(channel);
        return GrpcChannel.ForAddress(options.Address, channel);
    }

    /// <summary>Calls through <paramref name="channel"/> that carry <paramref name="apiKey"/> as a bearer token (none when null).</summary>
    public static CallInvoker WithApiKey(ChannelBase channel, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return string.IsNullOrEmpty(apiKey)
            ? channel.CreateCallInvoker()
            : channel.Intercept(headers =>
            {
                AddApiKey(headers, apiKey);
                return headers;
            });
    }

    /// <summary>How the server takes a key: <c>authorization: Bearer KEY</c>. Nothing is added without a key.</summary>
    internal static void AddApiKey(Metadata headers, string? apiKey)
    {
        if (!string.IsNullOrEmpty(apiKey))
        {
            headers.Add("authorization", "Bearer " + apiKey);
        }
    }

    /// <summary>
    /// Creates a collection, or returns it as it is when the name is taken (its settings, not <paramref name="config"/>'s).
    /// An empty name is "default", which always exists, as everywhere else.
    /// </summary>
    /// <returns>The collection, and whether this call created it.</returns>
    public async Task<(Collection Collection, bool Created)> EnsureCollectionAsync(string name, CollectionConfig? config = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            name = "default";
        }

        try
        {
            CreateCollectionResponse created = await Collections.CreateCollectionAsync(
                new CreateCollectionRequest { Name = name, Config = config }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (created.Collection, true);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            GetCollectionResponse existing = await Collections.GetCollectionAsync(
                new GetCollectionRequest { Name = name }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (existing.Collection, false);
        }
    }

    /// <summary>How similar two texts are and what wording they share (passages, coverage, fuzzy ratios).</summary>
    public Task<CompareResponse> CompareTextsAsync(string left, string right, CancellationToken cancellationToken = default) =>
        Similarity.CompareAsync(new CompareRequest { Left = new DocumentRef { Text = left }, Right = new DocumentRef { Text = right } },
            cancellationToken: cancellationToken).ResponseAsync;

    /// <summary>The same for two documents indexed in <paramref name="collection"/> (empty: "default").</summary>
    public Task<CompareResponse> CompareDocumentsAsync(string collection, string leftId, string rightId, CancellationToken cancellationToken = default) =>
        Similarity.CompareAsync(new CompareRequest
        {
            Collection = collection,
            Left = new DocumentRef { Id = leftId },
            Right = new DocumentRef { Id = rightId },
        }, cancellationToken: cancellationToken).ResponseAsync;

    /// <summary>
    /// The indexed documents whose Jaccard similarity to <paramref name="text"/> reaches <paramref name="threshold"/>
    /// (default: the collection's), best first, at most <paramref name="topK"/>.
    /// </summary>
    public async Task<IReadOnlyList<SimilarityMatch>> FindSimilarAsync(string collection, string text, double? threshold = null, int topK = 10,
        CancellationToken cancellationToken = default)
    {
        var request = new FindSimilarRequest { Collection = collection, Query = new DocumentRef { Text = text }, TopK = topK };
        if (threshold is { } t)
        {
            request.Threshold = t;
        }

        return (await Similarity.FindSimilarAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false)).Matches;
    }

    /// <summary>
    /// The indexed documents that share wording with <paramref name="text"/> (passages of at least <paramref name="minWords"/>
    /// words; 0 for the server's default, 7), ranked by how many of its words they share, with the passages.
    /// </summary>
    public async Task<FindSharedPassagesResponse> FindSharedPassagesAsync(string collection, string text, int minWords = 0, int topK = 10,
        CancellationToken cancellationToken = default) =>
        await Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = collection, Query = new DocumentRef { Text = text }, MinWords = minWords, TopK = topK },
            cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Every document of <paramref name="collection"/>, page after page in the server's order (by id), with its text
    /// unless <paramref name="includeText"/> is false. A document written or deleted meanwhile may or may not be seen;
    /// the others are seen once each. With <paramref name="damaged"/>, a document the server cannot read (DATA_LOSS: its
    /// stored text altered on disk) is passed to it by id and left out instead of ending the listing: the page that
    /// holds it is listed again without texts, and its documents are read one by one.
    /// </summary>
    public async IAsyncEnumerable<StoredDocument> ListAllDocumentsAsync(string collection, bool includeText = true, Action<string>? damaged = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new ListDocumentsRequest { Collection = collection, PageSize = 1000, IncludeText = includeText };
        do
        {
            ListDocumentsResponse page;
            try
            {
                page = await Documents.ListDocumentsAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.DataLoss && damaged is not null)
            {
                page = await ReadablePageAsync(request, damaged, cancellationToken).ConfigureAwait(false);
            }

            foreach (StoredDocument document in page.Documents)
            {
                yield return document;
            }

            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
    }

    // The page listed without texts, then each of its documents read with its text; those that answer DATA_LOSS go to damaged.
    private async Task<ListDocumentsResponse> ReadablePageAsync(ListDocumentsRequest request, Action<string> damaged, CancellationToken cancellationToken)
    {
        ListDocumentsResponse page = await Documents.ListDocumentsAsync(new ListDocumentsRequest(request) { IncludeText = false }, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        StoredDocument[] listed = [.. page.Documents];
        page.Documents.Clear();
        foreach (StoredDocument document in listed)
        {
            try
            {
                page.Documents.Add((await Documents.GetDocumentAsync(new GetDocumentRequest { Collection = request.Collection, Id = document.Id, IncludeText = true },
                    cancellationToken: cancellationToken).ConfigureAwait(false)).Document);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.DataLoss)
            {
                damaged(document.Id);
            }
        }

        return page;
    }

    /// <summary>Stores one batch (validated whole: nothing is stored when one document is wrong).</summary>
    public Task<UpsertDocumentsResponse> UpsertAsync(string collection, IEnumerable<Document> documents, CancellationToken cancellationToken = default)
    {
        var request = new UpsertDocumentsRequest { Collection = collection };
        request.Documents.AddRange(documents);
        return Documents.UpsertDocumentsAsync(request, cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Stores a sequence of any length as one StreamUpsertDocuments call, in messages of the configured batch size.</summary>
    public Task<StreamUpsertDocumentsResponse> UpsertManyAsync(string collection, IEnumerable<Document> documents, IProgress<long>? sent = null,
        CancellationToken cancellationToken = default) =>
        UpsertManyAsync(collection, documents.ToAsyncEnumerable(), sent, cancellationToken);

    /// <summary>
    /// Stores a sequence of any length as one StreamUpsertDocuments call, in messages of the configured batch size,
    /// reporting the documents sent. When the server ends the call early (a wrong document, a missing collection), the
    /// messages before the wrong one are stored and the <see cref="RpcException"/> names the field, as <c>messages[N].…</c>.
    /// </summary>
    public async Task<StreamUpsertDocumentsResponse> UpsertManyAsync(string collection, IAsyncEnumerable<Document> documents, IProgress<long>? sent = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> call =
            Documents.StreamUpsertDocuments(cancellationToken: cancellationToken);
        try
        {
            long count = 0;
            var message = new StreamUpsertDocumentsRequest { Collection = collection };
            await foreach (Document document in documents.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                message.Documents.Add(document);
                if (message.Documents.Count == _upsertBatchSize)
                {
                    await call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                    sent?.Report(count += message.Documents.Count);
                    message = new StreamUpsertDocumentsRequest { Collection = collection };
                }
            }

            if (message.Documents.Count > 0)
            {
                await call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                sent?.Report(count + message.Documents.Count);
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The server ended the call early: its status, awaited below, says why.
        }

        return await call.ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>
    /// Runs Deduplicate to its end and gathers what it streams: every cluster whole (a very large one arrives in
    /// parts), the pairs when <see cref="DeduplicateRequest.IncludePairs"/> is set, and the summary. Progress events
    /// go to <paramref name="progress"/>. Cancelling stops the server's work.
    /// </summary>
    public async Task<DeduplicateResult> DeduplicateAsync(DeduplicateRequest request, IProgress<DeduplicateProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clusters = new List<DuplicateCluster>();
        var pairs = new List<DuplicatePair>();
        DeduplicateSummary? summary = null;
        using AsyncServerStreamingCall<DeduplicateResponse> call = Similarity.Deduplicate(request, cancellationToken: cancellationToken);
        await foreach (DeduplicateResponse response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (response.EventCase)
            {
                case DeduplicateResponse.EventOneofCase.Progress:
                    progress?.Report(response.Progress);
                    break;
                case DeduplicateResponse.EventOneofCase.Cluster when response.Cluster.Part > 0 && clusters.Count > 0:
                    clusters[^1].Members.AddRange(response.Cluster.Members);
                    break;
                case DeduplicateResponse.EventOneofCase.Cluster:
                    DuplicateCluster whole = response.Cluster;
                    (whole.Part, whole.PartCount) = (0, 1);
                    clusters.Add(whole);
                    break;
                case DeduplicateResponse.EventOneofCase.Pair:
                    pairs.Add(response.Pair);
                    break;
                case DeduplicateResponse.EventOneofCase.Summary:
                    summary = response.Summary;
                    break;
            }
        }

        return new DeduplicateResult(clusters, pairs,
            summary ?? throw new RpcException(new Status(StatusCode.DataLoss, "The Deduplicate stream ended without its summary.")));
    }

    /// <summary>Closes the channel this client made, if it made one.</summary>
    public void Dispose() => _ownedChannel?.Dispose();
}

/// <summary>What a Deduplicate run found: clusters whole, representative first; pairs if asked for; the summary.</summary>
public sealed record DeduplicateResult(IReadOnlyList<DuplicateCluster> Clusters, IReadOnlyList<DuplicatePair> Pairs, DeduplicateSummary Summary);
