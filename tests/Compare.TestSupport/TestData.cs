using System.Text.Json;

namespace Compare.TestSupport;

/// <summary>Locates the project's seeds and the shared corpora from the test output folder.</summary>
public static class TestData
{
    public static string RepositoryRoot { get; } = FindUp("Compare.sln");

    public static string Seed2014Path => Path.Combine(RepositoryRoot, "seeds", "003_2f03ddab81289ed0.txt");

    public static string Seed2014 => File.ReadAllText(Seed2014Path);

    public static string Seed2016 => File.ReadAllText(Path.Combine(RepositoryRoot, "seeds", "000_964e81d81ffb6499.txt"));

    /// <summary>The BBC corpus file in ../shared/corpora; its absence fails the test rather than skipping it.</summary>
    public static string BbcPath
    {
        get
        {
            string path = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "corpora", "bbc-news-2004-2005.jsonl"));
            Assert.True(File.Exists(path), $"The BBC corpus is missing at {path}; it ships in shared/corpora beside the repository.");
            return path;
        }
    }

    /// <summary>The BBC corpus's ids and texts.</summary>
    public static IReadOnlyList<(string Id, string Text)> BbcCorpus()
    {
        var documents = new List<(string, string)>();
        foreach (string line in File.ReadLines(BbcPath))
        {
            using var json = JsonDocument.Parse(line);
            documents.Add((json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("text").GetString()!));
        }

        return documents;
    }

    /// <summary>Slices a string by code point offsets, as Python's text[start:end] does.</summary>
    public static string SliceCodePoints(string text, int start, int end)
    {
        int[] codePoints = [.. text.EnumerateRunes().Select(r => r.Value)];
        return string.Concat(codePoints[start..end].Select(char.ConvertFromUtf32));
    }

    private static string FindUp(string marker)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, marker)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"{marker} not found above {AppContext.BaseDirectory}.");
    }
}
