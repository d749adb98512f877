using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// Finds the wording two texts share, as a function of the unordered pair: swapping the texts swaps
/// the two sides of the answer and changes nothing else.
/// <para>
/// A word is <em>shared</em> when it lies inside a run of at least <see cref="PhraseOptions.MinWords"/>
/// consecutive normalised words that the other text also has. With bridging (<see cref="PhraseOptions.MaxBridgeWords"/> = g),
/// such a run may continue through a chain of further exact blocks, each after a gap of at most g
/// words on each side; every word from the chain's first block to its last is shared.
/// </para>
/// <para>
/// The passages are the maximal shared runs: each maximal exact match of at least MinWords words
/// (widened, with bridging, to everything its chains reach), grouped by wording, with every place
/// the wording stands as such a match on either side. A passage all of whose places lie inside
/// longer passages on both sides is left out: it explains no word they do not. They come longest
/// first; ties by the position and then the fingerprint of the pair, both taken without regard to side.
/// </para>
/// </summary>
public static class SharedPhraseFinder
{
    /// <summary>The seed of the word hashes passages are found by, and passage fingerprints made of (stored: never change it).</summary>
    internal const ulong Seed = 0x7068726173657321UL; // "phrases!"

    /// <summary>Finds the shared passages of <paramref name="left"/> and <paramref name="right"/>.</summary>
    public static SharedPhrases Find(string left, string right, PhraseOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        options ??= new PhraseOptions();
        Validate(options);
        // Tokenising a text of megabytes cannot stop half-way: a deadline that passed on the first spares the second.
        cancellationToken.ThrowIfCancellationRequested();
        Token[] a = Tokenize(left, options.Normalization);
        cancellationToken.ThrowIfCancellationRequested();
        Token[] b = Tokenize(right, options.Normalization);
        return Find(left, a, right, b, options, cancellationToken);
    }

    /// <summary>A text's words as <see cref="Find(string, Token[], string, Token[], PhraseOptions, CancellationToken)"/> takes them: one text compared with many is tokenised once.</summary>
    public static Token[] Tokenize(string text, NormalizationOptions normalization) => Tokenizer.Tokenize(text, normalization, Seed);

    /// <summary>Finds shared passages over tokens already made with the same normalisation and seed.</summary>
    public static SharedPhrases Find(string left, Token[] a, string right, Token[] b, PhraseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        return Find(left, new PassageSearch(a, b, options, cancellationToken), right, options, cancellationToken);
    }

    /// <summary>
    /// Finds shared passages over words taken from the texts (<see cref="RunWindows"/>): <paramref name="placesA"/>[i] is
    /// where word i of <paramref name="a"/> stands among all of <paramref name="left"/>'s words (null: they are all of them).
    /// The passages are those of the whole texts when every word of every shared run is among the words taken.
    /// </summary>
    internal static SharedPhrases Find(string left, Token[] a, int[]? placesA, string right, Token[] b, int[]? placesB, PhraseOptions options,
        CancellationToken cancellationToken)
    {
        Validate(options);
        return Find(left, new PassageSearch(a, placesA, b, placesB, options, cancellationToken), right, options, cancellationToken);
    }

    /// <summary>
    /// The shared passages of two prepared texts, the same as of the texts themselves, or null when they share no run of
    /// MinWords words, which every passage holds (merging two sorted arrays costs far less than the search). A long text
    /// against a far shorter one is searched only in the stretches where their runs meet; not with bridging, whose passages
    /// may reach past the runs two texts share.
    /// </summary>
    public static SharedPhrases? Find(PassageText a, PassageText b, PhraseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(options);
        if (a.MinWords != options.MinWords || b.MinWords != options.MinWords)
        {
            throw new ArgumentException($"The texts were prepared for passages of {a.MinWords} and {b.MinWords} words, not {options.MinWords}.", nameof(options));
        }

        (Token[] Words, int[]? Places)? wordsA = (a.Words, null), wordsB = (b.Words, null);
        if (a.SearchedInStretchesAgainst(b, options))
        {
            wordsA = a.StretchesAgainst(b);
        }
        else if (b.SearchedInStretchesAgainst(a, options))
        {
            wordsB = b.StretchesAgainst(a);
        }
        else if (!WordSequenceHashes.AnyShared(a.Runs, b.Runs))
        {
            return null;
        }

        if (wordsA is not { } inA || wordsB is not { } inB)
        {
            return null; // no run in common
        }

        // Searched in stretches, a text still counts all its words.
        return Find(a.Text, inA.Words, inA.Places, b.Text, inB.Words, inB.Places, options, cancellationToken) with
        {
            LeftWordCount = a.Words.Length,
            RightWordCount = b.Words.Length,
        };
    }

