using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1;

namespace Compare.Server.Tests;

[Collection(ServerTestGroup.Name)]
public sealed class HostingTests(ServerFixture server)
{
    private static readonly string[] CompareServices = ["compare.v1.CollectionService", "compare.v1.DocumentService", "compare.v1.SimilarityService"];

    [Fact]
    public async Task Health_OverallAndPerService_AnswersServing()
    {
        var health = new Health.HealthClient(server.Channel);

        HealthCheckResponse overall = await health.CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
    }

    [Fact]
    public async Task Reflection_V1_ListsEveryServiceAndDescribesTheirFiles()
    {
        var client = new ServerReflection.ServerReflectionClient(server.Channel);
        using AsyncDuplexStreamingCall<ServerReflectionRequest, ServerReflectionResponse> call = client.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        string[] services = [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "compare.v1.SimilarityService" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        ServerReflectionResponse file = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();

        Assert.Subset(services.ToHashSet(), CompareServices.Append("grpc.health.v1.Health").ToHashSet());
        Assert.NotEmpty(file.FileDescriptorResponse.FileDescriptorProto);
    }

    [Fact]
    public async Task Reflection_V1Alpha_ListsTheCompareServices()
    {
        var client = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(server.Channel);
        using var call = client.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = string.Empty });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        string[] services = [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
        await call.RequestStream.CompleteAsync();

        Assert.Subset(services.ToHashSet(), CompareServices.ToHashSet());
    }

    [Fact]
    public async Task Executable_RunWithUrls_ServesHealthAndTheSeedsOnThatPort()
    {
        using var data = new TempDirectory();
        await using ServerProcess process = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = data.Path });

        V1.CompareResponse compared = await process.Similarity.CompareAsync(new V1.CompareRequest
        {
            Left = new V1.DocumentRef { Text = TestData.Seed2014 },
            Right = new V1.DocumentRef { Text = TestData.Seed2016 },
        });

        Assert.Contains(compared.SharedPhrases, p => p.Text.Contains("Silk Road Economic Belt", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(data.Path, "compare.db")), "the default store is SQLite under Storage__Path");
    }
}
