using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1;

namespace Compare.Server.Tests;

[Collection(ServerTestGroup.Name)]
public sealed class HostingTests(ServerFixture server)
{
    private static readonly string[] CompareServices = ["compare.v1.CollectionService", "compare.v1.DocumentService", "compare.v1.SimilarityService"];

    [Theory]
    [InlineData("Limits:MaxPhrases", "0", "must be positive; it was 0")]
    [InlineData("Limits:DefaultPageSize", "5000", "must not exceed Limits:MaxPageSize (1000)")]
    [InlineData("Metrics:CollectionsInterval", "00:00:00", "between 00:00:00.0100000 and 1.00:00:00")]
    [InlineData("Limits:MaxStreamsPerConnection", "0", "1 to 1000000")]
    [InlineData("Storage:Provider", "Cassandra", "one of Sqlite, Memory, Redis")]
    [InlineData("Security:RateLimit:Burst", "-1", "at least 0")]
    [InlineData("Cache:Timeout", "00:05:00", "between 00:00:00.0010000 and 00:01:00")]
    public async Task Start_BadSetting_FailsWithOneMessageNamingTheKey(string key, string value, string expected)
    {
        Microsoft.Extensions.Options.OptionsValidationException e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => ServerFixture.StartAsync(settings: new() { [key] = value }));

        string message = Assert.Single(e.Failures);
        Assert.Contains(key, message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Limits:MaxTopK", "ten", "Limits:MaxTopK must be a whole number; it was 'ten'.")]
    [InlineData("Limits:ShutdownTimeout", "soon", "Limits:ShutdownTimeout must be a duration as hh:mm:ss (00:00:30); it was 'soon'.")]
    [InlineData("Metrics:Enabled", "maybe", "Metrics:Enabled must be true or false; it was 'maybe'.")]
    public async Task Start_AValueConfigurationCannotConvert_IsSaidAsTheOtherBadSettingsAre(string key, string value, string expected)
    {
        Exception e = await Assert.ThrowsAnyAsync<Exception>(() => ServerFixture.StartAsync(settings: new() { [key] = value }));

        Assert.Equal($"Compare.Server could not start: {expected}", Hosting.StartupFailure.Describe(e));
    }

    [Fact]
    public async Task Health_OverallAndPerService_AnswersServing()
    {
        var health = new Health.HealthClient(server.Channel);

        HealthCheckResponse overall = await health.CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        foreach (string service in CompareServices)
        {
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);
        }

        await RpcAssert.FailsAsync(StatusCode.NotFound, () => health.CheckAsync(new HealthCheckRequest { Service = "compare.v1.NoSuchService" }).ResponseAsync);
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

        // grpcurl builds the descriptors from these files and asks for each missing import by name: every
        // import (google/api/annotations.proto for the HTTP routes among them) must resolve, and the set must build.
        var files = new Dictionary<string, Google.Protobuf.ByteString>();
        var pending = new Queue<Google.Protobuf.ByteString>(file.FileDescriptorResponse.FileDescriptorProto);
        while (pending.TryDequeue(out Google.Protobuf.ByteString? bytes))
        {
            var proto = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes);
            if (!files.TryAdd(proto.Name, bytes))
            {
                continue;
            }

            foreach (string import in proto.Dependency.Where(d => !files.ContainsKey(d)))
            {
                await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileByFilename = import });
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                Assert.Null(call.ResponseStream.Current.ErrorResponse);
                foreach (Google.Protobuf.ByteString dependency in call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto)
                {
                    pending.Enqueue(dependency);
                }
            }
        }

        await call.RequestStream.CompleteAsync();

        Assert.Subset(services.ToHashSet(), CompareServices.Append("grpc.health.v1.Health").ToHashSet());
        Assert.Contains("google/api/annotations.proto", files.Keys);
        IReadOnlyList<Google.Protobuf.Reflection.FileDescriptor> built = Google.Protobuf.Reflection.FileDescriptor.BuildFromByteStrings(
            Order(files));
        Assert.NotNull(built.Single(f => f.Name == "compare/v1/similarity.proto").FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("SimilarityService"));
    }

    [Theory]
    [InlineData("compare.v1.CollectionService", "collection.proto")]
    [InlineData("compare.v1.DocumentService", "document.proto")]
    [InlineData("compare.v1.SimilarityService", "similarity.proto")]
    public async Task Reflection_ServesTheProtosComments_SoADescribeShowsWhatEachServiceAndMethodDoes(string service, string fileName)
    {
        var client = new ServerReflection.ServerReflectionClient(server.Channel);
        using AsyncDuplexStreamingCall<ServerReflectionRequest, ServerReflectionResponse> call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = service });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.CompleteAsync();
        Google.Protobuf.Reflection.FileDescriptorProto file = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto
            .Select(b => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(b))
            .Single(f => f.Name == $"compare/v1/{fileName}");
        string source = await File.ReadAllTextAsync(Path.Combine(TestData.RepositoryRoot, "protos", "compare", "v1", fileName));

        // Paths into the descriptor: 6 = services, 2 = a service's methods, 4 = messages, 2 = a message's fields.
        string Comment(params int[] path) =>
            file.SourceCodeInfo.Location.SingleOrDefault(l => l.Path.SequenceEqual(path))?.LeadingComments ?? string.Empty;
        Google.Protobuf.Reflection.ServiceDescriptorProto described = file.Service.Single();
        Assert.Equal(CommentAbove($"service {described.Name} {{"), Comment(6, 0));
        for (int m = 0; m < described.Method.Count; m++)
        {
            Assert.Equal(CommentAbove($"rpc {described.Method[m].Name}("), Comment(6, 0, 2, m));
        }

        for (int t = 0; t < file.MessageType.Count; t++)
        {
            for (int f = 0; f < file.MessageType[t].Field.Count; f++)
            {
                Google.Protobuf.Reflection.FieldDescriptorProto field = file.MessageType[t].Field[f];
                string written = CommentAbove($"message {file.MessageType[t].Name} {{", $" {field.Name} = {field.Number};");
                Assert.Equal(written, Comment(4, t, 2, f));
            }
        }

        // The comment lines right above a declaration, read from the .proto file itself, as protoc keeps them.
        string CommentAbove(string declaration, string? within = null)
        {
            string[] lines = source.Split('\n');
            int at = Array.FindIndex(lines, l => l.TrimStart().StartsWith(declaration, StringComparison.Ordinal));
            if (within is not null)
            {
                at = Array.FindIndex(lines, at, l => l.Contains(within, StringComparison.Ordinal) && !l.TrimStart().StartsWith("//", StringComparison.Ordinal));
            }

            Assert.True(at >= 0, declaration + within);
            var comment = new List<string>();
            for (int i = at - 1; i >= 0 && lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal); i--)
            {
                comment.Insert(0, lines[i].TrimStart()[2..] + "\n");
            }

            return string.Concat(comment);
        }
    }

    /// <summary>Files ordered so that each comes after its imports, as BuildFromByteStrings needs.</summary>
    private static List<Google.Protobuf.ByteString> Order(Dictionary<string, Google.Protobuf.ByteString> files)
    {
        var ordered = new List<Google.Protobuf.ByteString>();
        var done = new HashSet<string>();
        void Visit(string name)
        {
            if (!done.Add(name))
            {
                return;
            }

            foreach (string import in Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(files[name]).Dependency)
            {
                Visit(import);
            }

            ordered.Add(files[name]);
        }

        foreach (string name in files.Keys)
        {
            Visit(name);
        }

        return ordered;
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
