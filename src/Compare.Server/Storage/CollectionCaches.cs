using System.Collections.Concurrent;

namespace Compare.Server.Storage;

/// <summary>What a replica remembers by collection (a record, settings, a count of ranges), bounded one way everywhere.</summary>
internal static class CollectionCaches
{
    /// <summary>The most collections one cache holds.</summary>
    public const int MaxCollections = 4_096;

    /// <summary>
    /// Puts <paramref name="value"/> in <paramref name="cache"/>, emptied first when it holds <see cref="MaxCollections"/>:
    /// a bound on what it holds, whatever names come and go; it fills again one round trip a collection.
    /// </summary>
    public static void Remember<T>(this ConcurrentDictionary<string, T> cache, string key, T value)
    {
        if (cache.Count >= MaxCollections)
        {
            cache.Clear();
        }

        cache[key] = value;
    }
}
