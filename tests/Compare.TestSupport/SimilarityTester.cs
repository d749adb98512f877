using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Compare.TestSupport;

/// <summary>
/// Dick Grune's similarity tester (<c>sim_text</c>, Debian's similarity-tester, which scripts/test.sh installs): an
/// independent reference and a peer for <c>compare reuse</c>. With <c>-e</c> it compares each file with each other
/// and reports the runs of words they share; a word is a run of letters or digits.
/// </summary>
public static partial class SimilarityTester
{
    /// <summary>The file a document is written to for the tester, named by its id.</summary>
    public static string FileName(string id) => NotInFileNames().Replace(id, "_") + ".txt";

    /// <summary>A pair of file names in ordinal order, as <see cref="PairsAsync"/> gives them.</summary>
    public static (string, string) Ordered(string a, string b) => string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);

    /// <summary>
    /// Every pair of <paramref name="files"/> (names in <paramref name="directory"/>) sharing a run of at least
    /// <paramref name="minWords"/> words: <c>sim_text -e -s -r N</c>, the names given on standard input.
    /// </summary>
    public static async Task<HashSet<(string, string)>> PairsAsync(string directory, IEnumerable<string> files, int minWords = 7)
    {
        var start = new ProcessStartInfo("sim_text", ["-e", "-s", "-r", minWords.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "-T", "-i"])
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process sim = Process.Start(start) ?? throw new InvalidOperationException("sim_text did not start: run scripts/test.sh, which installs similarity-tester.");
        Task<string> output = sim.StandardOutput.ReadToEndAsync();
        Task<string> error = sim.StandardError.ReadToEndAsync();
        // The tester refuses a list whose last name is not ended by a newline.
        await sim.StandardInput.WriteAsync(string.Concat(files.Select(f => f + "\n")));
        sim.StandardInput.Close();
        await sim.WaitForExitAsync();
        if (sim.ExitCode != 0)
        {
            throw new InvalidOperationException($"sim_text exited with {sim.ExitCode}: {await error}");
        }

        return [.. (await output).Split('\n').Select(l => SharedRun().Match(l)).Where(m => m.Success).Select(m => Ordered(m.Groups[1].Value, m.Groups[2].Value))];
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex NotInFileNames();

    // "a.txt: line 3-37   |b.txt: line 3-37   [1378]": one run the two files share.
    [GeneratedRegex(@"^(\S+): line [^|]*\|(\S+): line")]
    private static partial Regex SharedRun();
}
