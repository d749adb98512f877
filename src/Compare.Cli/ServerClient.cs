using Compare.Cli.Input;
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

        using AsyncClientStreamingCall<UpsertDocumentsRequest, StreamUpsertDocumentsResponse> upload =
            new DocumentService.DocumentServiceClient(channel).StreamUpsertDocuments(cancellationToken: cancellationToken);
        try
        {
            int sent = 0;
            foreach (InputDocument[] batch in corpus.Documents(cancellationToken).Chunk(BatchDocuments))
            {
                var message = new UpsertDocumentsRequest { Collection = collection };
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

    /// <summary>dedup --server: upload, then the server's Deduplicate.</summary>
    public static async Task<DedupOutcome> DeduplicateAsync(Uri server, DedupSettings settings, CorpusFile corpus,
        IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        using GrpcChannel channel = Channel(server);
        await UploadAsync(channel, settings.Collection, corpus, settings.Strict, progress, cancellationToken).ConfigureAwait(false);

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
