using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Server.Application;

/// <summary>
/// Long indexed texts (<see cref="PassageText.LongCharacters"/> characters or more) prepared for FindSharedPassages and
/// kept, up to <see cref="BudgetBytes"/> of them, the least recently used left first. A book or a transcript quoted by
/// many queries is then read, tokenised and its runs sorted once, not per query, and each query searches only the stretches
/// its runs meet. An entry is used only while the document's stored content hash is the one of the text it was made from
/// (checked against that text when it was read), and for the same normalisation and passage length: a rewritten document
/// or another normalisation never meets an old entry, and a collection recreated with the same text meets only its own
/// text. So a kept text is used without reading the document's text again, and the answers are the same on every replica,
/// whatever each has kept.
/// </summary>
internal sealed class LongPassageTexts
{
    /// <summary>The most the kept texts may hold, all collections together: a dozen books' worth.</summary>
    public const long BudgetBytes = 256L << 20;

    private readonly Dictionary<(string Collection, string Id), Entry> _entries = [];
    private readonly Lock _gate = new();
    private long _bytes;
    private long _clock;
    private long _usedUnread;

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

    /// <summary>How many times a kept text was used without reading the document's text.</summary>
    public long UsedUnread => Interlocked.Read(ref _usedUnread);

    /// <summary>Whether a text of document <paramref name="id"/> is kept, whatever it was made from.</summary>
    public bool Holds(string collection, string id)
    {
        lock (_gate)
        {
            return _entries.ContainsKey((collection, id));
        }
    }

    /// <summary>
    /// The kept text of document <paramref name="id"/> when it was made from the text whose stored content hash is
    /// <paramref name="contentHash"/>, normalised with <paramref name="normalization"/> for passages of
    /// <paramref name="minWords"/> words; else null, and the text is to be read.
    /// </summary>
    public PassageText? Find(string collection, string id, ulong contentHash, NormalizationOptions normalization, int minWords)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue((collection, id), out Entry? kept) && kept.ContentHash == contentHash && kept.Text.MinWords == minWords
                && Equals(kept.Text.Normalization, normalization))
            {
                kept.LastUse = ++_clock;
                _usedUnread++;
                return kept.Text;
            }
        }

        return null;
    }

    /// <summary>
    /// <paramref name="text"/>, the document <paramref name="id"/> of <paramref name="collection"/> as just read and checked
    /// against its stored <paramref name="contentHash"/>, prepared for passages of <paramref name="minWords"/> words, and kept.
    /// </summary>
    public PassageText Prepare(string collection, string id, string text, ulong contentHash, NormalizationOptions normalization, int minWords)
    {
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

                _entries[(collection, id)] = new Entry(prepared, contentHash) { LastUse = ++_clock };
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

    private sealed class Entry(PassageText text, ulong contentHash)
    {
        public PassageText Text { get; } = text;

        public ulong ContentHash { get; } = contentHash;

        public long LastUse { get; set; }
    }
}
