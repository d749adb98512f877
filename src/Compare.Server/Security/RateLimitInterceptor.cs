using System.Globalization;
using System.Threading.RateLimiting;
using Compare.Server.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Compare.Server.Security;

/// <summary>
/// A token bucket per caller for compare.v1 calls. A refused call is RESOURCE_EXHAUSTED with the
/// limit and a retry-after-ms trailer: ASP.NET Core's rate-limiting middleware would answer HTTP
/// 503, which gRPC clients see as UNAVAILABLE, a status they retry at once.
/// </summary>
internal sealed class RateLimitInterceptor(CallerRateLimiter limiter) : ServerCallInterceptor
{
    public const string RetryAfterTrailer = "retry-after-ms";

    protected override Task<T> InterceptAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        if (limiter.Limiter is not { } buckets || !context.Method.StartsWith("/compare.v1.", StringComparison.Ordinal))
        {
            return call();
        }

        using RateLimitLease lease = buckets.AttemptAcquire(Caller.Of(context));
        if (!lease.IsAcquired)
        {
            TimeSpan retry = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after) ? after : TimeSpan.FromSeconds(1);
            context.ResponseTrailers.Add(RetryAfterTrailer, ((long)Math.Ceiling(retry.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
            // The JSON routes answer 429, whose clients read HTTP's Retry-After (whole seconds) rather than a gRPC trailer.
            if (context.GetHttpContext().Response is { HasStarted: false } http)
            {
                http.Headers.RetryAfter = ((long)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            throw new RpcException(new Status(StatusCode.ResourceExhausted, string.Create(CultureInfo.InvariantCulture,
                $"Rate limit exceeded: each caller may make {limiter.PermitsPerSecond} calls per second, {limiter.Burst} at once (Security:RateLimit). Retry in {retry.TotalMilliseconds:F0} ms.")));
        }

        return call();
    }
}

/// <summary>The process-wide buckets, one per caller; null when rate limiting is off.</summary>
internal sealed class CallerRateLimiter : IDisposable
{
    public CallerRateLimiter(IOptions<SecurityOptions> options)
    {
        RateLimitOptions rate = options.Value.RateLimit;
        PermitsPerSecond = rate.PermitsPerSecond;
        Burst = rate.Burst > 0 ? rate.Burst : rate.PermitsPerSecond;
        if (PermitsPerSecond > 0)
        {
            Limiter = PartitionedRateLimiter.Create<string, string>(caller => RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = Burst,
                TokensPerPeriod = PermitsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }
    }

    public PartitionedRateLimiter<string>? Limiter { get; }

    public int PermitsPerSecond { get; }

    public int Burst { get; }

    public void Dispose() => Limiter?.Dispose();
}
