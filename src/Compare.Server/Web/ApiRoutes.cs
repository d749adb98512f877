using Google.Api;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.Net.Http.Headers;

namespace Compare.Server.Web;

/// <summary>
/// The answer to an API request that no JSON route takes (any method under /v1, and any but GET elsewhere): 405 with the
/// methods the path has (and an Allow header), or 404 naming the nearest route, each as a google.rpc.Status like every
/// other JSON error, where ASP.NET Core answers both with an empty 404.
/// </summary>
internal static class ApiRoutes
{
    private const string Described = "Every route is described at /swagger/v1/swagger.json.";

    /// <summary>Maps /v1/{**rest} for every method: literal and parameter segments take precedence over a catch-all, so only what no route takes arrives.</summary>
    public static void MapUnknownApiRoutes(this WebApplication app) => app.Map("/v1/{**rest}", AnswerAsync);

    /// <summary>Answers a request no route takes as described above.</summary>
    public static Task AnswerAsync(HttpContext context, EndpointDataSource endpoints) => Answer(context, [.. Templates(endpoints)]);

    /// <summary>Every transcoded route as its method and its google.api.http template, additional bindings too.</summary>
    private static IEnumerable<(string Method, string Template)> Templates(EndpointDataSource endpoints) =>
        endpoints.Endpoints.Select(e => e.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>()?.HttpRule).OfType<HttpRule>()
            .SelectMany(rule => rule.AdditionalBindings.Prepend(rule)).Select(Route).Where(r => r.Template.Length > 0).Distinct();

    private static (string Method, string Template) Route(HttpRule rule) => rule.PatternCase switch
    {
        HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
        HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
        HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
        HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
        HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
        HttpRule.PatternOneofCase.Custom => (rule.Custom.Kind, rule.Custom.Path),
        _ => ("", ""),
    };

    private static Task Answer(HttpContext context, (string Method, string Template)[] routes)
    {
        string method = context.Request.Method, path = context.Request.Path.Value ?? "/";
        // The path is echoed in the message: at most 200 characters of it (Kestrel takes 8 KB).
        string shown = path.Length <= 200 ? path : string.Concat(path.AsSpan(0, 200), "…");
        string[] allowed = [.. routes.Where(r => Matches(r.Template, path)).Select(r => r.Method).Distinct().Order(StringComparer.Ordinal)];
        if (allowed.Length > 0)
        {
            context.Response.Headers[HeaderNames.Allow] = string.Join(", ", allowed);
            return WebView.WriteStatusAsync(context.Response, StatusCodes.Status405MethodNotAllowed, new Google.Rpc.Status
            {
                Code = (int)Google.Rpc.Code.Unimplemented,
                Message = $"{shown} takes {string.Join(" or ", allowed)}, not {method}. {Described}",
            });
        }

        // A path without its /v1 (curl -d ... localhost:5000/compare) is one slip too.
        (string Method, string Template)? nearest = Nearest(routes, method, path)
            ?? (path.StartsWith("/v1/", StringComparison.OrdinalIgnoreCase) ? null : Nearest(routes, method, "/v1" + path));
        return WebView.WriteStatusAsync(context.Response, StatusCodes.Status404NotFound, new Google.Rpc.Status
        {
            Code = (int)Google.Rpc.Code.NotFound,
            Message = $"No JSON route is {method} {shown}{(nearest is { } n ? $"; did you mean {n.Method} {n.Template}?" : ".")} {Described}",
        });
    }

    /// <summary>
    /// Whether a path fits a google.api.http template: a literal segment is itself in any case (as routing matches it), {name}
    /// one segment, {name=**} the rest of the path, and a ":verb" ends the last segment.
    /// </summary>
    private static bool Matches(string template, string path) => Distance(template, path, costOfLiteral: static (_, _) => 1) == 0;

    /// <summary>The route a few letters from the path (a typing slip), preferring the request's method; null when none is near.</summary>
    private static (string Method, string Template)? Nearest((string Method, string Template)[] routes, string method, string path)
    {
        (string Method, string Template)? best = null;
        int bestCost = 3;
        foreach ((string Method, string Template) route in routes)
        {
            int cost = Distance(route.Template, path, (literal, segment) => JsonRequestCheck.EditDistance(literal.ToLowerInvariant(), segment.ToLowerInvariant(), 3)) * 2
                + (route.Method == method ? 0 : 1);
            if (cost < bestCost)
            {
                (best, bestCost) = (route, cost);
            }
        }

        return best;
    }

    /// <summary>
    /// How far a path is from a template: the sum of what its differing literal segments and verb cost
    /// (<paramref name="costOfLiteral"/> of the template's and the path's), or <see cref="Apart"/> when the segments do not line up.
    /// </summary>
    private static int Distance(string template, string path, Func<string, string, int> costOfLiteral)
    {
        string[] wanted = template.Trim('/').Split('/'), given = path.Trim('/').Split('/');
        bool rest = wanted[^1].EndsWith("=**}", StringComparison.Ordinal);
        if (rest ? given.Length < wanted.Length : given.Length != wanted.Length)
        {
            return Apart;
        }

        int cost = 0;
        if (!rest)
        {
            // The verb ends the last segment; a {name=**} takes the rest of the path, colons and all.
            (wanted[^1], string verb) = SplitVerb(wanted[^1]);
            (given[^1], string givenVerb) = SplitVerb(given[^1]);
            // Another verb where the route has one is a single slip (a path has few verbs: ":remove" for ":delete").
            cost = string.Equals(verb, givenVerb, StringComparison.OrdinalIgnoreCase) ? 0 : verb.Length > 0 && givenVerb.Length > 0 ? 1 : costOfLiteral(verb, givenVerb);
        }

        for (int i = 0; i < wanted.Length; i++)
        {
            cost = Math.Min(Apart, cost + (wanted[i].StartsWith('{') ? (given[i].Length == 0 ? Apart : 0)
                : string.Equals(wanted[i], given[i], StringComparison.OrdinalIgnoreCase) ? 0 : costOfLiteral(wanted[i], given[i])));
        }

        return cost;
    }

    private const int Apart = int.MaxValue / 4;

    // "{name}:rebuildIndex" is the segment "{name}" and the verb "rebuildIndex"; a ':' inside braces is not a verb's.
    private static (string Segment, string Verb) SplitVerb(string segment)
    {
        int colon = segment.LastIndexOf(':');
        return colon < 0 || segment.IndexOf('}', colon) >= 0 ? (segment, "") : (segment[..colon], segment[(colon + 1)..]);
    }
}
