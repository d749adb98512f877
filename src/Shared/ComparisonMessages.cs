// Compiled into both Compare.Server and Compare.Cli (neither depends on the other): the one mapping of a comparison of
// two texts into compare.v1 messages, so that the CLI's JSON and HTML report read as the service's Compare answer does.
using Compare.Core.Phrases;
using Compare.Core.Similarity;
using Compare.V1;
using Google.Protobuf;
using CoreDiffOperation = Compare.Core.Diff.DiffOperation;
using CoreDiffSegment = Compare.Core.Diff.DiffSegment;
using CoreSentencePair = Compare.Core.Diff.SentencePair;
using CoreSharedPhrase = Compare.Core.Phrases.SharedPhrase;

namespace Compare.Messages;

/// <summary>A comparison of two texts (scores, passages, diff, similar sentences) as compare.v1 messages.</summary>
internal static class ComparisonMessages
{
    /// <summary>
    /// A whole comparison made with <paramref name="options"/> (the fuzzy ratios say how much text they saw); at most <paramref name="maxPhrases"/> phrases (the longest), 0 for all. Its lists are kept
    /// while the answer fits <paramref name="maxBytes"/> (shared ranges, phrases, diff, sentences, in that order); an
    /// answer cut short says so in <see cref="CompareResponse.Truncated"/>.
    /// </summary>
    public static CompareResponse ToProto(this Comparison comparison, ComparisonOptions options, int maxPhrases, int maxBytes)
    {
        SetScores s = comparison.Scores;
        SharedPhrases phrases = comparison.Phrases;
        var response = new CompareResponse
        {
            Jaccard = s.Jaccard,
            EstimatedJaccard = s.EstimatedJaccard,
            ContainmentLeft = s.ContainmentLeft,
            ContainmentRight = s.ContainmentRight,
            LeftShingleCount = s.LeftShingles,
            RightShingleCount = s.RightShingles,
            SharedShingleCount = s.SharedShingles,
            LeftCoverage = phrases.LeftCoverage,
            RightCoverage = phrases.RightCoverage,
            LeftWordCount = phrases.LeftWordCount,
            RightWordCount = phrases.RightWordCount,
            TotalPhraseCount = phrases.Phrases.Count,
            PhrasesTruncated = !phrases.Complete,
            BoilerplatePhraseCount = phrases.BoilerplateCount,
        };
        if (comparison.Fuzzy is { } f)
        {
            response.Fuzzy = new FuzzyRatios
            {
                Ratio = f.Ratio,
                PartialRatio = f.PartialRatio,
                TokenSortRatio = f.TokenSortRatio,
                TokenSetRatio = f.TokenSetRatio,
                WeightedRatio = f.WeightedRatio,
                MaxCharacters = options.MaxFuzzyCharacters,
                MaxPartialCharacters = options.MaxPartialCharacters,
            };
        }

        // The passages come longest first: max_phrases keeps the first, and the coverage stays whole. Each list is
        // mapped lazily, so a list cut at the budget is never built whole.
        long budget = maxBytes - response.CalculateSize();
        bool whole = AddWithin(response.LeftShared, phrases.LeftShared.Select(ToProto), ref budget)
            && AddWithin(response.RightShared, phrases.RightShared.Select(ToProto), ref budget)
            && AddWithin(response.SharedPhrases, (maxPhrases > 0 ? phrases.Phrases.Take(maxPhrases) : phrases.Phrases).Select(ToProto), ref budget)
            && AddWithin(response.Diff, (comparison.Diff ?? []).Select(ToProto), ref budget)
            && AddWithin(response.SimilarSentences, (comparison.SimilarSentences ?? []).Select(ToProto), ref budget);
        response.Truncated = !whole;
        return response;
    }

    /// <summary>Adds items while their encoded size fits the budget; false when one did not fit (and the rest were left out).</summary>
    public static bool AddWithin<T>(Google.Protobuf.Collections.RepeatedField<T> field, IEnumerable<T> items, ref long budget)
        where T : IMessage
    {
        foreach (T item in items)
        {
            // Two bytes of tag (fields up to 2047) and the length prefix.
            budget -= CodedOutputStream.ComputeMessageSize(item) + 2;
            if (budget < 0)
            {
                return false;
            }

            field.Add(item);
        }

        return true;
    }

    public static Span ToProto(TextSpan span) => new() { Start = span.Start, End = span.End };

    public static V1.SharedPhrase ToProto(CoreSharedPhrase phrase)
    {
        var proto = new V1.SharedPhrase
        {
            Text = phrase.Text,
            RightText = phrase.RightText,
            WordCount = phrase.WordCount,
            RightWordCount = phrase.RightWordCount,
            Left = ToProto(phrase.Left),
            Right = ToProto(phrase.Right),
        };
        proto.LeftOccurrences.AddRange(phrase.LeftOccurrences.Select(ToProto));
        proto.RightOccurrences.AddRange(phrase.RightOccurrences.Select(ToProto));
        proto.Differences.AddRange(phrase.Differences.Select(d => new V1.PhraseDifference
        {
            LeftText = d.Left,
            RightText = d.Right,
            Left = ToProto(d.LeftSpan),
            Right = ToProto(d.RightSpan),
        }));
        return proto;
    }

    private static V1.DiffSegment ToProto(CoreDiffSegment segment) => new()
    {
        Operation = segment.Operation switch
        {
            CoreDiffOperation.Equal => V1.DiffOperation.Equal,
            CoreDiffOperation.Insert => V1.DiffOperation.Insert,
            CoreDiffOperation.Delete => V1.DiffOperation.Delete,
            _ => V1.DiffOperation.Unspecified,
        },
        Left = ToProto(segment.Left),
        Right = ToProto(segment.Right),
        Text = segment.Text,
    };

    private static V1.SentencePair ToProto(CoreSentencePair pair) => new()
    {
        Left = ToProto(pair.Left),
        Right = ToProto(pair.Right),
        LeftText = pair.LeftText,
        RightText = pair.RightText,
        Ratio = pair.Ratio,
    };
}
