using System.Globalization;

namespace Compare.Server.Hosting;

/// <summary>How many connections the process can hold open without running out of file descriptors.</summary>
internal static class ConnectionBudget
{
    private const int Fallback = 10_000;

    // An idle server holds about 300 files (the runtime keeps every loaded assembly open, about 270), the store a few
    // dozen more (SQLite's pooled readers, Redis connections): this much is kept from connections.
    private const long Headroom = 512;

    /// <summary>
    /// The open-file limit (Linux: /proc/self/limits; the runtime raises the soft limit to the hard one) less 512 files,
    /// or half of it when it is small, for the runtime and the store; 10,000 where the limit cannot be read.
    /// </summary>
    public static long FromOpenFileLimit() => OpenFileLimit() is { } files ? Math.Max(16, files - Math.Min(Headroom, files / 2)) : Fallback;

    /// <summary>The soft limit from a /proc/self/limits text, or null.</summary>
    internal static long? ParseOpenFileLimit(string limits)
    {
        foreach (string line in limits.Split('\n'))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal)
                && line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var soft, ..]
                && long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out long files))
            {
                return files;
            }
        }

        return null;
    }

    private static long? OpenFileLimit()
    {
        try
        {
            return File.Exists("/proc/self/limits") ? ParseOpenFileLimit(File.ReadAllText("/proc/self/limits")) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
