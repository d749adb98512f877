using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Compare.Cli.Tests;

/// <summary>compare diff --html: one page that needs nothing else, showing what --json says, rendered by the browser view's own script.</summary>
public sealed partial class HtmlReportTests
{
    private static string Seed(string name) => Path.Combine(TestData.RepositoryRoot, "seeds", name);

    [GeneratedRegex("""<script type="application/json" id="comparison">(?<json>.*?)</script>""", RegexOptions.Singleline)]
    private static partial Regex EmbeddedComparison();

    [GeneratedRegex("""<tr><td class="num">(?<rank>[0-9]+)</td><td><a href="(?<page>pairs/[0-9]+\.html)">(?<left>[^<]*)</a></td><td><a href="[^"]+">(?<right>[^<]*)</a></td><td class="num">(?<leftWords>[0-9,]+) · (?<rightWords>[0-9,]+)</td>""")]
    private static partial Regex IndexRow();

    [Fact]
    public async Task ReuseHtml_OfBbc_ListsThePairsSharingTheMostWordsBestFirst_EachPageShowingThePassagesTheJsonLinesList()
    {
        DirectoryInfo work = Directory.CreateTempSubdirectory("compare-report-");
        try
        {
            string folder = Path.Combine(work.FullName, "report");
            using var plain = new StringWriter();
            using var withReport = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(0, await CompareCli.RunAsync(["reuse", TestData.BbcPath], plain, new StringWriter()));
            Assert.Equal(0, await CompareCli.RunAsync(["reuse", TestData.BbcPath, "--html", folder, "--html-pairs", "25"], withReport, error));
            Assert.Equal(plain.ToString(), withReport.ToString()); // the JSON lines are as without the report
            Assert.Contains($"the report is {Path.Combine(folder, "index.html")} (25 pairs, most shared words first)", error.ToString(), StringComparison.Ordinal);

            // The reference: the JSON lines' pairs by shared words (both sides), ties by the corpus order of left, then right.
            List<string> order = [.. File.ReadLines(TestData.BbcPath).Select(line => (string)JsonNode.Parse(line)!["id"]!)];
            JsonNode[] pairs = [.. plain.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!)];
            JsonNode[] best = [.. pairs.OrderByDescending(p => (int)p["leftSharedWordCount"]! + (int)p["rightSharedWordCount"]!)
                .ThenBy(p => order.IndexOf((string)p["leftId"]!)).ThenBy(p => order.IndexOf((string)p["rightId"]!)).Take(25)];

            string index = await File.ReadAllTextAsync(Path.Combine(folder, "index.html"));
            Match[] rows = [.. IndexRow().Matches(index).Cast<Match>()];
            Assert.Equal(best.Select(p => FormattableString.Invariant($"{p["leftId"]} {p["rightId"]} {(int)p["leftSharedWordCount"]!:N0} {(int)p["rightSharedWordCount"]!:N0}")),
                rows.Select(r => $"{r.Groups["left"].Value} {r.Groups["right"].Value} {r.Groups["leftWords"].Value} {r.Groups["rightWords"].Value}"));
            Assert.Contains(FormattableString.Invariant($"{pairs.Length:N0} pairs of documents share passages; the 25 that share the most words of {pairs.Length:N0} are listed"), index, StringComparison.Ordinal);
            Assert.DoesNotMatch("""(src|href)="(https?:|/)""", index);

            // Each row's page holds the pair's two texts and, among its passages, every passage the JSON lines give the pair.
            for (int k = 0; k < rows.Length; k++)
            {
                string page = await File.ReadAllTextAsync(Path.Combine(folder, rows[k].Groups["page"].Value));
                JsonNode embedded = JsonNode.Parse(EmbeddedComparison().Match(page).Groups["json"].Value)!;
                Assert.Equal((string)best[k]["leftId"]!, (string)embedded["left"]!["title"]!);
                Assert.Equal((string)best[k]["rightId"]!, (string)embedded["right"]!["title"]!);
                string[] shown = [.. embedded["comparison"]!["sharedPhrases"]!.AsArray().Select(p => (string)p!["text"]!)];
                Assert.All(best[k]["passages"]!.AsArray(), p => Assert.Contains((string)p!["text"]!, shown));
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ReuseHtml_APairTooLongForAPage_IsListedWithoutOne()
    {
        DirectoryInfo work = Directory.CreateTempSubdirectory("compare-report-");
        try
        {
            // A book that quotes an article whole: over ReuseReport.MaxPageCharacters together, so listed without a page.
            string article = TestData.BbcCorpus()[0].Text;
            var words = new System.Text.StringBuilder();
            for (int i = 0; words.Length <= ReuseReport.MaxPageCharacters; i++)
            {
                words.Append(System.Globalization.CultureInfo.InvariantCulture, $"word{i} ");
            }

            string corpus = Path.Combine(work.FullName, "book.jsonl"), folder = Path.Combine(work.FullName, "report");
            await File.WriteAllLinesAsync(corpus, [new JsonObject { ["id"] = "book", ["text"] = words + article }.ToJsonString(), new JsonObject { ["id"] = "article", ["text"] = article }.ToJsonString()]);
            using var error = new StringWriter();
            Assert.Equal(0, await CompareCli.RunAsync(["reuse", corpus, "--html", folder], new StringWriter(), error));

            string index = await File.ReadAllTextAsync(Path.Combine(folder, "index.html"));
            Assert.Contains("""<tr><td class="num">1</td><td>book</td><td>article</td>""", index, StringComparison.Ordinal);
            Assert.Contains("no page: the two texts have over 500,000 characters", index, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(Path.Combine(folder, "pairs")));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

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
