using System.Text.RegularExpressions;
using Compare.Server.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Compare.Server.Hosting;

/// <summary>Why the server could not start, in one line that names the problem and its fix.</summary>
internal static partial class StartupFailure
{
    public static string Describe(Exception exception)
    {
        Exception e = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        string problem = e switch
        {
            IOException { InnerException: AddressInUseException } =>
                $"{Sentence(e.Message)} Another process listens there: stop it, or choose another address with --urls (or ASPNETCORE_URLS).",
            OptionsValidationException validation => string.Join(" ", validation.Failures.Select(Sentence)),
            StoreFormatException or DataDirectoryInUseException => Sentence(e.Message),
            InvalidOperationException when Unconvertible().Match(e.Message) is { Success: true } m =>
                $"{m.Groups["key"].Value} must be {Kind(m.Groups["type"].Value)}; it was '{m.Groups["value"].Value}'.",
            UnauthorizedAccessException or IOException =>
                $"{Sentence(e.Message)} Point Storage__Path (or --Storage:Path=DIR) at a directory this user may write, with free space.",
            _ => $"{e.GetType().Name}: {Sentence(e.Message)}",
        };
        return $"Compare.Server could not start: {problem.ReplaceLineEndings(" ")}";
    }

    // What configuration binding says of a value it cannot convert, as the options' own checks would say it.
    private static string Kind(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" => "a number (with a point for decimals: 0.8)",
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a duration as hh:mm:ss (00:00:30)",
        _ => $"a {type[(type.LastIndexOf('.') + 1)..]}",
    };

    [GeneratedRegex("^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'")]
    private static partial Regex Unconvertible();

    private static string Sentence(string message) => message.TrimEnd().EndsWith('.') ? message.TrimEnd() : message.TrimEnd() + ".";
}
