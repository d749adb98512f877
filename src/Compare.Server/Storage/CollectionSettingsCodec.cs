using System.Text.Json;
using System.Text.Json.Serialization;
using Compare.Core;
using Compare.Core.Lsh;
using Compare.Core.Text;

namespace Compare.Server.Storage;

/// <summary>
/// Collection settings as stored JSON: every field named and written explicitly, so a stored
/// collection never depends on the defaults of the version that reads it.
/// </summary>
public static class CollectionSettingsCodec
{
    /// <summary>The settings as JSON.</summary>
    public static string Encode(CollectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        SketchParameters p = settings.Parameters;
        var stored = new StoredSettings(SketchParameters.FormatVersion, p.Kind.ToString(), p.ShingleSize, p.Normalization.FoldDigits,
            p.Normalization.FoldDiacritics, p.Normalization.CjkBigrams, p.NumPermutations, p.Scheme.ToString(), p.Seed, settings.Threshold,
            settings.Lsh.Bands, settings.Lsh.Rows, settings.MaxPhraseDocumentFrequency);
        return JsonSerializer.Serialize(stored, SettingsJson.Default.StoredSettings);
    }

    /// <summary>Settings from JSON; throws <see cref="StoreFormatException"/> for another sketch format or a malformed value.</summary>
    public static CollectionSettings Decode(string json)
    {
        StoredSettings s;
        try
        {
            s = JsonSerializer.Deserialize(json, SettingsJson.Default.StoredSettings) ?? throw new JsonException("null settings");
        }
        catch (JsonException e)
        {
            throw new StoreFormatException($"Stored collection settings are unreadable: {e.Message}", e);
        }

        if (s.SketchFormatVersion != SketchParameters.FormatVersion)
        {
            throw new StoreFormatException(
                $"A collection was written with sketch format version {s.SketchFormatVersion}; this server reads version {SketchParameters.FormatVersion}. Re-index it with this version.");
        }

        var parameters = new SketchParameters
        {
            Kind = Enum.Parse<ShingleKind>(s.Kind),
            ShingleSize = s.ShingleSize,
            Normalization = new NormalizationOptions(s.FoldDigits, s.FoldDiacritics, s.CjkBigrams),
            NumPermutations = s.NumPermutations,
            Scheme = Enum.Parse<SignatureScheme>(s.Scheme),
            Seed = s.Seed,
        };
        return new CollectionSettings(parameters, s.Threshold, new LshParameters(s.Bands, s.Rows), s.MaxPhraseDocumentFrequency ?? 1);
    }

    internal sealed record StoredSettings(int SketchFormatVersion, string Kind, int ShingleSize, bool FoldDigits, bool FoldDiacritics, bool CjkBigrams,
        int NumPermutations, string Scheme, ulong Seed, double Threshold, int Bands, int Rows, double? MaxPhraseDocumentFrequency = null); // absent before boilerplate: 1
}

[JsonSerializable(typeof(CollectionSettingsCodec.StoredSettings))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string[]))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class SettingsJson : JsonSerializerContext;
