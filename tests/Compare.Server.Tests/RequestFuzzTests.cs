using System.Collections;
using System.Text;
using System.Text.Json.Nodes;
using Compare.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

/// <summary>
/// Random requests, well-formed and not, to every RPC over gRPC and to every JSON route: whatever comes in, the answer
/// is a status that names the caller's mistake or a limit, never INTERNAL or UNKNOWN, and the server stays healthy.
/// Seeded, so a failure replays; the failing input is in the message.
/// </summary>
public sealed class RequestFuzzTests
{
    private const int RoundsPerMethod = 150;

    // What JSON transcoding answers, naming no field, for a body or query string it cannot read.
    private static readonly string[] GenericTranscodingErrors =
        ["not correctly formatted", "Unable to deserialize", "was not in a correct format", "not recognized as a valid", "multiple values onto"];

    // Statuses that would mean the server, not the request, is at fault.
    private static readonly StatusCode[] ServerFaults = [StatusCode.Internal, StatusCode.Unknown, StatusCode.DataLoss, StatusCode.Unimplemented];

    private static readonly string[] Strings =
    [
        "", "default", "news", "a", "a/../b", ".", "..", "%2E%2E", "seed", "x/y z", "\u00e9t\u00e9", "\U0001F600", "\0", "\uFFFD", "   ",
        "SELECT * FROM documents", "{\"a\":1}", new string('w', 600), string.Concat(Enumerable.Repeat("word ", 300)), TestData.Seed2014[..400],
    ];

    // What a well-meaning client sends: rounds drawn from these reach past validation into the work itself.
    private static readonly string[] PlausibleStrings = ["news", "a", "seed", "default", TestData.Seed2014, TestData.Seed2016, TestData.Seed2014[..600]];

    private static readonly long[] PlausibleIntegers = [0, 1, 3, 5, 10];

    private static readonly double[] PlausibleDoubles = [0.1, 0.3, 0.5, 0.8, 1];

    private static readonly long[] Integers = [0, 1, -1, 2, 3, 7, 64, 1000, 10_001, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue];

    private static readonly double[] Doubles = [0, 0.2, 0.5, 0.8, 1, -0.1, 1.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon];

    private static readonly MethodDescriptor[] Methods =
    [
        .. new[] { CollectionReflection.Descriptor, DocumentReflection.Descriptor, SimilarityReflection.Descriptor }
            .SelectMany(file => file.Services).SelectMany(service => service.Methods),
    ];

