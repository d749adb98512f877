using Compare.Core.Lsh;

namespace Compare.Core.Tests;

public sealed class BucketHeadsTests
{
    // Keys crowded at the two ends of the key space share home slots and wrap around the table's end; key 0 is kept as 1.
    private static ulong CrowdedKey(Random random) => random.Next(4) switch
    {
        0 => (ulong)random.Next(64),
        1 => ulong.MaxValue - (ulong)random.Next(64),
        _ => (ulong)random.NextInt64() * 2654435761UL,
    };

    [Theory]
    [InlineData(0, 2_000)]
    [InlineData(7, 20_000)]
    [InlineData(64, 50_000)]
    public void GetOrAddSetRemove_RandomOperations_AgreeWithADictionary(int expected, int operations)
    {
        var random = new Random(expected + operations);
        var table = new BucketHeads(expected);
        var reference = new Dictionary<ulong, int>();
        for (int op = 0; op < operations; op++)
        {
            ulong key = CrowdedKey(random);
            ulong stored = key == 0 ? 1 : key;
            switch (random.Next(3))
            {
                case 0:
                    table.GetOrAdd(key, out bool exists) = op;
                    Assert.Equal(reference.ContainsKey(stored), exists);
                    reference[stored] = op;
                    break;
                case 1 when reference.ContainsKey(stored):
                    table.Set(key, -op);
                    reference[stored] = -op;
                    break;
                default:
                    table.Remove(key);
                    reference.Remove(stored);
                    break;
            }

            Assert.Equal(reference.Count, table.Count);
        }

        foreach ((ulong key, int head) in reference)
        {
            Assert.True(table.TryGet(key, out int found));
            Assert.Equal(head, found);
        }

        Assert.Equal(reference.Values.Order(), table.Heads.Order());
        for (int i = 0; i < 1_000; i++)
        {
            ulong key = CrowdedKey(random);
            Assert.Equal(reference.ContainsKey(key == 0 ? 1 : key), table.TryGet(key, out _));
        }
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 255)]
    [InlineData(18, 257)]
    [InlineData(5, 4_097)]
    public void Build_KeysWithRepeats_ListsEachKeysNodes(int firstNode, int count)
    {
        var random = new Random(count);
        ulong[] distinct = [.. Enumerable.Range(0, Math.Max(1, count / 3)).Select(_ => CrowdedKey(random))];
        ulong[] keys = [.. Enumerable.Range(0, count).Select(_ => distinct[random.Next(distinct.Length)])];
        var next = new int[firstNode + count];
        BucketHeads table = BucketHeads.Build(keys, firstNode, next, -1, new BucketHeads.SortBuffers(count + 3));

        var expected = new Dictionary<ulong, List<int>>();
        for (int i = 0; i < count; i++)
        {
            ulong stored = keys[i] == 0 ? 1 : keys[i];
            (expected.TryGetValue(stored, out List<int>? nodes) ? nodes : expected[stored] = []).Add(firstNode + i);
        }

        Assert.Equal(expected.Count, table.Count);
        foreach ((ulong key, List<int> nodes) in expected)
        {
            Assert.True(table.TryGet(key, out int head));
            var listed = new List<int>();
            for (int node = head; node != -1; node = next[node])
            {
                listed.Add(node);
            }

            Assert.Equal(nodes.Order(), listed.Order());
        }
    }
}
