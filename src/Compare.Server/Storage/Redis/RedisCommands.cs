using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// The commands of one write to a collection's keys, queued on a pipeline, a MULTI/EXEC transaction or a script
/// (<see cref="PipelineCommands"/>, <see cref="FencedScriptCommands"/>), so that a write is built once whichever runs it.
/// Each queue keeps an estimate of what holding its commands takes in Redis.
/// </summary>
internal abstract class RedisCommands
{
    // What Redis holds for a queued command or argument besides its bytes (its object and string headers), about.
    protected const int PerArgumentBytes = 64;

    /// <summary>About how many bytes holding the queued commands takes in Redis.</summary>
    public long QueuedBytes { get; protected set; }

    public abstract void SetAdd(RedisKey key, RedisValue[] members);

    public abstract void SetRemove(RedisKey key, RedisValue[] members);

    public abstract void HashSet(RedisKey key, RedisValue field, RedisValue value);

    public abstract void HashDelete(RedisKey key, RedisValue field);

    public abstract void SortedSetAdd(RedisKey key, RedisValue member);

    public abstract void SortedSetRemove(RedisKey key, RedisValue member);

    public abstract void StringSet(RedisKey key, RedisValue value);

    public abstract void StringAppend(RedisKey key, RedisValue value);

    public abstract void KeyDelete(RedisKey key);

    public abstract void StringIncrement(RedisKey key, long delta);

    /// <summary>Adds each delta to its unsigned 32-bit counter (numbered, as BITFIELD's #n), saturating at 0 and 2^32 - 1.</summary>
    public abstract void SaturatingIncrements(RedisKey key, IReadOnlyList<KeyValuePair<int, int>> deltas);

    /// <summary>Runs the queued commands; false when the write's fence no longer held and nothing was written.</summary>
    public abstract Task<bool> ExecuteAsync();

    protected void Count(int arguments, long valueBytes = 0) => QueuedBytes += ((arguments + 1L) * PerArgumentBytes) + valueBytes;

    protected static string Cell(int cell) => string.Create(CultureInfo.InvariantCulture, $"#{cell}");
}

/// <summary>
/// Commands queued on <paramref name="batch"/>: a pipeline (whose tasks, when <paramref name="tasks"/> is given, are added to
/// it), or a transaction run by <paramref name="execute"/>.
/// </summary>
internal sealed class PipelineCommands(IBatch batch, Func<RedisCommands, Task<bool>> execute, List<Task>? tasks = null) : RedisCommands
{
    /// <summary>Commands sent as one pipeline by <see cref="ExecuteAsync"/>, which waits for every reply.</summary>
    public static PipelineCommands Pipeline(IDatabase db)
    {
        IBatch batch = db.CreateBatch();
        var tasks = new List<Task>();
        return new PipelineCommands(batch, async _ =>
        {
            batch.Execute();
            await Task.WhenAll(tasks).ConfigureAwait(false);
            return true;
        }, tasks);
    }

    public override void SetAdd(RedisKey key, RedisValue[] members) => Add(batch.SetAddAsync(key, members), members.Length);

    public override void SetRemove(RedisKey key, RedisValue[] members) => Add(batch.SetRemoveAsync(key, members), members.Length);

    public override void HashSet(RedisKey key, RedisValue field, RedisValue value) => Add(batch.HashSetAsync(key, field, value), 2, value.Length());

    public override void HashDelete(RedisKey key, RedisValue field) => Add(batch.HashDeleteAsync(key, field), 1);

    public override void SortedSetAdd(RedisKey key, RedisValue member) => Add(batch.SortedSetAddAsync(key, member, 0), 2);

    public override void SortedSetRemove(RedisKey key, RedisValue member) => Add(batch.SortedSetRemoveAsync(key, member), 1);

    public override void StringSet(RedisKey key, RedisValue value) => Add(batch.StringSetAsync(key, value), 1, value.Length());

    public override void StringAppend(RedisKey key, RedisValue value) => Add(batch.StringAppendAsync(key, value), 1, value.Length());

    public override void KeyDelete(RedisKey key) => Add(batch.KeyDeleteAsync(key), 0);

    public override void StringIncrement(RedisKey key, long delta) => Add(batch.StringIncrementAsync(key, delta), 1);

    public override void SaturatingIncrements(RedisKey key, IReadOnlyList<KeyValuePair<int, int>> deltas)
    {
        if (deltas.Count == 0)
        {
            return;
        }

        var args = new List<object>(3 + (deltas.Count * 4)) { key, "OVERFLOW", "SAT" };
        foreach ((int cell, int delta) in deltas)
        {
            args.Add("INCRBY");
            args.Add("u32");
            args.Add(Cell(cell));
            args.Add(delta);
        }

        Add(batch.ExecuteAsync("BITFIELD", args), args.Count);
    }

