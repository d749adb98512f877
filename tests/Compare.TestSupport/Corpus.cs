using System.Text.Json;

namespace Compare.TestSupport;

/// <summary>The BBC corpus from ../shared/corpora, found by walking up from the working directory.</summary>
public static class Corpus
{
    public static string[] Bbc() => Lazy.Value;

    public static long Utf8Bytes(string[] texts) => texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));

    /// <summary>The corpus file itself, for runners in other processes.</summary>
    public static string BbcPath => FindUp(Path.Combine("shared", "corpora", "bbc-news-2004-2005.jsonl"));

    private static readonly Lazy<string[]> Lazy = new(() =>
        [.. File.ReadLines(BbcPath).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)]);

    /// <summary>A file at <paramref name="relative"/> from the working directory or one of its parents.</summary>
    public static string FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }
}
