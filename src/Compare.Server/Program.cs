using Compare.Server.Hosting;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddCompareServer();

WebApplication app = builder.Build();
app.MapCompareServer();
app.Run();

/// <summary>The entry point, visible to tests that host the server in-process.</summary>
public partial class Program;
