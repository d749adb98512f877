using System.IO.Hashing;
using System.Runtime.InteropServices;
using Compare.Server.Hosting;
using Compare.V1;
using Google.Protobuf;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;

namespace Compare.Server.Application;

/// <summary>
/// Compare results in <see cref="IDistributedCache"/> (Redis when configured, memory otherwise),
/// keyed by a 128-bit hash of both texts and every option that shapes the answer: a changed
/// document has another key, so it never gets a stale result. A failing cache is skipped, never an error.
/// </summary>
internal sealed class CompareResultCache(IDistributedCache cache, IOptions<CacheOptions> options, ILogger<CompareResultCache> logger)
{
    private readonly CacheOptions _options = options.Value;

    public bool Enabled => _options.Enabled;

    /// <summary>The key of a comparison: both texts, in order, and a description of the options.</summary>
    public static string Key(string leftText, string rightText, string optionsDescription)
    {
        var hash = new XxHash128();
        foreach (string part in (ReadOnlySpan<string>)[leftText, rightText, optionsDescription])
        {
            hash.Append(BitConverter.GetBytes(part.Length));
            hash.Append(MemoryMarshal.AsBytes(part.AsSpan()));
        }

        return "compare:v1:" + Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    public async Task<CompareResponse?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            byte[]? bytes = await cache.GetAsync(key, cancellationToken).WaitAsync(_options.Timeout, cancellationToken).ConfigureAwait(false);
            return bytes is null ? null : CompareResponse.Parser.ParseFrom(bytes);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.CacheFailed(logger, e.Message);
            return null;
        }
    }

    public async Task SetAsync(string key, CompareResponse response, CancellationToken cancellationToken)
    {
        try
        {
            await cache.SetAsync(key, response.ToByteArray(), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = _options.TimeToLive }, cancellationToken)
                .WaitAsync(_options.Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.CacheFailed(logger, e.Message);
        }
    }
}