    /// <summary>
    /// Finds shared passages of a text prepared for many comparisons (made with <paramref name="options"/>' MinWords) and
    /// <paramref name="right"/>, whose tokens are made with the same normalisation and seed: the same answer as the other overloads.
    /// </summary>
    public static SharedPhrases Find(PassageQuery left, string right, Token[] b, PhraseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        if (left.MinWords != options.MinWords)
        {
            throw new ArgumentException($"The query was prepared for passages of {left.MinWords} words, not {options.MinWords}.", nameof(options));
        }

        return Find(left.Text, new PassageSearch(left, b, options, cancellationToken), right, options, cancellationToken);
    }

    private static SharedPhrases Find(string left, PassageSearch created, string right, PhraseOptions options, CancellationToken cancellationToken)
    {
        using PassageSearch search = created;
        search.Run();
        Token[] a = search.A, b = search.B;
        var kept = (A: new bool[a.Length], B: new bool[b.Length]);
        (IPhraseFrequency Frequency, bool[] A, bool[] B)? boilerplate = options.Boilerplate is { } frequency
            ? (frequency, new bool[a.Length], new bool[b.Length])
            : null;
        List<SharedPhrase> phrases = Select(PassageGroup.Collect(search, cancellationToken), left, right, kept, boilerplate, out int boilerplateCount, cancellationToken);
        if (boilerplate is { } words)
        {
            // Boilerplate words are shared only where a kept passage covers them too.
            Unshare(search.SharedA, kept.A, words.A);
            Unshare(search.SharedB, kept.B, words.B);
        }

        return new SharedPhrases(phrases, a.Length, b.Length, Ranges(a, search.SharedA, out int sharedWordsA), Ranges(b, search.SharedB, out int sharedWordsB),
            sharedWordsA, sharedWordsB, search.Complete, boilerplateCount);
    }

    /// <summary>The passages to report, in order; marks the words of the kept ones and of the boilerplate.</summary>
    private static List<SharedPhrase> Select(List<PassageGroup> groups, string left, string right,
        (bool[] A, bool[] B) kept, (IPhraseFrequency Frequency, bool[] A, bool[] B)? boilerplate, out int boilerplateCount, CancellationToken cancellationToken)
    {
        var phrases = new List<SharedPhrase>(groups.Count);
        boilerplateCount = 0;
        foreach (PassageGroup group in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A passage every occurrence of which lies inside longer passages on both sides explains
            // nothing new (a sentence that one text repeats, inside a whole text the other copies).
            if (!group.AnyWordOutside(kept.A, kept.B))
            {
                continue;
            }

            SharedPhrase phrase = group.ToPhrase(left, right);
            if (boilerplate is { } words && words.Frequency.IsBoilerplate(phrase.Text) && words.Frequency.IsBoilerplate(phrase.RightText))
            {
                group.Mark(words.A, words.B);
                boilerplateCount++;
                continue;
            }

            group.Mark(kept.A, kept.B);
            phrases.Add(phrase);
        }

        return phrases;
    }

    private static void Unshare(bool[] shared, bool[] kept, bool[] boilerplate)
    {
        for (int i = 0; i < shared.Length; i++)
        {
            shared[i] &= kept[i] || !boilerplate[i];
        }
    }

    /// <summary>The shared words as merged code-point ranges.</summary>
    private static List<TextSpan> Ranges(Token[] tokens, bool[] shared, out int sharedWords)
    {
        var ranges = new List<TextSpan>();
        sharedWords = 0;
        for (int i = 0; i < tokens.Length;)
        {
            if (!shared[i])
            {
                i++;
                continue;
            }

            int start = i;
            while (i < tokens.Length && shared[i])
            {
                i++;
            }

            sharedWords += i - start;
            ranges.Add(new TextSpan(tokens[start].CodePointStart, tokens[i - 1].CodePointEnd));
        }

        return ranges;
    }

    /// <summary>The original text and span of words [start, end); an empty span at the gap when there are none.</summary>
    internal static (string Text, TextSpan Span) Slice(string text, Token[] tokens, int start, int end)
    {
        if (start >= end)
        {
            int at = start < tokens.Length ? tokens[start].CodePointStart : tokens.Length == 0 ? 0 : tokens[^1].CodePointEnd;
            return (string.Empty, new TextSpan(at, at));
        }

        return (text[tokens[start].Start..tokens[end - 1].End], new TextSpan(tokens[start].CodePointStart, tokens[end - 1].CodePointEnd));
    }

    private static void Validate(PhraseOptions options)
    {
        if (options.MinWords < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinWords, "MinWords must be at least 1.");
        }

        if (options.MaxBridgeWords < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBridgeWords, "MaxBridgeWords must not be negative.");
        }

        if (options.MaxWork < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxWork, "MaxWork must be at least 1.");
        }
    }
}
