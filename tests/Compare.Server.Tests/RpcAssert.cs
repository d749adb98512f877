using Google.Rpc;
using Grpc.Core;

namespace Compare.Server.Tests;

internal static class RpcAssert
{
    /// <summary>Awaits a call that must fail with <paramref name="code"/>.</summary>
    public static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(e.StatusCode == code, $"expected {code}, got {e.StatusCode}: {e.Status.Detail}");
        return e;
    }

    /// <summary>Awaits a call that must fail with INVALID_ARGUMENT naming <paramref name="field"/> in a BadRequest detail.</summary>
    public static async Task<BadRequest.Types.FieldViolation> InvalidFieldAsync(string field, Func<Task> call)
    {
        RpcException e = await FailsAsync(StatusCode.InvalidArgument, call);
        BadRequest? badRequest = e.GetRpcStatus()?.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        BadRequest.Types.FieldViolation? violation = badRequest.FieldViolations.FirstOrDefault(v => v.Field == field);
        Assert.True(violation is not null, $"no violation of {field}; got {string.Join(", ", badRequest.FieldViolations.Select(v => v.Field))}");
        Assert.Contains(field, e.Status.Detail, StringComparison.Ordinal);
        return violation;
    }
}
