using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Compare.Server.Hosting;

/// <summary>Request limits, bound from the "Limits" configuration section.</summary>
public sealed class LimitOptions : IValidatableObject
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Limits";

    /// <summary>Largest document text, in UTF-8 bytes. Default 10 MB.</summary>
    [SettingRange("Limits:MaxDocumentBytes", 1, long.MaxValue)]
    public int MaxDocumentBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Most UTF-8 bytes of one document's metadata, keys and values together. Default 64 KB.</summary>
    [SettingRange("Limits:MaxMetadataBytes", 0, long.MaxValue)]
    public int MaxMetadataBytes { get; set; } = 64 * 1024;

    /// <summary>Most documents in one UpsertDocuments message.</summary>
    [SettingRange("Limits:MaxBatchDocuments", 1, long.MaxValue)]
    public int MaxBatchDocuments { get; set; } = 10_000;

    /// <summary>Largest request message; gRPC's default of 4 MB is too small for batch ingest.</summary>
    [SettingRange("Limits:MaxReceiveMessageBytes", 1, long.MaxValue)]
    public int MaxReceiveMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Largest top_k of FindSimilar.</summary>
    [SettingRange("Limits:MaxTopK", 1, long.MaxValue)]
    public int MaxTopK { get; set; } = 1000;

    /// <summary>top_k when a request leaves it 0.</summary>
    [SettingRange("Limits:DefaultTopK", 1, long.MaxValue)]
    public int DefaultTopK { get; set; } = 10;

    /// <summary>
    /// Characters of each text that the ratio, token-sort and token-set ratios see. Computed bit-parallel
    /// (FuzzySharp's answers at |a|·|b|/64 word operations): two 10,000-character texts take a few milliseconds.
    /// </summary>
    [SettingRange("Limits:MaxFuzzyCharacters", 1, long.MaxValue)]
    public int MaxFuzzyCharacters { get; set; } = 10_000;

    /// <summary>
    /// Characters of each text that the partial and weighted ratios see: FuzzySharp's partial ratio
    /// is cubic (about 60 ms at 500 characters), so the service default is 200.
    /// </summary>
    [SettingRange("Limits:MaxPartialFuzzyCharacters", 1, long.MaxValue)]
    public int MaxPartialFuzzyCharacters { get; set; } = 200;

    /// <summary>Largest page_size of ListDocuments.</summary>
    [SettingRange("Limits:MaxPageSize", 1, long.MaxValue)]
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>
    /// Most bytes of one answer or streamed message: a ListDocuments page with include_text ends there (after one document
    /// at least), a Compare answer keeps its lists while they fit, a Deduplicate cluster larger than this comes in parts.
    /// Default 3 MB: a default client reads 4 MB.
    /// </summary>
    [SettingRange("Limits:MaxResponseBytes", 1, long.MaxValue)]
    public int MaxResponseBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>page_size when a request leaves it 0.</summary>
    [SettingRange("Limits:DefaultPageSize", 1, long.MaxValue)]
    public int DefaultPageSize { get; set; } = 100;

    /// <summary>Most phrases one Compare returns; a request's max_phrases may ask for fewer (0 means this).</summary>
    [SettingRange("Limits:MaxPhrases", 1, long.MaxValue)]
    public int MaxPhrases { get; set; } = 10_000;

    /// <summary>Deduplicate jobs that may run at once; one more is refused with RESOURCE_EXHAUSTED.</summary>
    [SettingRange("Limits:MaxConcurrentDeduplicateJobs", 1, long.MaxValue)]
    public int MaxConcurrentDeduplicateJobs { get; set; } = 2;

    /// <summary>
    /// Most bytes of ids an answer lists where it could list without bound (StreamUpsertDocuments' skipped ids); past
    /// it the answer counts them and says it stopped listing. Default 1 MB, well inside a default client's 4 MB.
    /// </summary>
    [SettingRange("Limits:MaxListedIdBytes", 0, long.MaxValue)]
    public int MaxListedIdBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most candidate pairs one Deduplicate verifies. A collection whose banding pairs far more documents (one tuned for
    /// a very low threshold) is refused with RESOURCE_EXHAUSTED before the work starts, rather than running for hours.
    /// </summary>
    [SettingRange("Limits:MaxDeduplicatePairs", 1, long.MaxValue)]
    public int MaxDeduplicatePairs { get; set; } = 5_000_000;

    /// <summary>Most clusters of a collection's last Deduplicate that the server keeps for GetLastDeduplicate.</summary>
    [SettingRange("Limits:MaxRememberedClusters", 0, long.MaxValue)]
    public int MaxRememberedClusters { get; set; } = 10_000;

    /// <summary>
    /// Most connections open at once; over it Kestrel closes new ones at once. 0 (the default) derives it from the
    /// process's open-file limit, leaving 512 files (half of a small limit) to the runtime and the store: a flood of
    /// connections then meets a closed door instead of exhausting file descriptors.
    /// </summary>
    [SettingRange("Limits:MaxConnections", 0, long.MaxValue)]
    public int MaxConnections { get; set; }

    /// <summary>
    /// Most calls one HTTP/2 connection may have open at once; a client that opens more waits for one to end. With
    /// 16 MB stream windows, a connection's unread request bodies are bounded by its 32 MB connection window either way.
    /// </summary>
    [SettingRange("Limits:MaxStreamsPerConnection", 1, 1_000_000)]
    public int MaxStreamsPerConnection { get; set; } = 1024;

    /// <summary>
    /// How long a cleartext connection may take to send its first bytes (what tells gRPC from HTTP/1.1 on the shared
    /// port) before it is closed; Kestrel's own timeouts take over from there.
    /// </summary>
    [SettingRange("Limits:FirstBytesTimeout", "00:00:00.001", "01:00:00")]
    public TimeSpan FirstBytesTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long one message of a server stream (Deduplicate) may wait for the client to read before the call is
    /// aborted: a client that stops reading must not hold the job's result in memory, or its connection, for ever.
    /// </summary>
    [SettingRange("Limits:StalledStreamTimeout", "00:00:00.001", "01:00:00")]
    public TimeSpan StalledStreamTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long calls in flight get to finish when the server stops.</summary>
    [SettingRange("Limits:ShutdownTimeout", "00:00:00.001", "1.00:00:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Each default at most its maximum.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultTopK > MaxTopK)
        {
            yield return new ValidationResult($"Limits:DefaultTopK ({DefaultTopK}) must not exceed Limits:MaxTopK ({MaxTopK}).", [nameof(DefaultTopK)]);
        }

        if (DefaultPageSize > MaxPageSize)
        {
            yield return new ValidationResult($"Limits:DefaultPageSize ({DefaultPageSize}) must not exceed Limits:MaxPageSize ({MaxPageSize}).", [nameof(DefaultPageSize)]);
        }
    }
}

/// <summary>Where documents live, bound from the "Storage" configuration section.</summary>
public sealed class StorageOptions : IValidatableObject
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Storage";

    /// <summary>The providers: SQLite on disk (the default), process memory, or a shared Redis.</summary>
    public static readonly string[] Providers = [Sqlite, Memory, Redis];

    /// <summary>An on-disk SQLite file under <see cref="Path"/>; the index is rebuilt in memory on start.</summary>
    public const string Sqlite = "Sqlite";

    /// <summary>Process memory only: for tests and throwaway runs.</summary>
    public const string Memory = "Memory";

    /// <summary>A Redis shared by every replica (see <see cref="RedisOptions"/>).</summary>
    public const string Redis = "Redis";

    /// <summary>The store implementation, one of <see cref="Providers"/> (any case).</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// Data directory of on-disk stores. A relative path is taken from the working directory. The default does not depend
    /// on where the server is started: $XDG_DATA_HOME/compare, else ~/.local/share/compare.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Storage:Path must name the data directory.")]
    public string Path { get; set; } = DefaultPath;

    /// <summary>The user's data directory for Compare (XDG base directories; LocalApplicationData follows them on Linux).</summary>
    public static string DefaultPath =>
        System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "compare");

    /// <summary>The provider is one of <see cref="Providers"/>.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Providers.Contains(Provider, StringComparer.OrdinalIgnoreCase))
        {
            yield return new ValidationResult($"Storage:Provider must be one of {string.Join(", ", Providers)}; it was '{Provider}'.", [nameof(Provider)]);
        }
    }
}

