using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// A text prepared once to be searched for the passages it shares with many others (a passage query and each of its
/// candidates): the fingerprints of its runs of words and the table of its runs of MinWords words are made here, not per
/// comparison. Read-only once made: comparisons on several threads may share it.
/// </summary>
public sealed class PassageQuery
{
    /// <summary>
    /// Prepares <paramref name="text"/>, whose words (<see cref="SharedPhraseFinder.Tokenize"/>) are <paramref name="tokens"/>,
    /// for searches whose shortest passage is <paramref name="minWords"/> words.
    /// </summary>
    public PassageQuery(string text, Token[] tokens, int minWords)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(minWords, 1);
        Text = text;
        Tokens = tokens;
        MinWords = minWords;
        Hashes = WordSequenceHashes.Of(tokens, pooled: false);
        Grams = tokens.Length >= minWords ? new GramTable(Hashes, tokens.Length - minWords + 1, minWords, pooled: false, CancellationToken.None) : null;
    }

    /// <summary>The text.</summary>
    public string Text { get; }

    /// <summary>Its words.</summary>
    public Token[] Tokens { get; }

    /// <summary>The shortest passage of the searches it was prepared for.</summary>
    public int MinWords { get; }

    internal WordSequenceHashes Hashes { get; }

    /// <summary>Its grams; null when it has fewer words than <see cref="MinWords"/>.</summary>
    internal GramTable? Grams { get; }
}
