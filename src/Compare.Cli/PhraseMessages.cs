using Compare.Core.Phrases;

namespace Compare.Cli;

/// <summary>
/// Shared passages as compare.v1 messages, so the CLI's JSON reads like the service's, field names included. (The server
/// maps them in its ProtoMapper; the CLI does not depend on the server.)
/// </summary>
internal static class PhraseMessages
{
    public static V1.SharedPhrase ToProto(SharedPhrase p)
    {
        var phrase = new V1.SharedPhrase
        {
            Text = p.Text,
            RightText = p.RightText,
            WordCount = p.WordCount,
            RightWordCount = p.RightWordCount,
            Left = ToProto(p.Left),
            Right = ToProto(p.Right),
        };
        phrase.LeftOccurrences.AddRange(p.LeftOccurrences.Select(ToProto));
        phrase.RightOccurrences.AddRange(p.RightOccurrences.Select(ToProto));
        phrase.Differences.AddRange(p.Differences.Select(d => new V1.PhraseDifference { LeftText = d.Left, RightText = d.Right, Left = ToProto(d.LeftSpan), Right = ToProto(d.RightSpan) }));
        return phrase;
    }

    public static V1.Span ToProto(TextSpan span) => new() { Start = span.Start, End = span.End };
}
