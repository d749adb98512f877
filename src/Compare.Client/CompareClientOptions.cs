using System.ComponentModel.DataAnnotations;
using Grpc.Core;
using Grpc.Net.Client.Configuration;

namespace Compare.Client;

/// <summary>Where the Compare server is, how to authenticate, and how often to retry a call the server could not take.</summary>
public sealed class CompareClientOptions
{
    /// <summary>The server's address, <c>http://localhost:5000</c> by default (cleartext HTTP/2, as the server's default port speaks it).</summary>
    [Required]
    public Uri Address { get; set; } = new("http://localhost:5000");

    /// <summary>Sent as <c>authorization: Bearer KEY</c> when the server requires API keys.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Attempts per call, the first included, while the server answers UNAVAILABLE (starting, its store
    /// loading or unreachable, a replica going away). 1 turns retries off; gRPC allows at most 5.
    /// </summary>
    [Range(1, 5)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The longest first wait before a retry; each later one may be twice the one before, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Documents per message of <see cref="CompareClient.UpsertManyAsync(string, IAsyncEnumerable{V1.Document}, IProgress{long}?, CancellationToken)"/>.</summary>
    [Range(1, 10_000)]
    public int UpsertBatchSize { get; set; } = 500;

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

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Address, nameof(Address));
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ValidationException($"{nameof(InitialBackoff)} must be positive and at most {nameof(MaxBackoff)} (were {InitialBackoff} and {MaxBackoff}).");
        }
    }
}
