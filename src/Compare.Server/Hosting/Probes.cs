using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Compare.Server.Hosting;

/// <summary>
/// HTTP probes on the server's own port, for load balancers and Kubernetes: /healthz answers 200 while the process
/// serves requests at all; /readyz answers 200 once the index is loaded and the store answers, 503 (with the reason)
/// otherwise. grpc.health.v1 answers the same readiness over gRPC.
/// </summary>
internal static class Probes
{
    public const string AlivePath = "/healthz";
    public const string ReadyPath = "/readyz";
    public const string MetricsPath = "/metrics";

    /// <summary>Whether <paramref name="path"/> is one of the plain HTTP endpoints that API keys may guard.</summary>
    public static bool IsProbe(PathString path) => path == AlivePath || path == ReadyPath || path == MetricsPath;

    public static WebApplication MapProbes(this WebApplication app)
    {
        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { ResponseWriter = WriteAsync });
        return app;
    }

    // "ok", or why not: the store's own description ("The store is loading its index.").
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        string reason = string.Join(" ", report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy).Select(e => e.Description ?? e.Status.ToString()));
        return context.Response.WriteAsync(report.Status == HealthStatus.Healthy ? "ok\n" : $"not ready: {reason}\n");
    }
}
