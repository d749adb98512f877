using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;

namespace Compare.Server.Hosting;

/// <summary>
/// Lets one cleartext port serve gRPC (HTTP/2 with prior knowledge, as grpcurl -plaintext speaks it) and
/// HTTP/1.1 (browsers, curl, the JSON routes). Kestrel picks HTTP/1.1 for every cleartext connection of an
/// endpoint with both protocols, because there is no TLS handshake to negotiate in; a connection that opens
/// with the HTTP/2 client preface (RFC 9113 §3.4) is HTTP/2 all the same. This middleware reads that
/// preface without consuming it and, when it is there, tells Kestrel "h2" through the public features TLS
/// with ALPN would have set. It does so only on a port the server lists as http:// in its addresses
/// (<see cref="IServerAddressesFeature"/>, public): marking a connection as negotiated on a TLS endpoint
/// would make Kestrel skip the handshake. A port it cannot find yet, or that also serves https, gets no
/// help (fail closed). Requests keep the scheme they send (KestrelServerOptions.AllowAlternateSchemes).
/// </summary>
internal static class PriorKnowledgeHttp2
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>What the first bytes of a connection say.</summary>
    internal enum Opening
    {
        /// <summary>Too few bytes to tell yet.</summary>
        Undecided,
        Http2Preface,
        Other,
    }

    /// <summary>
    /// The connection middleware of every endpoint of the server that <paramref name="services"/> belong to.
    /// A connection that sends too few bytes to tell within Limits:FirstBytesTimeout is closed: this wait is outside
    /// Kestrel's own timeouts, so without a bound a silent connection would hold its descriptor for ever.
    /// </summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(IServiceProvider services) => next => async connection =>
    {
        if (connection.Features.Get<ITlsConnectionFeature>() is null && IsCleartextPort(services, connection.LocalEndPoint))
        {
            using var firstBytes = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
            firstBytes.CancelAfter(services.GetRequiredService<IOptions<LimitOptions>>().Value.FirstBytesTimeout);
            Opening opening = await ReadOpeningAsync(connection.Transport.Input, firstBytes.Token).ConfigureAwait(false);
            if (opening == Opening.Undecided)
            {
                connection.Abort(new ConnectionAbortedException("No request within Limits:FirstBytesTimeout."));
                return;
            }

            if (opening == Opening.Http2Preface)
            {
                connection.Features.Set<ITlsConnectionFeature>(PriorKnowledge.Instance);
                connection.Features.Set<ITlsApplicationProtocolFeature>(PriorKnowledge.Instance);
            }
        }

        await next(connection).ConfigureAwait(false);
    };

    /// <summary>True when the server's addresses list <paramref name="local"/>'s port as http:// and never as https://.</summary>
    internal static bool IsCleartextPort(IServiceProvider services, EndPoint? local)
    {
        if (local is not IPEndPoint { Port: var port }
            || services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses is not { } addresses)
        {
            return false;
        }

        bool http = false;
        // Kestrel adds addresses while it binds: copy what is there now.
        foreach (string address in addresses.ToArray())
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out Uri? uri) && uri.Port == port)
            {
                if (uri.Scheme != Uri.UriSchemeHttp)
                {
                    return false;
                }

                http = true;
            }
        }

        return http;
    }

    /// <summary>Classifies the connection's first bytes, leaving every byte unread for HTTP itself.</summary>
    internal static Opening Classify(ReadOnlySequence<byte> start)
    {
        int length = (int)Math.Min(start.Length, Preface.Length);
        Span<byte> head = stackalloc byte[Preface.Length];
        start.Slice(0, length).CopyTo(head);
        if (!head[..length].SequenceEqual(Preface.AsSpan(0, length)))
        {
            return Opening.Other;
        }

        return length == Preface.Length ? Opening.Http2Preface : Opening.Undecided;
    }

    private static async Task<Opening> ReadOpeningAsync(PipeReader input, CancellationToken cancellationToken)
    {
        long examined = 0;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Closed by the peer (HTTP then sees the end) or out of time (the caller closes it).
                return Opening.Undecided;
            }

            ReadOnlySequence<byte> buffer = read.Buffer;
            Opening opening = Classify(buffer);
            if (opening != Opening.Undecided || read.IsCompleted || read.IsCanceled)
            {
                // Nothing consumed, and no more examined than before: HTTP's first read returns these bytes at once.
                input.AdvanceTo(buffer.Start, buffer.GetPosition(examined));
                return opening;
            }

            // A prefix of the preface so far: wait for more bytes than these.
            examined = buffer.Length;
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>What TLS with ALPN "h2" would have told Kestrel; there is no certificate.</summary>
    private sealed class PriorKnowledge : ITlsConnectionFeature, ITlsApplicationProtocolFeature
    {
        public static readonly PriorKnowledge Instance = new();

        public X509Certificate2? ClientCertificate
        {
            get => null;
            set => throw new NotSupportedException("A cleartext connection has no client certificate.");
        }

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);
    }
}
