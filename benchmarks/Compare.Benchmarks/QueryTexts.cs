using System.Globalization;

namespace Compare.Benchmarks;

/// <summary>How the runners that query a loaded collection make their query texts from its documents.</summary>
internal static class QueryTexts
{
    /// <summary><paramref name="text"/> with about <paramref name="share"/> of its words replaced by words no document has.</summary>
    public static string Edit(string text, double share, Random random) =>
        string.Join(' ', text.Split(' ').Select(w => random.NextDouble() < share ? "w" + random.Next(1_000_000).ToString(CultureInfo.InvariantCulture) : w));

    /// <summary><paramref name="words"/> words no document has.</summary>
    public static string Filler(Random random, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => "zq" + random.Next(10_000_000).ToString(CultureInfo.InvariantCulture)));
}
