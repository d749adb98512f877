using System.Diagnostics;
using System.Globalization;

namespace Compare.Server.Tests;

/// <summary>
/// A real Redis Cluster of the test's own: three primaries on free loopback ports (each with its cluster bus on
/// another free port), their 16,384 slots shared out by <c>redis-cli --cluster create</c>, as an operator would.
/// Missing redis-server or redis-cli fails the test (scripts/test.sh installs them); it never skips.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<RedisServer> _nodes = [];

    /// <summary>The nodes, for a client's configuration string ("127.0.0.1:p1,127.0.0.1:p2,...").</summary>
    public string Configuration => string.Join(',', _nodes.Select(n => n.Configuration));

    /// <summary>The primaries, in the order their slots run.</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <param name="primaries">How many primaries share the slots.</param>
    /// <param name="nodeTimeoutMilliseconds">How long a node may not answer before the others mark it failed (cluster-node-timeout).</param>
    public static async Task<RedisCluster> StartAsync(int primaries = 3, int nodeTimeoutMilliseconds = 5000)
    {
        var cluster = new RedisCluster();
        try
        {
            for (int i = 0; i < primaries; i++)
            {
                int busPort = ServerProcess.FreePort();
                cluster._nodes.Add(await RedisServer.StartAsync(null, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture), "--cluster-node-timeout", nodeTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)));
            }

            await cluster.CreateAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task CreateAsync()
    {
        string cli = new[] { "/usr/bin/redis-cli", "/usr/local/bin/redis-cli" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-cli is not installed: run scripts/test.sh, which installs redis-server (and with it redis-cli) with apt-get.");
        var create = new ProcessStartInfo(cli, ["--cluster", "create", .. _nodes.Select(n => n.Configuration), "--cluster-replicas", "0", "--cluster-yes"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(create)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({process.ExitCode}): {await output}{await error}");
        }

        // Every node must agree the cluster is whole before a client's first command, or it may see CLUSTERDOWN.
        await using StackExchange.Redis.ConnectionMultiplexer admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(100))
        {
            bool whole = true;
            foreach (RedisServer node in _nodes)
            {
                string info = (string)(await admin.GetServer(node.Configuration).ExecuteAsync("CLUSTER", "INFO"))!;
                whole &= info.Contains("cluster_state:ok", StringComparison.Ordinal) && info.Contains($"cluster_known_nodes:{_nodes.Count}", StringComparison.Ordinal);
            }

            if (whole)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The Redis Cluster did not reach cluster_state:ok.");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (RedisServer node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
