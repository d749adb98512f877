using System.Net.Sockets;
using System.Text;

namespace Compare.Server.Tests;

/// <summary>
/// One cleartext port, two protocols: a connection that opens with the HTTP/2 preface is HTTP/2, any other is
/// HTTP/1.1, however the first bytes are split across packets.
/// </summary>
[Collection(ServerTestGroup.Name)]
public sealed class SharedPortTests(ServerFixture server)
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    private static readonly byte[] EmptySettings = [0, 0, 0, 4, 0, 0, 0, 0, 0];

    private async Task<byte[]> ExchangeAsync(params byte[][] chunks)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Address.Host, server.Address.Port);
        NetworkStream stream = client.GetStream();
        foreach (byte[] chunk in chunks)
        {
            await stream.WriteAsync(chunk);
            await stream.FlushAsync();
            await Task.Delay(30); // separate packets: the server must wait for the rest
        }

        var answer = new byte[64];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read = 0;
        while (read < 9)
        {
            int n = await stream.ReadAsync(answer.AsMemory(read), timeout.Token);
            Assert.True(n > 0, "the server closed the connection without answering");
            read += n;
        }

        return answer[..read];
    }

    [Theory]
    [InlineData(24)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(23)]
    public async Task Connection_Http2PrefaceInPieces_IsServedAsHttp2(int firstPiece)
    {
        byte[] answer = await ExchangeAsync(Preface[..firstPiece], [.. Preface[firstPiece..], .. EmptySettings]);

        Assert.Equal(4, answer[3]); // the server's own SETTINGS frame, not an HTTP/1.1 status line
    }

    [Theory]
    [InlineData("P", "UT /v1/collections HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("PRI * HTTP/1", ".1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /v1/collections HTTP/1.1\r\nHost: x\r\n\r\n", "")]
    public async Task Connection_Http1RequestInPieces_IsServedAsHttp11(string first, string rest)
    {
        byte[] answer = await ExchangeAsync(Encoding.ASCII.GetBytes(first), Encoding.ASCII.GetBytes(rest));

        Assert.StartsWith("HTTP/1.1 ", Encoding.ASCII.GetString(answer), StringComparison.Ordinal);
    }
}
