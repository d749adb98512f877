using System.Collections.Concurrent;
namespace Compare.Core.Indexing;

/// <summary>One sketcher per distinct parameter set: building one precomputes its hash functions.</summary>
public sealed class SketcherCache
{
    private readonly ConcurrentDictionary<SketchParameters, DocumentSketcher> _sketchers = new();

    /// <summary>The sketcher of <paramref name="parameters"/>.</summary>
    public DocumentSketcher For(SketchParameters parameters) => _sketchers.GetOrAdd(parameters, static p => new DocumentSketcher(p));
}
