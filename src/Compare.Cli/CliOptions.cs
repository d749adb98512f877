using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Lsh;

namespace Compare.Cli;

/// <summary>
/// Options shared by several commands, each with a parser that turns a bad value into a parse error naming the option
/// (never an exception), and reads numbers the same way whatever the machine's culture.
/// </summary>
internal static class CliOptions
{
    public static Option<double> Threshold(string description, double defaultValue) =>
        new("--threshold") { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => Number(r, "--threshold", 0, 1, exclusiveMinimum: true) };

    public static Option<double?> OptionalThreshold(string description) =>
        new("--threshold") { Description = description, CustomParser = r => Number(r, "--threshold", 0, 1, exclusiveMinimum: true) };

    public static Option<int> Integer(string name, string description, int defaultValue, int minimum, int maximum) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => (int)Number(r, name, minimum, maximum, integer: true) };

    public static Option<int?> OptionalInteger(string name, string description, int minimum, int maximum) =>
        new(name) { Description = description, CustomParser = r => (int?)Number(r, name, minimum, maximum, integer: true) };

    public static Option<RepresentativePolicy> Representative() => new("--representative")
    {
        Description = "Which member represents a cluster: FirstSeen (input order, the default) or Longest.",
        DefaultValueFactory = _ => RepresentativePolicy.FirstSeen,
        CustomParser = r =>
        {
            string value = r.Tokens.Single().Value;
            if (value.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant() is var name && name == "FIRSTSEEN")
            {
                return RepresentativePolicy.FirstSeen;
            }

            if (name == "LONGEST")
            {
                return RepresentativePolicy.Longest;
            }

            r.AddError($"--representative must be FirstSeen or Longest; it was '{value}'.");
            return default;
        },
    };

    /// <summary>The shingling and signature options of dedup and index: --ngram, --char-shingles, --num-perm, --bands, --rows.</summary>
    public sealed class Sketching
    {
        public Option<int> Ngram { get; } = Integer("--ngram", "Words per shingle (characters with --char-shingles), 1 to 32.", 5, 1, SketchParameters.MaxShingleSize);

        public Option<bool> CharacterShingles { get; } = new("--char-shingles") { Description = "Shingle characters instead of words (for short or unsegmented text)." };

        public Option<int> NumPermutations { get; } = Integer("--num-perm", "MinHash signature length, 1 to 1024.", 128, 1, SketchParameters.MaxPermutations);

        public Option<int?> Bands { get; } = OptionalInteger("--bands", "LSH bands (with --rows; default: chosen from the threshold).", 1, SketchParameters.MaxPermutations);

        public Option<int?> Rows { get; } = OptionalInteger("--rows", "LSH rows per band (with --bands).", 1, SketchParameters.MaxPermutations);

        public IEnumerable<Option> All => [Ngram, CharacterShingles, NumPermutations, Bands, Rows];

        /// <summary>Whether the command line set any of them (they then describe a collection to create).</summary>
        public bool AnyGiven(ParseResult result) => All.Any(o => result.GetResult(o) is { Implicit: false });

        public SketchParameters Parameters(ParseResult result) => new()
        {
            Kind = result.GetValue(CharacterShingles) ? ShingleKind.Character : ShingleKind.Word,
            ShingleSize = result.GetValue(Ngram),
            NumPermutations = result.GetValue(NumPermutations),
        };

        public LshParameters? Lsh(ParseResult result) =>
            result.GetValue(Bands) is { } bands && result.GetValue(Rows) is { } rows ? new LshParameters(bands, rows) : null;

        /// <summary>
        /// What is wrong with --bands and --rows together (they come as a pair and fit in the signature), or null. Asked
        /// once the command line has parsed: a command validator would see unparsed values as exceptions.
        /// </summary>
        public string? Problem(ParseResult result)
        {
            int? bands = result.GetValue(Bands), rows = result.GetValue(Rows);
            int permutations = result.GetValue(NumPermutations);
            return bands.HasValue != rows.HasValue ? "--bands and --rows go together: give both, or neither to choose them from the threshold"
                : bands * rows > permutations ? $"--bands × --rows ({bands} × {rows}) must not exceed --num-perm ({permutations})"
                : null;
        }
    }

    private static double Number(ArgumentResult result, string name, double minimum, double maximum, bool exclusiveMinimum = false, bool integer = false)
    {
        string text = result.Tokens.Single().Value;
        double value;
        bool parsed;
        if (integer)
        {
            parsed = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int whole);
            value = whole;
        }
        else
        {
            parsed = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }

        if (!parsed || double.IsNaN(value) || value > maximum || (exclusiveMinimum ? value <= minimum : value < minimum))
        {
            string range = exclusiveMinimum ? $"greater than {minimum} and at most {maximum}" : $"{minimum} to {maximum}";
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {(integer ? "a whole number " : "a number ")}{range}; it was '{text}'."));
            return minimum;
        }

        return value;
    }
}
