using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Compare.Server.Hosting;

/// <summary>
/// An interceptor that wraps every kind of server call (unary, client, server and duplex
/// streaming) the same way, so each concern is written once.
/// </summary>
internal abstract class ServerCallInterceptor : Interceptor
{
    /// <summary>Runs <paramref name="call"/>, the rest of the pipeline, for the call described by <paramref name="context"/>.</summary>
    protected abstract Task<T> InterceptAsync<T>(ServerCallContext context, Func<Task<T>> call);

    public sealed override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) => InterceptAsync(context, () => continuation(request, context));

    public sealed override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        InterceptAsync(context, () => continuation(requestStream, context));

    public sealed override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        InterceptAsync(context, async () =>
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
            return true;
        });

    public sealed override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        InterceptAsync(context, async () =>
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
            return true;
        });
}
