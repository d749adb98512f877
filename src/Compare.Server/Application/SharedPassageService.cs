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
internal sealed class SharedPassageService(DocumentIndexService index, ICandidateIndex candidateIndex, CompareMetrics metrics)
{
    /// <summary>A fingerprint held by more documents than this is boilerplate: a query does not follow it, and says how many it left.</summary>
    public const int MaxDocumentsPerFingerprint = 1000;

    /// <summary>Candidates whose texts are read at once after the first top_k (a deleted or damaged one is skipped: one never fails the search).</summary>
    private const int TextsPerRead = 8;

    /// <summary>The most texts read at once, whatever the top_k: a bound on what one query holds.</summary>
    private const int MaxTextsPerRead = 64;

    /// <summary>The most candidates compared word by word for one query, whatever its top_k.</summary>
    public const int MaxVerifiedCandidates = 2_048;

    /// <summary>
    /// The indexed documents sharing passages with <paramref name="query"/> (by id or text; by id, the document itself is left
    /// out), at most <paramref name="topK"/>, ranked by the query's shared words, then id. <paramref name="options"/> gives the
    /// shortest passage and the bridging; the normalisation is the collection's.
    /// </summary>
    public async Task<SharedPassagesResult> FindAsync(string collection, DocumentReference query, PhraseOptions options, int topK, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        CollectionSettings settings = (await index.GetCollectionAsync(collection, cancellationToken).ConfigureAwait(false)).Settings;
        string text = await index.ResolveTextAsync(collection, query, "query", cancellationToken).ConfigureAwait(false);
        // The query is tokenised once: for its fingerprints and for every comparison.
        Core.Text.Token[] words = SharedPhraseFinder.Tokenize(text, settings.Parameters.Normalization);
        uint[] fingerprints = PassageFingerprints.Of(words);
        PassageCandidates found = await candidateIndex.GetPassageCandidatesAsync(collection, settings, fingerprints, MaxDocumentsPerFingerprint, cancellationToken)
            .ConfigureAwait(false);
        PassageCandidate[] candidates = [.. found.Candidates.Where(c => c.Id != query.Id)];
        options = options with { Normalization = settings.Parameters.Normalization };
        // The documents sharing the most fingerprints first, at most a few more than asked for. Once top_k match, a document
        // sharing fewer fingerprints than the top_k-th match is not compared: it most likely shares less wording, and the
        // answer says it was left (candidates_verified below candidates_found).
        int budget = Math.Min(MaxVerifiedCandidates, (topK * 2) + 16);
        var matches = new List<PassageMatchResult>();
        int verified = 0, enoughFingerprints = 0;
        bool stop = false;
        while (!stop && verified < Math.Min(budget, candidates.Length))
        {
            // The next few candidates' texts in one read (top_k and a few more first: most queries stop soon after), compared
            // with the query on every core; then taken in order, exactly as one at a time would, until the stop.
            int wave = Math.Min(Math.Min(budget, candidates.Length) - verified, Math.Min(MaxTextsPerRead, verified == 0 ? topK + TextsPerRead : TextsPerRead));
            ArraySegment<PassageCandidate> next = new(candidates, verified, wave);
            IReadOnlyDictionary<string, string> texts = await index.GetTextsAsync(collection, [.. next.Select(c => c.Id)], cancellationToken).ConfigureAwait(false);
            SharedPhrases?[] compared = Compare(text, words, next, texts, options, cancellationToken);
            for (int i = 0; i < wave && !stop; i++)
            {
                if (matches.Count >= topK && next[i].SharedFingerprints < enoughFingerprints)
                {
                    stop = true;
                    continue;
                }

                verified++;
                if (compared[i] is { Phrases.Count: > 0 } shared)
                {
                    matches.Add(new PassageMatchResult(next[i].Id, shared));
                    enoughFingerprints = matches.Count == topK ? next[i].SharedFingerprints : enoughFingerprints;
                }
            }
        }

        metrics.CandidatesExamined(verified);
        return new SharedPassagesResult(
            [.. matches.OrderByDescending(m => m.Shared.LeftSharedWords).ThenBy(m => m.Id, StringComparer.Ordinal).Take(topK)],
            PassageFingerprints.GuaranteedWords, candidates.Length, verified, found.CommonFingerprints);
    }

    /// <summary>
    /// Compare's shared passages of the query and each candidate whose text was read (null for one deleted or damaged since:
    /// one never fails the search), on every core.
    /// </summary>
    private static SharedPhrases?[] Compare(string query, Core.Text.Token[] words, ArraySegment<PassageCandidate> candidates,
        IReadOnlyDictionary<string, string> texts, PhraseOptions options, CancellationToken cancellationToken)
    {
        var compared = new SharedPhrases?[candidates.Count];
        Parallel.For(0, candidates.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            if (texts.TryGetValue(candidates[i].Id, out string? text))
            {
                compared[i] = SharedPhraseFinder.Find(query, words, text, SharedPhraseFinder.Tokenize(text, options.Normalization), options, cancellationToken);
            }
        });
        return compared;
    }
}
