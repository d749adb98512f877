using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>A half-open range <c>[Start, End)</c> of Unicode code points.</summary>
/// <param name="Start">First code point.</param>
/// <param name="End">Code point after the last.</param>
public readonly record struct TextSpan(int Start, int End)
{
    /// <summary>Number of code points.</summary>
    public int Length => End - Start;
}

/// <summary>Words that differ inside a bridged passage: what the left text has there, and what the right has.</summary>
/// <param name="Left">The left text's words at the gap (may be empty).</param>
/// <param name="Right">The right text's words at the gap (may be empty).</param>
/// <param name="LeftSpan">Where <paramref name="Left"/> stands in the left text (empty span at the gap when no words).</param>
/// <param name="RightSpan">Where <paramref name="Right"/> stands in the right text.</param>
public sealed record PhraseDifference(string Left, string Right, TextSpan LeftSpan, TextSpan RightSpan);

/// <summary>
/// A passage both texts share: a maximal run of normalised words (with bridging, a maximal run across
/// gaps of differing words), with every place it stands on each side.
/// </summary>
/// <param name="Text">The passage as the left text writes it (its first left occurrence).</param>
/// <param name="RightText">The passage as the right text writes it (its first right occurrence).</param>
/// <param name="WordCount">Words of the passage in the left text.</param>
/// <param name="RightWordCount">Words of the passage in the right text (differs from <paramref name="WordCount"/> only with bridging).</param>
/// <param name="LeftOccurrences">Every code-point span of the passage in the left text, in text order.</param>
/// <param name="RightOccurrences">Every code-point span of the passage in the right text, in text order.</param>
/// <param name="Differences">Bridged gaps between the first occurrences, in order; empty for an exact passage.</param>
public sealed record SharedPhrase(string Text, string RightText, int WordCount, int RightWordCount,
    IReadOnlyList<TextSpan> LeftOccurrences, IReadOnlyList<TextSpan> RightOccurrences, IReadOnlyList<PhraseDifference> Differences)
{
    /// <summary>The first occurrence in the left text.</summary>
    public TextSpan Left => LeftOccurrences[0];

    /// <summary>The first occurrence in the right text.</summary>
    public TextSpan Right => RightOccurrences[0];
}

/// <summary>Every shared passage of two texts and how much of each they cover.</summary>
/// <param name="Phrases">Passages, longest first (see <see cref="SharedPhraseFinder"/> for the whole order).</param>
/// <param name="LeftWordCount">Words in the left text.</param>
/// <param name="RightWordCount">Words in the right text.</param>
/// <param name="LeftShared">The left text's shared words as merged code-point ranges, in text order.</param>
/// <param name="RightShared">The right text's shared words as merged code-point ranges, in text order.</param>
/// <param name="LeftSharedWords">Shared words of the left text.</param>
/// <param name="RightSharedWords">Shared words of the right text.</param>
/// <param name="Complete">
/// False when the work bound (<see cref="PhraseOptions.MaxWork"/>) stopped the passage search on
/// highly repetitive input: the list then lacks passages; without bridging the coverage stays exact.
/// </param>
/// <param name="BoilerplateCount">Passages left out as boilerplate (<see cref="PhraseOptions.Boilerplate"/>).</param>
public sealed record SharedPhrases(IReadOnlyList<SharedPhrase> Phrases, int LeftWordCount, int RightWordCount,
    IReadOnlyList<TextSpan> LeftShared, IReadOnlyList<TextSpan> RightShared, int LeftSharedWords, int RightSharedWords, bool Complete,
    int BoilerplateCount = 0)
{
    /// <summary>Fraction of the left text's words that are shared.</summary>
    public double LeftCoverage => LeftWordCount == 0 ? 0 : (double)LeftSharedWords / LeftWordCount;

    /// <summary>Fraction of the right text's words that are shared.</summary>
    public double RightCoverage => RightWordCount == 0 ? 0 : (double)RightSharedWords / RightWordCount;
}

/// <summary>Options of the shared-passage search.</summary>
public sealed record PhraseOptions
{
    /// <summary>Default shortest passage, in words: unrelated news articles rarely share four words in a row, telling wording often has no more (README, "Shared passages").</summary>
    public const int DefaultMinWords = 4;

    /// <summary>Default work bound.</summary>
    public const int DefaultMaxWork = 8_000_000;

    /// <summary>Shortest passage, in words. Default <see cref="DefaultMinWords"/>.</summary>
    public int MinWords { get; init; } = DefaultMinWords;

    /// <summary>
    /// WCopyfind's imperfections: a passage may continue across a gap of up to this many differing
    /// words on each side, provided the texts agree again right after it. Default 0 (exact passages).
    /// </summary>
    public int MaxBridgeWords { get; init; }

    /// <summary>Normalisation used to decide that two words are the same.</summary>
    public NormalizationOptions Normalization { get; init; } = NormalizationOptions.Default;

    /// <summary>
    /// Word comparisons the passage search may spend. Ordinary text needs a few per word; a text that
    /// repeats one sentence thousands of times against another that does too would need their
    /// product. The search stops at this bound and says so (<see cref="SharedPhrases.Complete"/>).
    /// </summary>
    public int MaxWork { get; init; } = DefaultMaxWork;

    /// <summary>
    /// Leaves out passages that are boilerplate of a collection (see <see cref="IPhraseFrequency"/>).
    /// Null keeps every passage.
    /// </summary>
    public IPhraseFrequency? Boilerplate { get; init; }
}

/// <summary>Tells whether a passage is common to so many documents of a collection that it is not telling.</summary>
public interface IPhraseFrequency
{
    /// <summary>True when <paramref name="passage"/> (as one of the texts writes it) is boilerplate.</summary>
    bool IsBoilerplate(string passage);
}
