using System.Globalization;
using System.Text;
using Google.Protobuf;

namespace Compare.Cli;

/// <summary>
/// Clusters and pairs as JSON lines, byte for byte as protobuf's JsonFormatter writes the service's DuplicateCluster
/// and DuplicatePair messages, so one parser reads both. The formatter reflects over each message, which took a second
/// for the 200,000 lines of a million-document run; plain ids (printable ASCII without quotes or backslashes) and
/// non-zero finite scores are written here directly, anything else by the formatter itself.
/// </summary>
internal static class DuplicateJson
{
    private static readonly JsonFormatter Formatter = JsonFormatter.Default;

    /// <summary>A cluster line; scores rounded to six places, as the service does.</summary>
    public static string Cluster(string representative, IReadOnlyList<(string Id, double Jaccard)> members)
    {
        if (!IsPlain(representative) || members.Count == 0 || members.Any(m => !IsPlain(m.Id) || !IsPlain(Math.Round(m.Jaccard, 6))))
        {
            var cluster = new V1.DuplicateCluster { RepresentativeId = representative };
            cluster.Members.AddRange(members.Select(m => new V1.ClusterMember { Id = m.Id, Jaccard = Math.Round(m.Jaccard, 6) }));
            return Formatter.Format(cluster);
        }

        var line = new StringBuilder(64 + (members.Count * 48));
        line.Append("{ \"representativeId\": \"").Append(representative).Append("\", \"members\": [ ");
        for (int k = 0; k < members.Count; k++)
        {
            line.Append(k == 0 ? "{ \"id\": \"" : ", { \"id\": \"").Append(members[k].Id).Append("\", \"jaccard\": ")
                .Append(Math.Round(members[k].Jaccard, 6).ToString("R", CultureInfo.InvariantCulture)).Append(" }");
        }

        return line.Append(" ] }").ToString();
    }

    /// <summary>A pair line; the score rounded to six places.</summary>
    public static string Pair(string left, string right, double jaccard)
    {
        double rounded = Math.Round(jaccard, 6);
        return IsPlain(left) && IsPlain(right) && IsPlain(rounded)
            ? string.Create(CultureInfo.InvariantCulture, $"{{ \"leftId\": \"{left}\", \"rightId\": \"{right}\", \"jaccard\": {rounded:R} }}")
            : Formatter.Format(new V1.DuplicatePair { LeftId = left, RightId = right, Jaccard = rounded });
    }

    // Characters the formatter writes as they are; it escapes quotes, backslashes, controls, and HTML's <, >, & and ' too.
    private static readonly System.Buffers.SearchValues<char> PlainCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_./:@#+,;!()[]{}*$%|^~?");

    // The formatter leaves out empty strings and zero scores (proto3 defaults).
    private static bool IsPlain(string id) => id.Length > 0 && !id.AsSpan().ContainsAnyExcept(PlainCharacters);

    // Scores small enough for an exponent are written by the formatter, which spells it its own way.
    private static bool IsPlain(double score) => score is >= 1e-4 and <= 1;
}
