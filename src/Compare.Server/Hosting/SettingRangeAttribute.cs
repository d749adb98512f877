using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Compare.Server.Hosting;

/// <summary>
/// A number or duration setting within bounds, with a message that names the configuration key and the value given.
/// (The options source generator's own copy of <see cref="RangeAttribute"/> drops a custom ErrorMessage.)
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingRangeAttribute : ValidationAttribute
{
    /// <summary>An integer setting in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public SettingRangeAttribute(string key, long minimum, long maximum)
    {
        Key = key;
        (Minimum, Maximum) = (minimum, maximum);
        Bounds = maximum == long.MaxValue || maximum == int.MaxValue
            ? (minimum == 1 ? "positive" : $"at least {minimum}")
            : $"{minimum} to {maximum}";
    }

    /// <summary>A duration setting in [<paramref name="minimum"/>, <paramref name="maximum"/>], each as TimeSpan text (c format).</summary>
    public SettingRangeAttribute(string key, string minimum, string maximum)
    {
        Key = key;
        TimeSpan low = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture), high = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);
        (Minimum, Maximum) = (low.Ticks, high.Ticks);
        Bounds = $"between {low.ToString("c", CultureInfo.InvariantCulture)} and {high.ToString("c", CultureInfo.InvariantCulture)}";
    }

    /// <summary>The configuration key, as "Section:Name".</summary>
    public string Key { get; }

    /// <summary>Lowest value (ticks for a duration).</summary>
    public long Minimum { get; }

    /// <summary>Highest value (ticks for a duration).</summary>
    public long Maximum { get; }

    private string Bounds { get; }

    /// <inheritdoc/>
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        long? number = value switch
        {
            int i => i,
            long l => l,
            TimeSpan t => t.Ticks,
            _ => null,
        };
        if (number is { } n && n >= Minimum && n <= Maximum)
        {
            return ValidationResult.Success;
        }

        string given = value is TimeSpan span ? span.ToString("c", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture) ?? "nothing";
        return new ValidationResult($"{Key} must be {Bounds}; it was {given}.", validationContext is null ? null : [validationContext.MemberName ?? Key]);
    }
}
