using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// The id of each version handle this replica has read, by the collection's key tag: a passage search then asks Redis
/// only for the handles it has not met (a round trip fewer, most of the time, on a collection queried often).
/// <para>
/// What a handle names never changes: it is given once, from the collection's sequence, by the transaction that writes
/// the version, under keys whose tag holds the collection's generation, so a recreated or rebuilt collection has other
/// keys. That holds while Redis keeps every write it acknowledged; a restart from an older snapshot or a failover to a
/// replica that lagged may lose some, and their handles be given again. Both cut this replica's connection or change the
/// topology it sees, and then everything here is forgotten.
/// </para>
/// <para>
/// A handle whose version has since been replaced or deleted still names its id (Redis would answer none): a search reads
/// the document's current text and compares it word by word, so it answers exactly all the same. Bounded: emptied when it
/// holds <see cref="MaxEntries"/>.
/// </para>
/// </summary>
internal sealed class RedisHandleIds
{
    /// <summary>The most handles remembered, over every collection: about 25 MB at most.</summary>
    public const int MaxEntries = 1 << 18;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, string>> _byTag = new(StringComparer.Ordinal);

    private int _count;

    // Counts the times everything was forgotten: ids read before one are not remembered after it.
    private long _epoch;

    /// <summary>An empty memory that forgets everything whenever <paramref name="redis"/> loses a connection, regains one, or sees its topology change.</summary>
    public RedisHandleIds(IConnectionMultiplexer redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        redis.ConnectionFailed += (_, _) => Clear();
        redis.ConnectionRestored += (_, _) => Clear();
        redis.ConfigurationChanged += (_, _) => Clear();
        redis.ConfigurationChangedBroadcast += (_, _) => Clear();
    }

    /// <summary>Taken before reading ids from Redis and given back to <see cref="Add"/>: ids read before a fault are not remembered after it.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>The id remembered for <paramref name="handle"/> under <paramref name="tag"/>, if any.</summary>
    public bool TryGet(string tag, long handle, out string? id)
    {
        id = null;
        return _byTag.TryGetValue(tag, out ConcurrentDictionary<long, string>? ids) && ids.TryGetValue(handle, out id);
    }

    /// <summary>Remembers the id Redis gave for <paramref name="handle"/> under <paramref name="tag"/>, read since <paramref name="epoch"/>.</summary>
    public void Add(string tag, long handle, string id, long epoch)
    {
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            Clear();
        }

        ConcurrentDictionary<long, string> ids = _byTag.GetOrAdd(tag, static _ => new ConcurrentDictionary<long, string>());
        // Checked after the dictionary is found: a Clear from here on removes what is added.
        if (Epoch == epoch && ids.TryAdd(handle, id))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Forgets every handle.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _epoch);
        _byTag.Clear();
        Volatile.Write(ref _count, 0);
    }
}
