using System.Text;
using System.Text.RegularExpressions;

namespace Compare.TestSupport;

/// <summary>Exact Jaccard of word 5-shingles computed without the engine, to check it against.</summary>
public static partial class ReferenceJaccard
{
    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();

    /// <summary>NFKC, lower case, \w+ words, word 5-grams as strings (the whole text when shorter).</summary>
    public static HashSet<string> Shingles(string text)
    {
        string[] words = [.. Word().Matches(text.Normalize(NormalizationForm.FormKC).ToLowerInvariant()).Select(m => m.Value)];
        return words.Length < 5
            ? [string.Join(' ', words)]
            : Enumerable.Range(0, words.Length - 4).Select(i => string.Join(' ', words[i..(i + 5)])).ToHashSet();
    }

    /// <summary>Exact Jaccard of two texts' shingle sets.</summary>
    public static double Jaccard(string a, string b)
    {
        HashSet<string> x = Shingles(a), y = Shingles(b);
        int shared = x.Count(y.Contains);
        return (double)shared / (x.Count + y.Count - shared);
    }

    /// <summary>
    /// Independent reference: NFKC, lower case, \w+ words, word 5-gram strings, Jaccard by an
    /// inverted index over string shingles. Returns every pair with J ≥ <paramref name="minimum"/>.
    /// </summary>
    public static Dictionary<(int, int), double> Pairs(IReadOnlyList<string> texts, double minimum)
    {
        HashSet<string>[] sets = [.. texts.Select(Shingles)];
        var postings = new Dictionary<string, List<int>>();
        for (int d = 0; d < sets.Length; d++)
        {
            foreach (string shingle in sets[d])
            {
                if (!postings.TryGetValue(shingle, out List<int>? list))
                {
                    postings[shingle] = list = [];
                }

                list.Add(d);
            }
        }

        var shared = new Dictionary<(int, int), int>();
        foreach (List<int> list in postings.Values.Where(l => l.Count is > 1 and < 200))
        {
            for (int x = 0; x < list.Count; x++)
            {
                for (int y = x + 1; y < list.Count; y++)
                {
                    shared[(list[x], list[y])] = shared.GetValueOrDefault((list[x], list[y])) + 1;
                }
            }
        }

        return shared
            .Select(kv => (kv.Key, J: (double)kv.Value / (sets[kv.Key.Item1].Count + sets[kv.Key.Item2].Count - kv.Value)))
            .Where(p => p.J >= minimum)
            .ToDictionary(p => p.Key, p => p.J);
    }
}

/// <summary>Shared passages computed without the engine: runs of words as strings.</summary>
public static partial class ReferencePassages
{
    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();

    /// <summary>Every run of <paramref name="length"/> words of the text (NFKC, lower case, \w+ words), joined by spaces.</summary>
    public static HashSet<string> Runs(string text, int length)
    {
        string[] words = [.. Word().Matches(text.Normalize(NormalizationForm.FormKC).ToLowerInvariant()).Select(m => m.Value)];
        return [.. Enumerable.Range(0, Math.Max(0, words.Length - length + 1)).Select(i => string.Join(' ', words[i..(i + length)]))];
    }
}
