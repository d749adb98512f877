using System.Diagnostics;
using Compare.Server.Hosting;
using Compare.Server.Security;
using Grpc.Core;

namespace Compare.Server.Observability;

/// <summary>
/// The outermost interceptor: one log line and one metric sample per call, with its method, final
/// status, duration and caller (a key's name or an address, never the key).
/// </summary>
internal sealed class RequestLogInterceptor(ILoggerFactory loggers, CompareMetrics metrics) : ServerCallInterceptor
{
    /// <summary>Log category of the per-call lines, so they can be turned down on their own.</summary>
    public const string Category = "Compare.Server.Requests";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    protected override async Task<T> InterceptAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        long started = Stopwatch.GetTimestamp();
        metrics.CallStarted();
        StatusCode status = StatusCode.Unknown;
        try
        {
            T result = await call().ConfigureAwait(false);
            status = StatusCode.OK;
            return result;
        }
        catch (RpcException e)
        {
            status = e.StatusCode;
            throw;
        }
        finally
        {
            TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
            metrics.CallFinished(context.Method, status, elapsed);
            Log.Call(_logger, context.Method, status, elapsed.TotalMilliseconds, Caller.Of(context));
        }
    }
}
