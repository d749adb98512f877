using System.Globalization;

namespace Compare.Cli;

/// <summary>Counts in the CLI's messages: invariant digits, and a noun that agrees with the count.</summary>
internal static class Counted
{
    /// <summary>"1 cluster", "2,225 clusters"; <paramref name="plural"/> when adding an s is wrong ("duplicates to drop").</summary>
    public static string Of(long count, string singular, string? plural = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{count:N0} {(count == 1 ? singular : plural ?? singular + "s")}");
}
