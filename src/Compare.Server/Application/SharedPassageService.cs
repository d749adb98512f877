using Compare.Core.Phrases;
using Compare.Server.Observability;
using Compare.Server.Storage;

namespace Compare.Server.Application;

/// <summary>An indexed document that shares passages with a query: Compare's shared passages of the two (left: the query).</summary>
public sealed record PassageMatchResult(string Id, SharedPhrases Shared);

/// <summary>
/// What a passage search found: the matches, best first; the passage length every match is guaranteed from; how many
/// documents shared a fingerprint and how many of those were compared word by word; and the common fingerprints not followed.
/// </summary>
public sealed record SharedPassagesResult(IReadOnlyList<PassageMatchResult> Matches, int GuaranteedMinWords, int CandidatesFound, int CandidatesVerified,
    int CommonFingerprints)
{
    /// <summary>True when more documents shared a fingerprint than were verified.</summary>
    public bool Truncated => CandidatesFound > CandidatesVerified;
}

/// <summary>
/// "Which indexed documents share wording with this one?", written once for every store: the query's passage fingerprints
/// (<see cref="PassageFingerprints"/>) find the documents that share any (the store's passage index), the ones sharing
/// the most are compared with the query word by word (<see cref="SharedPhraseFinder"/>, as Compare does), and the matches
/// are ranked by how many of the query's words they share.
/// </summary>
internal sealed class SharedPassageService(DocumentIndexService index, ICandidateIndex candidateIndex, LongPassageTexts longTexts, CompareMetrics metrics)
{
    /// <summary>A fingerprint held by more documents than this is boilerplate: a query does not follow it, and says how many it left.</summary>
    public const int MaxDocumentsPerFingerprint = 1000;

    /// <summary>Candidates whose texts are read in one statement (a deleted or damaged one is skipped: one never fails the search).</summary>
    private const int TextsPerRead = 4;

    /// <summary>The fewest candidates read and compared before the matches are counted again.</summary>
    private const int MinTextsPerWave = 8;

    /// <summary>The most texts held at once, whatever the top_k: a bound on what one query holds.</summary>
    private const int MaxTextsPerWave = 64;

    /// <summary>The most candidates compared word by word for one query, whatever its top_k.</summary>
    public const int MaxVerifiedCandidates = 2_048;

    /// <summary>
    /// The indexed documents sharing passages with <paramref name="query"/> (by id or text; by id, the document itself is left
    /// out), at most <paramref name="topK"/>, ranked by the query's shared words, then id. <paramref name="options"/> gives the
    /// shortest passage and the bridging; the normalisation is the collection's.
    /// </summary>
    public Task<SharedPassagesResult> FindAsync(string collection, DocumentReference query, PhraseOptions options, int topK, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        return index.WithSettingsAsync(collection, settings => FindAsync(collection, settings, query, options, topK, cancellationToken), cancellationToken);
    }

