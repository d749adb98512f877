using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Compare.Server.Tests;

/// <summary>The README's request examples must be requests the API accepts, field names included.</summary>
public sealed partial class ReadmeTests
{
    // Table rows: | `Service/Rpc` | ... | `{json}` |
    [GeneratedRegex(@"^\| `(?<service>\w+)/(?<rpc>\w+)` \|.*\| `(?<json>\{.*\})` \|$", RegexOptions.Multiline)]
    private static partial Regex TableExample();

    // Shell lines: grpcurl -plaintext -d '{json}' localhost:5000 compare.v1.Service/Rpc
    [GeneratedRegex(@"-d '(?<json>\{.*?\})' localhost:5000 compare\.v1\.(?<service>\w+)/(?<rpc>\w+)")]
    private static partial Regex ShellExample();

    [Fact]
    public void Readme_EveryRequestExample_ParsesAsItsRpcsRequestMessage()
    {
        string readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md"));
        ServiceDescriptor[] services = [V1.CollectionService.Descriptor, V1.DocumentService.Descriptor, V1.SimilarityService.Descriptor];
        var examples = TableExample().Matches(readme).Concat(ShellExample().Matches(readme)).ToList();

        Assert.True(examples.Count >= 12, $"found only {examples.Count} examples");
        var parser = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));
        foreach (Match m in examples)
        {
            ServiceDescriptor service = Assert.Single(services, s => s.Name == m.Groups["service"].Value);
            MethodDescriptor method = service.FindMethodByName(m.Groups["rpc"].Value);
            Assert.True(method is not null, $"{m.Groups["service"].Value}/{m.Groups["rpc"].Value} is not an RPC");
            // "..." stands for a text in the examples.
            IMessage request = parser.Parse(m.Groups["json"].Value, method.InputType);
            Assert.NotNull(request);
        }
    }

    // Section headings (## and ###) and the contents' links: - [Title](#anchor)
    [GeneratedRegex(@"^(?<level>#{2,3}) (?<title>.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"^ *- \[(?<text>[^\]]+)\]\(#(?<anchor>[^)]+)\)$", RegexOptions.Multiline)]
    private static partial Regex ContentsLink();

    [Fact]
    public void Readme_Contents_LinkEverySectionInOrder_ByTheAnchorsGitHubMakes()
    {
        string readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        // Headings outside code blocks (a shell comment starts with # too).
        string prose = string.Concat(readme.Split("```").Where((_, i) => i % 2 == 0));
        string[] anchors = [.. Heading().Matches(prose).Select(m => GitHubAnchor(m.Groups["title"].Value))];
        string[] links = [.. ContentsLink().Matches(readme[..readme.IndexOf("\n## ", StringComparison.Ordinal)]).Select(m => m.Groups["anchor"].Value)];

        Assert.True(anchors.Length >= 15, $"{anchors.Length} headings");
        Assert.Equal(anchors, links);
    }

    /// <summary>GitHub's anchor for a heading: lower case, punctuation other than hyphens dropped, spaces as hyphens.</summary>
    private static string GitHubAnchor(string title) =>
        string.Concat(title.ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is '-' or ' ' or '_')).Replace(' ', '-');
}
