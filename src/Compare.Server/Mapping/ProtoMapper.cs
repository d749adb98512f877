using System.Globalization;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Messages;
using Compare.Server.Application;
using Compare.Server.Storage;
using Compare.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using CoreSimilarityMatch = Compare.Core.Indexing.SimilarityMatch;

namespace Compare.Server.Mapping;

/// <summary>Engine and store results to compare.v1 messages.</summary>
public static class ProtoMapper
{
    /// <summary>A streamed batch as the unary call's request: the two messages have the same fields.</summary>
    public static UpsertDocumentsRequest ToBatch(this StreamUpsertDocumentsRequest message)
    {
        var batch = new UpsertDocumentsRequest
        {
            Collection = message.Collection,
            IncludeNearDuplicates = message.IncludeNearDuplicates,
            SkipIfDuplicate = message.SkipIfDuplicate,
            MaxNearDuplicates = message.MaxNearDuplicates,
        };
        if (message.HasNearDuplicateThreshold)
        {
            batch.NearDuplicateThreshold = message.NearDuplicateThreshold;
        }

        batch.Documents.AddRange(message.Documents);
        return batch;
    }

    /// <summary>A collection with its effective configuration and statistics.</summary>
    public static Collection ToProto(this CollectionInfo info)
    {
        Core.SketchParameters p = info.Settings.Parameters;
        return new Collection
        {
            Name = info.Name,
            FormatVersion = Core.SketchParameters.FormatVersion,
            CreateTime = Timestamp.FromDateTimeOffset(info.CreateTime),
            DocumentCount = info.DocumentCount,
            TextBytes = info.TextBytes,
            Config = new CollectionConfig
            {
                ShingleKind = p.Kind == Core.ShingleKind.Character ? V1.ShingleKind.Character : V1.ShingleKind.Word,
                ShingleSize = p.ShingleSize,
                Normalization = new Normalization
                {
                    FoldDigits = p.Normalization.FoldDigits,
                    FoldDiacritics = p.Normalization.FoldDiacritics,
                    CjkBigrams = p.Normalization.CjkBigrams,
                },
                NumPerm = p.NumPermutations,
                SignatureScheme = p.Scheme == Core.SignatureScheme.Classic ? V1.SignatureScheme.Classic : V1.SignatureScheme.OnePermutation,
                Threshold = info.Settings.Threshold,
                LshBands = info.Settings.Lsh.Bands,
                LshRows = info.Settings.Lsh.Rows,
                Seed = p.Seed,
                MaxPhraseDocumentFrequency = info.Settings.MaxPhraseDocumentFrequency,
            },
        };
    }

    /// <summary>A stored document; the text only when it was read.</summary>
    public static V1.StoredDocument ToProto(this Storage.StoredDocument document)
    {
        var proto = new V1.StoredDocument
        {
            Id = document.Id,
            Text = document.Text ?? string.Empty,
            ShingleCount = document.ShingleCount,
            Length = document.Length,
            ContentHash = document.ContentHash.ToString("x16", CultureInfo.InvariantCulture),
            CreateTime = Timestamp.FromDateTimeOffset(document.CreateTime),
            UpdateTime = Timestamp.FromDateTimeOffset(document.UpdateTime),
        };
        foreach (KeyValuePair<string, string> kv in document.Metadata)
        {
            proto.Metadata[kv.Key] = kv.Value;
        }

        return proto;
    }

    /// <summary>A verified match.</summary>
    public static V1.SimilarityMatch ToProto(this CoreSimilarityMatch match) => new()
    {
        Id = match.Id,
        Jaccard = match.Jaccard,
        EstimatedJaccard = match.EstimatedJaccard,
        ContainmentOfQuery = match.ContainmentOfQuery,
        ContainmentOfMatch = match.ContainmentOfMatch,
    };

