using Compare.V1;
using Google.Rpc;
using Grpc.Core;

namespace Compare.Server.Tests;

[Collection(ServerTestGroup.Name)]
public sealed class CollectionServiceTests(ServerFixture server)
{
    [Fact]
    public async Task GetCollection_EmptyName_ReturnsTheDefaultCollection()
    {
        GetCollectionResponse response = await server.Collections.GetCollectionAsync(new GetCollectionRequest());

        Collection c = response.Collection;
        Assert.Equal("default", c.Name);
        Assert.Equal(Core.SketchParameters.FormatVersion, c.FormatVersion);
        Assert.Equal(ShingleKind.Word, c.Config.ShingleKind);
        Assert.Equal(5, c.Config.ShingleSize);
        Assert.Equal(128, c.Config.NumPerm);
        Assert.Equal(0.8, c.Config.Threshold);
        Assert.True(c.Config.Normalization.CjkBigrams);
        Assert.NotEqual(0UL, c.Config.Seed);
    }

    [Fact]
    public async Task CreateCollection_CustomConfig_ResolvesDefaultsAndTunesBandsToTheThreshold()
    {
        string name = "custom-" + Guid.NewGuid().ToString("N")[..8];
        var config = new CollectionConfig { ShingleKind = ShingleKind.Character, ShingleSize = 7, NumPerm = 64, Threshold = 0.5, Seed = 42 };

        Collection created = (await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Config = config })).Collection;
        Collection read = (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = name })).Collection;

        Assert.Equal(created, read);
        Assert.Equal(ShingleKind.Character, read.Config.ShingleKind);
        Assert.Equal(7, read.Config.ShingleSize);
        Assert.Equal(64, read.Config.NumPerm);
        Assert.Equal(42UL, read.Config.Seed);
        Assert.Equal(SignatureScheme.OnePermutation, read.Config.SignatureScheme);
        Assert.Equal(0, read.DocumentCount);
        // Banding must fit the signature, and at J = threshold a pair is more likely than not a candidate.
        Assert.InRange(read.Config.LshBands * read.Config.LshRows, 1, 64);
        double p = 1 - Math.Pow(1 - Math.Pow(0.5, read.Config.LshRows), read.Config.LshBands);
        Assert.True(p > 0.5, $"P(candidate | J = 0.5) = {p}");
    }

    [Fact]
    public async Task CreateCollection_DefaultThreshold_Uses18BandsOf7Rows()
    {
        // At 0.8 with 128 permutations, weights 0.01/0.99 give 18 × 7 (worked out in the engine's LSH tests).
        Collection c = (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = "default" })).Collection;

        Assert.Equal(18, c.Config.LshBands);
        Assert.Equal(7, c.Config.LshRows);
    }

    [Fact]
    public async Task CreateCollection_ExplicitBands_KeepsThem()
    {
        string name = await server.NewCollectionAsync(new CollectionConfig { LshBands = 16, LshRows = 8 });

        Collection c = (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = name })).Collection;

        Assert.Equal((16, 8), (c.Config.LshBands, c.Config.LshRows));
    }

    [Fact]
    public async Task CreateCollection_ExistingName_FailsAlreadyExists()
    {
        string name = await server.NewCollectionAsync();

        RpcException e = await RpcAssert.FailsAsync(StatusCode.AlreadyExists,
            () => server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name }).ResponseAsync);

        Assert.Equal(name, e.GetRpcStatus()!.GetDetail<ResourceInfo>()!.ResourceName);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists,
            () => server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "default" }).ResponseAsync);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("slash/name")]
    [InlineData("ünïcode")]
    [InlineData("a-name-that-is-far-too-long-to-be-accepted-as-a-collection-name-x")]
    public async Task CreateCollection_BadName_FailsInvalidArgumentNamingName(string name)
    {
        await RpcAssert.InvalidFieldAsync("name",
            () => server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name }).ResponseAsync);
    }

    [Fact]
    public async Task CreateCollection_EmptyName_FailsInvalidArgument()
    {
        await RpcAssert.InvalidFieldAsync("name", () => server.Collections.CreateCollectionAsync(new CreateCollectionRequest()).ResponseAsync);
    }

    [Fact]
    public async Task CreateCollection_SeveralBadFields_ReportsEveryOne()
    {
        var config = new CollectionConfig { ShingleSize = 99, NumPerm = 5000, Threshold = 1.5, ShingleKind = (ShingleKind)7 };
        RpcException e = await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "x-bad", Config = config }).ResponseAsync);

        string[] fields = [.. e.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field)];
        Assert.Equal(["config.shingle_kind", "config.shingle_size", "config.num_perm", "config.threshold"], fields);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = "x-bad" }).ResponseAsync);
    }

    [Fact]
    public async Task CreateCollection_BandsTimesRowsAboveNumPerm_FailsInvalidArgument()
    {
        var config = new CollectionConfig { NumPerm = 32, LshBands = 8, LshRows = 5 };

        await RpcAssert.InvalidFieldAsync("config.lsh_bands",
            () => server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "x-bands", Config = config }).ResponseAsync);
    }

    [Fact]
    public async Task ListCollections_AfterCreate_ListsBothByName()
    {
        string name = await server.NewCollectionAsync();

        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());

        string[] names = [.. list.Collections.Select(c => c.Name)];
        Assert.Contains("default", names);
        Assert.Contains(name, names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public async Task DeleteCollection_WithDocuments_RemovesThemAndReportsTheCount()
    {
        string name = await server.NewCollectionAsync();
        var upsert = new UpsertDocumentsRequest { Collection = name };
        upsert.Documents.Add(new Document { Id = "a", Text = "one two three four five six" });
        upsert.Documents.Add(new Document { Id = "b", Text = "seven eight nine ten eleven" });
        await server.Documents.UpsertDocumentsAsync(upsert);

        DeleteCollectionResponse deleted = await server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = name });

        Assert.Equal(2, deleted.DeletedDocumentCount);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = name }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = name, Id = "a" }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = name }).ResponseAsync);
    }

    [Fact]
    public async Task DeleteCollection_Default_FailsFailedPrecondition()
    {
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = "default" }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest()).ResponseAsync);
    }
}
