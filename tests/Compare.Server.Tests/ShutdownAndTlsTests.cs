using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Compare.Server.Hosting;
using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Compare.Server.Tests;

public sealed class ShutdownAndTlsTests
{
    [Fact]
    public async Task Executable_Sigterm_ExitsCleanlyWithTheStoreFlushed()
    {
        using var data = new TempDirectory();
        var env = new Dictionary<string, string> { ["Storage__Path"] = data.Path };
        var request = new UpsertDocumentsRequest
        {
            Documents = { new Document { Id = "2014", Text = TestData.Seed2014 }, new Document { Id = "2016", Text = TestData.Seed2016 } },
        };
        await using (ServerProcess server = await ServerProcess.StartAsync(env))
        {
            Assert.Equal(2, (await server.Documents.UpsertDocumentsAsync(request)).CreatedCount);

            int exit = await server.TerminateAsync(TimeSpan.FromSeconds(30));

            Assert.True(exit == 0, server.Output);
            Assert.Contains("Stopping: ", server.Output, StringComparison.Ordinal);
            Assert.Contains("Stopped: every committed write is in the store.", server.Output, StringComparison.Ordinal);
        }

        // The write-ahead log was checkpointed into the database file and truncated.
        string wal = Path.Combine(data.Path, "compare.db-wal");
        long walBytes = File.Exists(wal) ? new FileInfo(wal).Length : 0;
        Assert.True(walBytes == 0, $"{wal} still holds {walBytes} bytes");
        await using ServerProcess restarted = await ServerProcess.StartAsync(env);
        Assert.Equal(2, (await restarted.Documents.UpsertDocumentsAsync(request)).UnchangedCount);
    }

    [Fact]
    public async Task Tls_CertificateFromConfiguration_ServesGrpcOverHttpsOnly()
    {
        using var directory = new TempDirectory();
        using X509Certificate2 certificate = SelfSigned();
        string pfx = Path.Combine(directory.Path, "compare.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "secret"));

        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Memory",
            ["Kestrel:Endpoints:Https:Url"] = "https://127.0.0.1:0",
            ["Kestrel:Endpoints:Https:Certificate:Path"] = pfx,
            ["Kestrel:Endpoints:Https:Certificate:Password"] = "secret",
        });
        builder.AddCompareServer();
        await using WebApplication app = builder.Build();
        app.MapCompareServer();
        await app.StartAsync();
        string address = app.Urls.Single();
        Assert.StartsWith("https://", address, StringComparison.Ordinal);

        using var handler = new HttpClientHandler
        {
            // Trust exactly this certificate, as a client given the server's certificate would.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
        };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
        CompareResponse compared = await new SimilarityService.SimilarityServiceClient(channel).CompareAsync(new CompareRequest
        {
            Left = new DocumentRef { Text = TestData.Seed2014 },
            Right = new DocumentRef { Text = TestData.Seed2016 },
            IncludeFuzzy = false,
        });
        Assert.Contains(compared.SharedPhrases, p => p.Text.Contains("Shanghai Cooperation Organization (SCO)", StringComparison.Ordinal));

        // Plaintext HTTP/2 on the TLS port is not served.
        using var plaintext = GrpcChannel.ForAddress(address.Replace("https://", "http://", StringComparison.Ordinal));
        await Assert.ThrowsAnyAsync<Exception>(() => new SimilarityService.SimilarityServiceClient(plaintext)
            .CompareAsync(new CompareRequest { Left = new DocumentRef { Text = "a" }, Right = new DocumentRef { Text = "a" } }, deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }
}
