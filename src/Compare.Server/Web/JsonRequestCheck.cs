using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Primitives;

namespace Compare.Server.Web;

/// <summary>A mistake in a JSON route's request: the field it is in (proto names, as the validator names them) and what is wrong.</summary>
internal readonly record struct JsonRequestProblem(string Field, string Description);

/// <summary>
/// Finds what gRPC JSON transcoding would refuse in a request's body or query string before it sees it, and names the
/// field. Transcoding answers every such body with "Request JSON payload is not correctly formatted." and keeps the
/// reason to itself, and it drops a field it does not know without a word ("treshold": 0.3 ran at the collection's
/// 0.8). This accepts exactly what transcoding's converters accept, field by field (RequestFuzzTests holds it to that):
/// in a body a 32-bit integer or a bool only as a JSON number or literal, a 64-bit integer as a number or a string, a
/// float as a number or "NaN" and "Infinity", an enum as its name or number, one member of a oneof; in a query string
/// what parses as the field's type, once unless the field repeats. It also refuses a name that is not a field.
/// </summary>
internal static class JsonRequestCheck
{
    private static readonly ConcurrentDictionary<MessageDescriptor, Dictionary<string, FieldDescriptor>> FieldsByName = new();

    /// <summary>The first mistake in <paramref name="json"/> as a <paramref name="message"/>, or null when transcoding will read it.</summary>
    public static JsonRequestProblem? FindInBody(ReadOnlySpan<byte> json, MessageDescriptor message)
    {
        if (!Utf8.IsValid(json))
        {
            return new JsonRequestProblem("body", "is not valid UTF-8.");
        }

        var reader = new Utf8JsonReader(json);
        var path = new List<string>();
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return new JsonRequestProblem("body", $"must be a JSON object of the fields of {message.FullName}.");
            }

            JsonRequestProblem? problem = CheckObject(ref reader, message, path);
            if (problem is null && reader.Read())
            {
                return new JsonRequestProblem("body", "holds more after its JSON object.");
            }

