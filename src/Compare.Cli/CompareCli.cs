using System.CommandLine;
using Compare.Cli.Input;
using Compare.Core.Clustering;
using Compare.Core.Phrases;

namespace Compare.Cli;

/// <summary>The commands and their options; RunAsync is the whole program, so tests run it in-process.</summary>
internal static class CompareCli
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The input is missing or unreadable, every record of it was skipped, a record is malformed under --strict, or an output cannot be written.</summary>
    public const int InputError = 1;

    /// <summary>The command line is wrong: an unknown option, a missing argument, a bad value (as getopt and argparse exit).</summary>
    public const int UsageError = 2;

    /// <summary>The server of --server refused the work or could not be reached.</summary>
    public const int ServerError = 3;

    /// <summary>Interrupted with Ctrl-C.</summary>
    public const int Cancelled = 130;

    /// <summary>Runs the command line <paramref name="args"/>.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        RunAsync(args, output, error, null, cancellationToken);

    /// <summary>Runs the command line <paramref name="args"/>; <paramref name="standardInput"/> stands for the console's (input "-").</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<Stream>? standardInput, CancellationToken cancellationToken = default)
    {
        standardInput ??= Console.OpenStandardInput;
        // Progress and skipped-record reports come from the reading and the working threads at once.
        error = TextWriter.Synchronized(error);
        var root = new RootCommand("Compare: find near-duplicate documents and the wording they share.")
        {
            DedupCommand(output, error, standardInput),
            DiffCommand(output, error),
            ReuseCommand(output, error, standardInput),
            IndexCommand(error, standardInput),
            ExportCommand(output, error),
            SimilarCommand(output, error),
            PassagesCommand(output, error),
        };
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return Usage(error, parsed.CommandResult.Command is RootCommand ? null : parsed.CommandResult.Command.Name, parsed.Errors[0].Message);
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>A wrong command line: one line, the problem and where the options are listed, rather than the whole help text.</summary>
    private static int Usage(TextWriter error, string? command, string problem)
    {
        error.WriteLine($"compare: {problem.TrimEnd('.')}. See 'compare{(command is null ? "" : " " + command)} --help'.");
        return UsageError;
    }

    private static InputSpec[] Inputs(ParseResult result, Argument<string[]> inputs, Option<string> idField, Option<string> textField, Option<InputFormat?> format,
        Func<Stream> standardInput) =>
        [.. result.GetValue(inputs)!.Select(path => new InputSpec(path, new InputFields(result.GetValue(idField)!, result.GetValue(textField)!), result.GetValue(format))
        {
            OpenStandardInput = standardInput,
        })];

    private static Command DedupCommand(TextWriter output, TextWriter error, Func<Stream> standardInput)
    {
        Argument<string[]> input = InputArgument();
        Option<double> threshold = CliOptions.Threshold("Lowest Jaccard similarity of two duplicates, above 0 and at most 1.", 0.8);
        var outputFile = new Option<string?>("--output", "-o") { Description = "Clusters as JSON lines (default: standard output)." };
        var pairs = new Option<string?>("--pairs") { Description = "Also write every verified pair as JSON lines to this file." };
        var keep = new Option<string?>("--keep") { Description = "Write the ids to keep (one per line) to this file." };
        var drop = new Option<string?>("--drop") { Description = "Write the ids to drop (one per line) to this file." };
        var outputCorpus = new Option<string?>("--output-corpus")
        {
            Description = "Write the kept records, duplicates dropped, in the input's own format: JSON lines as they were, a CSV with its header, a Parquet file with every column, or a folder of the kept .txt files.",
        };
        (Option<string> idField, Option<string> textField, Option<InputFormat?> format, Option<bool> strict) = InputOptions();
        Option<RepresentativePolicy> representative = CliOptions.Representative();
        var sketching = new CliOptions.Sketching();
        Option<string?> server = ServerOption("Upload to a running Compare server (http://host:port) and deduplicate there instead of in-process.", required: false);
        Option<string> collection = CollectionOption();
        Option<bool> create = CreateOption();
        Option<int> maxHeld = MaxHeldOption("shingle sets awaiting verification", new DeduplicationOptions().MaxHeldBytes);
        var command = new Command("dedup", "Cluster the near-duplicates of a corpus and say what to drop.")
        {
            input, threshold, outputFile, pairs, keep, drop, outputCorpus, idField, textField, format, representative, strict, server, collection, create, maxHeld,
        };
        foreach (Option option in sketching.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) =>
        {
            Uri? address = result.GetValue(server) is { } given ? ServerAddress(given) : null;
            string? problem = sketching.Problem(result) ?? (address is not null && sketching.AnyGiven(result) && !result.GetValue(create)
                ? "with --server, --ngram, --char-shingles, --num-perm, --bands and --rows describe a new collection: add --create and a new --collection"
                : null);
            if (problem is not null)
            {
                return Task.FromResult(Usage(error, "dedup", problem));
            }

            return new DedupRun(output, error, new DedupSettings(
                Inputs(result, input, idField, textField, format, standardInput),
                result.GetValue(threshold), result.GetValue(outputFile), result.GetValue(pairs), result.GetValue(keep), result.GetValue(drop),
                result.GetValue(outputCorpus), result.GetValue(representative), result.GetValue(strict), sketching.Parameters(result), sketching.Lsh(result),
                address, result.GetValue(collection)!, result.GetValue(create), (long)result.GetValue(maxHeld) << 20)).RunAsync(cancellationToken);
        });
        return command;
    }

    private static Command ReuseCommand(TextWriter output, TextWriter error, Func<Stream> standardInput)
    {
        Argument<string[]> input = InputArgument();
        Option<int> minWords = CliOptions.Integer("--min-words", $"Shortest shared passage, in words, 2 to 64 (every pair sharing {PassageFingerprints.GuaranteedWords} words in a row is found).",
            PassageFingerprints.GuaranteedWords, 2, 64);
        Option<int> bridge = CliOptions.Integer("--bridge", "Differing words a passage may bridge on each side, 0 to 10.", 0, 0, 10);
        Option<int> boilerplate = CliOptions.Integer("--max-documents", "Wording found in more documents than this is boilerplate and pairs no one, 2 to 1,000,000.",
            new ReuseOptions().MaxDocumentsPerFingerprint, 2, 1_000_000);
        Option<int> maxPairs = CliOptions.Integer("--max-pairs", "The most candidate pairs to make, one for each fingerprint two documents share (8 bytes each), 1 to 2,000,000,000.",
            new ReuseOptions().MaxCandidatePairs, 1, 2_000_000_000);
        Option<int> maxHeld = MaxHeldOption("documents awaiting comparison", new ReuseOptions().MaxHeldBytes);
        var outputFile = new Option<string?>("--output", "-o") { Description = "Pairs as JSON lines (default: standard output)." };
        var html = new Option<string?>("--html")
        {
            Description = "Also write an HTML report into this folder: index.html lists the pairs sharing the most words, each linked to its two texts side by side.",
        };
        Option<int> htmlPairs = CliOptions.Integer("--html-pairs", "With --html: the most pairs the report shows, 1 to 100,000.", 500, 1, 100_000);
        (Option<string> idField, Option<string> textField, Option<InputFormat?> format, Option<bool> strict) = InputOptions();
        var command = new Command("reuse", "List every pair of documents of a corpus that share passages, with the passages.")
        {
            input, minWords, bridge, boilerplate, maxPairs, maxHeld, outputFile, html, htmlPairs, idField, textField, format, strict,
        };
        command.SetAction((result, cancellationToken) =>
        {
            string? folder = result.GetValue(html);
            if (folder is not null && ReuseReport.Problem(folder) is { } problem)
            {
                return Task.FromResult(Usage(error, "reuse", problem));
            }

            return new ReuseRun(output, error, Inputs(result, input, idField, textField, format, standardInput), result.GetValue(strict),
                new ReuseOptions
                {
                    MinWords = result.GetValue(minWords),
                    MaxBridgeWords = result.GetValue(bridge),
                    MaxDocumentsPerFingerprint = result.GetValue(boilerplate),
                    MaxCandidatePairs = result.GetValue(maxPairs),
                    MaxHeldBytes = (long)result.GetValue(maxHeld) << 20,
                },
                result.GetValue(outputFile), folder is null ? null : new ReuseReport(folder, result.GetValue(htmlPairs))).RunAsync(cancellationToken);
        });
        return command;
    }

    private static Option<int> MaxHeldOption(string what, long defaultBytes) =>
        CliOptions.Integer("--max-held-mb", $"The most memory, in MB, that {what} may hold; pairs lying farther apart are read again in more passes over the input, 16 to 1,000,000.",
            (int)(defaultBytes >> 20), 16, 1_000_000);

    private static Command IndexCommand(TextWriter error, Func<Stream> standardInput)
    {
        Argument<string[]> input = InputArgument();
        Option<string?> server = ServerOption("The Compare server (http://host:port).", required: true);
        Option<string> collection = CollectionOption();
        Option<bool> create = CreateOption();
        Option<double?> threshold = CliOptions.OptionalThreshold("With --create: the collection's threshold (default 0.8).");
        (Option<string> idField, Option<string> textField, Option<InputFormat?> format, Option<bool> strict) = InputOptions();
        var sketching = new CliOptions.Sketching();
        var command = new Command("index", "Upload a corpus into a collection of a running server.") { input, server, collection, create, threshold, idField, textField, format, strict };
        foreach (Option option in sketching.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) =>
        {
            string? problem = sketching.Problem(result) ?? ((sketching.AnyGiven(result) || result.GetValue(threshold) is not null) && !result.GetValue(create)
                ? "--threshold, --ngram, --char-shingles, --num-perm, --bands and --rows describe a new collection: add --create"
                : null);
            if (problem is not null)
            {
                return Task.FromResult(Usage(error, "index", problem));
            }

            NewCollection? newCollection = result.GetValue(create)
                ? new NewCollection(sketching.Parameters(result), sketching.Lsh(result), result.GetValue(threshold))
                : null;
            return ServerCommands.IndexAsync(error, ServerAddress(result.GetValue(server)!)!, result.GetValue(collection)!, newCollection,
                Inputs(result, input, idField, textField, format, standardInput), result.GetValue(strict), cancellationToken);
        });
        return command;
    }

    private static Command ExportCommand(TextWriter output, TextWriter error)
    {
        Option<string?> server = ServerOption("The Compare server (http://host:port).", required: true);
        Option<string> collection = CollectionOption();
        var outputFile = new Option<string?>("--output", "-o")
        {
            Description = "The JSON lines file to write, compressed as its name says (.jsonl, .jsonl.gz, .jsonl.zst); default: standard output.",
        };
        (Option<string> idField, Option<string> textField, _, _) = InputOptions();
        var command = new Command("export", "Write a collection's documents as JSON lines (id, text, metadata) that compare index reads back.") { server, collection, outputFile, idField, textField };
        command.SetAction((result, cancellationToken) =>
            result.GetValue(outputFile) is { } path && !Compression.Without(path).EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
                ? Task.FromResult(Usage(error, "export", $"--output {path}: export writes JSON lines; name the file .jsonl, .jsonl.gz or .jsonl.zst"))
                : ExportRun.RunAsync(output, error, ServerAddress(result.GetValue(server)!)!, result.GetValue(collection)!,
                    result.GetValue(outputFile), new InputFields(result.GetValue(idField)!, result.GetValue(textField)!), cancellationToken));
        return command;
    }

    private static Command SimilarCommand(TextWriter output, TextWriter error)
    {
        var file = new Argument<string>("file") { Description = "A text file to look up." };
        Option<string?> server = ServerOption("The Compare server (http://host:port).", required: true);
        Option<string> collection = CollectionOption();
        Option<double?> threshold = CliOptions.OptionalThreshold("Lowest Jaccard of a match (default: the collection's).");
        Option<int> topK = CliOptions.Integer("--top-k", "Most matches, 1 to 1000.", 10, 1, 1000);
        var exhaustive = new Option<bool>("--exhaustive") { Description = "Verify every indexed document, for thresholds far below the collection's." };
        var command = new Command("similar", "List the indexed near-duplicates of a file, best first.") { file, server, collection, threshold, topK, exhaustive };
        command.SetAction((result, cancellationToken) => ServerCommands.SimilarAsync(output, error, ServerAddress(result.GetValue(server)!)!,
            result.GetValue(collection)!, result.GetValue(file)!, result.GetValue(threshold), result.GetValue(topK), result.GetValue(exhaustive), cancellationToken));
        return command;
    }

    private static Command PassagesCommand(TextWriter output, TextWriter error)
    {
        var file = new Argument<string>("file") { Description = "A text file to look up." };
        Option<string?> server = ServerOption("The Compare server (http://host:port).", required: true);
        Option<string> collection = CollectionOption();
        Option<int> minWords = CliOptions.Integer("--min-words", $"Shortest shared passage, in words, 2 to 64 (every one of {PassageFingerprints.GuaranteedWords}+ words is found).",
            PassageFingerprints.GuaranteedWords, 2, 64);
        Option<int> topK = CliOptions.Integer("--top-k", "Most documents, 1 to 1000.", 10, 1, 1000);
        var command = new Command("passages", "List the indexed documents that share passages with a file, most shared words first.") { file, server, collection, minWords, topK };
        command.SetAction((result, cancellationToken) => ServerCommands.PassagesAsync(output, error, ServerAddress(result.GetValue(server)!)!,
            result.GetValue(collection)!, result.GetValue(file)!, result.GetValue(minWords), result.GetValue(topK), cancellationToken));
        return command;
    }

    private static Argument<string[]> InputArgument()
    {
        var input = new Argument<string[]>("input")
        {
            Description = "A .jsonl file (one object per line), a .csv file with a header, either compressed with gzip or Zstandard (.jsonl.gz, .csv.zst), a .parquet file, a folder of .txt files, or - for standard input; or several files, read as one corpus in the order given (shards/*.jsonl.gz), or a folder of such files (no .txt among them), in the order of their paths.",
            Arity = ArgumentArity.OneOrMore,
        };
        // An argument of many values takes every token no option claims, a mistyped option among them: refused as one
        // (a file whose name starts with '-' is given as ./-name).
        input.Validators.Add(result =>
        {
            if (result.Tokens.FirstOrDefault(t => t.Value.Length > 1 && t.Value[0] == '-') is { } unknown)
            {
                result.AddError($"Unrecognized command or argument '{unknown.Value}'");
            }
        });
        return input;
    }

    private static (Option<string> IdField, Option<string> TextField, Option<InputFormat?> Format, Option<bool> Strict) InputOptions() =>
    (
        new Option<string>("--id-field") { Description = "Field (JSONL) or column (CSV, Parquet) of the id.", DefaultValueFactory = _ => "id" },
        new Option<string>("--text-field") { Description = "Field (JSONL) or column (CSV, Parquet) of the text.", DefaultValueFactory = _ => "text" },
        new Option<InputFormat?>("--format") { Description = "Jsonl, Csv or Parquet: how to read standard input (Jsonl, Csv) or a file whose name does not say (default: from the name; Jsonl for -)." },
        new Option<bool>("--strict") { Description = "Fail on the first malformed record instead of reporting and skipping it." }
    );

    private static Option<bool> CreateOption() =>
        new("--create") { Description = "Create the collection when the server has none of that name (a name already taken is used as it is)." };

    private static Option<string?> ServerOption(string description, bool required)
    {
        var server = new Option<string?>("--server") { Description = description, Required = required };
        server.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && ServerAddress(result.Tokens[0].Value) is null)
            {
                result.AddError($"--server must be an http:// or https:// address, was '{result.Tokens[0].Value}'.");
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
        Option<int> minWords = CliOptions.Integer("--min-words", "Shortest shared passage, in words, 1 to 1000.", PhraseOptions.DefaultMinWords, 1, 1000);
        Option<int> bridge = CliOptions.Integer("--bridge", "Differing words a passage may bridge on each side, 0 to 10.", 0, 0, 10);
        var json = new Option<bool>("--json")
        {
            Description = "Print the comparison as one JSON object, the service's Compare answer: scores, FuzzySharp ratios, passages with every occurrence, coverage.",
        };
        var color = new Option<bool?>("--color") { Description = "Highlight with ANSI colours (default: when the output is a terminal and NO_COLOR is unset)." };
        var html = new Option<string?>("--html")
        {
            Description = "Write the comparison as one self-contained HTML page to this file: the texts side by side with the passages marked, the scores, a word diff and similar sentences.",
        };
        var command = new Command("diff", "Print the passages two files share, highlighted in both.") { left, right, minWords, bridge, json, color, html };
        command.SetAction(result => DiffRun.Run(output, error, result.GetValue(left)!, result.GetValue(right)!,
            new PhraseOptions { MinWords = result.GetValue(minWords), MaxBridgeWords = result.GetValue(bridge) }, result.GetValue(json), result.GetValue(color), result.GetValue(html)));
        return command;
    }
}
