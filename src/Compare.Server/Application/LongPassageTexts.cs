using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Server.Application;

/// <summary>
/// Long indexed texts (<see cref="PassageText.LongCharacters"/> characters or more) prepared for FindSharedPassages and
/// kept, up to <see cref="BudgetBytes"/> of them, the least recently used left first. A book or a transcript quoted by
/// many queries is then tokenised and its runs sorted once, not per query, and each query searches only the stretches its
/// runs meet. An entry is used only for the very text it was made from (compared whole with the text just read, so a
/// rewritten document, a recreated collection or another normalisation never meets an old entry), which also makes the
/// answers the same on every replica, whatever each has kept.
/// </summary>
internal sealed class LongPassageTexts
{
    /// <summary>The most the kept texts may hold, all collections together: a dozen books' worth.</summary>
    public const long BudgetBytes = 256L << 20;

    private readonly Dictionary<(string Collection, string Id), Entry> _entries = [];
    private readonly Lock _gate = new();
    private long _bytes;
    private long _clock;

    /// <summary>Texts kept now, and what they hold.</summary>
    public (int Count, long Bytes) Held
    {
        get
        {
            lock (_gate)
            {
                return (_entries.Count, _bytes);
            }
        }
    }

    /// <summary>
    /// <paramref name="text"/>, the document <paramref name="id"/> of <paramref name="collection"/> as just read, prepared
    /// for passages of <paramref name="minWords"/> words: the kept one when it was made from the same text the same way.
    /// </summary>
    public PassageText Get(string collection, string id, string text, NormalizationOptions normalization, int minWords)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue((collection, id), out Entry? kept) && kept.Text.MinWords == minWords
                && Equals(kept.Text.Normalization, normalization) && string.Equals(kept.Text.Text, text, StringComparison.Ordinal))
            {
                kept.LastUse = ++_clock;
                return kept.Text;
            }
        }

        // Prepared outside the lock: several queries may prepare the same text at once, and the last one is kept.
        PassageText prepared = PassageText.Of(text, normalization, minWords);
        if (prepared.Bytes <= BudgetBytes)
        {
            lock (_gate)
            {
                if (_entries.Remove((collection, id), out Entry? replaced))
                {
                    _bytes -= replaced.Text.Bytes;
                }

                _entries[(collection, id)] = new Entry(prepared) { LastUse = ++_clock };
                _bytes += prepared.Bytes;
                while (_bytes > BudgetBytes)
                {
                    KeyValuePair<(string, string), Entry> oldest = _entries.MinBy(e => e.Value.LastUse);
                    _entries.Remove(oldest.Key);
                    _bytes -= oldest.Value.Text.Bytes;
                }
            }
        }

        return prepared;
    }

    private sealed class Entry(PassageText text)
    {
        public PassageText Text { get; } = text;

        public long LastUse { get; set; }
    }
}
