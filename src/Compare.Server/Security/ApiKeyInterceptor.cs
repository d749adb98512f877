using System.Security.Cryptography;
using System.Text;
using Compare.Server.Hosting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Compare.Server.Security;

/// <summary>
/// Requires a configured API key on compare.v1 calls (and on health and reflection when asked).
/// Keys are kept as SHA-256 digests and compared in constant time against every key, so neither
/// the timing nor the logs reveal a key; a caller is named by its key's position ("key-2").
/// </summary>
internal sealed class ApiKeyInterceptor : ServerCallInterceptor
{
    private readonly byte[][] _digests;
    private readonly SecurityOptions _options;

    public ApiKeyInterceptor(IOptions<SecurityOptions> options)
    {
        _options = options.Value;
        _digests = [.. _options.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
    }

    protected override Task<T> InterceptAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        if (_digests.Length > 0 && Protects(context.Method))
        {
            string presented = Presented(context.RequestHeaders)
                ?? throw new RpcException(new Status(StatusCode.Unauthenticated,
                    "This server requires an API key: send the header 'authorization: Bearer KEY' or 'x-api-key: KEY'."));
            int key = Match(presented);
            if (key == 0)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "The API key is not valid."));
            }

            context.UserState[Caller.Key] = $"key-{key}";
        }

        return call();
    }

    private bool Protects(string method) =>
        method.StartsWith("/grpc.health.", StringComparison.Ordinal) ? _options.RequireKeyForHealth
        : method.StartsWith("/grpc.reflection.", StringComparison.Ordinal) ? _options.RequireKeyForReflection
        : true;

    private static string? Presented(Metadata headers)
    {
        if (headers.GetValue("authorization") is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        return headers.GetValue("x-api-key")?.Trim();
    }

    /// <summary>The 1-based position of the matching key, or 0; every key is compared, whatever matches.</summary>
    private int Match(string presented)
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

/// <summary>Who is calling, for rate limits and logs: the API key's name, or the client's address.</summary>
internal static class Caller
{
    public const string Key = "compare.caller";

    public static string Of(ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out object? name) && name is string key ? key : Address(context.Peer);

    // "ipv4:127.0.0.1:5123" or "ipv6:[::1]:5123": the address without the port.
    private static string Address(string peer)
    {
        int port = peer.LastIndexOf(':');
        return port > 0 && peer.IndexOf(':', StringComparison.Ordinal) < port ? peer[..port] : peer;
    }
}
