using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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
        int port = FreePort();
        string dll = Path.Combine(TestData.RepositoryRoot, "src", "Compare.Server", "bin", BuildConfiguration(), "net10.0", "Compare.Server.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        var start = new ProcessStartInfo("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        using Process process = Process.Start(start)!;
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var health = new Health.HealthClient(channel);
            HealthCheckResponse? status = null;
            for (int attempt = 0; attempt < 100 && status is null; attempt++)
            {
                try
                {
                    status = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
                {
                    if (process.HasExited)
                    {
                        Assert.Fail("the server exited: " + await process.StandardError.ReadToEndAsync());
                    }

                    await Task.Delay(200);
                }
            }

            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, status?.Status);
            var similarity = new V1.SimilarityService.SimilarityServiceClient(channel);
            V1.CompareResponse compared = await similarity.CompareAsync(new V1.CompareRequest
            {
                Left = new V1.DocumentRef { Text = TestData.Seed2014 },
                Right = new V1.DocumentRef { Text = TestData.Seed2016 },
            });
            Assert.Contains(compared.SharedPhrases, p => p.Text.Contains("Silk Road Economic Belt", StringComparison.Ordinal));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // The tests run from bin/<Configuration>/net10.0; the server was built with the same configuration.
    private static string BuildConfiguration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}