    /// <summary>An upsert outcome: the one place the engine's outcome becomes the API's.</summary>
    public static UpsertStatus ToProto(this UpsertOutcome outcome) => outcome switch
    {
        UpsertOutcome.Created => UpsertStatus.Created,
        UpsertOutcome.Updated => UpsertStatus.Updated,
        UpsertOutcome.Unchanged => UpsertStatus.Unchanged,
        UpsertOutcome.SkippedDuplicate => UpsertStatus.SkippedDuplicate,
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "An outcome the API does not know."),
    };

    /// <summary>A validated document reference: by id or by text.</summary>
    public static DocumentReference ToReference(this DocumentRef reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return reference.SourceCase == DocumentRef.SourceOneofCase.Id ? DocumentReference.ById(reference.Id) : DocumentReference.ByText(reference.Text);
    }

    /// <summary>
    /// A batch's outcomes, in order, with the count of each. Near-duplicate lists are kept while the answer fits
    /// <paramref name="maxBytes"/> (every outcome is kept); a cut says so in near_duplicates_truncated.
    /// </summary>
    public static UpsertDocumentsResponse ToProto(this IReadOnlyList<DocumentUpsertResult> results, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(results);
        var response = new UpsertDocumentsResponse();
        response.Results.AddRange(results.Select(r => new V1.UpsertResult { Id = r.Id, Status = r.Outcome.ToProto(), ShingleCount = r.ShingleCount }));
        // Less room for each result's length prefix, which grows with its list.
        long budget = maxBytes - response.CalculateSize() - (2L * results.Count) - 64;
        for (int i = 0; i < results.Count && !response.NearDuplicatesTruncated; i++)
        {
            response.NearDuplicatesTruncated = !ComparisonMessages.AddWithin(response.Results[i].NearDuplicates, results[i].NearDuplicates.Select(m => m.ToProto()), ref budget);
        }

        foreach (DocumentUpsertResult r in results)
        {
            switch (r.Outcome)
            {
                case UpsertOutcome.Created: response.CreatedCount++; break;
                case UpsertOutcome.Updated: response.UpdatedCount++; break;
                case UpsertOutcome.Unchanged: response.UnchangedCount++; break;
                case UpsertOutcome.SkippedDuplicate: response.SkippedCount++; break;
            }
        }

        return response;
    }

    /// <summary>A representative policy of the API.</summary>
    public static V1.RepresentativePolicy ToProto(this Core.Clustering.RepresentativePolicy policy) => policy switch
    {
        Core.Clustering.RepresentativePolicy.FirstSeen => V1.RepresentativePolicy.FirstSeen,
        Core.Clustering.RepresentativePolicy.Longest => V1.RepresentativePolicy.Longest,
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "The API has no such policy."),
    };

    /// <summary>The summary event of a Deduplicate.</summary>
    public static DeduplicateSummary ToSummary(this DeduplicateReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        ClusteringResult result = report.Clustering.Result;
        return new DeduplicateSummary
        {
            DocumentCount = result.DocumentCount,
            ClusterCount = result.Clusters.Count,
            DuplicateCount = result.DuplicateCount,
            CandidatePairCount = result.CandidatePairs,
            VerifiedPairCount = result.Pairs.Count,
            Elapsed = Duration.FromTimeSpan(report.Elapsed),
            Threshold = report.Threshold,
        };
    }

    /// <summary>
    /// A Deduplicate as the collection remembers it (GetLastDeduplicate), encoded: its summary and its clusters in the order
    /// streamed, while they number at most <paramref name="maxClusters"/> and fit <paramref name="maxBytes"/> (a very large
    /// cluster in parts, as streamed).
    /// </summary>
    public static byte[] ToLastDeduplicate(DeduplicateReport report, int maxClusters, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(report);
        var remembered = new GetLastDeduplicateResponse
        {
            Representative = report.Representative.ToProto(),
            Summary = report.ToSummary(),
            FinishTime = Timestamp.FromDateTimeOffset(report.FinishTime),
        };
        // Parts sized to what is left beside the summary, so that even one very large cluster shows its first members.
        int budget = maxBytes - remembered.CalculateSize() - 16;
        int clusters = 0;
        foreach (V1.DuplicateCluster part in report.Clustering.Result.Clusters.SelectMany(c => c.ToMessages(report.Clustering.Ids, budget)))
        {
            clusters += part.Part == 0 ? 1 : 0;
            budget -= CodedOutputStream.ComputeMessageSize(part) + 1;
            if (clusters > maxClusters || budget < 0)
            {
                remembered.Truncated = true;
                break;
            }

            remembered.Clusters.Add(part);
        }

        return remembered.ToByteArray();
    }

    /// <summary>
    /// A passage search's answer; each match keeps at most <paramref name="maxPhrases"/> passages (the longest), and matches
    /// are kept, best first, while the answer fits <paramref name="maxBytes"/> (an answer cut short says so in truncated).
    /// </summary>
    public static FindSharedPassagesResponse ToProto(this SharedPassagesResult result, int maxPhrases, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(result);
        var response = new FindSharedPassagesResponse
        {
            GuaranteedMinWords = result.GuaranteedMinWords,
            CandidatesFound = result.CandidatesFound,
            CandidatesVerified = result.CandidatesVerified,
            Truncated = result.Truncated,
            CommonFingerprints = result.CommonFingerprints,
        };
        long budget = maxBytes - response.CalculateSize() - 8;
        response.Truncated |= !ComparisonMessages.AddWithin(response.Matches, result.Matches.Select(m =>
        {
            var match = new PassageMatch
            {
                Id = m.Id,
                SharedWordCount = m.Shared.LeftSharedWords,
                CoverageOfQuery = m.Shared.LeftCoverage,
                CoverageOfMatch = m.Shared.RightCoverage,
            };
            match.Passages.AddRange((maxPhrases > 0 ? m.Shared.Phrases.Take(maxPhrases) : m.Shared.Phrases).Select(ComparisonMessages.ToProto));
            return match;
        }), ref budget);
        return response;
    }

    /// <summary>A Deduplicate progress event.</summary>
    public static DeduplicateResponse ToProto(this ClusteringProgress progress) => new()
    {
        Progress = new DeduplicateProgress
        {
            Stage = progress.Stage switch
            {
                ClusteringStage.Candidates => DeduplicateStage.Candidates,
                ClusteringStage.Verifying => DeduplicateStage.Verifying,
                ClusteringStage.Clustering => DeduplicateStage.Clustering,
                ClusteringStage.Loading => DeduplicateStage.Loading,
                _ => DeduplicateStage.Unspecified,
            },
            Done = progress.Done,
            Total = progress.Total,
        },
    };

    /// <summary>
    /// A cluster with ids in place of positions, as the messages that carry it: one, or for a cluster larger than
    /// <paramref name="maxBytes"/> as many parts as it takes, each with the representative and the next members.
    /// </summary>
    public static IEnumerable<V1.DuplicateCluster> ToMessages(this Core.Clustering.DuplicateCluster cluster, IReadOnlyList<string> ids, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(ids);
        var parts = new List<V1.DuplicateCluster>();
        V1.DuplicateCluster part = new() { RepresentativeId = ids[cluster.Representative] };
        // Room for the representative, the part numbers and the message's own framing.
        int empty = part.CalculateSize() + 16;
        long size = empty;
        foreach (V1.ClusterMember member in cluster.Members.Select(m => new V1.ClusterMember { Id = ids[m.Document], Jaccard = m.Jaccard }))
        {
            int memberSize = CodedOutputStream.ComputeMessageSize(member) + 1;
            if (size + memberSize > maxBytes && part.Members.Count > 0)
            {
                parts.Add(part);
                part = new() { RepresentativeId = part.RepresentativeId };
                size = empty;
            }

            part.Members.Add(member);
            size += memberSize;
        }

        parts.Add(part);
        for (int i = 0; i < parts.Count; i++)
        {
            (parts[i].Part, parts[i].PartCount) = (i, parts.Count);
        }

        return parts;
    }

    /// <summary>A verified pair with ids in place of positions.</summary>
    public static DeduplicateResponse ToProto(this Core.Clustering.DuplicatePair pair, IReadOnlyList<string> ids) => new()
    {
        Pair = new V1.DuplicatePair { LeftId = ids[pair.Left], RightId = ids[pair.Right], Jaccard = pair.Jaccard },
    };
}
