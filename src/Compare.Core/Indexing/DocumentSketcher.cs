using System.Buffers;
using System.Runtime.CompilerServices;
using Compare.Core.MinHash;
using Compare.Core.Phrases;
using Compare.Core.Shingling;

namespace Compare.Core.Indexing;

/// <summary>
/// Turns text into <see cref="DocumentSketch"/>es for one set of <see cref="SketchParameters"/>.
/// Thread-safe; each thread reuses its own shingle buffer, so signing allocates only the result.
/// </summary>
public sealed class DocumentSketcher
{
    [ThreadStatic]
    private static ulong[]? t_buffer;

    /// <summary>Creates a sketcher; validates <paramref name="parameters"/>.</summary>
    public DocumentSketcher(SketchParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        Parameters = parameters;
        Hasher = new MinHasher(parameters);
    }

    /// <summary>The parameters every sketch of this sketcher is made with.</summary>
    public SketchParameters Parameters { get; }

    /// <summary>The MinHash function in use.</summary>
    public MinHasher Hasher { get; }

    /// <summary>Shingles and signs <paramref name="text"/>.</summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public DocumentSketch Sketch(ReadOnlySpan<char> text)
    {
        ulong[] buffer = RentBuffer(text.Length);
        try
        {
            int count = Shingler.Shingle(text, Parameters, ref buffer);
            Span<ulong> set = Shingler.ToSet(buffer.AsSpan(0, count));
            return new DocumentSketch(set.ToArray(), Hasher.Sign(set));
        }
        finally
        {
            t_buffer = buffer;
        }
    }

    /// <summary>
    /// Shingles and signs <paramref name="text"/> and makes its passage fingerprints (<see cref="PassageFingerprints"/>) from
    /// the same pass over its words: what a document written to an index needs, with its text tokenised once.
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (DocumentSketch Sketch, uint[] Passages) SketchWithPassages(ReadOnlySpan<char> text)
    {
        if (Parameters.Kind != ShingleKind.Word)
        {
            // Character shingles are not made of words: the words take a pass of their own.
            return (Sketch(text), PassageFingerprints.Of(text, Parameters.Normalization));
        }

        var words = new PassageFingerprints.WordCollector(text.Length / 5, Parameters.Seed);
        ulong[] buffer = RentBuffer(text.Length);
        try
        {
            int count = Shingler.ShingleWords(text, Parameters, ref buffer, ref words);
            Span<ulong> set = Shingler.ToSet(buffer.AsSpan(0, count));
            return (new DocumentSketch(set.ToArray(), Hasher.Sign(set)), words.ToFingerprints());
        }
        finally
        {
            t_buffer = buffer;
        }
    }

    /// <summary>Writes the signature of <paramref name="text"/> into <paramref name="destination"/> without sorting its shingles into a set.</summary>
    public void Sign(ReadOnlySpan<char> text, Span<uint> destination)
    {
        ulong[] buffer = RentBuffer(text.Length);
        try
        {
            int count = Shingler.Shingle(text, Parameters, ref buffer);
            Hasher.Sign(buffer.AsSpan(0, count), destination);
        }
        finally
        {
            t_buffer = buffer;
        }
    }

    private static ulong[] RentBuffer(int textLength)
    {
        ulong[]? buffer = t_buffer;
        t_buffer = null;
        // A word is at least two chars with its separator, so this rarely has to grow.
        return buffer is not null && buffer.Length >= textLength / 2 ? buffer : ArrayPool<ulong>.Shared.Rent(Math.Max(256, textLength / 2));
    }
}
