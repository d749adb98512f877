using Compare.Server.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Compare.Server.Hosting;

/// <summary>Why the server could not start, in one line that names the problem and its fix.</summary>
internal static class StartupFailure
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
            UnauthorizedAccessException or IOException =>
                $"{Sentence(e.Message)} Point Storage__Path (or --Storage:Path=DIR) at a directory this user may write, with free space.",
            _ => $"{e.GetType().Name}: {Sentence(e.Message)}",
        };
        return $"Compare.Server could not start: {problem.ReplaceLineEndings(" ")}";
    }

    private static string Sentence(string message) => message.TrimEnd().EndsWith('.') ? message.TrimEnd() : message.TrimEnd() + ".";
}
