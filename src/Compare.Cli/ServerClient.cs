using Compare.Cli.Input;
using Compare.Client;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Lsh;
using Compare.V1;

namespace Compare.Cli;

/// <summary>A collection for --create to make: its shingling, signature, banding and threshold.</summary>
internal sealed record NewCollection(SketchParameters Sketch, LshParameters? Lsh, double? Threshold);

/// <summary>The CLI's calls to a running server, through Compare.Client: upload a corpus (index, dedup --server), Deduplicate.</summary>
internal static class ServerClient
{
    /// <summary>The environment variable that holds the API key for a server that requires one (kept off the command line, where ps shows it).</summary>
    public const string ApiKeyVariable = "COMPARE_API_KEY";

    public static CompareClient Connect(Uri server) =>
        new(new CompareClientOptions { Address = server, ApiKey = Environment.GetEnvironmentVariable(ApiKeyVariable) });

    /// <summary>
    /// Streams the corpus into <paramref name="collection"/> as it is read, with the records' other fields as
    /// metadata. Under --strict the input is checked in full first, so a malformed record fails the run before
    /// anything is sent.
    /// </summary>
    public static Task<StreamUpsertDocumentsResponse> UploadAsync(CompareClient client, string collection, CorpusFile corpus, bool strict,
        IProgress<ClusteringProgress>? progress, CancellationToken cancellationToken)
    {
        if (strict)
        {
            foreach (InputDocument _ in corpus.Documents(cancellationToken))
            {
            }
        }

        IEnumerable<Document> documents = corpus.Documents(cancellationToken).Select(d =>
        {
            var document = new Document { Id = d.Id, Text = d.Text };
            if (d.Metadata is not null)
            {
                document.Metadata.Add(d.Metadata);
            }

            return document;
        });
        IProgress<long>? sent = progress is null ? null
            : new SynchronousProgress<long>(count => progress.Report(new ClusteringProgress(ClusteringStage.Sketching, count, 0)));
        return client.UpsertManyAsync(collection, documents, sent, cancellationToken);
    }

    /// <summary>Creates <paramref name="name"/> as <paramref name="collection"/> describes; a name already taken is used as it is, and said so.</summary>
    public static async Task EnsureCollectionAsync(CompareClient client, string name, NewCollection collection, TextWriter error, CancellationToken cancellationToken)
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

        (Collection ensured, bool created) = await client.EnsureCollectionAsync(name, config, cancellationToken).ConfigureAwait(false);
        error.WriteLine(created
            ? $"compare: collection \"{ensured.Name}\" created."
            : $"compare: collection \"{ensured.Name}\" exists; adding to it with its own settings.");
    }

    /// <summary>dedup --server: upload (into a collection created first with --create), then the server's Deduplicate.</summary>
    public static async Task<DedupOutcome> DeduplicateAsync(Uri server, DedupSettings settings, CorpusFile corpus,
        IProgress<ClusteringProgress> progress, CancellationToken cancellationToken)
    {
        using CompareClient client = Connect(server);
        if (settings.Create)
        {
            await EnsureCollectionAsync(client, settings.Collection, new NewCollection(settings.Sketch, settings.Lsh, settings.Threshold), TextWriter.Null, cancellationToken)
                .ConfigureAwait(false);
        }

        await UploadAsync(client, settings.Collection, corpus, settings.Strict, progress, cancellationToken).ConfigureAwait(false);
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
        DeduplicateResult result = await client.DeduplicateAsync(request, new SynchronousProgress<DeduplicateProgress>(p =>
            progress.Report(new ClusteringProgress((ClusteringStage)((int)p.Stage + 1), p.Done, p.Total))), cancellationToken).ConfigureAwait(false);
        return new DedupOutcome(
            [.. result.Clusters.Select(c => (c.RepresentativeId, (IReadOnlyList<(string, double)>)[.. c.Members.Select(m => (m.Id, m.Jaccard))]))],
            [.. result.Pairs.Select(p => (p.LeftId, p.RightId, p.Jaccard))]);
    }
}

/// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; posts each report to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
