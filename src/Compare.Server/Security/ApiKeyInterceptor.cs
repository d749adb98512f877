using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Compare.Server.Hosting;
using Compare.Server.Observability;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Compare.Server.Security;

/// <summary>
/// The configured API keys and which calls need one. Keys are kept as SHA-256 digests and compared in constant time
/// against every key, so neither the timing nor the logs reveal a key; a caller is named by its key's position ("key-2").
/// </summary>
internal sealed class ApiKeys
{
    public const string Missing = "This server requires an API key: send the header 'authorization: Bearer KEY' or 'x-api-key: KEY'.";
    public const string Invalid = "The API key is not valid.";

    private readonly byte[][] _digests;
    private readonly SecurityOptions _options;

    public ApiKeys(IOptions<SecurityOptions> options)
    {
        _options = options.Value;
        _digests = [.. _options.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
    }

    /// <summary>Whether <paramref name="path"/> (a gRPC method "/package.Service/Method", or a probe's path) needs a key.</summary>
    public bool Protects(string path) =>
        _digests.Length > 0 && (path.StartsWith("/grpc.health.", StringComparison.Ordinal) || path is Probes.AlivePath or Probes.ReadyPath
            ? _options.RequireKeyForHealth
            : path.StartsWith("/grpc.reflection.", StringComparison.Ordinal) ? _options.RequireKeyForReflection
            : path is Probes.MetricsPath ? _options.RequireKeyForMetrics
            : true);

    /// <summary>The key a request presents through <paramref name="header"/>, or null.</summary>
    public static string? Presented(Func<string, string?> header)
    {
        if (header("authorization") is { } authorization && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        return header("x-api-key")?.Trim();
    }

    /// <summary>The 1-based position of the matching key, or 0; every key is compared, whatever matches.</summary>
    public int Match(string presented)
    {
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        int found = 0;
        for (int i = 0; i < _digests.Length; i++)
        {
            found |= CryptographicOperations.FixedTimeEquals(digest, _digests[i]) ? i + 1 : 0;
        }

        return found;
    }
}

/// <summary>
/// Requires a configured API key on compare.v1 calls (and on health and reflection when asked), whichever way they
/// come: gRPC (where <see cref="ApiKeyGate"/> has already turned keyless calls away before reading their bodies) and
/// the JSON routes.
/// </summary>
internal sealed class ApiKeyInterceptor(ApiKeys keys) : ServerCallInterceptor
{
    protected override Task<T> InterceptAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        if (keys.Protects(context.Method))
        {
            string presented = ApiKeys.Presented(context.RequestHeaders.GetValue)
                ?? throw new RpcException(new Status(StatusCode.Unauthenticated, ApiKeys.Missing));
            int key = keys.Match(presented);
            if (key == 0)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, ApiKeys.Invalid));
            }

            context.UserState[Caller.Key] = $"key-{key}";
        }

        return call();
    }
}

/// <summary>
/// Turns a gRPC call without a valid key away before anything reads its body: grpc-dotnet inflates and parses a
/// request before interceptors run, so a keyless stranger could otherwise make the server inflate a compressed
/// request (a 59 KB gzip message inflating to 60 MB) for free. Answers UNAUTHENTICATED as trailers only. The HTTP
/// probes and /metrics, which no interceptor sees, are guarded here too: 401 with the same message.
/// </summary>
internal static class ApiKeyGate
{
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        long started = Stopwatch.GetTimestamp();
        ApiKeys keys = context.RequestServices.GetRequiredService<ApiKeys>();
        bool grpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
        if ((grpc || Probes.IsProbe(context.Request.Path)) && keys.Protects(context.Request.Path))
        {
            string? presented = ApiKeys.Presented(name => context.Request.Headers.TryGetValue(name, out StringValues value) ? value.ToString() : null);
            string? refusal = presented is null ? ApiKeys.Missing : keys.Match(presented) == 0 ? ApiKeys.Invalid : null;
            if (refusal is not null && grpc)
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = ((int)StatusCode.Unauthenticated).ToString(CultureInfo.InvariantCulture);
                context.Response.Headers["grpc-message"] = Uri.EscapeDataString(refusal);
                await context.Response.CompleteAsync().ConfigureAwait(false);
                RequestLogInterceptor.TurnedAway(context, StatusCode.Unauthenticated, Stopwatch.GetElapsedTime(started));
                return;
            }

            if (refusal is not null)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsync(refusal + "\n").ConfigureAwait(false);
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }
}

/// <summary>Who is calling, for rate limits and logs: the API key's name, or the client's address.</summary>
internal static class Caller
{
    public const string Key = "compare.caller";

    public static string Of(ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out object? name) && name is string key ? key : Address(context.Peer);

    /// <summary>An address as <see cref="Of"/> names it: "ipv4:127.0.0.1", "ipv6:[::1]".</summary>
    public static string OfAddress(System.Net.IPAddress? address) => address switch
    {
        null => "unknown",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } when address.IsIPv4MappedToIPv6 => $"ipv4:{address.MapToIPv4()}",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } => $"ipv6:[{address}]",
        _ => $"ipv4:{address}",
    };

    // "ipv4:127.0.0.1:5123" or "ipv6:[::1]:5123": the address without the port.
    private static string Address(string peer)
    {
        int port = peer.LastIndexOf(':');
        return port > 0 && peer.IndexOf(':', StringComparison.Ordinal) < port ? peer[..port] : peer;
    }
}
