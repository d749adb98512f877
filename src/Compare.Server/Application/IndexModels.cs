using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Server.Storage;

namespace Compare.Server.Application;

/// <summary>How a batch is checked for near-duplicates before it is written.</summary>
/// <param name="NearDuplicateThreshold">Lowest exact Jaccard of a near-duplicate; null for the collection's threshold.</param>
/// <param name="IncludeNearDuplicates">Report each document's near-duplicates.</param>
/// <param name="MaxNearDuplicates">Most near-duplicates reported per document.</param>
/// <param name="SkipIfDuplicate">Do not store a document that has a near-duplicate.</param>
public sealed record UpsertOptions(double? NearDuplicateThreshold = null, bool IncludeNearDuplicates = false, int MaxNearDuplicates = 10, bool SkipIfDuplicate = false);

/// <summary>What happened to one document of a batch, with its near-duplicates when they were asked for.</summary>
public sealed record DocumentUpsertResult(string Id, UpsertOutcome Outcome, int ShingleCount, IReadOnlyList<SimilarityMatch> NearDuplicates);

/// <summary>A document named by its id in the collection, or given as text: exactly one of the two is set.</summary>
public sealed record DocumentReference
{
    private DocumentReference(string? id, string? text) => (Id, Text) = (id, text);

    /// <summary>The stored document's id, or null.</summary>
    public string? Id { get; }

    /// <summary>The text, or null.</summary>
    public string? Text { get; }

    /// <summary>A stored document.</summary>
    public static DocumentReference ById(string id) => new(id ?? throw new ArgumentNullException(nameof(id)), null);

    /// <summary>A text that need not be stored.</summary>
    public static DocumentReference ByText(string text) => new(null, text ?? throw new ArgumentNullException(nameof(text)));
}

/// <summary>Options of a similarity query.</summary>
/// <param name="Threshold">Lowest exact Jaccard; null for the collection's threshold.</param>
/// <param name="TopK">Most matches, best first.</param>
/// <param name="IncludeSelf">A query by id also reports the document itself.</param>
/// <param name="Exhaustive">Verify every document rather than the LSH candidates.</param>
/// <param name="MinContainmentOfQuery">A containment search: the least share of the query a match holds (0: none asked).</param>
/// <param name="MinContainmentOfMatch">A containment search: the least share of a match the query holds (0: none asked).</param>
public sealed record SimilarQuery(double? Threshold, int TopK, bool IncludeSelf = false, bool Exhaustive = false, double MinContainmentOfQuery = 0,
    double MinContainmentOfMatch = 0);

/// <summary>The matches of a similarity query and the threshold it used.</summary>
public sealed record SimilarResult(QueryResult Result, double Threshold, bool Truncated = false);

/// <summary>A finished Deduplicate: what it was asked, what it found, how long it took and when it finished.</summary>
public sealed record DeduplicateReport(double Threshold, RepresentativePolicy Representative, IndexClusteringResult Clustering, TimeSpan Elapsed,
    DateTimeOffset FinishTime);

/// <summary>A document named by id is not in the collection.</summary>
public sealed class DocumentNotFoundException(string collection, string id, string field)
    : StoreException($"{field}.id: document '{id}' is not in collection '{collection}'.")
{
    /// <summary>The missing document.</summary>
    public string Id { get; } = id;
}

/// <summary>Too much of a bounded kind of work is running; the call can be retried when some has finished.</summary>
public sealed class CapacityExceededException(string message) : Exception(message);
