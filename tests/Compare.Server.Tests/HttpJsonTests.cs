using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;

namespace Compare.Server.Tests;

/// <summary>The compare.v1 RPCs as HTTP/JSON routes (gRPC JSON transcoding), over HTTP/1.1 on the gRPC port.</summary>
[Collection(ServerTestGroup.Name)]
public sealed class HttpJsonTests(ServerFixture server) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server.Address, DefaultRequestVersion = HttpVersion.Version11 };

    public void Dispose() => _http.Dispose();

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static StringContent JsonBody(object value) => new(Json(value), Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonBody(body) };
        using HttpResponseMessage response = await _http.SendAsync(request);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task<string> SeedsCollectionOverHttpAsync()
    {
        string c = await server.NewCollectionAsync();
        (HttpStatusCode status, JsonNode body) = await SendAsync(HttpMethod.Post, $"/v1/collections/{c}/documents", new
        {
            documents = new[] { new { id = "2014", text = TestData.Seed2014 }, new { id = "2016", text = TestData.Seed2016 } },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, (int)body["createdCount"]!);
        return c;
    }

    [Fact]
    public async Task Compare_InlineSeedsAsCurlSendsThem_AnswersTheSharedWordingWithExactScores()
    {
        // curl -d '{...}' labels its body form data; the route reads it as JSON all the same.
        string body = Json(new { left = new { text = TestData.Seed2014 }, right = new { text = TestData.Seed2016 }, include_fuzzy = false });
        using var content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded");
        using HttpResponseMessage response = await _http.PostAsync("/v1/compare", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonNode r = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2016), (double)r["jaccard"]!, 9);
        JsonArray phrases = r["sharedPhrases"]!.AsArray();
        foreach (string expected in new[] { "construction of the Silk Road Economic Belt", "Shanghai Cooperation Organization (SCO)" })
        {
            JsonNode phrase = Assert.Single(phrases, p => ((string)p!["text"]!).Contains(expected, StringComparison.Ordinal))!;
            Assert.Equal((string)phrase["text"]!, TestData.SliceCodePoints(TestData.Seed2014, (int)phrase["left"]!["start"]!, (int)phrase["left"]!["end"]!));
            Assert.Contains(expected, TestData.SliceCodePoints(TestData.Seed2016, (int)phrase["right"]!["start"]!, (int)phrase["right"]!["end"]!),
                StringComparison.OrdinalIgnoreCase);
        }

        Assert.Null(r["fuzzy"]);
        // Every occurrence on both sides, and the shared words as ranges: "development of the SCO" stands twice in 2016.
        JsonNode development = Assert.Single(phrases, p => (string)p!["text"]! == "development of the SCO")!;
        Assert.Single(development["leftOccurrences"]!.AsArray());
        Assert.Equal(2, development["rightOccurrences"]!.AsArray().Count);
        Assert.All(development["rightOccurrences"]!.AsArray(), o => Assert.Equal("development of the SCO",
            TestData.SliceCodePoints(TestData.Seed2016, (int)o!["start"]!, (int)o["end"]!)));
        Assert.NotEmpty(r["leftShared"]!.AsArray());
        Assert.Equal("construction of the Silk Road Economic Belt", (string)phrases[0]!["text"]!);
    }

    [Fact]
    public async Task Collections_SixtyFourBitFields_AreJsonStrings_SoACopiedConfigurationKeepsItsSeed()
    {
        // 6840335469299245076 is not a double: as a bare JSON number JavaScript and jq read 6840335469299245000.
        const ulong seed = 6_840_335_469_299_245_076;
        Assert.NotEqual(seed, (ulong)(double)seed);
        string name = "http-" + Guid.NewGuid().ToString("N")[..10];
        (HttpStatusCode created, JsonNode sent) = await SendAsync(HttpMethod.Post, "/v1/collections", new { name, config = new { seed = seed.ToString(CultureInfo.InvariantCulture) } });
        Assert.Equal(HttpStatusCode.OK, created);
        Assert.Equal(JsonValueKind.String, sent["collection"]!["config"]!["seed"]!.GetValueKind());

        // A client copies the configuration it read into a new collection.
        (_, JsonNode read) = await SendAsync(HttpMethod.Get, $"/v1/collections/{name}");
        JsonNode config = read["collection"]!["config"]!.DeepClone();
        (HttpStatusCode copied, JsonNode copy) = await SendAsync(HttpMethod.Post, "/v1/collections", new { name = name + "-copy", config });
        Assert.Equal(HttpStatusCode.OK, copied);
        Assert.Equal(seed.ToString(CultureInfo.InvariantCulture), (string)copy["collection"]!["config"]!["seed"]!);
        Assert.Equal(seed, (await server.Collections.GetCollectionAsync(new V1.GetCollectionRequest { Name = name + "-copy" })).Collection.Config.Seed);
        Assert.Equal("0", (string)copy["collection"]!["documentCount"]!);

        // A bare number that fits a double exactly is still read.
        (HttpStatusCode numeric, JsonNode small) = await SendAsync(HttpMethod.Post, "/v1/collections", new { name = name + "-small", config = new { seed = 42 } });
        Assert.Equal((HttpStatusCode.OK, "42"), (numeric, (string)small["collection"]!["config"]!["seed"]!));
    }

    [Fact]
    public async Task Collections_CreateGetListDelete_FollowTheirRoutesAndStatuses()
    {
        string name = "http-" + Guid.NewGuid().ToString("N")[..10];
        (HttpStatusCode created, JsonNode collection) = await SendAsync(HttpMethod.Post, "/v1/collections", new { name, config = new { threshold = 0.7 } });
        Assert.Equal(HttpStatusCode.OK, created);
        Assert.Equal(0.7, (double)collection["collection"]!["config"]!["threshold"]!);

        (HttpStatusCode again, JsonNode conflict) = await SendAsync(HttpMethod.Post, "/v1/collections", new { name });
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Equal(6, (int)conflict["code"]!); // ALREADY_EXISTS

        (HttpStatusCode got, JsonNode one) = await SendAsync(HttpMethod.Get, $"/v1/collections/{name}");
        Assert.Equal((HttpStatusCode.OK, name), (got, (string)one["collection"]!["name"]!));
        (_, JsonNode all) = await SendAsync(HttpMethod.Get, "/v1/collections");
        Assert.Contains(all["collections"]!.AsArray(), c => (string)c!["name"]! == name);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/v1/collections/{name}:rebuildIndex", new { })).Status);

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, $"/v1/collections/{name}")).Status);
        (HttpStatusCode gone, JsonNode missing) = await SendAsync(HttpMethod.Get, $"/v1/collections/{name}");
        Assert.Equal(HttpStatusCode.NotFound, gone);
        Assert.Equal(5, (int)missing["code"]!); // NOT_FOUND
        JsonNode resource = Assert.Single(missing["details"]!.AsArray())!;
        Assert.Equal(("type.googleapis.com/google.rpc.ResourceInfo", name), ((string)resource["@type"]!, (string)resource["resourceName"]!));

        (HttpStatusCode refused, JsonNode precondition) = await SendAsync(HttpMethod.Delete, "/v1/collections/default");
        Assert.Equal((HttpStatusCode.BadRequest, 9), (refused, (int)precondition["code"]!)); // FAILED_PRECONDITION
    }

    [Fact]
    public async Task Documents_UpsertGetListDelete_RoundTripThroughTheRoutes()
    {
        string c = await SeedsCollectionOverHttpAsync();

        (HttpStatusCode got, JsonNode document) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/documents/2014?includeText=true");
        Assert.Equal(HttpStatusCode.OK, got);
        Assert.Equal(TestData.Seed2014, (string)document["document"]!["text"]!);

        (_, JsonNode page) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/documents?pageSize=1");
        Assert.Equal("2014", (string)Assert.Single(page["documents"]!.AsArray())!["id"]!);
        (_, JsonNode next) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/documents?pageSize=1&pageToken={Uri.EscapeDataString((string)page["nextPageToken"]!)}");
        Assert.Equal("2016", (string)Assert.Single(next["documents"]!.AsArray())!["id"]!);

        // An id with slashes (the CLI names files by relative path) is the rest of the route.
        const string PathId = "folder/sub folder/ü.txt";
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/v1/collections/{c}/documents", new { documents = new[] { new { id = PathId, text = "a few words of text" } } })).Status);
        (HttpStatusCode byPath, JsonNode pathDocument) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/documents/folder/sub%20folder/%C3%BC.txt");
        Assert.Equal((HttpStatusCode.OK, PathId), (byPath, (string)pathDocument["document"]!["id"]!));

        // The second binding of UpsertDocuments names the collection in the body.
        (HttpStatusCode upserted, JsonNode again) = await SendAsync(HttpMethod.Post, "/v1/documents", new { collection = c, documents = new[] { new { id = "2014", text = TestData.Seed2014 } } });
        Assert.Equal((HttpStatusCode.OK, "UPSERT_STATUS_UNCHANGED"), (upserted, (string)again["results"]![0]!["status"]!));

        (_, JsonNode deleted) = await SendAsync(HttpMethod.Post, $"/v1/collections/{c}/documents:delete", new { ids = new[] { "2016", PathId, "absent" } });
        Assert.Equal(2, (int)deleted["deletedCount"]!);
        (HttpStatusCode gone, JsonNode missing) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/documents/2016");
        Assert.Equal((HttpStatusCode.NotFound, 5), (gone, (int)missing["code"]!));
    }

    [Fact]
    public async Task FindSimilarAndDeduplicate_OverTheRoutes_FindTheEditedCopy()
    {
        string c = await SeedsCollectionOverHttpAsync();
        string edited = TestData.Seed2016.Replace("Kazakhstan", "Kazakstan", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/v1/collections/{c}/documents", new { documents = new[] { new { id = "2016-edited", text = edited } } })).Status);
        double expected = ReferenceJaccard.Jaccard(TestData.Seed2016, edited);

        (HttpStatusCode found, JsonNode similar) = await SendAsync(HttpMethod.Post, "/v1/similar", new { collection = c, query = new { id = "2016" }, threshold = 0.3 });
        Assert.Equal(HttpStatusCode.OK, found);
        JsonNode match = Assert.Single(similar["matches"]!.AsArray())!;
        Assert.Equal("2016-edited", (string)match["id"]!);
        Assert.Equal(expected, (double)match["jaccard"]!, 9);

        // Which documents share wording with the 2014 report? The 2016 one, by the Silk Road passage, as /v1/passages answers it.
        (HttpStatusCode shared, JsonNode passages) = await SendAsync(HttpMethod.Post, "/v1/passages", new { collection = c, query = new { id = "2014" } });
        Assert.Equal(HttpStatusCode.OK, shared);
        Assert.Equal(7, (int)passages["guaranteedMinWords"]!);
        JsonNode report = passages["matches"]!.AsArray().Single(m => (string)m!["id"]! == "2016")!;
        Assert.Contains(report["passages"]!.AsArray(), p => ((string)p!["text"]!).Contains("Silk Road Economic Belt", StringComparison.Ordinal));

        (HttpStatusCode before, _) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/duplicates");
        Assert.Equal(HttpStatusCode.NotFound, before);

        // A server stream answers one JSON object per line: progress, clusters, then the summary.
        using HttpResponseMessage response = await _http.PostAsync("/v1/deduplicate", JsonBody(new { collection = c, threshold = 0.3 }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonNode[] events = [.. (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!)];
        JsonNode cluster = Assert.Single(events, e => e["cluster"] is not null)["cluster"]!;
        Assert.Equal("2016", (string)cluster["representativeId"]!);
        Assert.Equal(["2016", "2016-edited"], cluster["members"]!.AsArray().Select(m => (string)m!["id"]!));
        JsonNode summary = events[^1]["summary"]!;
        Assert.Equal(("3", "1", "1"), ((string)summary["documentCount"]!, (string)summary["clusterCount"]!, (string)summary["duplicateCount"]!));

        (HttpStatusCode after, JsonNode last) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/duplicates");
        Assert.Equal(HttpStatusCode.OK, after);
        Assert.Equal(cluster.ToJsonString(), Assert.Single(last["clusters"]!.AsArray())!.ToJsonString());
    }

    [Fact]
    public async Task Errors_CallersMistakes_MapToTheirHttpStatusesWithTheFieldNamed()
    {
        (HttpStatusCode invalid, JsonNode bad) = await SendAsync(HttpMethod.Post, "/v1/similar", new { query = new { text = "a few words" }, top_k = -1 });
        Assert.Equal((HttpStatusCode.BadRequest, 3), (invalid, (int)bad["code"]!));
        Assert.Contains("top_k", (string)bad["message"]!, StringComparison.Ordinal);
        JsonNode details = Assert.Single(bad["details"]!.AsArray())!;
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", (string)details["@type"]!);
        Assert.Contains(details["fieldViolations"]!.AsArray(), v => (string)v!["field"]! == "top_k");

        (HttpStatusCode noLeft, JsonNode missing) = await SendAsync(HttpMethod.Post, "/v1/compare", new { right = new { text = "x" } });
        Assert.Equal(HttpStatusCode.BadRequest, noLeft);
        Assert.Contains("left", (string)missing["message"]!, StringComparison.Ordinal);

        using var malformed = new StringContent("{\"left\": ", Encoding.UTF8, "application/json");
        using HttpResponseMessage broken = await _http.PostAsync("/v1/compare", malformed);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);

        (HttpStatusCode unknown, _) = await SendAsync(HttpMethod.Post, "/v1/compare", new { collection = "no-such-collection", left = new { text = "a" }, right = new { text = "b" } });
        Assert.Equal(HttpStatusCode.NotFound, unknown);
    }

    [Theory]
    [InlineData("/v1/similar", """{"query": {"text": "a few words"}, "treshold": 0.3}""", "treshold", "is not a field of compare.v1.FindSimilarRequest; did you mean threshold?")]
    [InlineData("/v1/deduplicate", """{"Threshold": 0.3}""", "Threshold", "did you mean threshold?")]
    [InlineData("/v1/deduplicate", """{"threshold": "0.9"}""", "threshold", "must be a JSON number, not the string \"0.9\".")]
    [InlineData("/v1/similar", """{"query": {"text": "a few words"}, "top_k": 5.5}""", "top_k", "must be a whole JSON number from -2147483648 to 2147483647, not the number 5.5.")]
    [InlineData("/v1/similar", """{"query": {"text": "a few words"}, "top_k": "5"}""", "top_k", "not the string \"5\"")]
    [InlineData("/v1/deduplicate", """{"include_pairs": "yes"}""", "include_pairs", "must be true or false")]
    [InlineData("/v1/deduplicate", """{"representative": "LONGEST"}""", "representative", "'LONGEST' is not a value of compare.v1.RepresentativePolicy: use one of")]
    [InlineData("/v1/compare", """{"left": {"id": "a", "text": "b"}, "right": {"text": "c"}}""", "left.text", "cannot be set beside id")]
    [InlineData("/v1/compare", """{"left": {"text": null, "id": "a"}, "right": {"text": "c"}}""", "left.id", "cannot be set beside text")]
    [InlineData("/v1/compare", """{"left": {"text": 2014}, "right": {"text": "c"}}""", "left.text", "must be a JSON string, not the number 2014.")]
    [InlineData("/v1/compare", """{"left": {"text": "\ud800"}, "right": {"text": "c"}}""", "left.text", "lone")]
    [InlineData("/v1/compare", """{"left": ["a"], "right": {"text": "c"}}""", "left", "must be a JSON object, not an array.")]
    [InlineData("/v1/compare", """{"left": {"text": "a"}, "right": {"text": "c"}""", "body", "is not valid JSON")]
    [InlineData("/v1/compare", """{"left": {"text": "a"},}""", "body", "is not valid JSON")]
    [InlineData("/v1/compare", """[]""", "body", "must be a JSON object of the fields of compare.v1.CompareRequest.")]
    [InlineData("/v1/documents", """{"documents": {"id": "a", "text": "b"}}""", "documents", "must be a JSON array, not an object.")]
    [InlineData("/v1/documents", """{"documents": [{"id": "a", "text": "b"}, {"id": "c", "text": "d", "metadata": {"year": 2014}}]}""", "documents[1].metadata[\"year\"]", "must be a JSON string, not the number 2014.")]
    [InlineData("/v1/collections", """{"name": "n", "config": {"seed": "x"}}""", "config.seed", "must be a whole number (a JSON number or string) from 0 to 18446744073709551615")]
    public async Task Errors_ABodyTranscodingCannotRead_IsRefusedNamingItsField(string path, string body, string field, string description)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.PostAsync(path, content);
        string written = await response.Content.ReadAsStringAsync();
        JsonNode error = JsonNode.Parse(written)!;
        Assert.Equal((HttpStatusCode.BadRequest, 3), (response.StatusCode, (int)error["code"]!));
        // Written as transcoding writes the errors it finds itself: compact, a quote or an apostrophe as it is.
        Assert.StartsWith("{\"code\":3,\"message\":", written, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", written, StringComparison.Ordinal);
        Assert.StartsWith(field + ": ", (string)error["message"]!, StringComparison.Ordinal);
        Assert.Contains(description, (string)error["message"]!, StringComparison.Ordinal);
        JsonNode violation = Assert.Single(Assert.Single(error["details"]!.AsArray())!["fieldViolations"]!.AsArray())!;
        Assert.Equal(field, (string)violation["field"]!);
    }

    [Fact]
    public async Task Errors_ANameOrValueOfAnyLength_IsEchoedInPart()
    {
        string huge = new('k', 100_000);
        foreach ((string path, string body) in new[]
        {
            ("/v1/compare", $$"""{"{{huge}}": 1}"""),
            ("/v1/deduplicate", $$"""{"representative": "{{huge}}"}"""),
            ("/v1/documents", $$$"""{"documents": [{"id": "a", "text": "b", "metadata": {"{{{huge}}}": 5}}]}"""),
        })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await _http.PostAsync(path, content);
            string written = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.InRange(written.Length, 100, 1000); // it was twice the name: 200 KB for a 100 KB name
            Assert.Contains(new string('k', 40) + "…", written, StringComparison.Ordinal);
        }

        (HttpStatusCode status, JsonNode error) = await SendAsync(HttpMethod.Get, $"/v1/collections/default/documents?{new string('q', 5000)}=1");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(new string('q', 40) + "…: is not a field", (string)error["message"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/v1/collections/default/documents?pageSize=abc", "pageSize", "must be a whole number, not 'abc'.")]
    [InlineData("GET", "/v1/collections/default/documents?pageSize=2.5", "pageSize", "must be a whole number, not '2.5'.")]
    [InlineData("GET", "/v1/collections/default/documents?page_sise=4", "page_sise", "is not a field of compare.v1.ListDocumentsRequest; did you mean page_size?")]
    [InlineData("GET", "/v1/collections/default/documents?pageSize=5&pageSize=6", "pageSize", "is given 2 times; give it once.")]
    [InlineData("GET", "/v1/collections/default/documents/a?includeText=yes", "includeText", "must be true or false, not 'yes'.")]
    [InlineData("DELETE", "/v1/collections/default?force=true", "force", "is not a field of compare.v1.DeleteCollectionRequest.")]
    public async Task Errors_AQueryStringTranscodingCannotRead_IsRefusedNamingItsParameter(string method, string path, string field, string description)
    {
        (HttpStatusCode status, JsonNode error) = await SendAsync(new HttpMethod(method), path);
        Assert.Equal((HttpStatusCode.BadRequest, 3), (status, (int)error["code"]!));
        Assert.Equal($"{field}: {description}", (string)error["message"]!);
        Assert.Equal(field, (string)Assert.Single(Assert.Single(error["details"]!.AsArray())!["fieldViolations"]!.AsArray())!["field"]!);
    }

    [Theory]
    [InlineData("GET", "/v1/compare", 405, "POST", "/v1/compare takes POST, not GET.")]
    [InlineData("GET", "/v1/Compare", 405, "POST", "/v1/Compare takes POST, not GET.")] // routing ignores case
    [InlineData("DELETE", "/v1/collections/default/documents/politics/001:draft", 405, "GET", "/v1/collections/default/documents/politics/001:draft takes GET, not DELETE.")]
    [InlineData("PUT", "/v1/collections/news", 405, "DELETE, GET", "/v1/collections/news takes DELETE or GET, not PUT.")]
    [InlineData("POST", "/v1/similr", 404, null, "No JSON route is POST /v1/similr; did you mean POST /v1/similar?")]
    [InlineData("POST", "/v1/collections/news:rebuild", 404, null, "did you mean POST /v1/collections/{name}:rebuildIndex?")]
    [InlineData("GET", "/v1/collections/news/document", 404, null, "did you mean GET /v1/collections/{collection}/documents?")]
    [InlineData("POST", "/v1/collections/news/documents:remove", 404, null, "did you mean POST /v1/collections/{collection}/documents:delete?")]
    [InlineData("GET", "/v1/nothing/like/any/route", 404, null, "No JSON route is GET /v1/nothing/like/any/route. Every route")]
    [InlineData("POST", "/compare", 404, null, "No JSON route is POST /compare; did you mean POST /v1/compare?")] // /v1 left out
    [InlineData("DELETE", "/collections/news", 404, null, "did you mean DELETE /v1/collections/{name}?")]
    public async Task Errors_APathNoRouteTakes_SaysWhichMethodsItHasOrTheNearestRoute(string method, string path, int status, string? allow, string message)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using HttpResponseMessage response = await _http.SendAsync(request);
        JsonNode error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal((status, status == 405 ? 12 : 5), ((int)response.StatusCode, (int)error["code"]!));
        Assert.Equal(allow, response.Content.Headers.Allow.Count == 0 ? null : string.Join(", ", response.Content.Headers.Allow));
        Assert.Contains(message, (string)error["message"]!, StringComparison.Ordinal);
        Assert.EndsWith("Every route is described at /swagger/v1/swagger.json.", (string)error["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_APageNoRouteTakes_IsAPageSayingWhereThePagesAre_AndAnUnknownGrpcMethodStaysUnimplemented()
    {
        using HttpResponseMessage page = await _http.GetAsync("/colections/default");
        Assert.Equal((HttpStatusCode.NotFound, "text/html"), (page.StatusCode, page.Content.Headers.ContentType?.MediaType));
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<h2>No such page</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<code>/collections/NAME</code>", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/assets/missing.js")).StatusCode); // a file stays a plain 404

        // A long path is echoed in part only.
        (HttpStatusCode longStatus, JsonNode longError) = await SendAsync(HttpMethod.Get, "/v1/" + new string('a', 5000));
        Assert.Equal(HttpStatusCode.NotFound, longStatus);
        Assert.Contains($"GET /v1/{new string('a', 196)}…. Every route", (string)longError["message"]!, StringComparison.Ordinal);

        // gRPC answers an unknown method itself, before any fallback: UNIMPLEMENTED, as clients expect.
        var unknown = new Grpc.Core.Method<Empty, Empty>(Grpc.Core.MethodType.Unary, "compare.v1.SimilarityService", "NoSuchMethod",
            Grpc.Core.Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom), Grpc.Core.Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom));
        Grpc.Core.RpcException e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(
            () => server.Channel.CreateCallInvoker().AsyncUnaryCall(unknown, null, new Grpc.Core.CallOptions(), new Empty()).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.Unimplemented, e.StatusCode);
    }

    [Fact]
    public async Task Bodies_InEveryFormTranscodingReads_AreAnsweredAsBefore()
    {
        string c = await SeedsCollectionOverHttpAsync();

        // No body at all is the empty request: a rebuild, a deduplicate at the collection's threshold.
        using (HttpResponseMessage rebuilt = await _http.PostAsync($"/v1/collections/{c}:rebuildIndex", null))
        {
            Assert.Equal(HttpStatusCode.OK, rebuilt.StatusCode);
            Assert.Equal("2", (string)JsonNode.Parse(await rebuilt.Content.ReadAsStringAsync())!["indexedDocumentCount"]!);
        }

        // Proto and JSON names, a number in any JSON form, an enum by name or number.
        (HttpStatusCode added, _) = await SendAsync(HttpMethod.Post, $"/v1/collections/{c}/documents", new { documents = new[] { new { id = "copy", text = TestData.Seed2014 + " One more line." } } });
        Assert.Equal(HttpStatusCode.OK, added);
        foreach (string body in new[]
        {
            $$"""{"collection": "{{c}}", "threshold": 0.5, "include_pairs": true, "representative": "REPRESENTATIVE_POLICY_LONGEST"}""",
            $$"""{"collection": "{{c}}", "threshold": 5e-1, "includePairs": true, "representative": 2}""",
        })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await _http.PostAsync("/v1/deduplicate", content);
            string lines = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\"pair\"", lines, StringComparison.Ordinal);
            Assert.Contains("\"threshold\":0.5", lines, StringComparison.Ordinal);
            Assert.Contains("\"representativeId\":\"copy\"", lines, StringComparison.Ordinal); // the longer one
        }

        // A query string by either name, a bool in any case.
        foreach (string query in new[] { "page_size=1&include_text=true", "pageSize=1&includeText=True" })
        {
            (HttpStatusCode listed, JsonNode page) = await SendAsync(HttpMethod.Get, $"/v1/collections/{c}/documents?{query}");
            Assert.Equal(HttpStatusCode.OK, listed);
            Assert.Equal(TestData.Seed2014, (string)Assert.Single(page["documents"]!.AsArray())!["text"]!);
        }

        foreach (string seed in new[] { "\"9007199254740993\"", "9007199254740993" })
        {
            (HttpStatusCode created, JsonNode collection) = await SendAsync(HttpMethod.Post, "/v1/collections",
                JsonNode.Parse($$$"""{"name": "{{{c}}}-seed{{{seed.Length}}}", "config": {"seed": {{{seed}}}}}"""));
            Assert.Equal(HttpStatusCode.OK, created);
            Assert.Equal("9007199254740993", (string)collection["collection"]!["config"]!["seed"]!);
        }
    }

    [Fact]
    public async Task OpenApi_Description_ListsEveryRouteWithTheProtosComments()
    {
        (HttpStatusCode status, JsonNode openApi) = await SendAsync(HttpMethod.Get, "/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonObject paths = openApi["paths"]!.AsObject();
        foreach ((string path, string method) in new[]
        {
            ("/v1/compare", "post"), ("/v1/similar", "post"), ("/v1/passages", "post"), ("/v1/deduplicate", "post"), ("/v1/collections", "get"), ("/v1/collections", "post"),
            ("/v1/collections/{name}", "get"), ("/v1/collections/{name}", "delete"), ("/v1/collections/{collection}/documents", "post"),
            ("/v1/collections/{collection}/documents", "get"), ("/v1/collections/{collection}/documents/{id}", "get"),
        })
        {
            Assert.True(paths[path]?[method] is not null, $"{method} {path} is missing");
        }

        Assert.Equal("Scores two documents (indexed or inline) and finds the passages they share.", (string)paths["/v1/compare"]!["post"]!["summary"]!);
    }

    [Fact]
    public async Task Pages_AndAssets_AreServedAsHtmlAndScriptsWithAStrictPolicy()
    {
        foreach (string page in new[] { "/", "/view?left=a&right=b", "/collections/default" })
        {
            using HttpResponseMessage response = await _http.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("<!doctype html>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.StartsWith("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        using HttpResponseMessage script = await _http.GetAsync("/assets/compare.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("export function renderComparison", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using HttpResponseMessage missing = await _http.GetAsync("/assets/absent.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}

/// <summary>The README's curl lines, replayed in order against a fresh server holding the seeds as its jq line indexes them.</summary>
public sealed partial class ReadmeCurlTests
{
    // curl -s [-X METHOD] [-d '{json}'] [']localhost:5000/path[']
    [GeneratedRegex(@"^curl -s(?: -X (?<method>[A-Z]+))?(?: -d '(?<json>\{.*\})')? '?localhost:5000(?<path>/[^'\s]+)'?", RegexOptions.Multiline)]
    private static partial Regex CurlLine();

    [Fact]
    public async Task Readme_EveryCurlExample_AnswersOkFromTheServer()
    {
        string readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md"));
        Match[] examples = CurlLine().Matches(readme).ToArray();
        Assert.True(examples.Length >= 9, $"found only {examples.Length} curl examples");

        (WebApplication app, Grpc.Net.Client.GrpcChannel channel) = await ServerFixture.StartAsync();
        await using (app)
        using (channel)
        using (var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) })
        {
            await new V1.DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Seeds());

            foreach (Match example in examples)
            {
                HttpMethod method = example.Groups["method"].Success ? new HttpMethod(example.Groups["method"].Value)
                    : example.Groups["json"].Success ? HttpMethod.Post : HttpMethod.Get;
                using var request = new HttpRequestMessage(method, example.Groups["path"].Value);
                if (example.Groups["json"].Success)
                {
                    // As curl -d sends it: labelled form data.
                    request.Content = new StringContent(example.Groups["json"].Value, Encoding.UTF8, "application/x-www-form-urlencoded");
                }

                using HttpResponseMessage response = await http.SendAsync(request);
                string body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{example.Value} answered {(int)response.StatusCode}: {body}");
                if (example.Groups["path"].Value.StartsWith("/v1/", StringComparison.Ordinal))
                {
                    Assert.All(body.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => JsonNode.Parse(line));
                }
                else
                {
                    // The probes and /metrics answer text.
                    Assert.Contains(example.Groups["path"].Value == "/metrics" ? "compare_build_info" : "ok", body, StringComparison.Ordinal);
                }
                if (example.Value.Contains("\"id\": \"2014\"}, \"right\"", StringComparison.Ordinal))
                {
                    Assert.Contains("construction of the Silk Road Economic Belt", body, StringComparison.Ordinal);
                }
            }
        }
    }
}

/// <summary>The JSON routes under API keys, rate limits and the message limit: the same rules as gRPC, mapped to HTTP statuses.</summary>
[Collection(TimingSensitive.Name)]
public sealed class HttpJsonSecurityTests
{
    [Fact]
    public async Task JsonRoutes_BodyOverTheMessageLimit_IsRefusedNamingTheLimitAndStoresNothing()
    {
        (WebApplication app, Grpc.Net.Client.GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Limits:MaxReceiveMessageBytes"] = "20000" });
        await using (app)
        using (channel)
        using (var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) })
        {
            string body = JsonSerializer.Serialize(new { documents = new[] { new { id = "big", text = string.Concat(Enumerable.Repeat("word ", 5000)) } } });

            using HttpResponseMessage declared = await http.PostAsync("/v1/collections/default/documents", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
            JsonNode status = JsonNode.Parse(await declared.Content.ReadAsStringAsync())!;
            Assert.Equal(8, (int)status["code"]!); // RESOURCE_EXHAUSTED
            Assert.Contains("Limits:MaxReceiveMessageBytes", (string)status["message"]!, StringComparison.Ordinal);

            // Without a declared length the body is stopped as it passes the limit.
            using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/collections/default/documents")
            {
                Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body))),
            };
            chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            chunked.Headers.TransferEncodingChunked = true;
            using HttpResponseMessage streamed = await http.SendAsync(chunked);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);
            JsonNode streamedStatus = JsonNode.Parse(await streamed.Content.ReadAsStringAsync())!;
            Assert.Equal(8, (int)streamedStatus["code"]!);
            Assert.Contains("Limits:MaxReceiveMessageBytes", (string)streamedStatus["message"]!, StringComparison.Ordinal);

            using HttpResponseMessage stored = await http.GetAsync("/v1/collections/default/documents/big");
            Assert.Equal(HttpStatusCode.NotFound, stored.StatusCode);
        }
    }

    private const string Key = "http-key-0123456789abcdef";

    [Fact]
    public async Task ApiKeysAndRateLimit_OnTheJsonRoutes_AreUnauthorizedAndTooManyRequests()
    {
        (WebApplication app, Grpc.Net.Client.GrpcChannel channel) = await ServerFixture.StartAsync(settings: new()
        {
            ["Security:ApiKeys:0"] = Key,
            ["Security:RateLimit:PermitsPerSecond"] = "1",
            ["Security:RateLimit:Burst"] = "2",
        });
        await using (app)
        using (channel)
        using (var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) })
        {
            using HttpResponseMessage anonymous = await http.GetAsync("/v1/collections");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal(16, JsonNode.Parse(await anonymous.Content.ReadAsStringAsync())!["code"]!.GetValue<int>()); // UNAUTHENTICATED

            // The pages stay open: they ask for the key and send it with their calls.
            using HttpResponseMessage page = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);

            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            HttpStatusCode status = HttpStatusCode.OK;
            TimeSpan? retryAfter = null;
            for (int call = 0; call < 50 && status == HttpStatusCode.OK; call++)
            {
                using HttpResponseMessage response = await http.GetAsync("/v1/collections");
                (status, retryAfter) = (response.StatusCode, response.Headers.RetryAfter?.Delta);
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, status);
            // HTTP's own header, in whole seconds: at one call per second the next token is at most a second away.
            Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
        }
    }
}