    [Fact]
    public async Task RandomAndMangledProtobuf_ToEveryRpc_NeverInternalOrUnknown_AndTheServerStaysHealthy()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        {
            await SeedAsync(channel);
            CallInvoker invoker = channel.CreateCallInvoker();
            var random = new Random(20261202);
            var faults = new List<string>();
            foreach (MethodDescriptor method in Methods)
            {
                for (int round = 0; round < RoundsPerMethod; round++)
                {
                    IMessage message = RandomMessage(method.InputType, random, depth: 0, plausible: round % 4 == 0);
                    byte[] bytes = message.ToByteArray();
                    // Half the rounds send the message as built, half with its bytes mangled.
                    if (round % 2 == 1)
                    {
                        bytes = Mangle(bytes, random);
                    }

                    StatusCode status = await CallAsync(invoker, method, bytes);
                    if (ServerFaults.Contains(status))
                    {
                        faults.Add($"{method.FullName} {status}: {Convert.ToBase64String(bytes)}");
                    }
                }
            }

            Assert.True(faults.Count == 0, string.Join(Environment.NewLine, faults.Take(10)));
            await AssertHealthyAsync(channel);
        }
    }

    [Fact]
    public async Task RandomAndMangledJson_ToEveryRoute_NeverAServerError_AndTheServerStaysHealthy()
    {
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        using (var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(30) })
        {
            await SeedAsync(channel);
            (HttpMethod Method, string Path, MessageDescriptor? Body)[] routes =
            [
                (HttpMethod.Post, "/v1/collections", CreateCollectionRequest.Descriptor),
                (HttpMethod.Get, "/v1/collections/{s}", null),
                (HttpMethod.Get, "/v1/collections", null),
                (HttpMethod.Delete, "/v1/collections/{s}", null),
                (HttpMethod.Post, "/v1/collections/{s}:rebuildIndex", RebuildCollectionIndexRequest.Descriptor),
                (HttpMethod.Post, "/v1/collections/{s}/documents", UpsertDocumentsRequest.Descriptor),
                (HttpMethod.Post, "/v1/documents", UpsertDocumentsRequest.Descriptor),
                (HttpMethod.Get, "/v1/collections/{s}/documents/{s}", null),
                (HttpMethod.Get, "/v1/collections/{s}/documents?page_size={i}&pageToken={s}&includeText=true", null),
                (HttpMethod.Get, "/v1/collections/{s}/documents?pageSize={s}&includeText={s}&page_size={i}&{s}={i}", null),
                (HttpMethod.Get, "/v1/collections/{s}/documents/{s}?include_text={s}", null),
                (HttpMethod.Post, "/v1/collections/{s}/documents:delete", DeleteDocumentsRequest.Descriptor),
                (HttpMethod.Post, "/v1/compare", CompareRequest.Descriptor),
                (HttpMethod.Post, "/v1/similar", FindSimilarRequest.Descriptor),
                (HttpMethod.Post, "/v1/deduplicate", DeduplicateRequest.Descriptor),
                (HttpMethod.Post, "/v1/passages", FindSharedPassagesRequest.Descriptor),
                (HttpMethod.Get, "/v1/collections/{s}/duplicates", null),
            ];
            var random = new Random(1202);
            var faults = new List<string>();
            foreach ((HttpMethod verb, string template, MessageDescriptor? body) in routes)
            {
                for (int round = 0; round < RoundsPerMethod; round++)
                {
                    string path = FillPath(template, random);
                    using var request = new HttpRequestMessage(verb, path);
                    string? json = null;
                    if (body is not null)
                    {
                        json = JsonFormatter.Default.Format(RandomMessage(body, random, depth: 0, plausible: round % 3 == 0));
                        json = (round % 3) switch
                        {
                            1 => MangleJson(json, random),
                            2 => RandomJson(random, depth: 0)?.ToJsonString() ?? "null",
                            _ => json,
                        };
                        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
                    }

                    using HttpResponseMessage response = await http.SendAsync(request);
                    string answer = await response.Content.ReadAsStringAsync();
                    // Every body and query transcoding would refuse is refused first, naming its field (JsonRequestCheck):
                    // never transcoding's own message, which names nothing.
                    if ((int)response.StatusCode >= 500 || answer.Contains("\"code\":2,", StringComparison.Ordinal) || answer.Contains("\"code\":13,", StringComparison.Ordinal) ||
                        GenericTranscodingErrors.Any(e => answer.Contains(e, StringComparison.Ordinal)))
                    {
                        faults.Add($"{verb} {path} {(int)response.StatusCode} {answer[..Math.Min(200, answer.Length)]} <- {json?[..Math.Min(300, json.Length)]}");
                    }
                }
            }

            Assert.True(faults.Count == 0, string.Join(Environment.NewLine, faults.Take(10)));
            await AssertHealthyAsync(channel);
        }
    }

    [Fact]
    public void JsonRequestCheck_EveryMessageAsProtobufWritesItsJson_IsAccepted()
    {
        // The check refuses only what transcoding refuses: whatever a proto3 JSON writer makes of any request, with
        // JSON or proto field names and with defaults written out, passes it.
        MessageDescriptor[] requests = [.. new[] { CollectionReflection.Descriptor, DocumentReflection.Descriptor, SimilarityReflection.Descriptor }
            .SelectMany(file => file.Services).SelectMany(service => service.Methods).Select(method => method.InputType).Distinct()];
        JsonFormatter[] formatters =
        [
            JsonFormatter.Default,
            new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(true)),
            new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true)),
        ];
        var random = new Random(712);
        for (int round = 0; round < 3000; round++)
        {
            MessageDescriptor type = requests[round % requests.Length];
            string json = formatters[round % formatters.Length].Format(RandomMessage(type, random, depth: 0, plausible: round % 2 == 0));
            Assert.True(Web.JsonRequestCheck.FindInBody(Encoding.UTF8.GetBytes(json), type) is null, $"{type.FullName}: {Web.JsonRequestCheck.FindInBody(Encoding.UTF8.GetBytes(json), type)} <- {json[..Math.Min(400, json.Length)]}");
        }
    }

    /// <summary>A collection with documents, so that ids and names in the pools sometimes hit something.</summary>
    private static async Task SeedAsync(GrpcChannel channel)
    {
        await new CollectionService.CollectionServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest { Name = "news" });
        var request = new UpsertDocumentsRequest { Collection = "news" };
        request.Documents.Add(new Document { Id = "a", Text = TestData.Seed2014 });
        request.Documents.Add(new Document { Id = "seed", Text = TestData.Seed2016 });
        await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(request);
    }

    private static async Task AssertHealthyAsync(GrpcChannel channel)
    {
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
        CompareResponse seeds = await new SimilarityService.SimilarityServiceClient(channel).CompareAsync(new CompareRequest
        {
            Left = new DocumentRef { Text = TestData.Seed2014 },
            Right = new DocumentRef { Text = TestData.Seed2016 },
        });
        Assert.InRange(seeds.Jaccard, 0.001, 0.05);
    }

    /// <summary>One call with raw bytes as its request; the status it ended with.</summary>
    private static async Task<StatusCode> CallAsync(CallInvoker invoker, MethodDescriptor descriptor, byte[] request)
    {
        Marshaller<byte[]> raw = Marshallers.Create(static b => b, static b => b);
        MethodType type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (true, false) => MethodType.ClientStreaming,
            (false, true) => MethodType.ServerStreaming,
            _ => MethodType.Unary,
        };
        var method = new Method<byte[], byte[]>(type, descriptor.Service.FullName, descriptor.Name, raw, raw);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20));
        try
        {
            switch (type)
            {
                case MethodType.ClientStreaming:
                    using (AsyncClientStreamingCall<byte[], byte[]> call = invoker.AsyncClientStreamingCall(method, null, options))
                    {
                        await call.RequestStream.WriteAsync(request);
                        await call.RequestStream.WriteAsync(request);
                        await call.RequestStream.CompleteAsync();
                        await call.ResponseAsync;
                    }

                    break;
                case MethodType.ServerStreaming:
                    using (AsyncServerStreamingCall<byte[]> call = invoker.AsyncServerStreamingCall(method, null, options, request))
                    {
                        while (await call.ResponseStream.MoveNext(CancellationToken.None))
                        {
                        }
                    }

                    break;
                default:
                    await invoker.AsyncUnaryCall(method, null, options, request);
                    break;
            }

            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>A message of the type with random fields set, recursing into messages a few levels.</summary>
    private static IMessage RandomMessage(MessageDescriptor type, Random random, int depth, bool plausible)
    {
        IMessage message = type.Parser.ParseFrom(ByteString.Empty);
        foreach (FieldDescriptor field in type.Fields.InFieldNumberOrder())
        {
            if (random.NextDouble() < 0.4)
            {
                continue;
            }

            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                for (int i = random.Next(4); i > 0; i--)
                {
                    map[(plausible ? "key" : Pick(Strings, random)) + i] = Pick(plausible ? PlausibleStrings : Strings, random);
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (int i = random.Next(5); i > 0; i--)
                {
                    if (RandomValue(field, random, depth, plausible) is { } value)
                    {
                        list.Add(value);
                    }
                }
            }
            else if (RandomValue(field, random, depth, plausible) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }

        return message;
    }

    private static object? RandomValue(FieldDescriptor field, Random random, int depth, bool plausible)
    {
        long integer = Pick(plausible ? PlausibleIntegers : Integers, random);
        double real = Pick(plausible ? PlausibleDoubles : Doubles, random);
        return field.FieldType switch
        {
            FieldType.String => Pick(plausible ? PlausibleStrings : Strings, random),
            FieldType.Bool => random.Next(2) == 1,
            FieldType.Double => real,
            FieldType.Float => (float)real,
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => unchecked((int)integer),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => integer,
            FieldType.UInt32 or FieldType.Fixed32 => unchecked((uint)integer),
            FieldType.UInt64 or FieldType.Fixed64 => unchecked((ulong)integer),
            FieldType.Bytes => ByteString.CopyFrom(RandomBytes(random, random.Next(16))),
            // Any number, named by the enum or not: an unknown value is what an older or hostile client sends.
            FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, plausible ? random.Next(field.EnumType.Values.Count) : random.Next(-1, field.EnumType.Values.Count + 2)),
            FieldType.Message when depth < 3 => RandomMessage(field.MessageType, random, depth + 1, plausible),
            _ => null,
        };
    }

    /// <summary>Bit flips, a cut, random bytes spliced in, or bytes appended.</summary>
    private static byte[] Mangle(byte[] bytes, Random random)
    {
        var mangled = new List<byte>(bytes);
        switch (random.Next(4))
        {
            case 0 when mangled.Count > 0:
                for (int i = 0; i < 1 + random.Next(4); i++)
                {
                    int at = random.Next(mangled.Count);
                    mangled[at] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 1 when mangled.Count > 0:
                int keep = random.Next(mangled.Count);
                mangled.RemoveRange(keep, mangled.Count - keep);
                break;
            case 2:
                mangled.InsertRange(random.Next(mangled.Count + 1), RandomBytes(random, 1 + random.Next(24)));
                break;
            default:
                mangled.AddRange(RandomBytes(random, 1 + random.Next(64)));
                break;
        }

        return [.. mangled];
    }

    /// <summary>A character changed, removed or doubled somewhere in the JSON.</summary>
    private static string MangleJson(string json, Random random)
    {
        if (json.Length == 0)
        {
            return "{";
        }

        int at = random.Next(json.Length);
        const string Noise = "{}[]\",:0-e.\\tnull\u00e9\uD800";
        return random.Next(3) switch
        {
            0 => json.Remove(at, 1),
            1 => json.Insert(at, Noise[random.Next(Noise.Length)].ToString()),
            _ => json[..at] + json[at..].Replace("\"", "", StringComparison.Ordinal),
        };
    }

    /// <summary>JSON of any shape: what a client that never read the API might send.</summary>
    private static JsonNode? RandomJson(Random random, int depth) => random.Next(depth < 3 ? 7 : 4) switch
    {
        0 => null,
        1 => JsonValue.Create(Pick(Strings, random)),
        2 => JsonValue.Create(Pick(Integers, random)),
        3 => JsonValue.Create(random.Next(2) == 1),
        4 => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, depth + 1))]),
        _ => new JsonObject(Enumerable.Range(0, random.Next(5)).Select(i => KeyValuePair.Create(
            Pick(["collection", "documents", "id", "text", "left", "right", "threshold", "topK", "name", "config", "ids", "query", "metadata"], random) + (i > 2 ? i : ""),
            RandomJson(random, depth + 1)))
            .DistinctBy(kv => kv.Key)),
    };

    private static string FillPath(string template, Random random)
    {
        var path = new StringBuilder();
        foreach (string part in template.Split('{'))
        {
            if (part.StartsWith("s}", StringComparison.Ordinal))
            {
                string value = Pick(Strings, random);
                path.Append(Uri.EscapeDataString(value[..Math.Min(40, value.Length)])).Append(part[2..]);
            }
            else if (part.StartsWith("i}", StringComparison.Ordinal))
            {
                path.Append(Pick(Integers, random)).Append(part[2..]);
            }
            else
            {
                path.Append(part);
            }
        }

        return path.ToString();
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(IReadOnlyList<T> values, Random random) => values[random.Next(values.Count)];
}
