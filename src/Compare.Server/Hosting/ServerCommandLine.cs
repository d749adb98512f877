using System.Reflection;

namespace Compare.Server.Hosting;

/// <summary>The server's own command-line answers (--version, --help); every other argument is configuration.</summary>
internal static class ServerCommandLine
{
    /// <summary>The informational version: the release and the commit it was built from.</summary>
    public static string Version { get; } =
        typeof(ServerCommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The release without the commit, as metrics and health report it.</summary>
    public static string Release => Version.Split('+')[0];

    /// <summary>The exit code when <paramref name="args"/> ask for the version or for help (written to <paramref name="output"/>); otherwise null.</summary>
    public static int? Answer(string[] args, TextWriter output)
    {
        if (args.Contains("--version", StringComparer.Ordinal))
        {
            output.WriteLine($"Compare.Server {Version}");
            return 0;
        }

        if (args.Any(a => a is "--help" or "-h" or "-?"))
        {
            output.Write(Help);
            return 0;
        }

        return null;
    }

    private static string Help => $"""
        Compare.Server {Version}: the compare.v1 gRPC service, its JSON routes and browser view, on one port.

        Usage: Compare.Server [--urls URL[;URL]] [--Section:Key=value ...]

          --urls URL          where to listen (default http://localhost:5000; also ASPNETCORE_URLS)
          --Storage:Path=DIR  data directory of the SQLite store (default {StorageOptions.DefaultPath})
          --version           print the version and exit
          --help              print this help and exit

        Every setting can also be given as an environment variable (Storage__Path=DIR) or in appsettings.json next to
        the executable ({Path.Combine(AppContext.BaseDirectory, "appsettings.json")}). The main ones:
          Storage__Provider     Sqlite (default), Redis or Memory
          Redis__Configuration  host:port[,options] of the Redis shared by replicas
          Security__ApiKeys__0  an API key that every compare.v1 call must carry
          Limits__*             request and answer limits (see the README's Limits table)

        Probes on the same port: /healthz (alive), /readyz (index loaded and store reachable), /metrics (Prometheus),
        and grpc.health.v1 for the server and each service.

        """;
}
