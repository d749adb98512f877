using System.Text;
using System.Text.Json;

namespace Compare.Cli.Input;

/// <summary>A document read from the input: its id, text, and where it came from (for messages).</summary>
internal sealed record InputDocument(string Id, string Text, string Source);

/// <summary>A record of the input that could not be read, with where it is and why.</summary>
internal sealed record InputProblem(string Source, string Reason);

/// <summary>Field names of JSONL and CSV input.</summary>
internal sealed record InputFields(string Id = "id", string Text = "text");

/// <summary>
/// Reads documents from a JSONL file, a CSV file with a header, or a folder of .txt files, one
/// at a time. A malformed record is reported to <c>onProblem</c> with its line number and skipped.
/// </summary>
internal static class DocumentReader
{
    public static IEnumerable<InputDocument> Read(string path, InputFields fields, Action<InputProblem> onProblem)
    {
        if (Directory.Exists(path))
        {
            return ReadFolder(path);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file or folder.", path);
        }

        return Path.GetExtension(path).ToUpperInvariant() switch
        {
            ".CSV" => ReadCsv(path, fields, onProblem),
            ".JSONL" or ".NDJSON" or ".JSON" => ReadJsonLines(path, fields, onProblem),
            _ => throw new NotSupportedException($"{path}: the input must be a .jsonl, a .csv or a folder of .txt files."),
        };
    }

    private static IEnumerable<InputDocument> ReadFolder(string folder)
    {
        foreach (string file in Directory.EnumerateFiles(folder, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string id = Path.GetRelativePath(folder, file).Replace('\\', '/');
            yield return new InputDocument(id, File.ReadAllText(file), file);
        }
    }

    private static IEnumerable<InputDocument> ReadJsonLines(string path, InputFields fields, Action<InputProblem> onProblem)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        int number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            InputDocument? document = null;
            string? reason = null;
            try
            {
                using JsonDocument json = JsonDocument.Parse(line);
                if (json.RootElement.ValueKind != JsonValueKind.Object)
                {
                    reason = "not a JSON object";
                }
                else if (!TryGetString(json.RootElement, fields.Id, allowNumber: true, out string? id))
                {
                    reason = $"no \"{fields.Id}\" field";
                }
                else if (!TryGetString(json.RootElement, fields.Text, allowNumber: false, out string? text))
                {
                    reason = $"no string \"{fields.Text}\" field";
                }
                else
                {
                    document = new InputDocument(id!, text!, $"{path}:{number}");
                }
            }
            catch (JsonException e)
            {
                reason = $"not valid JSON ({e.Message})";
            }

            if (document is not null)
            {
                yield return document;
            }
            else
            {
                onProblem(new InputProblem($"{path}:{number}", reason!));
            }
        }
    }

    // Ids may be numbers in exports; texts must be strings.
    private static bool TryGetString(JsonElement record, string name, bool allowNumber, out string? value)
    {
        value = null;
        if (!record.TryGetProperty(name, out JsonElement element))
        {
            return false;
        }

        value = element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number when allowNumber => element.GetRawText(),
            _ => null,
        };
        return value is not null;
    }

    private static IEnumerable<InputDocument> ReadCsv(string path, InputFields fields, Action<InputProblem> onProblem)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        int line = 1;
        List<string>? header = ReadCsvRecord(reader, ref line, out _);
        if (header is null)
        {
            yield break;
        }

        int idColumn = header.IndexOf(fields.Id), textColumn = header.IndexOf(fields.Text);
        if (idColumn < 0 || textColumn < 0)
        {
            throw new InvalidDataException($"{path}:1: the header has no \"{(idColumn < 0 ? fields.Id : fields.Text)}\" column ({string.Join(", ", header)}).");
        }

        while (true)
        {
            int start = line;
            List<string>? record = ReadCsvRecord(reader, ref line, out string? error);
            if (record is null)
            {
                yield break;
            }

            if (error is not null)
            {
                onProblem(new InputProblem($"{path}:{start}", error));
            }
            else if (record.Count != header.Count)
            {
                onProblem(new InputProblem($"{path}:{start}", $"{record.Count} fields where the header has {header.Count}"));
            }
            else
            {
                yield return new InputDocument(record[idColumn], record[textColumn], $"{path}:{start}");
            }
        }
    }

    // RFC 4180: fields separated by commas, optionally quoted; quotes doubled inside quotes; quoted fields may span lines.
    private static List<string>? ReadCsvRecord(StreamReader reader, ref int line, out string? error)
    {
        error = null;
        if (reader.Peek() < 0)
        {
            return null;
        }

        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, wasQuoted = false;
        while (true)
        {
            int c = reader.Read();
            if (c < 0)
            {
                if (quoted)
                {
                    error = "a quoted field is not closed before the end of the file";
                }

                fields.Add(field.ToString());
                return fields;
            }

            if (quoted)
            {
                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append((char)c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0 && !wasQuoted:
                    quoted = wasQuoted = true;
                    break;
                case '"':
                    error ??= "a quote inside an unquoted field";
                    field.Append('"');
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    wasQuoted = false;
                    break;
                case '\r':
                    break;
                case '\n':
                    line++;
                    fields.Add(field.ToString());
                    return fields;
                default:
                    field.Append((char)c);
                    break;
            }
        }
    }
}
