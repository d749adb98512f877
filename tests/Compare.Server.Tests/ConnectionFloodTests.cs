using System.Net;
using System.Net.Sockets;
using Compare.Server.Hosting;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Compare.Server.Tests;

/// <summary>More connections than the process has file descriptors for, opened by a stranger who sends nothing.</summary>
public sealed class ConnectionFloodTests
{
    [Fact]
    public void OpenFileLimit_FromProcLimits_IsTheSoftLimit()
    {
        const string Limits = """
            Limit                     Soft Limit           Hard Limit           Units
            Max processes             95174                95174                processes
            Max open files            2048                 524288               files
            Max locked memory         8388608              8388608              bytes
            """;

        Assert.Equal(2048, ConnectionBudget.ParseOpenFileLimit(Limits));
        Assert.Null(ConnectionBudget.ParseOpenFileLimit("Max open files            unlimited            unlimited            files"));
        Assert.InRange(ConnectionBudget.FromOpenFileLimit(), 1, 10_000_000);
    }

    [Fact]
    public async Task SilentAndHalfPrefaceConnections_PastTheFileLimit_AreRefusedOrClosedAndTheServerServesAfterwards()
    {
        using var data = new TempDirectory();
        // 1,024 files: 512 connections, the rest for the runtime (about 300 files idle) and SQLite. 1,100 connections try to get past that.
        await using ServerProcess server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage__Path"] = data.Path,
            ["Limits__FirstBytesTimeout"] = "00:00:08",
        }, openFiles: 1024);
        var endpoint = new IPEndPoint(IPAddress.Loopback, new Uri(server.Address).Port);
        var flood = new List<Socket>();
        try
        {
            for (int i = 0; i < 1_100; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(endpoint);
                if (i % 2 == 1)
                {
                    await socket.SendAsync("PRI * HTTP/2.0\r\n"u8.ToArray()); // half the HTTP/2 preface, then nothing
                }

                flood.Add(socket);
            }

            // Past the limit connections are closed at once, long before the first-bytes timeout.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(server.HasExited, server.Output);
            int closedAtOnce = flood.Count(socket => socket.Poll(0, SelectMode.SelectRead));
            Assert.InRange(closedAtOnce, 1_100 - 512 - 50, 1_100 - 512 + 50);

            // Every other flooding connection ends after the first-bytes timeout.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var buffer = new byte[16];
            foreach (Socket socket in flood)
            {
                try
                {
                    Assert.Equal(0, await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token));
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset)
                {
                }
            }

            Assert.False(server.HasExited, server.Output);
            using var fresh = GrpcChannel.ForAddress(server.Address);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(fresh).CheckAsync(new HealthCheckRequest())).Status);
            Assert.DoesNotContain("Out of memory", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (Socket socket in flood)
            {
                socket.Dispose();
            }
        }
    }
}
