using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Compare.Cli.Tests;

/// <summary>compare diff --html: one page that needs nothing else, showing what --json says, rendered by the browser view's own script.</summary>
public sealed partial class HtmlReportTests
{
    private static string Seed(string name) => Path.Combine(TestData.RepositoryRoot, "seeds", name);

    [GeneratedRegex("""<script type="application/json" id="comparison">(?<json>.*?)</script>""", RegexOptions.Singleline)]
    private static partial Regex EmbeddedComparison();

    [Fact]
    public async Task DiffHtml_OfTheSeeds_IsOneSelfContainedPage_ThatChromiumRendersWithEveryPassageMarkedOnBothSides()
    {
        DirectoryInfo work = Directory.CreateTempSubdirectory("compare-report-");
        try
        {
            string left = Seed("003_2f03ddab81289ed0.txt"), right = Seed("000_964e81d81ffb6499.txt"), report = Path.Combine(work.FullName, "seeds.html");
            using var json = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(0, await CompareCli.RunAsync(["diff", left, right, "--json"], json, new StringWriter()));
            Assert.Equal(0, await CompareCli.RunAsync(["diff", left, right, "--html", report], new StringWriter(), error));
            Assert.Contains($"5 shared passages, Jaccard 0.005; the report is {report}.", error.ToString(), StringComparison.Ordinal);

            // What the page carries: both texts whole and the comparison --json prints (with the diff and similar sentences besides).
            string page = await File.ReadAllTextAsync(report);
            JsonNode embedded = JsonNode.Parse(EmbeddedComparison().Match(page).Groups["json"].Value)!;
            Assert.Equal(await File.ReadAllTextAsync(left), (string)embedded["left"]!["text"]!);
            Assert.Equal(await File.ReadAllTextAsync(right), (string)embedded["right"]!["text"]!);
            JsonObject comparison = embedded["comparison"]!.AsObject();
            Assert.NotEmpty(comparison["diff"]!.AsArray());
            comparison.Remove("diff");
            comparison.Remove("similarSentences");
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json.ToString()), comparison), comparison.ToJsonString());
            Assert.InRange((double)comparison["jaccard"]!, 0.004, 0.006); // the seeds' Jaccard, 0.005
            // Nothing is loaded from anywhere: no script, style or image by address.
            Assert.DoesNotMatch("""(src|href)="(https?:|/)""", page);
            Assert.DoesNotContain("</script", EmbeddedComparison().Match(page).Groups["json"].Value, StringComparison.OrdinalIgnoreCase);

            // Opened from disk in Chromium (scripts/test.sh installs it), the view's script marks each passage on both sides.
            string chromium = Environment.GetEnvironmentVariable("COMPARE_CHROMIUM") ?? "/usr/bin/chromium";
            Assert.True(File.Exists(chromium), $"Chromium is missing at {chromium}: scripts/test.sh installs Debian's chromium package.");
            (int exit, string dom, string chromiumError) = await ChildProcess.RunAsync(chromium,
                ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", $"--user-data-dir={Path.Combine(work.FullName, "profile")}", "--virtual-time-budget=5000", "--dump-dom", new Uri(report).AbsoluteUri]);
            Assert.True(exit == 0, chromiumError);
            Assert.Contains("""<ol class="phrases" id="passages">""", dom, StringComparison.Ordinal);
            // Every passage, read back from the marks that name it (a passage inside a longer one is marked in pieces), on both sides.
            JsonArray passages = comparison["sharedPhrases"]!.AsArray();
            Assert.Equal(5, passages.Count);
            foreach (string side in new[] { "left", "right" })
            {
                string text = Regex.Match(dom, $"""<section class="side" data-side="{side}".*?</section>""", RegexOptions.Singleline).Value;
                (string Phrases, string Text)[] marks = [.. Regex.Matches(text, """<mark [^>]*?data-phrases="(?<phrases>[0-9 ]+)"[^>]*>(?<text>.*?)</mark>""", RegexOptions.Singleline)
                    .Select(m => (m.Groups["phrases"].Value, System.Net.WebUtility.HtmlDecode(Regex.Replace(m.Groups["text"].Value, "<[^>]+>", "")))) ];
                for (int k = 0; k < passages.Count; k++)
                {
                    string marked = string.Concat(marks.Where(m => m.Phrases.Split(' ').Contains(k.ToString(System.Globalization.CultureInfo.InvariantCulture))).Select(m => m.Text));
                    string expected = (string)passages[k]!["text"]!;
                    int occurrences = passages[k]![$"{side}Occurrences"]!.AsArray().Count;
                    Assert.Equal(string.Concat(Enumerable.Repeat(expected, occurrences)), marked);
                }
            }

            Assert.Contains("Word diff (left to right)", dom, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
