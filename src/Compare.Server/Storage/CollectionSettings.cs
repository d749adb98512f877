using Compare.Core;
using Compare.Core.Lsh;

namespace Compare.Server.Storage;

/// <summary>A collection's fixed configuration, every default resolved.</summary>
/// <param name="Parameters">Shingling, normalisation and signature parameters.</param>
/// <param name="Threshold">Default similarity threshold; the banding is tuned for it.</param>
/// <param name="Lsh">LSH bands and rows.</param>
/// <param name="MaxPhraseDocumentFrequency">
/// Compare's default for leaving out boilerplate: passages most of whose shingles are found in more than
/// this fraction of the documents, in (0, 1]; 1 keeps every passage.
/// </param>
public sealed record CollectionSettings(SketchParameters Parameters, double Threshold, LshParameters Lsh, double MaxPhraseDocumentFrequency = 1)
{
    /// <summary>Default threshold.</summary>
    public const double DefaultThreshold = 0.8;

    /// <summary>The default collection's settings: word 5-shingles, 128 OPH values, 0.8.</summary>
    public static CollectionSettings Default { get; } =
        new(SketchParameters.Default, DefaultThreshold, LshParameters.Optimal(DefaultThreshold, SketchParameters.Default.NumPermutations));
}

/// <summary>A collection and its statistics at the time it was read.</summary>
public sealed record CollectionInfo(string Name, CollectionSettings Settings, DateTimeOffset CreateTime, long DocumentCount, long TextBytes);

/// <summary>The name rules of collections.</summary>
public static class CollectionNames
{
    /// <summary>The collection that always exists.</summary>
    public const string Default = "default";

    /// <summary>Longest collection name.</summary>
    public const int MaxLength = 64;

    /// <summary>Empty means the default collection.</summary>
    public static string Resolve(string? name) => string.IsNullOrEmpty(name) ? Default : name;

    /// <summary>Letters, digits, '-', '_' and '.', 1 to 64 characters.</summary>
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= MaxLength && name.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
