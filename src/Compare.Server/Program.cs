using Compare.Server.Hosting;

if (ServerCommandLine.Answer(args, Console.Out) is { } answered)
{
    return answered;
}

try
{
    // Configuration (appsettings.json) is found next to the executable, wherever the server is started from.
    WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddCompareServer();

    WebApplication app = builder.Build();
    app.MapCompareServer();
    await app.RunAsync();
    return 0;
}
catch (Exception e)
{
    // A failed start is one line naming the problem and its fix, not a stack trace.
    Console.Error.WriteLine(StartupFailure.Describe(e));
    return 1;
}

/// <summary>The entry point, visible to tests that host the server in-process.</summary>
public partial class Program;
