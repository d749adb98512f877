using Compare.Core.Diff;
using Compare.Core.Indexing;
using Compare.Core.MinHash;
using Compare.Core.Phrases;
using FuzzySharp;

namespace Compare.Core.Similarity;

/// <summary>FuzzySharp's ratios (0–100) of two texts (ratio, token sort and token set computed by <see cref="IndelRatios"/>, with the same answers).</summary>
/// <param name="Ratio">Normalised Levenshtein similarity.</param>
/// <param name="PartialRatio">Best ratio of the shorter text against substrings of the longer.</param>
/// <param name="TokenSortRatio">Ratio after sorting words.</param>
/// <param name="TokenSetRatio">Ratio over the intersection and differences of the word sets.</param>
/// <param name="WeightedRatio">FuzzySharp's weighted combination.</param>
public sealed record FuzzyScores(int Ratio, int PartialRatio, int TokenSortRatio, int TokenSetRatio, int WeightedRatio);

/// <summary>Set-based scores of two texts.</summary>
/// <param name="Jaccard">Exact Jaccard similarity of the shingle sets.</param>
/// <param name="EstimatedJaccard">MinHash estimate.</param>
/// <param name="ContainmentLeft">|L ∩ R| / |L|: how much of the left text the right contains.</param>
/// <param name="ContainmentRight">|L ∩ R| / |R|: how much of the right text the left contains.</param>
/// <param name="LeftShingles">Distinct shingles of the left text.</param>
/// <param name="RightShingles">Distinct shingles of the right text.</param>
/// <param name="SharedShingles">Shingles in both.</param>
public sealed record SetScores(double Jaccard, double EstimatedJaccard, double ContainmentLeft, double ContainmentRight, int LeftShingles, int RightShingles, int SharedShingles);

/// <summary>What a comparison computes beyond the scores and phrases.</summary>
public sealed record ComparisonOptions
{
    /// <summary>Shared-phrase options.</summary>
    public PhraseOptions Phrases { get; init; } = new();

    /// <summary>Compute FuzzySharp ratios.</summary>
    public bool IncludeFuzzy { get; init; } = true;

    /// <summary>
    /// Ratio, token-sort and token-set ratios cost |a|·|b|/64 word operations (<see cref="IndelRatios"/>):
    /// texts are cut to this many characters for them (and only them). Default 10,000.
    /// </summary>
    public int MaxFuzzyCharacters { get; init; } = DocumentComparer.DefaultMaxFuzzyCharacters;

    /// <summary>
    /// FuzzySharp's partial ratio (also used by its weighted ratio) is cubic in the shorter text
    /// (13 s for two 3 KB articles): texts are cut to this many characters for those two. Default 500.
    /// </summary>
    public int MaxPartialCharacters { get; init; } = DocumentComparer.DefaultMaxPartialCharacters;

    /// <summary>Compute a word diff.</summary>
    public bool IncludeDiff { get; init; }

    /// <summary>Compute similar sentence pairs.</summary>
    public bool IncludeSimilarSentences { get; init; }

    /// <summary>Minimum token-set ratio of a similar sentence pair.</summary>
    public int MinSentenceRatio { get; init; } = 80;
}

/// <summary>Everything Compare says about a pair of texts.</summary>
/// <param name="Scores">Set scores.</param>
/// <param name="Fuzzy">Fuzzy ratios, when requested.</param>
/// <param name="Phrases">Shared phrases and coverage.</param>
/// <param name="Diff">Word diff, when requested.</param>
/// <param name="SimilarSentences">Similar sentence pairs, when requested.</param>
public sealed record Comparison(SetScores Scores, FuzzyScores? Fuzzy, SharedPhrases Phrases, IReadOnlyList<DiffSegment>? Diff, IReadOnlyList<SentencePair>? SimilarSentences);

/// <summary>Compares two texts: set scores from sketches, fuzzy ratios, shared phrases, diff and similar sentences.</summary>
public static class DocumentComparer
{
    /// <summary>Default text length cut for the ratio, token-sort and token-set ratios.</summary>
    public const int DefaultMaxFuzzyCharacters = 10_000;

    /// <summary>Default text length cut for the cubic partial and weighted ratios.</summary>
    public const int DefaultMaxPartialCharacters = 500;

    /// <summary>Set scores of two sketches made with the same parameters.</summary>
    public static SetScores Score(DocumentSketch left, DocumentSketch right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        int shared = SetSimilarity.IntersectionCount(left.Shingles, right.Shingles);
        return new SetScores(
            SetSimilarity.Jaccard(left.Shingles.Length, right.Shingles.Length, shared),
            MinHasher.EstimateJaccard(left.Signature, right.Signature),
            SetSimilarity.Containment(left.Shingles.Length, shared),
            SetSimilarity.Containment(right.Shingles.Length, shared),
            left.Shingles.Length, right.Shingles.Length, shared);
    }

    /// <summary>
    /// FuzzySharp's ratios, on texts cut to <paramref name="maxCharacters"/> (<paramref name="maxPartialCharacters"/> for
    /// partial and weighted, which stay FuzzySharp's own: its partial ratio is cubic).
    /// </summary>
    public static FuzzyScores Fuzzy(string left, string right, int maxCharacters = DefaultMaxFuzzyCharacters, int maxPartialCharacters = DefaultMaxPartialCharacters)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        string l = Cut(left, maxCharacters), r = Cut(right, maxCharacters);
        string pl = Cut(left, maxPartialCharacters), pr = Cut(right, maxPartialCharacters);
        return new FuzzyScores(IndelRatios.Ratio(l, r), Fuzz.PartialRatio(pl, pr), IndelRatios.TokenSortRatio(l, r), IndelRatios.TokenSetRatio(l, r), Fuzz.WeightedRatio(pl, pr));
    }

    private static string Cut(string text, int maxCharacters) => text.Length > maxCharacters ? text[..maxCharacters] : text;

    /// <summary>Compares two texts with the sketcher's parameters.</summary>
    public static Comparison Compare(string left, string right, DocumentSketcher sketcher, ComparisonOptions? options = null, CancellationToken cancellationToken = default) =>
        Compare(left, sketcher?.Sketch(left) ?? throw new ArgumentNullException(nameof(sketcher)), right, sketcher.Sketch(right), options, cancellationToken);

    /// <summary>
    /// Compares two texts whose sketches are already known (for example, stored ones). The token is
    /// checked between the stages and inside the phrase and sentence searches, so a caller's deadline
    /// stops the work of a very long pair.
    /// </summary>
    public static Comparison Compare(string left, DocumentSketch leftSketch, string right, DocumentSketch rightSketch, ComparisonOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        options ??= new ComparisonOptions();
        SetScores scores = Score(leftSketch, rightSketch);
        FuzzyScores? fuzzy = options.IncludeFuzzy ? Fuzzy(left, right, options.MaxFuzzyCharacters, options.MaxPartialCharacters) : null;
        cancellationToken.ThrowIfCancellationRequested();
        SharedPhrases phrases = SharedPhraseFinder.Find(left, right, options.Phrases, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<DiffSegment>? diff = options.IncludeDiff ? WordDiff.Diff(left, right, options.Phrases.Normalization, cancellationToken) : null;
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<SentencePair>? sentences = options.IncludeSimilarSentences
            ? SimilarSentences.Find(left, right, options.MinSentenceRatio, options.Phrases.Normalization, cancellationToken)
            : null;
        return new Comparison(scores, fuzzy, phrases, diff, sentences);
    }
}
