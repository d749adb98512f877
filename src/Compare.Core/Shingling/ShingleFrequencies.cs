namespace Compare.Core.Shingling;

/// <summary>
/// Document frequencies of shingles across a collection, for boilerplate suppression: a shingle
/// present in more than a limit of documents (a byline, a copyright notice, a menu) is ignored.
/// Not thread-safe for writes.
/// </summary>
public sealed class ShingleFrequencies
{
    private readonly Dictionary<ulong, int> _counts = [];

    /// <summary>Number of distinct shingles counted.</summary>
    public int DistinctShingles => _counts.Count;

    /// <summary>Counts one document's distinct shingles.</summary>
    public void Add(ReadOnlySpan<ulong> distinctShingles)
    {
        foreach (ulong shingle in distinctShingles)
        {
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, shingle, out _)++;
        }
    }

    /// <summary>Uncounts one document's distinct shingles.</summary>
    public void Remove(ReadOnlySpan<ulong> distinctShingles)
    {
        foreach (ulong shingle in distinctShingles)
        {
            if (_counts.TryGetValue(shingle, out int count))
            {
                if (count <= 1)
                {
                    _counts.Remove(shingle);
                }
                else
                {
                    _counts[shingle] = count - 1;
                }
            }
        }
    }

    /// <summary>Number of documents holding <paramref name="shingle"/>.</summary>
    public int DocumentFrequency(ulong shingle) => _counts.GetValueOrDefault(shingle);

    /// <summary>The shingles of <paramref name="distinctShingles"/> found in at most <paramref name="maxDocumentFrequency"/> documents, order kept.</summary>
    public ulong[] WithoutFrequent(ReadOnlySpan<ulong> distinctShingles, int maxDocumentFrequency)
    {
        var kept = new List<ulong>(distinctShingles.Length);
        foreach (ulong shingle in distinctShingles)
        {
            if (DocumentFrequency(shingle) <= maxDocumentFrequency)
            {
                kept.Add(shingle);
            }
        }

        return [.. kept];
    }
}
