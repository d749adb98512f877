using System.Diagnostics.CodeAnalysis;
using Compare.Client;
using Compare.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Compare's typed gRPC clients and <see cref="CompareClient"/> with the gRPC client factory.</summary>
public static class CompareClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="CompareClient"/> and the three typed clients (<see cref="CollectionService.CollectionServiceClient"/>,
    /// <see cref="DocumentService.DocumentServiceClient"/>, <see cref="SimilarityService.SimilarityServiceClient"/>), all
    /// configured from <see cref="CompareClientOptions"/>: the address, the API key and the retry policy for UNAVAILABLE.
    /// The options are checked when the first client is made; bind them from configuration with
    /// <c>services.Configure&lt;CompareClientOptions&gt;(configuration.GetSection("Compare"))</c> before or after this call.
    /// </summary>
    public static IServiceCollection AddCompareClient(this IServiceCollection services, Action<CompareClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<CompareClientOptions> options = services.AddOptions<CompareClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        AddTyped<CollectionService.CollectionServiceClient>(services);
        AddTyped<DocumentService.DocumentServiceClient>(services);
        AddTyped<SimilarityService.SimilarityServiceClient>(services);
        services.AddTransient(provider => new CompareClient(
            provider.GetRequiredService<CollectionService.CollectionServiceClient>(),
            provider.GetRequiredService<DocumentService.DocumentServiceClient>(),
            provider.GetRequiredService<SimilarityService.SimilarityServiceClient>(),
            provider.GetRequiredService<IOptions<CompareClientOptions>>().Value.UpsertBatchSize));
        return services;
    }

    private static void AddTyped<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TClient>(IServiceCollection services)
        where TClient : ClientBase
    {
        services.AddGrpcClient<TClient>((provider, factory) =>
            {
                CompareClientOptions options = provider.GetRequiredService<IOptions<CompareClientOptions>>().Value;
                factory.Address = options.Address;
                factory.ChannelOptionsActions.Add(options.ConfigureChannel);
            })
            .ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<IOptions<CompareClientOptions>>().Value.CreateHttpHandler())
            .AddCallCredentials((_, headers, provider) =>
            {
                CompareClient.AddApiKey(headers, provider.GetRequiredService<IOptions<CompareClientOptions>>().Value.ApiKey);
                return Task.CompletedTask;
            })
            // The server's default port is cleartext HTTP/2; the key is sent there too, as the server expects.
            .ConfigureChannel(channel => channel.UnsafeUseInsecureChannelCallCredentials = true);
    }
}
