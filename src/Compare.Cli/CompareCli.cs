using System.CommandLine;
using Compare.Core.Clustering;
using Compare.Core.Phrases;

namespace Compare.Cli;

/// <summary>The commands and their options; <see cref="RunAsync"/> is the whole program, so tests run it in-process.</summary>
internal static class CompareCli
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong (System.CommandLine's own code for parse errors).</summary>
    public const int UsageError = 1;

    /// <summary>The input is missing or unreadable, or malformed under --strict.</summary>
    public const int InputError = 2;

    /// <summary>The server of --server refused the work or could not be reached.</summary>
    public const int ServerError = 3;

    /// <summary>Interrupted with Ctrl-C.</summary>
    public const int Cancelled = 130;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        // Progress and skipped-record reports come from the reading and the working threads at once.
        error = TextWriter.Synchronized(error);
        var root = new RootCommand("Compare: find near-duplicate documents and the wording they share.")
        {
            DedupCommand(output, error),
            DiffCommand(output, error),
            IndexCommand(error),
            SimilarCommand(output, error),
        };
        ParseResult parsed = root.Parse(args);
        return parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellationToken);
    }

    private static Command DedupCommand(TextWriter output, TextWriter error)
    {
        var input = new Argument<string>("input") { Description = "A .jsonl file (one object per line), a .csv file with a header, or a folder of .txt files." };
        var threshold = new Option<double>("--threshold") { Description = "Lowest Jaccard similarity of two duplicates.", DefaultValueFactory = _ => 0.8 };
        var outputFile = new Option<string?>("--output", "-o") { Description = "Clusters as JSON lines (default: standard output)." };
        var pairs = new Option<string?>("--pairs") { Description = "Also write every verified pair as JSON lines to this file." };
        var keep = new Option<string?>("--keep") { Description = "Write the ids to keep (one per line) to this file." };
        var drop = new Option<string?>("--drop") { Description = "Write the ids to drop (one per line) to this file." };
        var idField = new Option<string>("--id-field") { Description = "Field (JSONL) or column (CSV) of the id.", DefaultValueFactory = _ => "id" };
        var textField = new Option<string>("--text-field") { Description = "Field (JSONL) or column (CSV) of the text.", DefaultValueFactory = _ => "text" };
        var representative = new Option<RepresentativePolicy>("--representative")
        {
            Description = "Which member represents a cluster: FirstSeen (input order) or Longest.",
            DefaultValueFactory = _ => RepresentativePolicy.FirstSeen,
        };
        var strict = new Option<bool>("--strict") { Description = "Fail on the first malformed record instead of reporting and skipping it." };
        Option<string?> server = ServerOption("Upload to a running Compare server (http://host:port) and deduplicate there instead of in-process.", required: false);
        Option<string> collection = CollectionOption();
        threshold.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is not (> 0 and <= 1))
            {
                result.AddError("--threshold must be greater than 0 and at most 1.");
            }
        });
        var command = new Command("dedup", "Cluster the near-duplicates of a corpus and say what to drop.")
        {
            input, threshold, outputFile, pairs, keep, drop, idField, textField, representative, strict, server, collection,
        };
        command.SetAction((result, cancellationToken) => new DedupRun(output, error, new DedupSettings(
            result.GetValue(input)!, result.GetValue(threshold), result.GetValue(outputFile), result.GetValue(pairs), result.GetValue(keep),
            result.GetValue(drop), new Input.InputFields(result.GetValue(idField)!, result.GetValue(textField)!), result.GetValue(representative),
            result.GetValue(strict), result.GetValue(server) is { } address ? ServerAddress(address) : null, result.GetValue(collection)!)).RunAsync(cancellationToken));
        return command;
    }

    private static Command IndexCommand(TextWriter error)
    {
        var input = new Argument<string>("input") { Description = "A .jsonl file, a .csv file with a header, or a folder of .txt files." };
        Option<string?> server = ServerOption("The Compare server (http://host:port).", required: true);
        Option<string> collection = CollectionOption();
        var idField = new Option<string>("--id-field") { Description = "Field (JSONL) or column (CSV) of the id.", DefaultValueFactory = _ => "id" };
        var textField = new Option<string>("--text-field") { Description = "Field (JSONL) or column (CSV) of the text.", DefaultValueFactory = _ => "text" };
        var strict = new Option<bool>("--strict") { Description = "Fail on the first malformed record instead of reporting and skipping it." };
        var command = new Command("index", "Upload a corpus into a collection of a running server.") { input, server, collection, idField, textField, strict };
        command.SetAction((result, cancellationToken) => ServerCommands.IndexAsync(error, ServerAddress(result.GetValue(server)!)!, result.GetValue(collection)!,
            result.GetValue(input)!, new Input.InputFields(result.GetValue(idField)!, result.GetValue(textField)!), result.GetValue(strict), cancellationToken));
        return command;
    }

    private static Command SimilarCommand(TextWriter output, TextWriter error)
    {
        var file = new Argument<string>("file") { Description = "A text file to look up." };
        Option<string?> server = ServerOption("The Compare server (http://host:port).", required: true);
        Option<string> collection = CollectionOption();
        var threshold = new Option<double?>("--threshold") { Description = "Lowest Jaccard of a match (default: the collection's)." };
        var topK = new Option<int>("--top-k") { Description = "Most matches.", DefaultValueFactory = _ => 10 };
        var exhaustive = new Option<bool>("--exhaustive") { Description = "Verify every indexed document, for thresholds far below the collection's." };
        var command = new Command("similar", "List the indexed near-duplicates of a file, best first.") { file, server, collection, threshold, topK, exhaustive };
        command.SetAction((result, cancellationToken) => ServerCommands.SimilarAsync(output, error, ServerAddress(result.GetValue(server)!)!,
            result.GetValue(collection)!, result.GetValue(file)!, result.GetValue(threshold), result.GetValue(topK), result.GetValue(exhaustive), cancellationToken));
        return command;
    }

    private static Option<string?> ServerOption(string description, bool required)
    {
        var server = new Option<string?>("--server") { Description = description, Required = required };
        server.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && ServerAddress(value) is null)
            {
                result.AddError($"--server must be an http:// or https:// address, was '{value}'.");
            }
        });
        return server;
    }

    private static Option<string> CollectionOption() =>
        new("--collection") { Description = "The server's collection (empty: default).", DefaultValueFactory = _ => string.Empty };

    private static Uri? ServerAddress(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;

    private static Command DiffCommand(TextWriter output, TextWriter error)
    {
        var left = new Argument<string>("left") { Description = "A text file." };
        var right = new Argument<string>("right") { Description = "Another text file." };
        var minWords = new Option<int>("--min-words") { Description = "Shortest shared passage, in words.", DefaultValueFactory = _ => PhraseOptions.DefaultMinWords };
        var bridge = new Option<int>("--bridge") { Description = "Differing words a passage may bridge on each side (0 to 10).", DefaultValueFactory = _ => 0 };
        var color = new Option<bool?>("--color") { Description = "Highlight with ANSI colours (default: when the output is a terminal and NO_COLOR is unset)." };
        minWords.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 1000)
            {
                result.AddError("--min-words must be between 1 and 1000.");
            }
        });
        bridge.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 10)
            {
                result.AddError("--bridge must be between 0 and 10.");
            }
        });
        var command = new Command("diff", "Print the passages two files share, highlighted in both.") { left, right, minWords, bridge, color };
        command.SetAction(result => DiffRun.Run(output, error, result.GetValue(left)!, result.GetValue(right)!,
            new PhraseOptions { MinWords = result.GetValue(minWords), MaxBridgeWords = result.GetValue(bridge) }, result.GetValue(color)));
        return command;
    }
}