            return problem;
        }
        catch (JsonException e)
        {
            return new JsonRequestProblem(path.Count == 0 ? "body" : string.Concat(path), $"is not valid JSON: {e.Message}");
        }
    }

    /// <summary>
    /// The first mistake in a query string bound to <paramref name="message"/> (<c>?page_size=5&amp;includeText=true</c>,
    /// a nested field as <c>config.threshold</c>), or null when transcoding will read it. Route values are not in it.
    /// </summary>
    public static JsonRequestProblem? FindInQuery(IEnumerable<KeyValuePair<string, StringValues>> query, MessageDescriptor message)
    {
        foreach ((string key, StringValues values) in query)
        {
            if (Misread(key, values, message) is { } description)
            {
                // The key is echoed: bounded, as values are.
                return new JsonRequestProblem(Shortened(key), description);
            }
        }

        return null;
    }

    /// <summary>What is wrong with one query parameter, or null when transcoding will read it.</summary>
    private static string? Misread(string key, StringValues values, MessageDescriptor message)
    {
        (FieldDescriptor? field, string? problem) = FieldAt(key, message);
        if (problem is not null)
        {
            return problem;
        }

        if (!field!.IsRepeated && values.Count > 1)
        {
            return $"is given {values.Count} times; give it once.";
        }

        foreach (string? value in values)
        {
            if (!Parses(value ?? string.Empty, field))
            {
                return $"must be {QueryForm(field)}, not '{Shortened(value ?? string.Empty)}'.";
            }
        }

        return null;
    }

    /// <summary>The field a dotted query key names, through singular message fields, or what is wrong with the key.</summary>
    private static (FieldDescriptor? Field, string? Problem) FieldAt(string key, MessageDescriptor message)
    {
        string[] names = key.Split('.');
        FieldDescriptor? field = null;
        for (int i = 0; i < names.Length; i++)
        {
            Dictionary<string, FieldDescriptor> fields = FieldsByName.GetOrAdd(message, IndexFields);
            if (!fields.TryGetValue(names[i], out field))
            {
                return (null, $"is not a field of {message.FullName}{Suggestion(names[i], fields)}");
            }

            if (i < names.Length - 1)
            {
                if (field.FieldType != FieldType.Message || field.IsRepeated)
                {
                    return (null, $"cannot be set: {field.Name} holds no fields.");
                }

                message = field.MessageType;
            }
        }

        return field!.FieldType == FieldType.Message || field.IsMap
            ? (null, "cannot be set in a query string: send its fields one by one.")
            : (field, null);
    }

    private static bool Parses(string value, FieldDescriptor field) => field.FieldType switch
    {
        FieldType.String or FieldType.Bytes => true,
        FieldType.Bool => bool.TryParse(value, out _),
        FieldType.Double or FieldType.Float => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        FieldType.UInt32 or FieldType.Fixed32 => uint.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        FieldType.UInt64 or FieldType.Fixed64 => ulong.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        FieldType.Enum => field.EnumType.FindValueByName(value) is not null || int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        _ => false,
    };

    private static string QueryForm(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Bool => "true or false",
        FieldType.Double or FieldType.Float => "a number",
        FieldType.Enum => $"one of {string.Join(", ", field.EnumType.Values.Select(v => v.Name))} (or its number)",
        _ => "a whole number",
    };

    /// <summary>Checks the fields of the object the reader is at the start of, leaving it at the object's end.</summary>
    private static JsonRequestProblem? CheckObject(ref Utf8JsonReader reader, MessageDescriptor message, List<string> path)
    {
        Dictionary<string, FieldDescriptor> fields = FieldsByName.GetOrAdd(message, IndexFields);
        Dictionary<OneofDescriptor, FieldDescriptor>? oneofs = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            path.Add(path.Count == 0 ? Shortened(name) : "." + Shortened(name)); // a name is echoed: bounded, as values are
            if (!fields.TryGetValue(name, out FieldDescriptor? field))
            {
                return new JsonRequestProblem(string.Concat(path), $"is not a field of {message.FullName}{Suggestion(name, fields)}");
            }

            path[^1] = path.Count == 1 ? field.Name : "." + field.Name;
            reader.Read();
            if (field.RealContainingOneof is { } oneof) // transcoding counts a null member as set
            {
                oneofs ??= [];
                if (oneofs.TryGetValue(oneof, out FieldDescriptor? first) && first != field)
                {
                    return new JsonRequestProblem(string.Concat(path), $"cannot be set beside {first.Name}: set one of {string.Join(", ", oneof.Fields.Select(f => f.Name))}.");
                }

                oneofs[oneof] = field;
            }

            if (CheckField(ref reader, field, path) is { } problem)
            {
                return problem;
            }

            path.RemoveAt(path.Count - 1);
        }

        return null;
    }

    private static JsonRequestProblem? CheckField(ref Utf8JsonReader reader, FieldDescriptor field, List<string> path)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null; // proto3 JSON: null is the field's default
        }

        if (field.IsMap)
        {
            return reader.TokenType == JsonTokenType.StartObject
                ? CheckEntries(ref reader, field.MessageType.FindFieldByNumber(2), path)
                : Expected(reader, "a JSON object of keys and values", path);
        }

        if (!field.IsRepeated)
        {
            return CheckValue(ref reader, field, path);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return Expected(reader, "a JSON array", path);
        }

        for (int index = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; index++)
        {
            path.Add($"[{index}]");
            if (CheckElement(ref reader, field, path, "list") is { } problem)
            {
                return problem;
            }

            path.RemoveAt(path.Count - 1);
        }

        return null;
    }

    private static JsonRequestProblem? CheckEntries(ref Utf8JsonReader reader, FieldDescriptor value, List<string> path)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            path.Add($"[\"{Shortened(reader.GetString()!)}\"]");
            reader.Read();
            if (CheckElement(ref reader, value, path, "map") is { } problem)
            {
                return problem;
            }

            path.RemoveAt(path.Count - 1);
        }

        return null;
    }

    /// <summary>One element of a list or a map, named by the path's last segment: present (transcoding takes no null there) and of its type.</summary>
    private static JsonRequestProblem? CheckElement(ref Utf8JsonReader reader, FieldDescriptor field, List<string> path, string container) =>
        reader.TokenType == JsonTokenType.Null ? new JsonRequestProblem(string.Concat(path), $"must not be null in a {container}.") : CheckValue(ref reader, field, path);

    /// <summary>Checks one value of the field's type (one element of a repeated field); the reader is at its first token.</summary>
    private static JsonRequestProblem? CheckValue(ref Utf8JsonReader reader, FieldDescriptor field, List<string> path)
    {
        JsonTokenType token = reader.TokenType;
        switch (field.FieldType)
        {
            case FieldType.String:
                return token != JsonTokenType.String ? Expected(reader, "a JSON string", path)
                    : reader.ValueIsEscaped && !Unescapes(reader) ? new JsonRequestProblem(string.Concat(path), "holds an escape that is not text (a lone \\ud800-\\udfff surrogate).")
                    : null;
            case FieldType.Bytes:
                return token == JsonTokenType.String ? null : Expected(reader, "a base64 JSON string", path);
            case FieldType.Bool:
                return token is JsonTokenType.True or JsonTokenType.False ? null : Expected(reader, "true or false", path);
            case FieldType.Double or FieldType.Float:
                return token == JsonTokenType.Number || (token == JsonTokenType.String && reader.ValueTextEquals("NaN"u8)) ||
                    (token == JsonTokenType.String && (reader.ValueTextEquals("Infinity"u8) || reader.ValueTextEquals("-Infinity"u8)))
                    ? null : Expected(reader, "a JSON number", path);
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                return token == JsonTokenType.Number && reader.TryGetInt32(out _) ? null : Expected(reader, "a whole JSON number from -2147483648 to 2147483647", path);
            case FieldType.UInt32 or FieldType.Fixed32:
                return token == JsonTokenType.Number && reader.TryGetUInt32(out _) ? null : Expected(reader, "a whole JSON number from 0 to 4294967295", path);
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                return (token == JsonTokenType.Number && reader.TryGetInt64(out _)) || (token == JsonTokenType.String && long.TryParse(reader.GetString(), CultureInfo.InvariantCulture, out _))
                    ? null : Expected(reader, "a whole number (a JSON number or string) of 64 bits", path);
            case FieldType.UInt64 or FieldType.Fixed64:
                return (token == JsonTokenType.Number && reader.TryGetUInt64(out _)) || (token == JsonTokenType.String && ulong.TryParse(reader.GetString(), CultureInfo.InvariantCulture, out _))
                    ? null : Expected(reader, "a whole number (a JSON number or string) from 0 to 18446744073709551615", path);
            case FieldType.Enum:
                return CheckEnum(ref reader, field.EnumType, path);
            default:
                return CheckMessage(ref reader, field.MessageType, path);
        }
    }

    private static JsonRequestProblem? CheckEnum(ref Utf8JsonReader reader, EnumDescriptor type, List<string> path)
    {
        if ((reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out _)) ||
            (reader.TokenType == JsonTokenType.String && type.FindValueByName(reader.GetString()) is not null))
        {
            return null;
        }

        string values = string.Join(", ", type.Values.Select(v => v.Name));
        return reader.TokenType == JsonTokenType.String
            ? new JsonRequestProblem(string.Concat(path), $"'{Shortened(reader.GetString()!)}' is not a value of {type.FullName}: use one of {values}.")
            : Expected(reader, $"one of {values} (or its number)", path);
    }

    private static JsonRequestProblem? CheckMessage(ref Utf8JsonReader reader, MessageDescriptor type, List<string> path)
    {
        if (type.File.Package == "google.protobuf")
        {
            // Timestamps, durations and the wrappers have JSON forms of their own, which transcoding judges itself.
            reader.Skip();
            return null;
        }

        return reader.TokenType == JsonTokenType.StartObject ? CheckObject(ref reader, type, path) : Expected(reader, "a JSON object", path);
    }

    private static JsonRequestProblem Expected(Utf8JsonReader reader, string expected, List<string> path)
    {
        string found = reader.TokenType switch
        {
            JsonTokenType.String => $"the string \"{Shortened(reader.GetString()!)}\"",
            JsonTokenType.Number => $"the number {Encoding.UTF8.GetString(reader.ValueSpan)}",
            JsonTokenType.True or JsonTokenType.False => $"{(reader.TokenType == JsonTokenType.True ? "true" : "false")}",
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            _ => reader.TokenType.ToString(),
        };
        return new JsonRequestProblem(string.Concat(path), $"must be {expected}, not {found}.");
    }

    private static string Shortened(string value) => value.Length <= 40 ? value : value[..40] + "…";

    private static bool Unescapes(Utf8JsonReader reader)
    {
        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Both names of every field, as transcoding matches them: the proto name and the JSON (lowerCamel) name.</summary>
    private static Dictionary<string, FieldDescriptor> IndexFields(MessageDescriptor message)
    {
        var fields = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
        foreach (FieldDescriptor field in message.Fields.InDeclarationOrder())
        {
            fields[field.Name] = field;
            fields[field.JsonName] = field;
        }

        return fields;
    }

    /// <summary>"; did you mean threshold?" for a name a case or a few edits from a field's (two for six letters, one for three), else ".".</summary>
    private static string Suggestion(string name, Dictionary<string, FieldDescriptor> fields)
    {
        (string? best, int distance) = (null, name.Length >= 6 ? 3 : name.Length >= 3 ? 2 : 1);
        foreach (string candidate in fields.Keys)
        {
            int d = string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase) ? 0 : EditDistance(name.ToLowerInvariant(), candidate.ToLowerInvariant(), distance);
            if (d < distance)
            {
                (best, distance) = (fields[candidate].Name, d);
            }
        }

        return best is null ? "." : $"; did you mean {best}?";
    }

    /// <summary>Levenshtein distance, or <paramref name="cap"/> once it is certain to be at least that.</summary>
    internal static int EditDistance(string a, string b, int cap)
    {
        if (Math.Abs(a.Length - b.Length) >= cap || a.Length > 64 || b.Length > 64)
        {
            return cap;
        }

        Span<int> previous = stackalloc int[b.Length + 1];
        Span<int> current = stackalloc int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            current.CopyTo(previous);
        }

        return Math.Min(previous[b.Length], cap);
    }
}
