using System.Collections.ObjectModel;
using System.Text;
using Compare.Core;
using Compare.Core.Lsh;
using Compare.Core.Text;
using Compare.Server.Hosting;
using Compare.Server.Storage;
using Compare.V1;

namespace Compare.Server.Validation;

/// <summary>Checks requests field by field and turns them into store and engine inputs.</summary>
public static class RequestValidator
{
    /// <summary>Longest document id.</summary>
    public const int MaxIdLength = 512;

    /// <summary>Largest bridge between phrase parts, in words: more makes the search costly and the phrases meaningless.</summary>
    public const int MaxBridgeWords = 10;

    /// <summary>Longest metadata key.</summary>
    public const int MaxMetadataKeyLength = 256;

    /// <summary>The collection a request names (empty means default), or a violation of <paramref name="field"/>.</summary>
    public static string Collection(string? name, FieldViolations violations, string field = "collection")
    {
        string resolved = CollectionNames.Resolve(name);
        if (!CollectionNames.IsValid(resolved))
        {
            violations.Add(field, $"'{Shorten(resolved)}' is not a valid collection name: use 1 to {CollectionNames.MaxLength} letters, digits, '-', '_' or '.'.");
        }

        return resolved;
    }

    /// <summary>A collection name alone, thrown as INVALID_ARGUMENT when wrong.</summary>
    public static string Collection(string? name, string field = "collection")
    {
        var violations = new FieldViolations();
        string resolved = Collection(name, violations, field);
        violations.ThrowIfAny();
        return resolved;
    }

    /// <summary>A document id: non-empty and at most <see cref="MaxIdLength"/> characters (code points: an emoji is one).</summary>
    public static void Id(string id, string field, FieldViolations violations)
    {
        if (id.Length == 0)
        {
            violations.Add(field, "must not be empty.");
        }
        else if (CodePoints(id, MaxIdLength) is var length && length > MaxIdLength)
        {
            violations.Add(field, $"is {length} characters long; the limit is {MaxIdLength}.");
        }
    }

    // Characters as a reader counts them, not UTF-16 units: an emoji is one, not two. Counted only past the limit in units,
    // since there are never more code points than units.
    private static int CodePoints(string value, int limit) => value.Length <= limit ? value.Length : CodePoints(value);

    /// <summary>
    /// A new collection name or document id has no "." or ".." path segment: URLs (the JSON routes, the browser view)
    /// resolve those away, so the name would alias another or be out of reach. Checked when a name is created only, so
    /// a document stored before this rule can still be read and deleted.
    /// </summary>
    public static void NoDotSegments(string name, string field, FieldViolations violations)
    {
        if (name.Split('/').Any(static segment => segment is "." or ".."))
        {
            violations.Add(field, $"'{Shorten(name)}' has a '.' or '..' path segment, which URLs would resolve away; choose another.");
        }
    }

    /// <summary>A document text: non-empty and within the size limit. Returns its UTF-8 size.</summary>
    public static int Text(string text, string field, LimitOptions limits, FieldViolations violations)
    {
        if (text.Length == 0)
        {
            violations.Add(field, "must not be empty.");
            return 0;
        }

        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > limits.MaxDocumentBytes)
        {
            violations.Add(field, $"is {bytes} bytes of UTF-8; the document size limit (Limits:MaxDocumentBytes) is {limits.MaxDocumentBytes}.");
        }