    private async Task<SharedPassagesResult> FindAsync(string collection, CollectionSettings settings, DocumentReference query, PhraseOptions options, int topK,
        CancellationToken cancellationToken)
    {
        string text = await index.ResolveTextAsync(collection, query, "query", cancellationToken).ConfigureAwait(false);
        // The query is tokenised once, for its fingerprints and for every comparison, and prepared once (below) for every comparison.
        Core.Text.Token[] words = SharedPhraseFinder.Tokenize(text, settings.Parameters.Normalization);
        uint[] fingerprints = PassageFingerprints.Of(words);
        // As many candidates in order as can be verified, and the query itself, which when indexed is among the first.
        int mostVerified = Math.Min(MaxVerifiedCandidates, (topK * 2) + 16);
        PassageCandidates found = await candidateIndex.GetPassageCandidatesAsync(collection, settings, fingerprints, MaxDocumentsPerFingerprint, withOwnCounts: false,
            ranked: mostVerified + 1, cancellationToken).ConfigureAwait(false);
        PassageCandidate[] candidates = [.. found.Candidates.Where(c => c.Id != query.Id)];
        int candidatesFound = found.Found - (found.Candidates.Count - candidates.Length);
        options = options with { Normalization = settings.Parameters.Normalization };
        var prepared = new PassageQuery(text, words, options.MinWords);
        var preparedAsText = new Lazy<PassageText>(() => PassageText.Of(text, words, settings.Parameters.Normalization, options.MinWords));
        // The documents sharing the most fingerprints first (ties by id), until top_k share a passage or the budget is spent:
        // a document sharing no more fingerprints than the top_k-th match most likely shares no more wording, and the answer
        // says how many were left (candidates_verified below candidates_found).
        int limit = Math.Min(mostVerified, candidates.Length);
        var matches = new List<PassageMatchResult>(topK);
        int verified = 0;
        while (matches.Count < topK && verified < limit)
        {
            // As many texts as matches are still wanted (most candidates match), at least a few. Read a few at a time, by the
            // pool and this thread at once; each read queues its texts' comparisons with the query, and this thread, its reads
            // done, runs those the pool has not begun. Then taken in order, exactly as one at a time would.
            int wave = Math.Min(limit - verified, Math.Min(MaxTextsPerWave, Math.Max(MinTextsPerWave, topK - matches.Count)));
            ArraySegment<PassageCandidate> next = new(candidates, verified, wave);
            Claimable<Claimable<SharedPhrases?>[]>[] reads = [.. next.Chunk(TextsPerRead).Select(read => new Claimable<Claimable<SharedPhrases?>[]>(async () =>
            {
                Dictionary<string, PassageText> kept = await KeptLongTextsAsync(collection, read, options, cancellationToken).ConfigureAwait(false);
                IReadOnlyDictionary<string, StoredDocument> documents = await index.GetWholeDocumentsAsync(collection,
                    [.. read.Where(c => !kept.ContainsKey(c.Id)).Select(c => c.Id)], cancellationToken).ConfigureAwait(false);
                return [.. read.Select(c => Claimable.Queue(() => Task.FromResult(kept.TryGetValue(c.Id, out PassageText? text)
                    ? SharedPhraseFinder.Find(preparedAsText.Value, text, options, cancellationToken)
                    : Compare(collection, (prepared, preparedAsText), documents.GetValueOrDefault(c.Id), options, cancellationToken))))];
            }))];
            Claimable<SharedPhrases?>[] comparisons = [.. (await Claimable.RunAllAsync(reads).ConfigureAwait(false)).SelectMany(read => read)];
            SharedPhrases?[] compared = await Claimable.RunAllAsync(comparisons, alreadyQueued: true).ConfigureAwait(false);
            for (int i = 0; i < wave && matches.Count < topK; i++)
            {
                verified++;
                if (compared[i] is { Phrases.Count: > 0 } shared)
                {
                    matches.Add(new PassageMatchResult(next[i].Id, shared));
                }
            }
        }

        metrics.CandidatesExamined(verified);
        return new SharedPassagesResult(
            [.. matches.OrderByDescending(m => m.Shared.LeftSharedWords).ThenBy(m => m.Id, StringComparer.Ordinal)],
            PassageFingerprints.GuaranteedWords, candidatesFound, verified, found.CommonFingerprints);
    }

    /// <summary>
    /// The long candidates of <paramref name="read"/> kept prepared (<see cref="LongPassageTexts"/>) while their stored content
    /// hashes are still the ones of the texts they were made from: those texts are not read again.
    /// </summary>
    private async Task<Dictionary<string, PassageText>> KeptLongTextsAsync(string collection, IEnumerable<PassageCandidate> read, PhraseOptions options,
        CancellationToken cancellationToken)
    {
        var kept = new Dictionary<string, PassageText>(StringComparer.Ordinal);
        foreach (PassageCandidate candidate in read)
        {
            if (longTexts.Holds(collection, candidate.Id)
                && await index.GetContentHashAsync(collection, candidate.Id, cancellationToken).ConfigureAwait(false) is { } contentHash
                && longTexts.Find(collection, candidate.Id, contentHash, options.Normalization, options.MinWords) is { } text)
            {
                kept[candidate.Id] = text;
            }
        }

        return kept;
    }

    /// <summary>
    /// Compare's shared passages of the query and one candidate as just read (null for one deleted or damaged since it was
    /// found: one never fails the search). A long candidate is prepared and kept by <see cref="LongPassageTexts"/>, and the
    /// comparison of two prepared texts searches it only where the query's runs meet it when it can; the same passages.
    /// </summary>
    private SharedPhrases? Compare(string collection, (PassageQuery Query, Lazy<PassageText> AsText) query, StoredDocument? candidate,
        PhraseOptions options, CancellationToken cancellationToken)
    {
        if (candidate?.Text is not { } text)
        {
            return null;
        }

        if (text.Length >= PassageText.LongCharacters)
        {
            PassageText prepared = longTexts.Prepare(collection, candidate.Id, text, candidate.ContentHash, options.Normalization, options.MinWords);
            return SharedPhraseFinder.Find(query.AsText.Value, prepared, options, cancellationToken);
        }

        return SharedPhraseFinder.Find(query.Query, text, SharedPhraseFinder.Tokenize(text, options.Normalization), options, cancellationToken);
    }
}
