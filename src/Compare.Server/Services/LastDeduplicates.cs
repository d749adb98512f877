using System.Collections.Concurrent;
using Compare.V1;

namespace Compare.Server.Services;

/// <summary>
/// Each collection's last finished Deduplicate, in this server's memory: what the collection page shows
/// after a Deduplicate, whoever ran it. Kept per collection incarnation, so a collection deleted and
/// created again under the same name does not inherit its predecessor's clusters.
/// </summary>
internal sealed class LastDeduplicates
{
    private readonly ConcurrentDictionary<string, (DateTimeOffset CollectionCreated, GetLastDeduplicateResponse Result)> _last = new(StringComparer.Ordinal);

    public void Remember(string collection, DateTimeOffset collectionCreated, GetLastDeduplicateResponse result) =>
        _last[collection] = (collectionCreated, result);

    public GetLastDeduplicateResponse? Find(string collection, DateTimeOffset collectionCreated) =>
        _last.TryGetValue(collection, out var last) && last.CollectionCreated == collectionCreated ? last.Result : null;
}