    public override Task<bool> ExecuteAsync() => execute(this);

    private void Add(Task task, int arguments, long valueBytes = 0)
    {
        tasks?.Add(task);
        Count(arguments, valueBytes);
    }
}

/// <summary>
/// Commands run as one script, atomically, only while the writer's lease still holds the collection's write lock and the
/// collection's copy of its record is still the one the writer opened, as a transaction's WATCH conditions fence a commit. The script may run while Redis is at its maxmemory (flags=allow-oom): there Redis refuses every command queued in
/// a MULTI, even HDEL, so a commit that only deletes goes this way, and deleting documents is how a user makes room.
/// </summary>
internal sealed class FencedScriptCommands : RedisCommands
{
    // Lua's unpack takes a few thousand values at most: longer commands are split (sets) or repeated (counters).
    private const int MaxArguments = 1_000;

    // ARGV: the lease, the config, then each command as its name, the index of its key in KEYS, its argument count and its
    // arguments.
    private const string Script = """
        #!lua flags=allow-oom
        if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
        local i = 3
        while i <= #ARGV do
          local count = tonumber(ARGV[i + 2])
          redis.call(ARGV[i], KEYS[tonumber(ARGV[i + 1])], unpack(ARGV, i + 3, i + 2 + count))
          i = i + 3 + count
        end
        return 1
        """;

    private readonly IDatabase _db;
    private readonly List<RedisKey> _keys;
    private readonly Dictionary<RedisKey, int> _keyNumbers = [];
    private readonly List<RedisValue> _arguments;

    public FencedScriptCommands(IDatabase db, RedisKey writeLock, RedisValue lease, RedisKey config, RedisValue record)
    {
        _db = db;
        _keys = [writeLock, config];
        _keyNumbers[writeLock] = 1;
        _keyNumbers[config] = 2;
        _arguments = [lease, record];
        Count(2, record.Length());
    }

    public override void SetAdd(RedisKey key, RedisValue[] members) => Split("SADD", key, members);

    public override void SetRemove(RedisKey key, RedisValue[] members) => Split("SREM", key, members);

    public override void HashSet(RedisKey key, RedisValue field, RedisValue value) => Command("HSET", key, field, value);

    public override void HashDelete(RedisKey key, RedisValue field) => Command("HDEL", key, field);

    public override void SortedSetAdd(RedisKey key, RedisValue member) => Command("ZADD", key, 0, member);

    public override void SortedSetRemove(RedisKey key, RedisValue member) => Command("ZREM", key, member);

    public override void StringSet(RedisKey key, RedisValue value) => Command("SET", key, value);

    public override void StringAppend(RedisKey key, RedisValue value) => Command("APPEND", key, value);

    public override void KeyDelete(RedisKey key) => Command("DEL", key);

    public override void StringIncrement(RedisKey key, long delta) => Command("INCRBY", key, delta);

    public override void SaturatingIncrements(RedisKey key, IReadOnlyList<KeyValuePair<int, int>> deltas)
    {
        // Each BITFIELD saturates its own increments, so the counters end the same however the increments are split.
        const int PerCommand = (MaxArguments - 2) / 4;
        for (int start = 0; start < deltas.Count; start += PerCommand)
        {
            var args = new List<RedisValue>(2 + (PerCommand * 4)) { "OVERFLOW", "SAT" };
            for (int i = start; i < Math.Min(deltas.Count, start + PerCommand); i++)
            {
                args.AddRange(["INCRBY", "u32", Cell(deltas[i].Key), deltas[i].Value]);
            }

            Command("BITFIELD", key, [.. args]);
        }
    }

    public override async Task<bool> ExecuteAsync() =>
        (long)await _db.ScriptEvaluateAsync(Script, [.. _keys], [.. _arguments]).ConfigureAwait(false) == 1;

    private void Split(string name, RedisKey key, RedisValue[] members)
    {
        for (int start = 0; start < members.Length; start += MaxArguments)
        {
            Command(name, key, members[start..Math.Min(members.Length, start + MaxArguments)]);
        }
    }

    private void Command(string name, RedisKey key, params RedisValue[] args)
    {
        Debug.Assert(args.Length <= MaxArguments);
        if (!_keyNumbers.TryGetValue(key, out int number))
        {
            _keys.Add(key);
            number = _keys.Count;
            _keyNumbers[key] = number;
        }

        _arguments.Add(name);
        _arguments.Add(number);
        _arguments.Add(args.Length);
        _arguments.AddRange(args);
        Count(args.Length + 3, args.Sum(static a => a.Length()));
    }
}
