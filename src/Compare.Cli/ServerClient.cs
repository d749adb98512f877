using Compare.Core.Clustering;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compare.Cli;

/// <summary>The CLI's calls to a running server: upload a corpus (index, dedup --server), Deduplicate, FindSimilar.</summary>
internal static class ServerClient
{
    private const int BatchDocuments = 500;

    public static GrpcChannel Channel(Uri server) =>
        GrpcChannel.ForAddress(server, new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });

    /// <summary>Streams the documents into <paramref name="collection"/> in messages of 500.</summary>
    public static async Task<StreamUpsertDocumentsResponse> UploadAsync(GrpcChannel channel, string collection, List<string> ids, List<string> texts,
        CancellationToken cancellationToken)
    {
        using AsyncClientStreamingCall<UpsertDocumentsRequest, StreamUpsertDocumentsResponse> upload =
            new DocumentService.DocumentServiceClient(channel).StreamUpsertDocuments(cancellationToken: cancellationToken);
        try
        {
            for (int start = 0; start < ids.Count; start += BatchDocuments)
            {
                var message = new UpsertDocumentsRequest { Collection = collection };
                for (int i = start; i < Math.Min(ids.Count, start + BatchDocuments); i++)
                {
                    message.Documents.Add(new Document { Id = ids[i], Text = texts[i] });
                }

                await upload.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }

            await upload.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The server ended the call early (a wrong collection, a bad document): its status, awaited below, says why.
        }

        return await upload;
    }

    /// <summary>dedup --server: upload, then the server's Deduplicate.</summary>
    public static DedupOutcome Deduplicate(Uri server, DedupSettings settings, List<string> ids, List<string> texts, IProgress<ClusteringProgress> progress,
        CancellationToken cancellationToken) => DeduplicateAsync(server, settings, ids, texts, progress, cancellationToken).GetAwaiter().GetResult();

    private static async Task<DedupOutcome> DeduplicateAsync(Uri server, DedupSettings settings, List<string> ids, List<string> texts,
        IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        using GrpcChannel channel = Channel(server);
        await UploadAsync(channel, settings.Collection, ids, texts, cancellationToken).ConfigureAwait(false);

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
                case DeduplicateResponse.EventOneofCase.Cluster:
                    clusters.Add((response.Cluster.RepresentativeId, [.. response.Cluster.Members.Select(m => (m.Id, m.Jaccard))]));
                    break;
                case DeduplicateResponse.EventOneofCase.Pair:
                    pairs.Add((response.Pair.LeftId, response.Pair.RightId, response.Pair.Jaccard));
                    break;
            }
        }

        return new DedupOutcome(clusters, pairs);
    }
}
