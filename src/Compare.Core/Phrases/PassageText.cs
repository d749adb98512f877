using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// A text prepared to be compared with many others (<see cref="SharedPhraseFinder.Find(PassageText, PassageText, PhraseOptions, CancellationToken)"/>):
/// its words (24 bytes a word), the sorted fingerprints of its runs of <see cref="MinWords"/> words and, for a long text,
/// where each of those runs starts (4 bytes a word), so that its comparisons with far shorter texts search only the
/// stretches where their runs meet (<see cref="RunWindows"/>). Read-only once made: comparisons on several threads may share it.
/// </summary>
public sealed class PassageText
{
    /// <summary>Texts of at least this many characters keep where their runs start.</summary>
    public const int LongCharacters = 16_384;

    /// <summary>A long text is searched in stretches when its partner has at most 1/LopsidedRatio of its words.</summary>
    internal const int LopsidedRatio = 4;

    private PassageText(string text, Token[] words, int minWords, NormalizationOptions normalization)
    {
        Text = text;
        Words = words;
        MinWords = minWords;
        Normalization = normalization;
        if (text.Length < LongCharacters)
        {
            Runs = WordSequenceHashes.SortedRuns(words, minWords);
        }
        else
        {
            (Runs, RunStarts) = WordSequenceHashes.SortedRunsWithStarts(words, minWords);
        }
    }

    /// <summary>The text: passages quote it.</summary>
    public string Text { get; }

    /// <summary>Its words, as <see cref="SharedPhraseFinder.Tokenize"/> makes them.</summary>
    public Token[] Words { get; }

    /// <summary>The length of the runs it was prepared for: the shortest passage of its comparisons.</summary>
    public int MinWords { get; }

    /// <summary>The normalisation its words were made with.</summary>
    public NormalizationOptions Normalization { get; }

    internal ulong[] Runs { get; }

    internal int[]? RunStarts { get; }

    /// <summary>About what it holds in memory: its text, words, runs and their starts.</summary>
    public long Bytes => 64 + (2L * Text.Length) + (24L * Words.Length) + (8L * Runs.Length) + (4L * (RunStarts?.Length ?? 0));

    /// <summary>Prepares <paramref name="text"/> for comparisons whose shortest passage is <paramref name="minWords"/> words.</summary>
    public static PassageText Of(string text, NormalizationOptions normalization, int minWords)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(normalization);
        return Of(text, SharedPhraseFinder.Tokenize(text, normalization), normalization, minWords);
    }

    /// <summary>Prepares <paramref name="text"/>, whose words (<see cref="SharedPhraseFinder.Tokenize"/> with <paramref name="normalization"/>) are <paramref name="words"/>.</summary>
    public static PassageText Of(string text, Token[] words, NormalizationOptions normalization, int minWords)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentOutOfRangeException.ThrowIfLessThan(minWords, 1);
        return new PassageText(text, words, minWords, normalization);
    }

    /// <summary>Whether this text is searched only in the stretches <paramref name="shorter"/>'s runs meet (never with bridging).</summary>
    internal bool SearchedInStretchesAgainst(PassageText shorter, PhraseOptions options) =>
        options.MaxBridgeWords == 0 && RunStarts is not null && Words.Length >= LopsidedRatio * (long)shorter.Words.Length;

    /// <summary>The words to search against <paramref name="shorter"/>: the stretches its runs meet, with their places; null when they share no run.</summary>
    internal (Token[] Words, int[]? Places)? StretchesAgainst(PassageText shorter) =>
        RunWindows.Where(shorter.Runs, Runs, RunStarts!, Words, MinWords);
}
