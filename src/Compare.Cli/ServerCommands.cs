using System.Globalization;
using Compare.Cli.Input;
using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compare.Cli;

/// <summary>compare index and compare similar: a corpus into a server's collection, and a file's near-duplicates from it.</summary>
internal static class ServerCommands
{
    public static Task<int> IndexAsync(TextWriter error, Uri server, string collection, string input, InputFields fields, bool strict,
        CancellationToken cancellationToken) => CallAsync(error, server, async () =>
        {
            try
            {
                var corpus = new CorpusFile(input, fields, strict, error, withMetadata: true);
                using GrpcChannel channel = ServerClient.Channel(server);
                StreamUpsertDocumentsResponse done = await ProgressDisplay.RunAsync(error, corpus.Position,
                    progress => ServerClient.UploadAsync(channel, collection, corpus, strict, progress, cancellationToken)).ConfigureAwait(false);
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"compare: {done.DocumentCount:N0} documents sent: {done.CreatedCount:N0} created, {done.UpdatedCount:N0} updated, {done.UnchangedCount:N0} unchanged; {corpus.Skipped:N0} records skipped."));
                return CompareCli.Ok;
            }
            catch (InputException e)
            {
                error.WriteLine($"compare: {e.Message}");
                return CompareCli.InputError;
            }
        });

    public static async Task<int> SimilarAsync(TextWriter output, TextWriter error, Uri server, string collection, string file, double? threshold, int topK,
        bool exhaustive, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"compare: {e.Message}");
            return CompareCli.InputError;
        }

        return await CallAsync(error, server, async () =>
        {
            using GrpcChannel channel = ServerClient.Channel(server);
            var request = new FindSimilarRequest { Collection = collection, Query = new DocumentRef { Text = text }, TopK = topK, Exhaustive = exhaustive };
            if (threshold is { } t)
            {
                request.Threshold = t;
            }

            FindSimilarResponse found = await new SimilarityService.SimilarityServiceClient(channel)
                .FindSimilarAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (SimilarityMatch m in found.Matches)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.Jaccard:F4}\t{m.ContainmentOfQuery:F4}\t{m.ContainmentOfMatch:F4}\t{m.Id}"));
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare: {found.Matches.Count} matches at Jaccard ≥ {found.Threshold:F2} (columns: jaccard, containment of the file, containment of the match, id)."));
            return CompareCli.Ok;
        }).ConfigureAwait(false);
    }

    /// <summary>Runs a command: Ctrl-C exits 130, a refusal or an unreachable server exits 3 with the status.</summary>
    internal static async Task<int> CallAsync(TextWriter error, Uri? server, Func<Task<int>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("compare: cancelled.");
            return CompareCli.Cancelled;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            error.WriteLine($"compare: the server at {server} answered {e.StatusCode}: {e.Status.Detail}");
            return CompareCli.ServerError;
        }
    }
}
