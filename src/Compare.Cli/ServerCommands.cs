using System.Globalization;
using Compare.Cli.Input;
using Compare.Client;
using Compare.V1;
using Grpc.Core;

namespace Compare.Cli;

/// <summary>compare index and compare similar: a corpus into a server's collection, and a file's near-duplicates from it.</summary>
internal static class ServerCommands
{
    public static Task<int> IndexAsync(TextWriter error, Uri server, string collection, NewCollection? create, IReadOnlyList<InputSpec> inputs, bool strict,
        CancellationToken cancellationToken) => CallAsync(error, server, async () =>
        {
            try
            {
                using var corpus = new CorpusFile(inputs, strict, error, withMetadata: true);
                using CompareClient client = ServerClient.Connect(server);
                if (create is not null)
                {
                    await ServerClient.EnsureCollectionAsync(client, collection, create, error, cancellationToken).ConfigureAwait(false);
                }

                StreamUpsertDocumentsResponse done = await ProgressDisplay.RunAsync(error, corpus.Position,
                    progress => ServerClient.UploadAsync(client, collection, corpus, strict, progress, cancellationToken)).ConfigureAwait(false);
                corpus.EnsureSomethingRead();
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"compare: {Counted.Of(done.DocumentCount, "document")} sent: {done.CreatedCount:N0} created, {done.UpdatedCount:N0} updated, {done.UnchangedCount:N0} unchanged; {Counted.Of(corpus.Skipped, "record skipped", "records skipped")}."));
                return CompareCli.Ok;
            }
            catch (InputException e)
            {
                error.WriteLine($"compare: {e.Message}");
                return CompareCli.InputError;
            }
        }, createsCollections: true);

    public static Task<int> SimilarAsync(TextWriter output, TextWriter error, Uri server, string collection, string file, double? threshold, int topK,
        bool exhaustive, CancellationToken cancellationToken) =>
        QueryFileAsync(error, server, file, async (client, text) =>
        {
            var request = new FindSimilarRequest { Collection = collection, Query = new DocumentRef { Text = text }, TopK = topK, Exhaustive = exhaustive };
            if (threshold is { } t)
            {
                request.Threshold = t;
            }

            FindSimilarResponse found = await client.Similarity.FindSimilarAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (SimilarityMatch m in found.Matches)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.Jaccard:F4}\t{m.ContainmentOfQuery:F4}\t{m.ContainmentOfMatch:F4}\t{m.Id}"));
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare: {Counted.Of(found.Matches.Count, "match", "matches")} at Jaccard ≥ {found.Threshold:F2} (columns: jaccard, containment of the file, containment of the match, id)."));
            return CompareCli.Ok;
        }, cancellationToken);

    /// <summary>The indexed documents sharing passages with a file, one line each: shared words, coverage of the file and of the match, id, longest passage.</summary>
    public static Task<int> PassagesAsync(TextWriter output, TextWriter error, Uri server, string collection, string file, int minWords, int topK,
        CancellationToken cancellationToken) =>
        QueryFileAsync(error, server, file, async (client, text) =>
        {
            FindSharedPassagesResponse found = await client.FindSharedPassagesAsync(collection, text, minWords, topK, cancellationToken).ConfigureAwait(false);
            foreach (PassageMatch m in found.Matches)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.SharedWordCount}\t{m.CoverageOfQuery:F4}\t{m.CoverageOfMatch:F4}\t{m.Id}\t{Excerpt(m.Passages.FirstOrDefault()?.Text ?? "")}"));
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare: {Counted.Of(found.Matches.Count, "document shares", "documents share")} passages with the file; every shared passage of {found.GuaranteedMinWords}+ words is found{(found.CommonFingerprints > 0 ? $" but for {found.CommonFingerprints} boilerplate fingerprints" : "")}{(found.Truncated ? $"; {found.CandidatesVerified} of {found.CandidatesFound} candidates compared" : "")} (columns: shared words, coverage of the file, coverage of the match, id, longest passage, cut at 120 characters)."));
            return CompareCli.Ok;
        }, cancellationToken);

    /// <summary>
    /// A passage on one terminal line: line breaks as spaces, and past <paramref name="limit"/> characters cut at a word
    /// with an ellipsis (a file that is itself indexed shares all of its text with itself).
    /// </summary>
    internal static string Excerpt(string passage, int limit = 120)
    {
        string line = passage.ReplaceLineEndings(" ");
        if (line.Length <= limit)
        {
            return line;
        }

        int cut = line.LastIndexOf(' ', limit);
        return string.Concat(line.AsSpan(0, cut > 0 ? cut : limit), "…");
    }

    /// <summary>Reads a file to look up (exit 1 when it cannot be read), then asks the server about its text.</summary>
    private static async Task<int> QueryFileAsync(TextWriter error, Uri server, string file, Func<CompareClient, string, Task<int>> ask, CancellationToken cancellationToken)
    {
        if (TextFile.Read(file, out string? problem) is not { } text)
        {
            error.WriteLine($"compare: {problem}");
            return CompareCli.InputError;
        }

        return await CallAsync(error, server, async () =>
        {
            using CompareClient client = ServerClient.Connect(server);
            return await ask(client, text).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a command: Ctrl-C exits 130, a refusal or an unreachable server exits 3 with the status in plain words (for a
    /// missing collection, that --create makes one when the command has it: <paramref name="createsCollections"/>).
    /// </summary>
    internal static async Task<int> CallAsync(TextWriter error, Uri? server, Func<Task<int>> call, bool createsCollections = false)
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
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is { } unreachable)
        {
            // The connection failed (refused, no route, name unknown): the innermost exception says how.
            string why = unreachable.GetBaseException().Message.ReplaceLineEndings(" ").TrimEnd('.');
            error.WriteLine($"compare: cannot reach a Compare server at {server} ({why}). Is it running, and is that its address? Start one with: dotnet run -c Release --project src/Compare.Server");
            return CompareCli.ServerError;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Internal && e.Status.DebugException is HttpRequestException exchange)
        {
            // The call never began: something answered, but not gRPC over HTTP/2 (a web server, TLS on one side only).
            string why = exchange.GetBaseException().Message.ReplaceLineEndings(" ").TrimEnd('.');
            error.WriteLine($"compare: what answers at {server} does not speak gRPC ({why}). Is it a Compare server? It serves http:// (HTTP/2 without TLS) unless a TLS proxy stands in front of it.");
            return CompareCli.ServerError;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            string hint = e.StatusCode switch
            {
                StatusCode.NotFound when createsCollections && e.Status.Detail.Contains("collection", StringComparison.OrdinalIgnoreCase) => " (--create creates it)",
                StatusCode.Unauthenticated => $" (set {ServerClient.ApiKeyVariable} to the key)",
                _ => "",
            };
            error.WriteLine($"compare: the server at {server} answered {e.StatusCode}: {e.Status.Detail}{hint}");
            return CompareCli.ServerError;
        }
    }
}
