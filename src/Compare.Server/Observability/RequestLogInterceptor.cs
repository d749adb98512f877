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

    /// <summary>The same line and samples for a call turned away before the gRPC pipeline saw it (see <see cref="ApiKeyGate"/>).</summary>
    public static void TurnedAway(HttpContext http, StatusCode status, TimeSpan elapsed)
    {
        var metrics = http.RequestServices.GetRequiredService<CompareMetrics>();
        ILogger logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        string method = http.Request.Path;
        metrics.CallStarted();
        metrics.CallFinished(method, status, elapsed);
        Log.Call(logger, method, status, elapsed.TotalMilliseconds, Caller.OfAddress(http.Connection.RemoteIpAddress));
    }

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
