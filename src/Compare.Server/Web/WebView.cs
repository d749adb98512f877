using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Compare.Server.Hosting;
using Compare.Server.Validation;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi.Models;

namespace Compare.Server.Web;

/// <summary>
/// The browser view: a form at /, the side-by-side view at /view, a collection's page at
/// /collections/{name} and the documents sharing passages with one at /passages. The pages are static (embedded in the assembly, so they are served wherever the
/// server runs from) and read everything through the JSON routes, so they show exactly what the API answers
/// and need an API key exactly when the API does.
/// </summary>
internal static class WebView
{
    private static readonly EmbeddedFileProvider Files = new(typeof(WebView).Assembly, "Compare.Server.Web.assets");
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();
    private static readonly Google.Protobuf.JsonFormatter StatusJson = new(Google.Protobuf.JsonFormatter.Settings.Default.WithTypeRegistry(Google.Protobuf.Reflection.TypeRegistry.FromMessages(Google.Rpc.BadRequest.Descriptor)));

    /// <summary>
    /// Lets <c>curl -d '{...}'</c> reach the JSON routes (curl labels a body form data unless told otherwise), and
    /// holds their bodies to the message limit that gRPC applies to its own (Kestrel's is lifted for gRPC batches):
    /// a larger body, declared or sent in chunks, is refused with 413 and a google.rpc.Status naming the limit. An
    /// empty body is the empty message (<c>curl -X POST .../v1/collections/news:rebuildIndex</c>), and a body that
    /// transcoding would refuse without saying why is refused here naming the field (<see cref="JsonRequestCheck"/>), and
    /// so is such a query string.
    /// </summary>
    private static IApplicationBuilder UseJsonBodiesForApiRoutes(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        HttpRequest request = context.Request;
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is { HttpRule.Body: not "*" } queried &&
            JsonRequestCheck.FindInQuery(request.Query, queried.MethodDescriptor.InputType) is { } unread)
        {
            await WriteStatusAsync(context.Response, StatusCodes.Status400BadRequest, RpcErrors.BadRequest(unread.Field, unread.Description)).ConfigureAwait(false);
            return;
        }

