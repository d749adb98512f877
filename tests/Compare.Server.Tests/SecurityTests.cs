using System.Globalization;
using Compare.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Compare.Server.Tests;

[Collection(TimingSensitive.Name)]
public sealed class SecurityTests
{
    private const string FirstKey = "first-key-0123456789abcdef";
    private const string SecondKey = "second-key-fedcba9876543210";

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    private static readonly CompareRequest SeedsCompare = new()
    {
        Left = new DocumentRef { Text = TestData.Seed2014 },
        Right = new DocumentRef { Text = TestData.Seed2016 },
        IncludeFuzzy = false,
    };

    private static Task<(WebApplication App, GrpcChannel Channel)> StartAsync(CapturedLogs? logs, Dictionary<string, string?> settings) =>
        logs is null ? ServerFixture.StartAsync(settings: settings) : ServerFixture.StartAsync(logs, settings);

    [Fact]
    public async Task KeylessGzipBombs_AreTurnedAwayBeforeAnythingInflatesThem()
    {
        using var data = new TempDirectory();
        await using ServerProcess server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["Storage__Path"] = data.Path,
            ["Security__ApiKeys__0"] = FirstKey,
        });
        // 60 MB of text in a message that gzip sends as a few tens of kilobytes: 16 keyless calls at once.
        var bomb = new UpsertDocumentsRequest();
        bomb.Documents.Add(new Document { Id = "bomb", Text = string.Concat(Enumerable.Repeat("word ", 12 * 1024 * 1024)) });
        byte[] payload = bomb.ToByteArray();
        var method = new Method<byte[], byte[]>(MethodType.Unary, "compare.v1.DocumentService", "UpsertDocuments",
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        long peakBefore = PeakResidentBytes(server);
        var gzip = new Metadata { { "grpc-internal-encoding-request", "gzip" } };

        RpcException[] refused = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => server.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(gzip), payload).ResponseAsync)));

        Assert.All(refused, e => Assert.Contains("requires an API key", e.Status.Detail, StringComparison.Ordinal));
        // Inflating them would have taken 16 × 60 MB at the least (3.6 GB was measured before the gate).
        Assert.InRange(PeakResidentBytes(server) - peakBefore, 0, 200L * 1024 * 1024);
        var keyed = new DocumentService.DocumentServiceClient(server.Channel);
        Assert.Equal(1, (await keyed.UpsertDocumentsAsync(new UpsertDocumentsRequest { Documents = { new Document { Id = "fine", Text = "a small text" } } }, Bearer(FirstKey))).CreatedCount);
    }

    private static long PeakResidentBytes(ServerProcess server) =>
        long.Parse(File.ReadAllLines($"/proc/{server.ProcessId}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    [Fact]
    public async Task ApiKeys_Configured_EveryCompareCallNeedsOneWhileHealthAndReflectionStayOpen()
    {
        var logs = new CapturedLogs();
        (WebApplication app, GrpcChannel channel) = await StartAsync(logs, new() { ["Security:ApiKeys:0"] = FirstKey, ["Security:ApiKeys:1"] = SecondKey });
        await using (app)
        using (channel)
        {
            var similarity = new SimilarityService.SimilarityServiceClient(channel);

            RpcException missing = await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => similarity.CompareAsync(SeedsCompare).ResponseAsync);
            Assert.Contains("authorization: Bearer KEY", missing.Status.Detail, StringComparison.Ordinal);
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => similarity.CompareAsync(SeedsCompare, Bearer(FirstKey + "x")).ResponseAsync);
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => similarity.CompareAsync(SeedsCompare, Bearer(FirstKey[..^1])).ResponseAsync);
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => new CollectionService.CollectionServiceClient(channel)
                .ListCollectionsAsync(new ListCollectionsRequest()).ResponseAsync);

            Assert.NotEmpty((await similarity.CompareAsync(SeedsCompare, Bearer(FirstKey))).SharedPhrases);
            Assert.NotEmpty((await similarity.CompareAsync(SeedsCompare, new Metadata { { "x-api-key", SecondKey } })).SharedPhrases);
            Assert.NotEmpty((await similarity.CompareAsync(SeedsCompare, new Metadata { { "authorization", $"bearer {SecondKey}" } })).SharedPhrases);

            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
            using AsyncDuplexStreamingCall<ServerReflectionRequest, ServerReflectionResponse> reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
            await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
            Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Contains(reflection.ResponseStream.Current.ListServicesResponse.Service, s => s.Name == "compare.v1.SimilarityService");
            await reflection.RequestStream.CompleteAsync();
        }

        Assert.DoesNotContain(FirstKey, logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(SecondKey, logs.All, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.Message.StartsWith("/compare.v1.SimilarityService/Compare OK in ", StringComparison.Ordinal) && l.Message.EndsWith("(key-2).", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Message.StartsWith("/compare.v1.SimilarityService/Compare Unauthenticated in ", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Message.StartsWith("API keys required on compare.v1 (2 configured)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ApiKeys_RequiredForHealthAndReflection_RefuseThemWithoutAKey()
    {
        (WebApplication app, GrpcChannel channel) = await StartAsync(null, new()
        {
            ["Security:ApiKeys:0"] = FirstKey,
            ["Security:RequireKeyForHealth"] = "true",
            ["Security:RequireKeyForReflection"] = "true",
        });
        await using (app)
        using (channel)
        {
            var health = new Health.HealthClient(channel);
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => health.CheckAsync(new HealthCheckRequest()).ResponseAsync);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), Bearer(FirstKey))).Status);
            using AsyncDuplexStreamingCall<ServerReflectionRequest, ServerReflectionResponse> reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => reflection.ResponseStream.MoveNext(CancellationToken.None));
        }
    }

    [Fact]
    public async Task Start_WithoutKeys_LogsThatAnyCallerIsLetIn()
    {
        var logs = new CapturedLogs();
        (WebApplication app, GrpcChannel channel) = await StartAsync(logs, []);
        await using (app)
        using (channel)
        {
            Assert.NotEmpty((await new SimilarityService.SimilarityServiceClient(channel).CompareAsync(SeedsCompare)).SharedPhrases);
        }

        Assert.Contains(logs.Lines, l => l.Message.StartsWith("No API key is configured", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("short-key")]
    [InlineData(" padded-key-0123456789 ")]
    public async Task Start_WithAWeakKey_FailsNamingTheSetting(string key)
    {
        OptionsValidationException e = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(null, new() { ["Security:ApiKeys:0"] = key }));
        Assert.Contains("Security:ApiKeys", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RateLimit_PerKey_RefusesTheCallOverTheBurstWithResourceExhaustedAndARetryTime()
    {
        (WebApplication app, GrpcChannel channel) = await StartAsync(null, new()
        {
            ["Security:ApiKeys:0"] = FirstKey,
            ["Security:ApiKeys:1"] = SecondKey,
            ["Security:RateLimit:PermitsPerSecond"] = "1",
            ["Security:RateLimit:Burst"] = "3",
        });
        await using (app)
        using (channel)
        {
            // Three calls at once are allowed; the bucket refills one a second, so calls in a tight loop are soon refused.
            var collections = new CollectionService.CollectionServiceClient(channel);
            int served = 0;
            RpcException? refusal = null;
            Metadata? trailers = null;
            while (refusal is null && served < 30)
            {
                using AsyncUnaryCall<ListCollectionsResponse> call = collections.ListCollectionsAsync(new ListCollectionsRequest(), Bearer(FirstKey));
                try
                {
                    await call.ResponseAsync;
                    served++;
                }
                catch (RpcException e)
                {
                    refusal = e;
                    trailers = call.GetTrailers();
                }
            }

            Assert.NotNull(refusal);
            Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
            Assert.InRange(served, 3, 29);
            Assert.Contains("1 calls per second, 3 at once (Security:RateLimit)", refusal.Status.Detail, StringComparison.Ordinal);
            int retryMs = int.Parse(trailers!.GetValue("retry-after-ms")!, CultureInfo.InvariantCulture);
            Assert.InRange(retryMs, 1, 1000);

            // The other key has its own bucket, and health is not limited.
            await collections.ListCollectionsAsync(new ListCollectionsRequest(), Bearer(SecondKey));
            var health = new Health.HealthClient(channel);
            for (int i = 0; i < 5; i++)
            {
                await health.CheckAsync(new HealthCheckRequest());
            }

            // The bucket refills: after the retry time the first key is served again (the refill timer may run late on a busy machine).
            await Task.Delay(retryMs);
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    await collections.ListCollectionsAsync(new ListCollectionsRequest(), Bearer(FirstKey));
                    break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && attempt < 50)
                {
                    await Task.Delay(100);
                }
            }
        }
    }
}
