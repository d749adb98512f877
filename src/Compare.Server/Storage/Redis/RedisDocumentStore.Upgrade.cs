using Compare.Core.Indexing;
using Compare.Core.Shingling;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>Collections of an earlier layout, rebuilt in this one.</summary>
public sealed partial class RedisDocumentStore
{
    private const int UpgradeChunk = 256;

    /// <summary>
    /// A collection of layout 1 to 4 rebuilt in this layout under a new generation, from what every earlier layout kept:
    /// its records (JSON) and versions (text). Under the old generation's write lease, so writers wait; reads go on in the
    /// old generation until the record switches, and its keys are deleted after. Documents get handles in their order of
    /// writes (versions from before sequence numbers first, by creation time), so a run resumed after a crash gives the same
    /// answers. A record that cannot be read is carried over as it is, with its version: still listed and counted, and
    /// reported damaged when read, as before. An upgrade cut short leaves its generation named in the old one, and the next
    /// attempt deletes it first. Stop replicas of an older version first: they would write the old layout.
    /// </summary>
    private async Task UpgradeAsync(RedisCollection record)
    {
        if (record.Layout == 5)
        {
            await UpgradePassagesAsync(record).ConfigureAwait(false);
            return;
        }

        var old = new RedisKeys(keyPrefix, record);
        await using Writer writer = await OpenWriterAsync(record, CancellationToken.None).ConfigureAwait(false);
        if ((await FindAsync(record.Name).ConfigureAwait(false))?.Serialize() != record.Serialize())
        {
            return; // upgraded, or deleted, while this call waited for the lease
        }

        if ((string?)await Db.StringGetAsync(old.UpgradingTo).ConfigureAwait(false) is { } abandoned)
        {
            await DeleteKeysAsync(new RedisKeys(keyPrefix, record with { Generation = abandoned, Layout = Layout }).Pattern).ConfigureAwait(false);
        }

        RedisCollection upgraded = record with { Generation = RedisCollection.NewGeneration(), Layout = Layout };
        await Db.StringSetAsync(old.UpgradingTo, upgraded.Generation).ConfigureAwait(false);
        var keys = new RedisKeys(keyPrefix, upgraded);
        (long sequence, long textBytes, DocumentFrequencySketch frequencies) = await CopyDocumentsAsync(old, keys, upgraded.Settings, writer).ConfigureAwait(false);

        // The new generation's counters, then the switch: one key, so that it is one slot's transaction in a cluster too.
        await Task.WhenAll(
            Db.StringSetAsync(keys.Config, upgraded.Serialize()),
            Db.StringSetAsync(keys.Sequence, sequence),
            Db.StringSetAsync(keys.TextBytes, textBytes),
            Db.StringSetAsync(keys.Frequencies, frequencies.ToBigEndian())).ConfigureAwait(false);
        await writer.EnsureHeldAsync($"Upgrading collection '{record.Name}' to Redis layout {Layout}").ConfigureAwait(false);
        ITransaction switching = Db.CreateTransaction();
        switching.AddCondition(Condition.HashEqual(CollectionsKey, record.Name, record.Serialize()));
        _ = switching.HashSetAsync(CollectionsKey, record.Name, upgraded.Serialize());
        if (await ExecuteAsync(switching, CollectionsKey, queuedBytes: 1024).ConfigureAwait(false))
        {
            await DeleteKeysAsync(old.Pattern).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A collection of layout 5 brought to this one in place: layout 5 differs only in its passage index, whose sets are read
    /// and written again as this layout's strings, named from the last handle (a SCAN may return a key twice, which would
    /// append its entries twice). Under the write lease, as <see cref="UpgradeAsync"/>: reads of an older replica go on in
    /// the sets until the record switches, and the sets are deleted after. An upgrade cut short leaves strings that the
    /// next attempt deletes first.
    /// </summary>
    private async Task UpgradePassagesAsync(RedisCollection record)
    {
        var keys = new RedisKeys(keyPrefix, record);
        string work = $"Upgrading collection '{record.Name}' to Redis layout {Layout}";
        await using Writer writer = await OpenWriterAsync(record, CancellationToken.None).ConfigureAwait(false);
        if ((await FindAsync(record.Name).ConfigureAwait(false))?.Serialize() != record.Serialize())
        {
            return; // upgraded, or deleted, while this call waited for the lease
        }

        await DeleteKeysAsync(keys.PassagePattern).ConfigureAwait(false);
        long ranges = Layout5PassageEntry.RangesUpTo((long?)await Db.StringGetAsync(keys.Sequence).ConfigureAwait(false) ?? 0);
        (int Group, long Range)[] sets = [.. Enumerable.Range(0, Layout5PassageEntry.Groups).SelectMany(g => Enumerable.Range(0, (int)ranges).Select(r => (g, (long)r)))];
        foreach ((int Group, long Range)[] chunk in sets.Chunk(UpgradeChunk * 16))
        {
            await writer.EnsureHeldAsync(work).ConfigureAwait(false);
            IBatch batch = Db.CreateBatch();
            Task<RedisValue[]>[] members = [.. chunk.Select(s => batch.SetMembersAsync(keys.Layout5PassageGroup(s.Group, s.Range)))];
            batch.Execute();
            var entries = new IndexChanges(keys);
            for (int i = 0; i < chunk.Length; i++)
            {
                foreach (RedisValue member in await members[i].ConfigureAwait(false))
                {
                    (uint fingerprint, long handle) = Layout5PassageEntry.Decode(chunk[i].Group, chunk[i].Range, (long)member);
                    entries.AddPassage(fingerprint, handle);
                }
            }

            PipelineCommands pipeline = PipelineCommands.Pipeline(Db);
            await entries.WriteToAsync(Db, pipeline).ConfigureAwait(false);
            await pipeline.ExecuteAsync().ConfigureAwait(false);
        }

        RedisCollection upgraded = record with { Layout = Layout };
        await Db.StringSetAsync(keys.Config, upgraded.Serialize()).ConfigureAwait(false);
        await writer.EnsureHeldAsync(work).ConfigureAwait(false);
        ITransaction switching = Db.CreateTransaction();
        switching.AddCondition(Condition.HashEqual(CollectionsKey, record.Name, record.Serialize()));
        _ = switching.HashSetAsync(CollectionsKey, record.Name, upgraded.Serialize());
        if (await ExecuteAsync(switching, CollectionsKey, queuedBytes: 1024).ConfigureAwait(false))
        {
            foreach ((int Group, long Range)[] chunk in sets.Chunk(1000))
            {
                await Db.KeyDeleteAsync([.. chunk.Select(s => keys.Layout5PassageGroup(s.Group, s.Range))]).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Every document of <paramref name="old"/> written into <paramref name="keys"/> in this layout, in order of writes.</summary>
    private async Task<(long Sequence, long TextBytes, DocumentFrequencySketch Frequencies)> CopyDocumentsAsync(RedisKeys old, RedisKeys keys, CollectionSettings settings,
        Writer writer)
    {
        var versions = new Dictionary<string, (ulong ContentHash, int Utf8Length, long CreateTime, long Sequence)>(StringComparer.Ordinal);
        await foreach (HashEntry entry in Db.HashScanAsync(old.Versions, pageSize: 1000).ConfigureAwait(false))
        {
            versions[entry.Name!] = LegacyRecords.Version(entry.Value!);
        }

        // The order of writes: by sequence number, then creation time, then id.
        List<string> order = [.. versions.Keys];
        order.Sort((a, b) => (versions[a].Sequence, versions[a].CreateTime).CompareTo((versions[b].Sequence, versions[b].CreateTime)) is var c and not 0 ? c : string.CompareOrdinal(a, b));
        DocumentSketcher sketcher = sketchers.For(settings.Parameters);
        var frequencies = new DocumentFrequencySketch();
        long sequence = 0, textBytes = 0;
        foreach (string[] chunk in order.Chunk(UpgradeChunk))
        {
            await writer.EnsureHeldAsync($"Upgrading collection {old.Tag} to Redis layout {Layout}").ConfigureAwait(false);
            RedisValue[] documents = await Db.HashGetAsync(old.Documents, [.. chunk.Select(id => (RedisValue)id)]).ConfigureAwait(false);
            PipelineCommands pipeline = PipelineCommands.Pipeline(Db);
            var entries = new IndexChanges(keys);
            for (int i = 0; i < chunk.Length; i++)
            {
                if (documents[i].IsNull)
                {
                    continue;
                }

                long handle = ++sequence;
                (ulong contentHash, int utf8Length, long createTime, _) = versions[chunk[i]];
                RedisDocumentRecord? document = LegacyRecords.Record(documents[i]);
                (DocumentSketch? sketch, uint[] passages) = document is null ? (null, []) : sketcher.SketchWithPassages(document.Text);
                textBytes += utf8Length;
                pipeline.HashSet(keys.Versions, chunk[i], new RedisVersion(contentHash, utf8Length, createTime, handle, passages.Length).Encode());
                pipeline.HashSet(keys.Documents, chunk[i], document?.Encode() ?? (byte[])documents[i]!);
                pipeline.HashSet(keys.HandleChunk(handle), RedisKeys.HandleField(handle), chunk[i]);
                pipeline.SortedSetAdd(keys.Ids, chunk[i]);
                if (sketch is not null)
                {
                    entries.Add(sketch, passages, settings.Lsh, handle);
                    frequencies.Add(sketch.Shingles);
                }
            }

            await entries.WriteToAsync(Db, pipeline).ConfigureAwait(false);
            await pipeline.ExecuteAsync().ConfigureAwait(false);
        }

        return (sequence, textBytes, frequencies);
    }
}
