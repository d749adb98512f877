using Google.Protobuf;

namespace Compare.Cli.Tests;

public sealed class DuplicateJsonTests
{
    // Every printable ASCII character in an id of its own, and ids the formatter escapes.
    private static readonly string[] Ids = [.. Enumerable.Range(' ', '~' - ' ' + 1).Select(c => $"id{(char)c}x"),
        "doc-1", "business/001", "", "é", "say \"hi\"", "back\\slash", "tab\there", "line\nend", "\u2028", "😀", "<tag>&", "\u007f"];

    private static readonly double[] Scores = [1, 0.943137, 0.8, 0.1 + 0.2, 0, 1e-7, 0.0000051, 0.12345678, 2.0 / 3, double.Epsilon];

    [Fact]
    public void ClusterAndPair_AnyIdsAndScores_AreWhatProtobufsJsonFormatterWrites()
    {
        var random = new Random(14);
        for (int n = 0; n < 5_000; n++)
        {
            string representative = Ids[random.Next(Ids.Length)];
            (string Id, double Jaccard)[] members = [.. Enumerable.Range(0, random.Next(4)).Select(_ => (Ids[random.Next(Ids.Length)], Scores[random.Next(Scores.Length)] * (random.Next(3) == 0 ? random.NextDouble() : 1)))];
            var cluster = new V1.DuplicateCluster { RepresentativeId = representative };
            cluster.Members.AddRange(members.Select(m => new V1.ClusterMember { Id = m.Id, Jaccard = Math.Round(m.Jaccard, 6) }));
            Assert.Equal(JsonFormatter.Default.Format(cluster), DuplicateJson.Cluster(representative, members));

            (string left, string right, double score) = (Ids[random.Next(Ids.Length)], Ids[random.Next(Ids.Length)], members.FirstOrDefault().Jaccard);
            var pair = new V1.DuplicatePair { LeftId = left, RightId = right, Jaccard = Math.Round(score, 6) };
            Assert.Equal(JsonFormatter.Default.Format(pair), DuplicateJson.Pair(left, right, score));
        }
    }
}
