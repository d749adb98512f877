using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace Compare.Server.Validation;

/// <summary>Rich gRPC errors (google.rpc.Status with details) for callers' mistakes.</summary>
public static class RpcErrors
{
    /// <summary>INVALID_ARGUMENT with one BadRequest field violation.</summary>
    public static RpcException InvalidArgument(string field, string description) =>
        InvalidArgument([new BadRequest.Types.FieldViolation { Field = field, Description = description }]);

    /// <summary>INVALID_ARGUMENT listing every violation; the message names the first ones.</summary>
    public static RpcException InvalidArgument(IReadOnlyList<BadRequest.Types.FieldViolation> violations) => BadRequest(violations).ToRpcException();

    /// <summary>The google.rpc.Status of INVALID_ARGUMENT with one BadRequest field violation.</summary>
    public static Status BadRequest(string field, string description) =>
        BadRequest([new BadRequest.Types.FieldViolation { Field = field, Description = description }]);

    private static Status BadRequest(IReadOnlyList<BadRequest.Types.FieldViolation> violations)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(violations);
        string message = string.Join("; ", violations.Take(3).Select(v => $"{v.Field}: {v.Description}"));
        if (violations.Count > 3)
        {
            message += $" (and {violations.Count - 3} more)";
        }

        return new Status { Code = (int)Code.InvalidArgument, Message = message, Details = { Any.Pack(badRequest) } };
    }

    /// <summary>NOT_FOUND naming the missing resource.</summary>
    public static RpcException NotFound(string resourceType, string name, string message) =>
        WithResource(Code.NotFound, resourceType, name, message);

    /// <summary>ALREADY_EXISTS naming the resource.</summary>
    public static RpcException AlreadyExists(string resourceType, string name, string message) =>
        WithResource(Code.AlreadyExists, resourceType, name, message);

    /// <summary>FAILED_PRECONDITION with a PreconditionFailure detail.</summary>
    public static RpcException FailedPrecondition(string type, string subject, string message)
    {
        var failure = new PreconditionFailure { Violations = { new PreconditionFailure.Types.Violation { Type = type, Subject = subject, Description = message } } };
        return new Status { Code = (int)Code.FailedPrecondition, Message = message, Details = { Any.Pack(failure) } }.ToRpcException();
    }

    /// <summary>ABORTED: a concurrent change got in the way; the call can be retried.</summary>
    public static RpcException Aborted(string message) => new Status { Code = (int)Code.Aborted, Message = message }.ToRpcException();

    private static RpcException WithResource(Code code, string resourceType, string name, string message)
    {
        var resource = new ResourceInfo { ResourceType = resourceType, ResourceName = name, Description = message };
        return new Status { Code = (int)code, Message = message, Details = { Any.Pack(resource) } }.ToRpcException();
    }
}

/// <summary>Collects field violations of one request so that a caller learns every mistake at once.</summary>
public sealed class FieldViolations
{
    private List<BadRequest.Types.FieldViolation>? _violations;

    /// <summary>True when nothing was added.</summary>
    public bool IsEmpty => _violations is null;

    /// <summary>Records that <paramref name="field"/> is wrong.</summary>
    public void Add(string field, string description) =>
        (_violations ??= []).Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    /// <summary>Throws INVALID_ARGUMENT when anything was added.</summary>
    public void ThrowIfAny()
    {
        if (_violations is not null)
        {
            throw RpcErrors.InvalidArgument(_violations);
        }
    }
}
