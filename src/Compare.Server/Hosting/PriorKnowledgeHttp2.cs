using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Compare.Server.Hosting;

/// <summary>
/// Lets one cleartext port serve gRPC (HTTP/2 with prior knowledge, as grpcurl -plaintext speaks it) and
/// HTTP/1.1 (browsers, curl, the JSON routes). Kestrel picks HTTP/1.1 for every cleartext connection of an
/// endpoint with both protocols, because there is no TLS handshake to negotiate in; a connection that opens
/// with the HTTP/2 client preface (RFC 9113 §3.4) is HTTP/2 all the same. This middleware reads that
/// preface without consuming it and, when it is there, tells Kestrel "h2" through the same feature ALPN
/// would have set. Requests keep the scheme they send (KestrelServerOptions.AllowAlternateSchemes).
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

    // Kestrel marks an endpoint that has TLS only internally; UseHttps sets it after the endpoint defaults ran.
    private static readonly PropertyInfo? IsTls = typeof(ListenOptions).GetProperty("IsTls", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);

    /// <summary>
    /// The connection middleware for <paramref name="endpoint"/>. It stays out of TLS endpoints: there ALPN decides,
    /// and a connection it marked as negotiated would skip the TLS handshake. Where Kestrel no longer says which
    /// endpoints have TLS, it stays out of every endpoint (fail closed: cleartext gRPC then needs an HTTP/2-only endpoint).
    /// </summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(ListenOptions endpoint) => next => async connection =>
    {
        if (IsTls?.GetValue(endpoint) is false
            && connection.Features.Get<ITlsConnectionFeature>() is null
            && await ReadOpeningAsync(connection.Transport.Input, connection.ConnectionClosed).ConfigureAwait(false) == Opening.Http2Preface)
        {
            var negotiated = new NegotiatedHttp2();
            connection.Features.Set<ITlsConnectionFeature>(negotiated);
            connection.Features.Set<ITlsApplicationProtocolFeature>(negotiated);
        }

        await next(connection).ConfigureAwait(false);
    };

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
                return Opening.Other;
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
    private sealed class NegotiatedHttp2 : ITlsConnectionFeature, ITlsApplicationProtocolFeature
    {
        private static readonly byte[] H2 = "h2"u8.ToArray();

        public X509Certificate2? ClientCertificate { get; set; }

        public ReadOnlyMemory<byte> ApplicationProtocol => H2;

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
    }
}
