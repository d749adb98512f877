using System.Diagnostics;

namespace Compare.Cli.Tests;

/// <summary>A program run to its end, with what it wrote to each stream.</summary>
internal static class ChildProcess
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(string executable, string[] args)
    {
        var start = new ProcessStartInfo(executable, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
