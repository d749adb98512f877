using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Compare.Cli.Input;
using Compare.Client;
using Compare.V1;

namespace Compare.Cli;

/// <summary>
/// compare export: a collection's documents as the JSON lines compare index reads back, one document a line in id
/// order: its id, its text, and each metadata entry as a field of its own (as index makes a record's other fields its
/// metadata). To standard output or a file, compressed as its name says; a file is whole or absent.
/// </summary>
internal static class ExportRun
{
    private static readonly JsonWriterOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    public static Task<int> RunAsync(TextWriter output, TextWriter error, Uri server, string collection, string? outputPath, InputFields fields,
        CancellationToken cancellationToken) => ServerCommands.CallAsync(error, server, async () =>
        {
            using CompareClient client = ServerClient.Connect(server);
            // Asked first, so that a collection that does not exist leaves no file behind.
            Collection described = (await client.Collections.GetCollectionAsync(new GetCollectionRequest { Name = collection }, cancellationToken: cancellationToken)
                .ConfigureAwait(false)).Collection;
            try
            {
                var damaged = new List<string>();
                long written = await LinesOutput.StreamAsync(output, outputPath, writer => WriteAsync(writer, client, collection, fields, damaged, cancellationToken))
                    .ConfigureAwait(false);
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"compare: {Counted.Of(written, "document")} of collection \"{described.Name}\" written to {outputPath ?? "standard output"} ({Describe(described.Config)})."));
                if (damaged.Count == 0)
                {
                    return CompareCli.Ok;
                }

                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"compare: {Counted.Of(damaged.Count, "damaged document")} left out (the server answered DATA_LOSS): {string.Join(", ", damaged.Take(20).Select(id => $"\"{id}\""))}{(damaged.Count > 20 ? ", ..." : "")}. Upsert their original texts to repair them, then export again."));
                return CompareCli.ServerError;
            }
            catch (InputException e)
            {
                error.WriteLine($"compare: {e.Message}");
                return CompareCli.InputError;
            }
        });

    private static async Task<long> WriteAsync(TextWriter writer, CompareClient client, string collection, InputFields fields, List<string> damaged,
        CancellationToken cancellationToken)
    {
        var line = new ArrayBufferWriter<byte>(4096);
        using var json = new Utf8JsonWriter(line, LineOptions);
        long written = 0;
        // One damaged document must not keep the others from a backup: it is left out and named at the end.
        await foreach (StoredDocument document in client.ListAllDocumentsAsync(collection, includeText: true, damaged.Add, cancellationToken).ConfigureAwait(false))
        {
            if (document.Metadata.ContainsKey(fields.Id) || document.Metadata.ContainsKey(fields.Text))
            {
                throw new InputException(
                    $"document \"{document.Id}\" has a metadata entry named \"{(document.Metadata.ContainsKey(fields.Id) ? fields.Id : fields.Text)}\", the field of its id or text: name those fields otherwise with --id-field and --text-field.");
            }

            line.ResetWrittenCount();
            json.Reset();
            json.WriteStartObject();
            json.WriteString(fields.Id, document.Id);
            json.WriteString(fields.Text, document.Text);
            foreach (KeyValuePair<string, string> entry in document.Metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                json.WriteString(entry.Key, entry.Value);
            }

            json.WriteEndObject();
            json.Flush();
            writer.WriteLine(Encoding.UTF8.GetString(line.WrittenSpan));
            written++;
        }

        return written;
    }

    /// <summary>What the collection was made with, so that a copy can be made alike (its whole config is GetCollection's).</summary>
    private static string Describe(CollectionConfig config) => string.Create(CultureInfo.InvariantCulture,
        $"threshold {config.Threshold}, {config.ShingleSize}-{(config.ShingleKind == ShingleKind.Character ? "character" : "word")} shingles, {config.NumPerm} permutations, {config.LshBands} bands of {config.LshRows} rows");
}
