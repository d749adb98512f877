using System.Diagnostics;

namespace Compare.Server.Tests;

/// <summary>
/// A real redis-server of the test's own on a free loopback port, with AOF in a temporary
/// directory so that a restart keeps what was written. Missing redis-server fails the test
/// (scripts/test.sh installs it); it never skips.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly TempDirectory _data = new();
    private readonly string[] _arguments;
    private Process? _process;

    private RedisServer(int port, string[] arguments) => (Port, _arguments) = (port, arguments);

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The server's data directory (its AOF, and a cluster node's nodes.conf).</summary>
    public string DataPath => _data.Path;

    /// <summary>Starts a redis-server on <paramref name="port"/> (default: a free one), with <paramref name="arguments"/> after the test's own.</summary>
    public static async Task<RedisServer> StartAsync(int? port = null, params string[] arguments)
    {
        var server = new RedisServer(port ?? ServerProcess.FreePort(), arguments);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts redis-server on the same port and data directory, and waits until it answers.</summary>
    /// <param name="slowLoading">
    /// Loading sleeps on every key (Redis's debug setting key-load-delay, which its own test suite uses: the shortest sleep,
    /// some tens of µs) and answers commands every 4 KB, so that loading what <see cref="FillAsync"/> wrote takes several
    /// seconds on any machine and every command meanwhile sees LOADING. Without it, a fast machine loads before any client
    /// notices; sleeping on one key in ten, a busy CI run once loaded between two of the client's reconnection attempts.
    /// </param>
    public async Task StartAgainAsync(bool slowLoading = false)
    {
        string executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: run scripts/test.sh, which installs it with apt-get.");
        var start = new ProcessStartInfo(executable,
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _data.Path,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode", "yes",
             "--enable-debug-command", "local",
             .. slowLoading ? (string[])["--key-load-delay", "-1", "--loading-process-events-interval-bytes", "4096"] : [], .. _arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        for (int attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(25);
            }
        }

        throw new TimeoutException($"redis-server did not listen on {Port}.");
    }

    /// <summary>
    /// Waits until the server has loaded its data set, asking <c>INFO persistence</c> over a socket of its own (a client
    /// library may not be connected yet); returns whether it was seen loading.
    /// </summary>
    public async Task<bool> WaitUntilLoadedAsync()
    {
        bool seenLoading = false;
        for (var deadline = DateTime.UtcNow.AddSeconds(120); DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            using System.Net.Sockets.NetworkStream stream = client.GetStream();
            await stream.WriteAsync("*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n"u8.ToArray());
            // The line "loading:N" (not "async_loading:N", which Redis 7 reports too).
            var reply = new System.Text.StringBuilder();
            var buffer = new byte[4096];
            System.Text.RegularExpressions.Match loadingLine;
            while (!(loadingLine = System.Text.RegularExpressions.Regex.Match(reply.ToString(), @"(?m)^loading:(\d)")).Success)
            {
                int read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                reply.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
            }

            if (loadingLine.Success && loadingLine.Groups[1].Value == "0")
            {
                return seenLoading;
            }

            seenLoading |= loadingLine.Success;
        }

        throw new TimeoutException("redis-server did not finish loading in two minutes.");
    }

    /// <summary>
    /// Adds <paramref name="keys"/> filler keys of 100 bytes and rewrites the AOF around them, so that a restart has
    /// something to load (see <see cref="StartAgainAsync"/>'s slowLoading).
    /// </summary>
    public async Task FillAsync(int keys)
    {
        await using StackExchange.Redis.ConnectionMultiplexer admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{Configuration},allowAdmin=true,asyncTimeout=120000,syncTimeout=120000");
        StackExchange.Redis.IDatabase db = admin.GetDatabase();
        await db.ExecuteAsync("DEBUG", "POPULATE", keys, "filler", 100);
        await db.ExecuteAsync("BGREWRITEAOF");
        for (var deadline = DateTime.UtcNow.AddSeconds(120); ((string)(await db.ExecuteAsync("INFO", "persistence"))!).Contains("aof_rewrite_in_progress:1", StringComparison.Ordinal)
            || ((string)(await db.ExecuteAsync("INFO", "persistence"))!).Contains("aof_rewrite_scheduled:1", StringComparison.Ordinal); await Task.Delay(100))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The AOF rewrite did not finish.");
            }
        }
    }

    /// <summary>Kills redis-server: clients see connections drop.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _data.Dispose();
    }
}
