using System.Diagnostics;

namespace Compare.Core.Tests;

/// <summary>Runs Compare.SignatureProbe in a separate process to show signatures do not depend on the process.</summary>
internal static class SignatureProbe
{
    /// <summary>The first four values of the 2014 seed's default signature, recorded with FormatVersion 1.</summary>
    public static readonly uint[] ExpectedSeed2014Prefix = [294898539, 683801301, 834256872, 3836257617];

    public static string RunInChildProcess(string text)
    {
        // The probe builds beside this assembly: tests/Compare.SignatureProbe/bin/<Configuration>/<tfm>/.
        string configurationAndTfm = Path.GetRelativePath(Path.Combine(TestData.RepositoryRoot, "tests", "Compare.Core.Tests", "bin"), AppContext.BaseDirectory);
        string probe = Path.Combine(TestData.RepositoryRoot, "tests", "Compare.SignatureProbe", "bin", configurationAndTfm, "Compare.SignatureProbe.dll");
        Assert.True(File.Exists(probe), $"Signature probe not built at {probe}.");
        var start = new ProcessStartInfo("dotnet", [probe]) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using Process process = Process.Start(start)!;
        process.StandardInput.Write(text);
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "The signature probe did not finish.");
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
