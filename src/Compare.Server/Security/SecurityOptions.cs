using System.ComponentModel.DataAnnotations;
using Compare.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Compare.Server.Security;

/// <summary>Who may call, bound from the "Security" configuration section.</summary>
public sealed class SecurityOptions : IValidatableObject
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Security";

    /// <summary>Shortest API key accepted: a short key can be guessed.</summary>
    public const int MinKeyLength = 16;

    /// <summary>
    /// API keys (Security__ApiKeys__0, __1, ...). When any is set, every compare.v1 call must carry
    /// one as "authorization: Bearer KEY" or "x-api-key: KEY"; with none, every caller is let in.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Also require a key for grpc.health.v1 (open by default, for probes).</summary>
    public bool RequireKeyForHealth { get; set; }

    /// <summary>Also require a key for server reflection (open by default, for grpcurl).</summary>
    public bool RequireKeyForReflection { get; set; }

    /// <summary>Require a key for /metrics when keys are set (the default: metrics name collections and callers); false opens it to scrapers.</summary>
    public bool RequireKeyForMetrics { get; set; } = true;

    /// <summary>Per-caller rate limit of compare.v1 calls.</summary>
    [ValidateObjectMembers]
    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>Every key long enough, without surrounding white space.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (int i = 0; i < ApiKeys.Count; i++)
        {
            string key = ApiKeys[i];
            if (key.Trim().Length < MinKeyLength || key != key.Trim())
            {
                yield return new ValidationResult(
                    $"Security:ApiKeys:{i} must be at least {MinKeyLength} characters, without surrounding white space.", [nameof(ApiKeys)]);
            }
        }
    }
}

/// <summary>Validates <see cref="SecurityOptions"/> with code generated at build time.</summary>
[OptionsValidator]
public sealed partial class SecurityOptionsValidator : IValidateOptions<SecurityOptions>;

/// <summary>A token bucket per caller: per API key, or per client address when no keys are configured.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Calls per second each caller may sustain; 0 turns rate limiting off (the default).</summary>
    [SettingRange("Security:RateLimit:PermitsPerSecond", 0, long.MaxValue)]
    public int PermitsPerSecond { get; set; }

    /// <summary>Calls a caller may make at once after being idle; 0 means <see cref="PermitsPerSecond"/>.</summary>
    [SettingRange("Security:RateLimit:Burst", 0, long.MaxValue)]
    public int Burst { get; set; }
}
