using Compare.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compare.Server.Tests;

/// <summary>
/// Writers upserting one document a call through a store's outage: some acknowledged before it, the store broken, calls
/// refused, the store mended, more acknowledged after. Every refusal must be UNAVAILABLE and every acknowledged document
/// must be stored at the end.
/// </summary>
internal static class OutageDrill
{
    /// <param name="channel">The server the writers call.</param>
    /// <param name="writers">How many write at once.</param>
    /// <param name="acknowledgedEachSide">How many writes are acknowledged before the outage, and again after it.</param>
    /// <param name="breakStore">Starts the outage.</param>
    /// <param name="whileDown">Runs once writes are being refused.</param>
    /// <param name="mendStore">Ends the outage; the server is then waited for until it serves.</param>
    public static async Task RunAsync(GrpcChannel channel, int writers, int acknowledgedEachSide, Func<Task> breakStore, Func<Task> whileDown, Func<Task> mendStore)
    {
        var documents = new DocumentService.DocumentServiceClient(channel);
        string[] texts = [.. TestData.BbcCorpus().Take(300).Select(d => d.Text)];
        var acknowledged = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var refusals = new System.Collections.Concurrent.ConcurrentDictionary<StatusCode, int>();
        using var stop = new CancellationTokenSource();
        Task[] running = [.. Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                string id = $"w{w}-{n}";
                try
                {
                    await documents.UpsertDocumentsAsync(ServerFixture.Batch(string.Empty, [(id, texts[((w * 97) + n) % texts.Length])]), deadline: DateTime.UtcNow.AddSeconds(10));
                    acknowledged.Enqueue(id);
                }
                catch (RpcException e)
                {
                    refusals.AddOrUpdate(e.StatusCode, 1, (_, c) => c + 1);
                    await Task.Delay(20);
                }
            }
        }))];

        await WaitForAsync(() => acknowledged.Count >= acknowledgedEachSide);
        await breakStore();
        await WaitForAsync(() => refusals.Values.Sum() >= 20);
        await whileDown();
        await mendStore();
        await ServerFixture.WaitUntilServingAsync(channel);
        int recovered = acknowledged.Count;
        await WaitForAsync(() => acknowledged.Count >= recovered + acknowledgedEachSide);
        await stop.CancelAsync();
        await Task.WhenAll(running);

        Assert.Equal([StatusCode.Unavailable], refusals.Keys);
        var stored = new HashSet<string>();
        string token = string.Empty;
        do
        {
            ListDocumentsResponse page = await documents.ListDocumentsAsync(new ListDocumentsRequest { PageSize = 1000, PageToken = token });
            stored.UnionWith(page.Documents.Select(d => d.Id));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Subset(stored, acknowledged.ToHashSet());
    }

    /// <summary>Waits up to a minute for <paramref name="condition"/>.</summary>
    public static async Task WaitForAsync(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !condition(); await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the writers");
        }
    }
}