        if (request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) && !HttpMethods.IsGet(request.Method))
        {
            if (request.ContentType is null || request.ContentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
            {
                request.ContentType = "application/json";
            }

            int limit = context.RequestServices.GetRequiredService<IOptions<LimitOptions>>().Value.MaxReceiveMessageBytes;
            if (request.ContentLength > limit)
            {
                await WriteStatusAsync(context.Response, StatusCodes.Status413PayloadTooLarge, TooLarge($"The request body is {request.ContentLength} bytes; the message limit (Limits:MaxReceiveMessageBytes) is {limit}."))
                    .ConfigureAwait(false);
                return;
            }

            // The body is read here, up to the limit, so that one sent without its length and over the limit is
            // answered as above (JSON transcoding would report Kestrel's limit as a 400), and so that it can be checked.
            MessageDescriptor? message = BodyMessage(context.GetEndpoint());
            if (await BufferWithinAsync(request, limit, emptyIsEmptyMessage: message is not null, context.RequestAborted).ConfigureAwait(false) is not { } body)
            {
                await WriteStatusAsync(context.Response, StatusCodes.Status413PayloadTooLarge, TooLarge($"The request body is over the message limit (Limits:MaxReceiveMessageBytes) of {limit} bytes."))
                    .ConfigureAwait(false);
                return;
            }

            if (message is not null && JsonRequestCheck.FindInBody(body.Span, message) is { } problem)
            {
                await WriteStatusAsync(context.Response, StatusCodes.Status400BadRequest, RpcErrors.BadRequest(problem.Field, problem.Description)).ConfigureAwait(false);
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    });

    /// <summary>The message a transcoded route reads its body as, or null when it takes none.</summary>
    private static MessageDescriptor? BodyMessage(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { } transcoded ? null
            : transcoded.HttpRule.Body == "*" ? transcoded.MethodDescriptor.InputType
            : transcoded.MethodDescriptor.InputType.FindFieldByName(transcoded.HttpRule.Body) is { IsRepeated: false, FieldType: FieldType.Message } field ? field.MessageType
            : null;

    private static Google.Rpc.Status TooLarge(string message) => new() { Code = (int)Google.Rpc.Code.ResourceExhausted, Message = message };

    /// <summary>An error as every JSON route answers one: a google.rpc.Status as JSON, with its details.</summary>
    internal static Task WriteStatusAsync(HttpResponse response, int httpStatus, Google.Rpc.Status status)
    {
        response.StatusCode = httpStatus;
        response.ContentType = "application/json; charset=utf-8";
        // Written as transcoding writes its own errors: compact, quotes and non-ASCII letters as they are.
        using JsonDocument formatted = JsonDocument.Parse(StatusJson.Format(status));
        var body = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            formatted.WriteTo(writer);
        }

        return response.Body.WriteAsync(body.WrittenMemory, response.HttpContext.RequestAborted).AsTask();
    }

    /// <summary>
    /// Replaces the request's body with a copy of it when it has at most <paramref name="limit"/> bytes, and returns the
    /// copy (<c>{}</c> for an empty body when <paramref name="emptyIsEmptyMessage"/>); null when it has more.
    /// </summary>
    private static async Task<ReadOnlyMemory<byte>?> BufferWithinAsync(HttpRequest request, int limit, bool emptyIsEmptyMessage, CancellationToken cancellationToken)
    {
        var copy = new MemoryStream(request.ContentLength is { } length ? (int)length : 0);
        byte[] chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (copy.Length + read > limit)
                {
                    await copy.DisposeAsync().ConfigureAwait(false);
                    return null;
                }

                copy.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        if (copy.Length == 0 && emptyIsEmptyMessage)
        {
            copy.Write("{}"u8);
        }

        copy.Position = 0;
        request.Body = copy;
        request.ContentLength = copy.Length;
        request.HttpContext.Response.RegisterForDispose(copy);
        return copy.GetBuffer().AsMemory(0, (int)copy.Length);
    }

    /// <summary>The OpenAPI description of the JSON routes, with the protos' comments as its descriptions.</summary>
    public static IServiceCollection AddOpenApiDescription(this IServiceCollection services)
    {
        services.AddGrpcSwagger();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Compare",
                Version = "v1",
                Description = "The compare.v1 RPCs as HTTP/JSON routes (gRPC JSON transcoding). The same port serves gRPC.",
            });
            string protoComments = Path.Combine(AppContext.BaseDirectory, "Compare.Protos.xml");
            if (File.Exists(protoComments))
            {
                swagger.IncludeXmlComments(protoComments);
                swagger.IncludeGrpcXmlComments(protoComments, includeControllerXmlComments: true);
            }
        });
        return services;
    }

    /// <summary>Maps the pages and their assets, the OpenAPI description and Swagger UI, and lets curl's bodies through.</summary>
    public static WebApplication MapWebView(this WebApplication endpoints)
    {
        endpoints.UseJsonBodiesForApiRoutes();
        // Only /swagger requests enter Swagger's middleware: it asks the container for a new document generator on every
        // request it sees (a gRPC call included), and the first one configures it, reading the protos' XML comments.
        endpoints.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger", StringComparison.Ordinal), swagger =>
        {
            swagger.Use((context, next) =>
            {
                // Swagger UI is its own scripts and styles, with inline style attributes from its components: nothing else may load or frame it.
                context.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
                context.Response.Headers[HeaderNames.ContentSecurityPolicy] =
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'";
                return next(context);
            });
            swagger.UseSwagger();
            swagger.UseSwaggerUI(ui => ui.SwaggerEndpoint("/swagger/v1/swagger.json", "Compare v1"));
        });
        endpoints.MapGet("/", (HttpResponse response) => Serve("index.html", response));
        endpoints.MapGet("/view", (HttpResponse response) => Serve("view.html", response));
        endpoints.MapGet("/passages", (HttpResponse response) => Serve("passages.html", response));
        endpoints.MapGet("/collections/{name}", (HttpResponse response) => Serve("collection.html", response));
        endpoints.MapGet("/assets/{file}", (string file, HttpResponse response) => Serve(file, response));
        endpoints.MapUnknownApiRoutes();
        // Any other page a browser asks for: a page that says where the pages are, not an empty 404; any other method is an
        // API call that missed /v1. gRPC's answer to an unknown method is its own endpoint, ordered before a fallback.
        endpoints.MapFallback(async (HttpContext context, EndpointDataSource routes) =>
        {
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                await ApiRoutes.AnswerAsync(context, routes).ConfigureAwait(false);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await Serve("notfound.html", context.Response).ExecuteAsync(context).ConfigureAwait(false);
        });
        return endpoints;
    }

    private static IResult Serve(string name, HttpResponse response)
    {
        IFileInfo file = Files.GetFileInfo(name);
        if (!file.Exists || !ContentTypes.TryGetContentType(name, out string? contentType))
        {
            return Results.NotFound();
        }

        // The pages load nothing but their own scripts and styles, and their data only from this server.
        response.Headers[HeaderNames.CacheControl] = "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        response.Headers[HeaderNames.ContentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
        return Results.Stream(file.CreateReadStream(), contentType.StartsWith("image/", StringComparison.Ordinal) ? contentType : contentType + "; charset=utf-8");
    }
}
