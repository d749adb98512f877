using Compare.Core.Clustering;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compare.Cli;

/// <summary>dedup --server: stream the documents into a collection of a running server, then run its Deduplicate.</summary>
internal static class ServerDedup
{
    private const int BatchDocuments = 500;

    public static DedupOutcome Run(Uri server, DedupSettings settings, List<string> ids, List<string> texts, IProgress<ClusteringProgress> progress,
        CancellationToken cancellationToken) => RunAsync(server, settings, ids, texts, progress, cancellationToken).GetAwaiter().GetResult();

    private static async Task<DedupOutcome> RunAsync(Uri server, DedupSettings settings, List<string> ids, List<string> texts,
        IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });
        var documents = new DocumentService.DocumentServiceClient(channel);
        using (AsyncClientStreamingCall<UpsertDocumentsRequest, StreamUpsertDocumentsResponse> upload =
            documents.StreamUpsertDocuments(cancellationToken: cancellationToken))
        {
            for (int start = 0; start < ids.Count; start += BatchDocuments)
            {
                var message = new UpsertDocumentsRequest { Collection = settings.Collection };
                for (int i = start; i < Math.Min(ids.Count, start + BatchDocuments); i++)
                {
                    message.Documents.Add(new Document { Id = ids[i], Text = texts[i] });
                }

                await upload.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }

            await upload.RequestStream.CompleteAsync().ConfigureAwait(false);
            await upload;
        }

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
