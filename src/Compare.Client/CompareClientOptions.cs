using System.ComponentModel.DataAnnotations;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace Compare.Client;

/// <summary>Where the Compare server is, how to authenticate, and how often to retry a call the server could not take.</summary>
public sealed class CompareClientOptions
{
    /// <summary>The server's address, <c>http://localhost:5000</c> by default (cleartext HTTP/2, as the server's default port speaks it).</summary>
    public Uri Address { get; set; } = new("http://localhost:5000");

    /// <summary>Sent as <c>authorization: Bearer KEY</c> when the server requires API keys.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Attempts per call, the first included, while the server answers UNAVAILABLE (starting, its store
    /// loading or unreachable, a replica going away). 1 turns retries off; gRPC allows at most 5.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The longest first wait before a retry; each later one may be twice the one before, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The largest message the client reads: 64 MB by default, well above the server's own answer budget
    /// (Limits:MaxResponseBytes, 3 MB unless configured otherwise), so a raised budget still fits.
    /// </summary>
    public int MaxReceiveMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Documents per message of <see cref="CompareClient.UpsertManyAsync(string, IAsyncEnumerable{V1.Document}, IProgress{long}?, CancellationToken)"/>.</summary>
    public int UpsertBatchSize { get; set; } = 500;

    /// <summary>
    /// How long the connection may be silent before the client pings the server, and how long it then waits for the
    /// answer before failing the calls on it (15 s each by default). A server that is alive answers pings even while it
    /// works on a long call; something that accepts the connection and never answers (a hung process, a firewall that
    /// swallows packets) is given up on, where a call to it waited for ever.
    /// </summary>
    public TimeSpan KeepAlivePing { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The connection handler of every channel: <see cref="KeepAlivePing"/>, a TCP connect that gives up after 10 s, and
    /// several HTTP/2 connections when concurrent calls need them.
    /// </summary>
    public SocketsHttpHandler CreateHttpHandler() => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(10),
        KeepAlivePingDelay = KeepAlivePing,
        KeepAlivePingTimeout = KeepAlivePing,
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
        EnableMultipleHttp2Connections = true,
    };

    /// <summary>Applies the retry policy and the receive limit to a channel's options (what AddCompareClient does too).</summary>
    public void ConfigureChannel(GrpcChannelOptions channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        channel.ServiceConfig = ToServiceConfig();
        channel.MaxReceiveMessageSize = MaxReceiveMessageBytes;
        channel.MaxSendMessageSize = null; // the server refuses what it will not take, naming its limit
    }

    /// <summary>
    /// The gRPC service config every call runs under: retry on UNAVAILABLE, with jittered exponential backoff.
    /// A server stream is retried only until its first answer, so no event is seen twice.
    /// </summary>
    public ServiceConfig ToServiceConfig()
    {
        Validate();
        var retry = new MethodConfig
        {
            Names = { MethodName.Default },
            RetryPolicy = MaxAttempts == 1 ? null : new RetryPolicy
            {
                MaxAttempts = MaxAttempts,
                InitialBackoff = InitialBackoff,
                MaxBackoff = MaxBackoff,
                BackoffMultiplier = 2,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        return new ServiceConfig { MethodConfigs = { retry } };
    }

    /// <summary>Throws a <see cref="ValidationException"/> naming the first setting out of range and its value.</summary>
    public void Validate()
    {
        // Written out rather than with DataAnnotations' Validator, which reflects over the type (not trim- or AOT-safe).
        string? problem =
            Address is null || !Address.IsAbsoluteUri ? $"{nameof(Address)} must be an absolute http:// or https:// address (was '{Address}')."
            : MaxAttempts is < 1 or > 5 ? $"{nameof(MaxAttempts)} must be between 1 and 5 (was {MaxAttempts})."
            : InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff
                ? $"{nameof(InitialBackoff)} must be positive and at most {nameof(MaxBackoff)} (were {InitialBackoff} and {MaxBackoff})."
            : UpsertBatchSize is < 1 or > 10_000 ? $"{nameof(UpsertBatchSize)} must be between 1 and 10,000 (was {UpsertBatchSize})."
            : KeepAlivePing < TimeSpan.FromSeconds(1) ? $"{nameof(KeepAlivePing)} must be at least 1 second (was {KeepAlivePing})."
            : MaxReceiveMessageBytes < 1024 ? $"{nameof(MaxReceiveMessageBytes)} must be at least 1,024 (was {MaxReceiveMessageBytes})."
            : null;
        if (problem is not null)
        {
            throw new ValidationException(problem);
        }
    }
}
