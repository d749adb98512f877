namespace Compare.Core.Clustering;

/// <summary>Disjoint sets over 0..n-1 with path halving and union by size.</summary>
public sealed class UnionFind
{
    private readonly int[] _parent;
    private readonly int[] _size;

    /// <summary>Creates n singleton sets.</summary>
    public UnionFind(int count)
    {
        _parent = new int[count];
        _size = new int[count];
        for (int i = 0; i < count; i++)
        {
            _parent[i] = i;
            _size[i] = 1;
        }
    }

    /// <summary>The representative of the set holding <paramref name="item"/>.</summary>
    public int Find(int item)
    {
        while (_parent[item] != item)
        {
            _parent[item] = _parent[_parent[item]];
            item = _parent[item];
        }

        return item;
    }

    /// <summary>Merges the sets of <paramref name="a"/> and <paramref name="b"/>; returns false when already merged.</summary>
    public bool Union(int a, int b)
    {
        int rootA = Find(a), rootB = Find(b);
        if (rootA == rootB)
        {
            return false;
        }

        if (_size[rootA] < _size[rootB])
        {
            (rootA, rootB) = (rootB, rootA);
        }

        _parent[rootB] = rootA;
        _size[rootA] += _size[rootB];
        return true;
    }
}
