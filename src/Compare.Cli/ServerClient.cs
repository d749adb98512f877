using Compare.Cli.Input;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Lsh;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compare.Cli;

/// <summary>A collection for --create to make: its shingling, signature, banding and threshold.</summary>
internal sealed record NewCollection(SketchParameters Sketch, LshParameters? Lsh, double? Threshold);

/// <summary>The CLI's calls to a running server: upload a corpus (index, dedup --server), Deduplicate, FindSimilar.</summary>
internal static class ServerClient
{
    private const int BatchDocuments = 500;

    public static GrpcChannel Channel(Uri server) =>
        GrpcChannel.ForAddress(server, new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });

    /// <summary>
    /// Streams the corpus into <paramref name="collection"/> as it is read, in messages of 500 documents
    /// with their other fields as metadata. Under --strict the input is checked in full first, so a
    /// malformed record fails the run before anything is sent.
    /// </summary>
    public static async Task<StreamUpsertDocumentsResponse> UploadAsync(GrpcChannel channel, string collection, CorpusFile corpus, bool strict,
        IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        if (strict)
        {
            foreach (InputDocument _ in corpus.Documents(cancellationToken))
            {
            }
        }

        using AsyncClientStreamingCall<StreamUpsertDocumentsRequest, StreamUpsertDocumentsResponse> upload =
            new DocumentService.DocumentServiceClient(channel).StreamUpsertDocuments(cancellationToken: cancellationToken);
        try
        {
            int sent = 0;
            foreach (InputDocument[] batch in corpus.Documents(cancellationToken).Chunk(BatchDocuments))
            {
                var message = new StreamUpsertDocumentsRequest { Collection = collection };
                foreach (InputDocument d in batch)
                {
                    var document = new Document { Id = d.Id, Text = d.Text };
                    if (d.Metadata is not null)
                    {
                        document.Metadata.Add(d.Metadata);
                    }

                    message.Documents.Add(document);
                }

                await upload.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                sent += batch.Length;
                progress?.Report(new ClusteringProgress(ClusteringStage.Sketching, sent, 0));
            }

            await upload.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The server ended the call early (a wrong collection, a bad document): its status, awaited below, says why.
        }

        return await upload;
    }

    /// <summary>Creates <paramref name="name"/> as <paramref name="collection"/> describes; a name already taken is used as it is, and said so.</summary>
    public static async Task EnsureCollectionAsync(GrpcChannel channel, string name, NewCollection collection, TextWriter error, CancellationToken cancellationToken)
    {
        var config = new CollectionConfig
        {
            ShingleKind = collection.Sketch.Kind == Core.ShingleKind.Character ? V1.ShingleKind.Character : V1.ShingleKind.Word,
            ShingleSize = collection.Sketch.ShingleSize,
            NumPerm = collection.Sketch.NumPermutations,
            LshBands = collection.Lsh?.Bands ?? 0,
            LshRows = collection.Lsh?.Rows ?? 0,
        };
        if (collection.Threshold is { } threshold)
        {
            config.Threshold = threshold;
        }

        try
        {
            await new CollectionService.CollectionServiceClient(channel)
                .CreateCollectionAsync(new CreateCollectionRequest { Name = name, Config = config }, cancellationToken: cancellationToken).ConfigureAwait(false);
            error.WriteLine($"compare: collection \"{name}\" created.");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            error.WriteLine($"compare: collection \"{name}\" exists; adding to it with its own settings.");
        }
    }

    /// <summary>dedup --server: upload (into a collection created first with --create), then the server's Deduplicate.</summary>
    public static async Task<DedupOutcome> DeduplicateAsync(Uri server, DedupSettings settings, CorpusFile corpus,
        IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        using GrpcChannel channel = Channel(server);
        if (settings.Create)
        {
            await EnsureCollectionAsync(channel, settings.Collection, new NewCollection(settings.Sketch, settings.Lsh, settings.Threshold), TextWriter.Null, cancellationToken)
                .ConfigureAwait(false);
        }

        await UploadAsync(channel, settings.Collection, corpus, settings.Strict, progress, cancellationToken).ConfigureAwait(false);
        // Deduplicating the collection as it was, when nothing of the input reached it, would answer a question nobody asked.
        corpus.EnsureSomethingRead();

        var request = new DeduplicateRequest
        {
            Collection = settings.Collection,
            Threshold = settings.Threshold,
            IncludePairs = settings.Pairs is not null,
            Representative = settings.Representative == Core.Clustering.RepresentativePolicy.Longest
                ? V1.RepresentativePolicy.Longest : V1.RepresentativePolicy.FirstSeen,
        };
        var clusters = new List<(string, IReadOnlyList<(string, double)>)>();
        var pairs = new List<(string, string, double)>();
        using AsyncServerStreamingCall<DeduplicateResponse> call = new SimilarityService.SimilarityServiceClient(channel)
            .Deduplicate(request, cancellationToken: cancellationToken);
        await foreach (DeduplicateResponse response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (response.EventCase)
            {
                case DeduplicateResponse.EventOneofCase.Progress:
                    progress.Report(new ClusteringProgress((ClusteringStage)((int)response.Progress.Stage + 1), response.Progress.Done, response.Progress.Total));
                    break;
                case DeduplicateResponse.EventOneofCase.Cluster when response.Cluster.Part > 0 && clusters.Count > 0:
                    // A very large cluster comes in parts: the next members of the one before.
                    ((List<(string, double)>)clusters[^1].Item2).AddRange(response.Cluster.Members.Select(m => (m.Id, m.Jaccard)));
                    break;
                case DeduplicateResponse.EventOneofCase.Cluster:
                    clusters.Add((response.Cluster.RepresentativeId, new List<(string, double)>(response.Cluster.Members.Select(m => (m.Id, m.Jaccard)))));
                    break;
                case DeduplicateResponse.EventOneofCase.Pair:
                    pairs.Add((response.Pair.LeftId, response.Pair.RightId, response.Pair.Jaccard));
                    break;
            }
        }

        return new DedupOutcome(clusters, pairs);
    }
}
