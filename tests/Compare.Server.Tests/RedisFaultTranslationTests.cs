using System.Reflection;
using Compare.Server.Storage;
using Compare.Server.Storage.Redis;
using StackExchange.Redis;

namespace Compare.Server.Tests;

// The exceptions as StackExchange.Redis raises them; their short constructors are marked obsolete for callers that know the command.
#pragma warning disable CS0618

public sealed class RedisFaultTranslationTests
{
    [Theory]
    [InlineData("LOADING Redis is loading the dataset in memory")]
    [InlineData("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")]
    [InlineData("TRYAGAIN Multiple keys request during rehashing of slot")]
    [InlineData("CLUSTERDOWN The cluster is down")]
    [InlineData("EXECABORT Transaction discarded because of previous errors.")]
    public void Translate_AServerThatCannotServeYet_IsUnavailable(string reply)
    {
        StoreUnavailableException unavailable = Assert.IsType<StoreUnavailableException>(RedisFaultTranslation.Translate(new RedisServerException(reply)));

        Assert.Contains(reply, unavailable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWriterWhoseLeaseCannotBeReleased_IsUnavailable_NotAnUnexpectedFault()
    {
        // A cluster that lost a node answers the lease's release with CLUSTERDOWN: the call is UNAVAILABLE, as a commit's would be.
        IDocumentStore inner = DispatchProxy.Create<IDocumentStore, StoreOpeningOneWriter>();
        ((StoreOpeningOneWriter)inner).Writer = new WriterFailingToClose(new RedisServerException("CLUSTERDOWN The cluster is down"));
        IDocumentWriter writer = await new RedisFaultTranslation(inner).BeginWriteAsync("news", null!, CancellationToken.None);

        StoreUnavailableException e = await Assert.ThrowsAsync<StoreUnavailableException>(async () => await writer.DisposeAsync());
        Assert.Contains("CLUSTERDOWN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_ACommandRefusedAtMaxmemory_IsFull()
    {
        const string Reply = "OOM command not allowed when used memory > 'maxmemory'.";

        StoreFullException full = Assert.IsType<StoreFullException>(RedisFaultTranslation.Translate(new RedisServerException(Reply)));

        Assert.Contains("maxmemory", full.Message, StringComparison.Ordinal);
        Assert.Contains(Reply, full.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_LostConnectionOrTimeout_IsUnavailable_AndAnythingElseIsLeftAlone()
    {
        Assert.NotNull(RedisFaultTranslation.Translate(new RedisConnectionException(ConnectionFailureType.SocketFailure, "socket closed")));
        Assert.NotNull(RedisFaultTranslation.Translate(new RedisTimeoutException("timed out", CommandStatus.Sent)));
        Assert.Null(RedisFaultTranslation.Translate(new RedisServerException("WRONGTYPE Operation against a key holding the wrong kind of value")));
        Assert.Null(RedisFaultTranslation.Translate(new InvalidOperationException("a bug")));
    }

    /// <summary>A store whose BeginWriteAsync opens <see cref="Writer"/>; nothing else is called.</summary>
    public class StoreOpeningOneWriter : DispatchProxy
    {
        public IDocumentWriter? Writer { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name == nameof(IDocumentStore.BeginWriteAsync)
            ? Task.FromResult(Writer!)
            : throw new NotSupportedException(targetMethod?.Name);
    }

    private sealed class WriterFailingToClose(Exception fault) : IDocumentWriter
    {
        public Task<IReadOnlyDictionary<string, DocumentVersion>> GetVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task CommitAsync(IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.FromException(fault);
    }
}
