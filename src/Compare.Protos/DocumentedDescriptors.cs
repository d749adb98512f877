using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Compare.V1;

/// <summary>
/// The compare.v1 files as protoc read them, comments included. The generated classes embed their
/// descriptors without source info; reflection serves these so that a client such as grpcurl can show
/// what each service, method and field means.
/// </summary>
public static class DocumentedDescriptors
{
    private static readonly Lazy<IReadOnlyList<FileDescriptor>> Files = new(Load);

    /// <summary>The three compare.v1 services, from the documented files.</summary>
    public static IReadOnlyList<ServiceDescriptor> Services =>
        [.. Files.Value.Where(f => f.Package == "compare.v1").SelectMany(f => f.Services)];

    private static IReadOnlyList<FileDescriptor> Load()
    {
        using Stream resource = typeof(DocumentedDescriptors).Assembly.GetManifestResourceStream("compare.v1.protoset")
            ?? throw new InvalidOperationException("The compare.v1.protoset resource is missing from Compare.Protos.");
        // protoc writes the set with imports first, the order BuildFromByteStrings needs.
        FileDescriptorSet set = FileDescriptorSet.Parser.ParseFrom(resource);
        return FileDescriptor.BuildFromByteStrings(set.File.Select(f => f.ToByteString()));
    }
}