        return bytes;
    }

    /// <summary>An optional threshold in [0, 1]; the collection's when absent.</summary>
    public static double Threshold(bool has, double value, double fallback, string field, FieldViolations violations)
    {
        if (!has)
        {
            return fallback;
        }

        if (!(value is >= 0 and <= 1))
        {
            violations.Add(field, $"must be between 0 and 1, was {value}.");
        }

        return value;
    }

    /// <summary>A share of a collection's documents above which a passage is boilerplate, in (0, 1].</summary>
    public static double PhraseDocumentFrequency(bool has, double value, double fallback, string field, FieldViolations violations)
    {
        if (has && !(value is > 0 and <= 1))
        {
            violations.Add(field, $"must be above 0 and at most 1 (1 keeps every passage), was {value}.");
        }

        return has ? value : fallback;
    }

    /// <summary>
    /// A non-negative count with a default for 0 and an upper limit; <paramref name="setting"/> names the server setting
    /// that sets the limit, null when the limit is fixed.
    /// </summary>
    public static int Count(int value, int fallback, int max, string field, string? setting, FieldViolations violations)
    {
        if (value < 0)
        {
            violations.Add(field, $"must not be negative, was {value}.");
        }
        else if (value > max)
        {
            violations.Add(field, setting is null ? $"must be at most {max}, was {value}." : $"must be at most {max} (the server's {setting}), was {value}.");
        }

        return value == 0 ? fallback : value;
    }

    /// <summary>A document reference: exactly one of id or text.</summary>
    public static void Reference(DocumentRef? reference, string field, LimitOptions limits, FieldViolations violations)
    {
        switch (reference?.SourceCase ?? DocumentRef.SourceOneofCase.None)
        {
            case DocumentRef.SourceOneofCase.Id:
                Id(reference!.Id, field + ".id", violations);
                break;
            case DocumentRef.SourceOneofCase.Text:
                Text(reference!.Text, field + ".text", limits, violations);
                break;
            default:
                violations.Add(field, "is required: set id (an indexed document) or text.");
                break;
        }
    }

    /// <summary>Validates a whole batch (nothing is stored when anything is wrong) and hashes its documents.</summary>
    public static DocumentContent[] Batch(UpsertDocumentsRequest request, LimitOptions limits, FieldViolations violations, string prefix = "")
    {
        if (request.Documents.Count == 0)
        {
            violations.Add(prefix + "documents", "must hold at least one document.");
        }
        else if (request.Documents.Count > limits.MaxBatchDocuments)
        {
            violations.Add(prefix + "documents", $"holds {request.Documents.Count} documents; the batch limit (Limits:MaxBatchDocuments) is {limits.MaxBatchDocuments}.");
            return [];
        }

        var firstIndexOf = new Dictionary<string, int>(request.Documents.Count, StringComparer.Ordinal);
        var prepared = new DocumentContent[request.Documents.Count];
        for (int i = 0; i < request.Documents.Count; i++)
        {
            Compare.V1.Document d = request.Documents[i];
            string field = $"{prefix}documents[{i}]";
            Id(d.Id, field + ".id", violations);
            NoDotSegments(d.Id, field + ".id", violations);
            if (d.Id.Length > 0 && !firstIndexOf.TryAdd(d.Id, i))
            {
                violations.Add(field + ".id", $"'{Shorten(d.Id)}' repeats documents[{firstIndexOf[d.Id]}].id; ids in a batch must be unique.");
            }

            int utf8Length = Text(d.Text, field + ".text", limits, violations);
            Metadata(d.Metadata, field + ".metadata", limits, violations);

            if (violations.IsEmpty)
            {
                IReadOnlyDictionary<string, string> metadata = d.Metadata.Count == 0 ? ReadOnlyDictionary<string, string>.Empty
                    : new Dictionary<string, string>(d.Metadata, StringComparer.Ordinal);
                prepared[i] = new DocumentContent(d.Id, d.Text, metadata, DocumentHash.Of(d.Text, metadata),
                    CodePoints(d.Text), utf8Length);
            }
        }

        return prepared;
    }

    /// <summary>A collection configuration with every default filled in.</summary>
    public static CollectionSettings Settings(CollectionConfig? config, FieldViolations violations)
    {
        config ??= new CollectionConfig();
        const string Prefix = "config.";
        Core.ShingleKind kind = config.ShingleKind switch
        {
            Compare.V1.ShingleKind.Unspecified or Compare.V1.ShingleKind.Word => Core.ShingleKind.Word,
            Compare.V1.ShingleKind.Character => Core.ShingleKind.Character,
            _ => Invalid(Core.ShingleKind.Word, Prefix + "shingle_kind", $"unknown value {(int)config.ShingleKind}."),
        };
        Core.SignatureScheme scheme = config.SignatureScheme switch
        {
            Compare.V1.SignatureScheme.Unspecified or Compare.V1.SignatureScheme.OnePermutation => Core.SignatureScheme.OnePermutation,
            Compare.V1.SignatureScheme.Classic => Core.SignatureScheme.Classic,
            _ => Invalid(Core.SignatureScheme.OnePermutation, Prefix + "signature_scheme", $"unknown value {(int)config.SignatureScheme}."),
        };
        int shingleSize = Range(config.ShingleSize, SketchParameters.Default.ShingleSize, SketchParameters.MaxShingleSize, Prefix + "shingle_size");
        int numPerm = Range(config.NumPerm, SketchParameters.Default.NumPermutations, SketchParameters.MaxPermutations, Prefix + "num_perm");
        double threshold = Threshold(config.HasThreshold, config.Threshold, CollectionSettings.DefaultThreshold, Prefix + "threshold", violations);
        if (config.HasThreshold && config.Threshold == 0)
        {
            violations.Add(Prefix + "threshold", "must be above 0: LSH banding cannot be tuned for 0.");
        }

        Normalization n = config.Normalization ?? new Normalization();
        var parameters = new SketchParameters
        {
            Kind = kind,
            ShingleSize = shingleSize,
            NumPermutations = numPerm,
            Scheme = scheme,
            Seed = config.Seed == 0 ? SketchParameters.DefaultSeed : config.Seed,
            Normalization = new NormalizationOptions(n.FoldDigits, n.FoldDiacritics, !n.HasCjkBigrams || n.CjkBigrams),
        };

        LshParameters lsh = default;
        if (config.LshBands == 0 && config.LshRows == 0)
        {
            if (violations.IsEmpty)
            {
                lsh = LshParameters.Optimal(threshold, numPerm);
            }
        }
        else if (config.LshBands < 1 || config.LshRows < 1 || (long)config.LshBands * config.LshRows > numPerm)
        {
            violations.Add(Prefix + "lsh_bands", $"lsh_bands ({config.LshBands}) and lsh_rows ({config.LshRows}) must both be 0 (automatic) or positive with lsh_bands × lsh_rows ≤ num_perm ({numPerm}).");
        }
        else
        {
            lsh = new LshParameters(config.LshBands, config.LshRows);
        }

        double boilerplate = PhraseDocumentFrequency(config.HasMaxPhraseDocumentFrequency, config.MaxPhraseDocumentFrequency, 1, Prefix + "max_phrase_document_frequency", violations);
        return new CollectionSettings(parameters, threshold, lsh, boilerplate);

        T Invalid<T>(T fallback, string field, string description)
        {
            violations.Add(field, description);
            return fallback;
        }

        int Range(int value, int fallback, int max, string field)
        {
            if (value < 0 || value > max)
            {
                violations.Add(field, $"must be between 1 and {max} (0 for the default, {fallback}), was {value}.");
            }

            return value == 0 ? fallback : value;
        }
    }

    /// <summary>Metadata keys of 1 to <see cref="MaxMetadataKeyLength"/> characters, and at most Limits:MaxMetadataBytes of keys and values.</summary>
    private static void Metadata(IDictionary<string, string> metadata, string field, LimitOptions limits, FieldViolations violations)
    {
        long bytes = 0;
        foreach ((string key, string value) in metadata)
        {
            if (key.Length == 0 || CodePoints(key, MaxMetadataKeyLength) > MaxMetadataKeyLength)
            {
                violations.Add(field, $"keys must be 1 to {MaxMetadataKeyLength} characters long.");
                return;
            }

            bytes += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
        }

        if (bytes > limits.MaxMetadataBytes)
        {
            violations.Add(field, $"is {bytes} bytes of UTF-8 keys and values; the metadata size limit (Limits:MaxMetadataBytes) is {limits.MaxMetadataBytes}.");
        }
    }

    /// <summary>Unicode code points in <paramref name="text"/>: UTF-16 units less one per surrogate pair.</summary>
    public static int CodePoints(string text)
    {
        // Most texts have no surrogate at all: one vectorised search says so, and the count starts at the first one.
        int first = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return text.Length;
        }

        int pairs = 0;
        for (int i = first + 1; i < text.Length; i++)
        {
            if (char.IsLowSurrogate(text[i]) && char.IsHighSurrogate(text[i - 1]))
            {
                pairs++;
            }
        }

        return text.Length - pairs;
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 80), "…");
}
