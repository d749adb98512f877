using System.Globalization;
using Grpc.Core;

namespace Compare.Server.Services;

/// <summary>
/// A server stream whose writes may each wait at most <paramref name="timeout"/> for the client to read: past that the
/// call is aborted (its HTTP/2 stream reset), so a client that stops reading gives back what the call holds.
/// </summary>
internal sealed class StallGuardedStream<T>(IServerStreamWriter<T> stream, ServerCallContext context, TimeSpan timeout)
{
    public async Task WriteAsync(T message)
    {
        Task write = stream.WriteAsync(message, context.CancellationToken);
        try
        {
            await write.WaitAsync(timeout, context.CancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            context.GetHttpContext().Abort();
            // The abort fails the pending write; observe it so that it is not reported as unobserved.
            _ = write.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new RpcException(new Status(StatusCode.Cancelled, string.Create(CultureInfo.InvariantCulture,
                $"The client read nothing for {timeout.TotalSeconds:0.#} s (Limits:StalledStreamTimeout); the call was aborted.")));
        }
    }
}
