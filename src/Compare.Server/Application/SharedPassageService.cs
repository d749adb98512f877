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
                IReadOnlyDictionary<string, string> texts = await index.GetTextsAsync(collection, [.. read.Select(c => c.Id)], cancellationToken).ConfigureAwait(false);
                return [.. read.Select(c => Claimable.Queue(() => Compare(collection, (prepared, preparedAsText), c.Id, texts.GetValueOrDefault(c.Id), options, cancellationToken)))];
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
    /// Compare's shared passages of the query and one candidate (null for one deleted or damaged since it was found: one
    /// never fails the search). A long candidate is taken as <see cref="LongPassageTexts"/> keeps it, not tokenised again,
    /// and the comparison of two prepared texts searches it only where the query's runs meet it when it can; the same passages.
    /// </summary>
    private Task<SharedPhrases?> Compare(string collection, (PassageQuery Query, Lazy<PassageText> AsText) query, string id, string? candidate,
        PhraseOptions options, CancellationToken cancellationToken)
    {
        if (candidate is null)
        {
            return Task.FromResult<SharedPhrases?>(null);
        }

        if (candidate.Length >= PassageText.LongCharacters)
        {
            PassageText kept = longTexts.Get(collection, id, candidate, options.Normalization, options.MinWords);
            return Task.FromResult(SharedPhraseFinder.Find(query.AsText.Value, kept, options, cancellationToken));
        }

        return Task.FromResult<SharedPhrases?>(SharedPhraseFinder.Find(query.Query, candidate, SharedPhraseFinder.Tokenize(candidate, options.Normalization), options, cancellationToken));
    }
}