/// <summary>The shared Redis, bound from the "Redis" configuration section.</summary>
public sealed class RedisOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration: "host:port[,options]". Used by the Redis store and the result cache.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key, so that several deployments can share one Redis.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Redis:KeyPrefix must not be empty.")]
    public string KeyPrefix { get; set; } = "compare";
}

/// <summary>The Compare result cache, bound from the "Cache" configuration section.</summary>
public sealed class CacheOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Cache";

    /// <summary>Cache Compare results (in Redis when Redis:Configuration is set, in memory otherwise).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a result is kept.</summary>
    [SettingRange("Cache:TimeToLive", "00:00:01", "365.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Longest wait for the cache before computing instead.</summary>
    [SettingRange("Cache:Timeout", "00:00:00.001", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Bytes of results the in-process cache keeps (used without Redis); older entries are evicted. Default 64 MB.</summary>
    [SettingRange("Cache:MemoryLimitBytes", 1, long.MaxValue)]
    public long MemoryLimitBytes { get; set; } = 64 * 1024 * 1024;
}

/// <summary>Validates <see cref="LimitOptions"/> with code generated at build time (no reflection), one message per key.</summary>
[OptionsValidator]
public sealed partial class LimitOptionsValidator : IValidateOptions<LimitOptions>;

/// <summary>Validates <see cref="StorageOptions"/>.</summary>
[OptionsValidator]
public sealed partial class StorageOptionsValidator : IValidateOptions<StorageOptions>;

/// <summary>Validates <see cref="RedisOptions"/>.</summary>
[OptionsValidator]
public sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;

/// <summary>Validates <see cref="CacheOptions"/>.</summary>
[OptionsValidator]
public sealed partial class CacheOptionsValidator : IValidateOptions<CacheOptions>;
