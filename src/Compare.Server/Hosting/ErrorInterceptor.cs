using Compare.Server.Application;
using Compare.Server.Storage;
using Compare.Server.Validation;
using Grpc.Core;

namespace Compare.Server.Hosting;

/// <summary>
/// Turns the store's expected failures into precise statuses, and anything unexpected into
/// INTERNAL with the details logged, never sent.
/// </summary>
internal sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : ServerCallInterceptor
{
    protected override async Task<T> InterceptAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
    }

    private RpcException? Translate(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case RpcException:
                return null;
            case CollectionNotFoundException e:
                return RpcErrors.NotFound("compare.v1.Collection", e.Name, e.Message);
            case CollectionExistsException e:
                return RpcErrors.AlreadyExists("compare.v1.Collection", e.Name, e.Message);
            case CollectionChangedException or WriteConflictException:
                return RpcErrors.Aborted(exception.Message);
            case DocumentNotFoundException e:
                return RpcErrors.NotFound("compare.v1.Document", e.Id, e.Message);
            case DocumentDamagedException:
                Log.DataLoss(logger, context.Method, exception.Message);
                return new RpcException(new Status(StatusCode.DataLoss, exception.Message));
            case StoreFormatException:
                // Data written by another version of Compare (a newer Redis layout): retrying will not help, running that version will.
                Log.StoreUnavailable(logger, context.Method, exception.Message);
                return new RpcException(new Status(StatusCode.FailedPrecondition, exception.Message));
            case CapacityExceededException or StoreFullException:
                return new RpcException(new Status(StatusCode.ResourceExhausted, exception.Message));
            case StoreUnavailableException e:
                Log.StoreUnavailable(logger, context.Method, e.Message);
                return new RpcException(new Status(StatusCode.Unavailable, e.Message));
            // A client that resets its stream or goes away aborts the call's reads and writes: its doing, not a failure of ours.
            case OperationCanceledException or IOException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled or its deadline passed."));
            default:
                Log.Unexpected(logger, context.Method, exception);
                return new RpcException(new Status(StatusCode.Internal, "Compare failed unexpectedly; the server log has the details."));
        }
    }
}
