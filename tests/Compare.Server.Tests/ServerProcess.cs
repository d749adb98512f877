using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Compare.V1;
using Grpc.Net.Client;

namespace Compare.Server.Tests;

/// <summary>The built server executable as a child process on a free loopback port, as its users run it.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, string address)
    {
        _process = process;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Address { get; }

    public GrpcChannel Channel { get; }

    public DocumentService.DocumentServiceClient Documents => new(Channel);

    public SimilarityService.SimilarityServiceClient Similarity => new(Channel);

    /// <summary>What the server printed, for failure messages.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    public bool HasExited => _process.HasExited;

    /// <summary>The server's process id (for /proc).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The server as built: Compare.Server.dll, run with dotnet.</summary>
    public static string BuiltServer
    {
        get
        {
            string dll = Path.Combine(TestData.RepositoryRoot, "src", "Compare.Server", "bin", BuildConfiguration(), "net10.0", "Compare.Server.dll");
            Assert.True(File.Exists(dll), $"{dll} was not built");
            return dll;
        }
    }

    /// <summary>
    /// Starts the server with <paramref name="environment"/> (e.g. Storage__Path) and waits until it serves; under a
    /// limit of <paramref name="openFiles"/> open files when given (soft and hard: the shell's ulimit -n, then exec).
    /// <paramref name="executable"/> is a published server's own executable (default: the built dll, run with dotnet in
    /// its own directory); <paramref name="workingDirectory"/> where it is started from.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> environment, bool waitUntilServing = true, int? openFiles = null,
        string? executable = null, string? workingDirectory = null)
    {
        string dll = BuiltServer;
        string address = $"http://127.0.0.1:{FreePort()}";
        var start = (openFiles, executable) switch
        {
            ({ } limit, _) => new ProcessStartInfo("bash", ["-c", $"ulimit -n {limit} && exec dotnet \"$@\"", "bash", dll, "--urls", address]),
            (null, { } own) => new ProcessStartInfo(own, ["--urls", address]),
            _ => new ProcessStartInfo("dotnet", [dll, "--urls", address]),
        };
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!;
        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        var server = new ServerProcess(Process.Start(start)!, address);
        if (waitUntilServing)
        {
            try
            {
                await server.WaitUntilServingAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        return server;
    }

    public async Task WaitUntilServingAsync()
    {
        Task serving = ServerFixture.WaitUntilServingAsync(Channel);
        Task exited = _process.WaitForExitAsync();
        if (await Task.WhenAny(serving, exited) == exited)
        {
            throw new InvalidOperationException($"The server exited with {_process.ExitCode}:{Environment.NewLine}{Output}");
        }

        await serving;
    }

    /// <summary>Waits for the process to end by itself, for at most <paramref name="timeout"/>; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGTERM, as a container runtime or systemd stops a service; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await WaitForExitAsync(timeout);
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    /// <summary>Runs <paramref name="executable"/> with <paramref name="args"/> to its end (at most a minute): its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunToEndAsync(string executable, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(executable, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.WorkingDirectory = workingDirectory ?? start.WorkingDirectory;
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    // The tests run from bin/<Configuration>/net10.0; the server was built with the same configuration.
    private static string BuildConfiguration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}
