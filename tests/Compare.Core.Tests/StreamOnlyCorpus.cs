using Compare.Core.Clustering;

namespace Compare.Core.Tests;

/// <summary>A corpus whose size is unknown until read, that records what is read.</summary>
internal sealed class StreamOnlyCorpus(string[] texts, int failAt = -1, Action<int>? onRead = null) : IRereadableCorpus
{
    public int FullReads { get; private set; }

    public List<int> Reread { get; } = [];

    public int Rereadings { get; private set; }

    public int? Count => null;

    public IEnumerable<string> ReadAll(CancellationToken cancellationToken)
    {
        FullReads++;
        for (int i = 0; i < texts.Length; i++)
        {
            onRead?.Invoke(i);
            if (i == failAt)
            {
                throw new InvalidDataException($"record {i} is broken");
            }

            yield return texts[i];
        }
    }

    public IEnumerable<string> ReadAt(IReadOnlyList<int> positions, CancellationToken cancellationToken)
    {
        Rereadings++;
        foreach (int p in positions)
        {
            Reread.Add(p);
            yield return texts[p];
        }
    }
}
