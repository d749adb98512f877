using Compare.Core.Text;

namespace Compare.Core;

/// <summary>What a shingle is made of.</summary>
public enum ShingleKind
{
    /// <summary>k consecutive normalised words.</summary>
    Word = 1,

    /// <summary>k consecutive code points of the normalised text (words joined by one space).</summary>
    Character = 2,
}

/// <summary>How MinHash values are drawn.</summary>
public enum SignatureScheme
{
    /// <summary>
    /// One-permutation hashing with optimal densification (Shrivastava, ICML 2017): one hash per
    /// shingle, split into bins; empty bins borrow from a seeded probe sequence. Unbiased, the
    /// default, and an order of magnitude faster than <see cref="Classic"/>.
    /// </summary>
    OnePermutation = 1,

    /// <summary>Classic MinHash: one multiply-shift hash function per permutation (datasketch's semantics).</summary>
    Classic = 2,
}

/// <summary>
/// Everything that determines a document's shingles and signature. Two sketches are comparable
/// only when their parameters are equal; stored sketches record them with <see cref="FormatVersion"/>.
/// </summary>
public sealed record SketchParameters
{
    /// <summary>Version of the shingle hashing and signature layout; bump it whenever either changes.</summary>
    public const int FormatVersion = 1;

    /// <summary>The default seed: a fixed constant so that signatures are reproducible everywhere.</summary>
    public const ulong DefaultSeed = 0x5EED_C0DE_2016_2014UL;

    /// <summary>Largest shingle size accepted.</summary>
    public const int MaxShingleSize = 32;

    /// <summary>Largest number of permutations accepted.</summary>
    public const int MaxPermutations = 1024;

    /// <summary>Word or character shingles.</summary>
    public ShingleKind Kind { get; init; } = ShingleKind.Word;

    /// <summary>k: words (or code points) per shingle. Default 5.</summary>
    public int ShingleSize { get; init; } = 5;

    /// <summary>Normalisation applied before shingling.</summary>
    public NormalizationOptions Normalization { get; init; } = NormalizationOptions.Default;

    /// <summary>Signature length. Default 128.</summary>
    public int NumPermutations { get; init; } = 128;

    /// <summary>How signature values are drawn.</summary>
    public SignatureScheme Scheme { get; init; } = SignatureScheme.OnePermutation;

    /// <summary>Seed of every hash function.</summary>
    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>The defaults: word 5-shingles, 128 one-permutation MinHash values.</summary>
    public static SketchParameters Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        if (Kind is not (ShingleKind.Word or ShingleKind.Character))
        {
            throw new ArgumentException($"Unknown shingle kind {Kind}.", nameof(Kind));
        }

        if (ShingleSize is < 1 or > MaxShingleSize)
        {
            throw new ArgumentException($"Shingle size must be between 1 and {MaxShingleSize}, was {ShingleSize}.", nameof(ShingleSize));
        }

        if (NumPermutations is < 1 or > MaxPermutations)
        {
            throw new ArgumentException($"Number of permutations must be between 1 and {MaxPermutations}, was {NumPermutations}.", nameof(NumPermutations));
        }

        if (Scheme is not (SignatureScheme.OnePermutation or SignatureScheme.Classic))
        {
            throw new ArgumentException($"Unknown signature scheme {Scheme}.", nameof(Scheme));
        }

        ArgumentNullException.ThrowIfNull(Normalization);
    }
}
