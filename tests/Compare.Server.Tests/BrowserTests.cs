using System.Globalization;
using System.Text.Json;
using Compare.V1;
using Grpc.Core;
using Microsoft.Playwright;

namespace Compare.Server.Tests;

/// <summary>Debian's Chromium, driven by Playwright, shared by the browser tests.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Where Debian puts Chromium; COMPARE_CHROMIUM names another. scripts/test.sh installs it.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("COMPARE_CHROMIUM") ?? "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Missing Chromium fails the tests with the reason; it never skips them.
        Assert.True(File.Exists(ChromiumPath), $"Chromium is missing at {ChromiumPath}: scripts/test.sh installs Debian's chromium package.");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // No network but loopback here: keep Chromium from calling home.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>The side-by-side view, the paste form and the collection page in headless Chromium against the real server.</summary>
[Collection(ServerTestGroup.Name)]
public sealed class BrowserTests(ServerFixture server, BrowserFixture chromium) : IClassFixture<BrowserFixture>
{
    private readonly List<string> _pageErrors = [];

    // After a link's navigation, WaitForURLAsync waits for a load state even when asked for the commit only, once the URL
    // already matches, and in CI that wait twice never ended with the page loaded ("NetworkIdle event fired"). The URL is
    // polled instead, and the locators that follow wait for what they read.
    private static Task NavigatedToAsync(IPage page, string path) =>
        Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/{path}\\?"));

    private static readonly string[] RecurringWording = ["construction of the Silk Road Economic Belt", "Shanghai Cooperation Organization (SCO)"];

    /// <summary>Screenshots land in artifacts/browser at the repository root.</summary>
    private static string Artifact(string name)
    {
        string folder = Path.Combine(TestData.RepositoryRoot, "artifacts", "browser");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    private async Task<IPage> OpenAsync(string path, int width = 1280, int height = 900, Func<IPage, Task>? beforeLoading = null)
    {
        IPage page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        if (beforeLoading is not null)
        {
            await beforeLoading(page);
        }

        page.PageError += (_, error) => _pageErrors.Add(error);
        page.Console += (_, message) =>
        {
            // A collection with no Deduplicate yet answers its last one with 404, which the page expects.
            if (message.Type == "error" && !(message.Text.Contains("404", StringComparison.Ordinal) && message.Location.Contains("/duplicates", StringComparison.Ordinal)))
            {
                _pageErrors.Add($"{message.Text} ({message.Location})");
            }
        };
        await page.GotoAsync(new Uri(server.Address, path).ToString());
        return page;
    }

    /// <summary>Closes the page; a script error or a failed request on the way fails the test.</summary>
    private async Task CloseAsync(IPage page)
    {
        await page.CloseAsync();
        Assert.True(_pageErrors.Count == 0, "The page reported errors: " + string.Join("; ", _pageErrors));
    }

    /// <summary>The text each phrase has on one side: the marked pieces that carry its number, in order.</summary>
    private static async Task<Dictionary<int, string>> PhrasesOnSideAsync(IPage page, string side)
    {
        string json = await page.EvaluateAsync<string>(@"side => JSON.stringify([...document.querySelectorAll(`.side[data-side=""${side}""] mark`)]
            .map(m => [m.dataset.phrases, m.textContent]))", side);
        var phrases = new Dictionary<int, string>();
        foreach (string[] mark in JsonSerializer.Deserialize<string[][]>(json)!)
        {
            foreach (int phrase in mark[0].Split(' ').Select(p => int.Parse(p, CultureInfo.InvariantCulture)))
            {
                phrases[phrase] = phrases.GetValueOrDefault(phrase, "") + mark[1];
            }
        }

        return phrases;
    }

    /// <summary>Each recurring passage is marked on both sides as one phrase (the same number on each side).</summary>
    private static async Task<Dictionary<string, int>> AssertRecurringWordingMarkedOnBothSidesAsync(IPage page)
    {
        await page.Locator(".side[data-side=right] mark").First.WaitForAsync();
        Dictionary<int, string> left = await PhrasesOnSideAsync(page, "left"), right = await PhrasesOnSideAsync(page, "right");
        var found = new Dictionary<string, int>();
        foreach (string wording in RecurringWording)
        {
            int phrase = Assert.Single(left, p => p.Value.Contains(wording, StringComparison.Ordinal)).Key;
            Assert.True(right.TryGetValue(phrase, out string? twin), $"phrase {phrase} ('{wording}') is not marked on the right");
            Assert.Contains(wording, twin, StringComparison.OrdinalIgnoreCase);
            found[wording] = phrase;
        }

        return found;
    }

    [Fact]
    public async Task View_Seeds_MarksTheRecurringWordingOnBothSidesAndClickingOneFocusesItsTwin()
    {
        string c = await server.SeedsCollectionAsync();
        IPage page = await OpenAsync($"/view?collection={c}&left=2014&right=2016");

        Dictionary<string, int> phrases = await AssertRecurringWordingMarkedOnBothSidesAsync(page);

        foreach ((string wording, int phrase) in phrases)
        {
            await page.Locator($".side[data-side=left] mark[data-phrases~=\"{phrase}\"]").First.ClickAsync();
            string focused = await page.EvaluateAsync<string>("() => document.activeElement.closest('.side').dataset.side + '|' + document.activeElement.dataset.phrases");
            Assert.Equal("right", focused.Split('|')[0]);
            Assert.Contains(phrase.ToString(CultureInfo.InvariantCulture), focused.Split('|')[1].Split(' '));
            Assert.True(await page.Locator($".side[data-side=right] mark.twin[data-phrases~=\"{phrase}\"]").CountAsync() > 0, wording);
            Assert.True(await page.Locator($".side[data-side=left] mark.twin[data-phrases~=\"{phrase}\"]").CountAsync() > 0, wording);
        }

        // And back: a phrase on the right leads to its twin on the left.
        int sco = phrases["Shanghai Cooperation Organization (SCO)"];
        await page.Locator($".side[data-side=right] mark[data-phrases~=\"{sco}\"]").First.ClickAsync();
        Assert.Equal("left", await page.EvaluateAsync<string>("() => document.activeElement.closest('.side').dataset.side"));

        // The header carries the scores the API computed.
        string jaccard = ReferenceJaccard.Jaccard(TestData.Seed2014, TestData.Seed2016).ToString("F3", CultureInfo.InvariantCulture);
        ILocator first = page.Locator(".scores li").First;
        Assert.StartsWith("Jaccard ", await first.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(jaccard, await first.Locator("b").InnerTextAsync());
        foreach (string score in new[] { "Left in right", "Right in left", "Left coverage", "Right coverage", "Token set" })
        {
            Assert.Equal(1, await page.Locator(".scores li", new PageLocatorOptions { HasTextString = score }).CountAsync());
        }

        string screenshot = Artifact("view-seeds.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(screenshot)[..4]);
        await CloseAsync(page);
    }

    /// <summary>A side's text as the page shows it and the UTF-16 ranges of its marked pieces.</summary>
    private static async Task<(string Text, List<(int Start, int End)> Marked)> MarkedRangesAsync(IPage page, string side)
    {
        string json = await page.EvaluateAsync<string>(@"side => {
            const root = document.querySelector(`.side[data-side=""${side}""] .text`);
            let offset = 0;
            const ranges = [];
            for (const node of root.childNodes) {
              const length = node.textContent.length;
              if (node.nodeName === 'MARK') ranges.push([offset, offset + length]);
              offset += length;
            }
            return JSON.stringify({ text: root.textContent, ranges });
          }", side);
        using JsonDocument parsed = JsonDocument.Parse(json);
        var ranges = parsed.RootElement.GetProperty("ranges").EnumerateArray().Select(r => (r[0].GetInt32(), r[1].GetInt32())).ToList();
        return (parsed.RootElement.GetProperty("text").GetString()!, ranges);
    }

    /// <summary>Words (as the service counts them) that lie wholly inside marked ranges.</summary>
    private static int MarkedWords(string text, List<(int Start, int End)> marked) =>
        Compare.Core.Text.Tokenizer.Tokenize(text, Compare.Core.Text.NormalizationOptions.Default, 1)
            .Count(t => marked.Any(r => r.Start <= t.Start && t.End <= r.End) || InsideAdjacent(marked, t.Start, t.End));

    /// <summary>A word cut across two touching marked pieces (one passage ends where another starts) is marked too.</summary>
    private static bool InsideAdjacent(List<(int Start, int End)> marked, int start, int end)
    {
        int at = start;
        foreach ((int s, int e) in marked.OrderBy(r => r.Start))
        {
            if (s <= at && at < e)
            {
                at = e;
            }
        }

        return at >= end;
    }

    [Theory]
    [InlineData("2014", "2016")]
    [InlineData("2016", "2014")]
    public async Task View_Seeds_MarksEveryOccurrenceOnBothSidesAndItsCoverageIsTheMarkedWords(string left, string right)
    {
        string c = await server.SeedsCollectionAsync();
        IPage page = await OpenAsync($"/view?collection={c}&left={left}&right={right}");
        await page.Locator(".side[data-side=right] mark").First.WaitForAsync();
        CompareResponse api = await server.Similarity.CompareAsync(new CompareRequest { Collection = c, Left = new DocumentRef { Id = left }, Right = new DocumentRef { Id = right } });

        foreach ((string side, double coverage, int words) in new[] { ("left", api.LeftCoverage, api.LeftWordCount), ("right", api.RightCoverage, api.RightWordCount) })
        {
            (string text, List<(int Start, int End)> marked) = await MarkedRangesAsync(page, side);
            Assert.Equal(side == "left" ? (left == "2014" ? TestData.Seed2014 : TestData.Seed2016) : (right == "2014" ? TestData.Seed2014 : TestData.Seed2016), text);
            Assert.Equal((int)Math.Round(coverage * words), MarkedWords(text, marked));
            if (text == TestData.Seed2016)
            {
                // The 2016 report says "Silk Road Economic Belt" twice: both are marked, whichever side it is on.
                int[] occurrences = [.. System.Text.RegularExpressions.Regex.Matches(text, "Silk Road Economic Belt").Select(m => m.Index)];
                Assert.Equal(2, occurrences.Length);
                Assert.All(occurrences, at => Assert.True(InsideAdjacent(marked, at, at + "Silk Road Economic Belt".Length), $"unmarked at {at}"));
            }
        }

        // The summary lists the passages longest first, numbered as the marks are; a click selects every occurrence.
        IReadOnlyList<string> items = await page.Locator("ol.phrases li a").AllInnerTextsAsync();
        Assert.Equal(api.SharedPhrases.Select(p => p.Text), items);
        Assert.Equal("construction of the Silk Road Economic Belt", items[0]);
        int belt = items.ToList().IndexOf("Silk Road Economic Belt");
        Assert.True(belt > 0);
        await page.Locator($"ol.phrases li a[data-phrase=\"{belt}\"]").ClickAsync();
        Assert.Equal(api.SharedPhrases[belt].LeftOccurrences.Count, await page.Locator($".side[data-side=left] mark.twin[data-label=\"{belt + 1}\"]").CountAsync());
        Assert.Equal(api.SharedPhrases[belt].RightOccurrences.Count, await page.Locator($".side[data-side=right] mark.twin[data-label=\"{belt + 1}\"]").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifact($"view-seeds-{left}-{right}.png"), FullPage = true });
        await CloseAsync(page);
    }

    [Fact]
    public async Task StartPage_AnArticleQuotedInAnother_ListsTheQuoteFirstAndShowsTheDiffAndSentencesWhenAsked()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        string source = corpus[10].Text, other = corpus[400].Text;
        string[] paragraphs = source.Split("\n\n");
        string quote = paragraphs.OrderByDescending(p => p.Length).First();
        string quoting = other.Insert(other.IndexOf("\n\n", 200, StringComparison.Ordinal), $"\n\nAs an earlier report put it: \"{quote}\"");
        IPage page = await OpenAsync("/");
        await page.FillAsync("#left-text", source);
        await page.FillAsync("#right-text", quoting);
        await page.CheckAsync("#diff");
        await page.CheckAsync("#sentences");
        await page.ClickAsync("text=Compare the texts");
        await page.Locator(".side[data-side=right] mark").First.WaitForAsync();

        string first = await page.Locator("ol.phrases li a").First.InnerTextAsync();
        static string Words(string text) => Compare.Core.Text.Tokenizer.NormalizedText(text, Compare.Core.Text.NormalizationOptions.Default);
        Assert.StartsWith(Words(first.TrimEnd('…')), Words(quote), StringComparison.Ordinal); // the list shortens long passages
        Assert.True(await page.Locator("section[aria-label='Word diff'] del").CountAsync() > 0);
        Assert.True(await page.Locator("section[aria-label='Word diff'] ins").CountAsync() > 0);
        Assert.True(await page.Locator("section[aria-label='Similar sentences'] tbody tr").CountAsync() > 0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifact("view-quoting.png"), FullPage = true });
        await CloseAsync(page);
    }

    [Fact]
    public async Task View_OnAPhoneSizedWindow_StacksTheTextsWithoutSidewaysScrolling()
    {
        string c = await server.SeedsCollectionAsync();
        IPage page = await OpenAsync($"/view?collection={c}&left=2014&right=2016", width: 390, height: 844);
        await AssertRecurringWordingMarkedOnBothSidesAsync(page);

        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways");
        LocatorBoundingBoxResult left = (await page.Locator(".side[data-side=left]").BoundingBoxAsync())!, right = (await page.Locator(".side[data-side=right]").BoundingBoxAsync())!;
        Assert.True(right.Y >= left.Y + left.Height, "the right text should sit below the left one");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifact("view-seeds-phone.png") });
        await CloseAsync(page);
    }

    [Fact]
    public async Task StartPage_PastedTexts_ShowsTheComparisonInPlace()
    {
        IPage page = await OpenAsync("/");
        await page.FillAsync("#left-text", TestData.Seed2014);
        await page.FillAsync("#right-text", TestData.Seed2016);
        await page.ClickAsync("text=Compare the texts");

        await AssertRecurringWordingMarkedOnBothSidesAsync(page);
        Assert.True(await page.Locator("ol.phrases li", new PageLocatorOptions { HasTextString = "Silk Road Economic Belt" }).CountAsync() >= 1);
        await CloseAsync(page);
    }

    [Fact]
    public async Task StartPage_BridgingAReworded_MarksOnePhraseWithTheDifferingWordsSetApart()
    {
        string edited = TestData.Seed2016.Replace("the rotating presidency", "the revolving presidency", StringComparison.Ordinal);
        Assert.NotEqual(TestData.Seed2016, edited);
        IPage page = await OpenAsync("/");
        await page.FillAsync("#left-text", TestData.Seed2016);
        await page.FillAsync("#right-text", edited);
        await page.FillAsync("#bridge", "2");
        await page.ClickAsync("text=Compare the texts");
        await page.Locator(".side[data-side=right] mark").First.WaitForAsync();

        // One phrase runs across the changed word on both sides, the word itself set apart.
        ILocator leftBridged = page.Locator(".side[data-side=left] mark.bridged"), rightBridged = page.Locator(".side[data-side=right] mark.bridged");
        Assert.Equal("rotating", (await leftBridged.AllInnerTextsAsync()).Single().Trim());
        Assert.Equal("revolving", (await rightBridged.AllInnerTextsAsync()).Single().Trim());
        string phrase = (await rightBridged.GetAttributeAsync("data-phrases"))!;
        Assert.Equal(phrase, await leftBridged.GetAttributeAsync("data-phrases"));
        Dictionary<int, string> right = await PhrasesOnSideAsync(page, "right");
        Assert.Contains("take over the revolving presidency of the Shanghai Cooperation Organization (SCO)",
            right[int.Parse(phrase, CultureInfo.InvariantCulture)], StringComparison.Ordinal);
        await CloseAsync(page);
    }

    [Fact]
    public async Task SwaggerUi_UnderItsContentSecurityPolicy_RendersEveryOperationWithoutAViolation()
    {
        IPage page = await OpenAsync("/swagger/index.html");
        IResponse? html = await page.ReloadAsync();
        Assert.Contains("default-src 'self'", (await html!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
        await page.Locator(".opblock").First.WaitForAsync();
        Assert.True(await page.Locator(".opblock").CountAsync() >= 10);
        Assert.Contains("/v1/compare", await page.Locator(".opblock-summary-path").AllInnerTextsAsync());
        await CloseAsync(page);
    }

    [Fact]
    public async Task CollectionPage_OpenedAfterAnotherClientsDeduplicate_ShowsItsClusters()
    {
        string edited = TestData.Seed2014.Replace("Xi Jinping", "Xi", StringComparison.Ordinal);
        string c = await server.SeedsCollectionAsync(("2014-copy", edited));
        await foreach (DeduplicateResponse _ in server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c, Threshold = 0.5 }).ResponseStream.ReadAllAsync())
        {
        }

        IPage page = await OpenAsync($"/collections/{c}");
        ILocator cluster = page.Locator(".cluster");
        await cluster.WaitForAsync();
        Assert.Equal("2014", await cluster.Locator("h3 b").InnerTextAsync());
        Assert.Equal("2014-copy", await cluster.Locator("tbody tr td").First.InnerTextAsync());
        Assert.Contains("Finished", await page.Locator("#clusters p").First.InnerTextAsync(), StringComparison.Ordinal);
        await CloseAsync(page);
    }

    [Fact]
    public async Task CollectionPage_AfterDeduplicate_ListsTheClusterAndLinksToTheSideBySideView()
    {
        // An id as the CLI makes them from a folder: a relative path, here with a space and an accent.
        const string EditedId = "copies/2016 édité.txt";
        string edited = TestData.Seed2016.Replace("Kazakhstan", "Kazakstan", StringComparison.Ordinal);
        string c = await server.SeedsCollectionAsync((EditedId, edited));
        // The page's first question, its last Deduplicate (none yet), is answered only after the page's own run:
        // the late "none" must not replace the run's clusters.
        var lateAnswer = new TaskCompletionSource();
        IPage page = await OpenAsync($"/collections/{c}", beforeLoading: p => p.RouteAsync("**/duplicates", async route =>
        {
            IAPIResponse none = await route.FetchAsync();
            await lateAnswer.Task;
            await route.FulfillAsync(new RouteFulfillOptions { Response = none });
        }));
        await page.Locator("td", new PageLocatorOptions { HasTextString = EditedId }).WaitForAsync();

        await page.FillAsync("#threshold", "0.5");
        await page.ClickAsync("text=Find duplicates");
        ILocator cluster = page.Locator(".cluster");
        await cluster.WaitForAsync();
        Task<IResponse> answered = page.WaitForResponseAsync("**/duplicates");
        lateAnswer.SetResult();
        await answered;
        await page.WaitForTimeoutAsync(200);
        Assert.Equal(1, await cluster.CountAsync());
        Assert.Equal(1, await cluster.CountAsync());
        Assert.Equal("2016", await cluster.Locator("h3 b").InnerTextAsync());
        string jaccard = ReferenceJaccard.Jaccard(TestData.Seed2016, edited).ToString("F3", CultureInfo.InvariantCulture);
        Assert.Equal([EditedId, jaccard], (await cluster.Locator("tbody tr td").AllInnerTextsAsync()).Take(2));

        await cluster.Locator("a", new LocatorLocatorOptions { HasTextString = "side by side" }).ClickAsync();
        await NavigatedToAsync(page, "view");
        Assert.Equal((EditedId, "2016"), (await page.Locator(".side[data-side=left] h2").InnerTextAsync(), await page.Locator(".side[data-side=right] h2").InnerTextAsync()));
        await page.Locator(".side[data-side=right] mark").First.WaitForAsync();
        Assert.StartsWith("Home", await page.Locator(".side[data-side=left] .text").InnerTextAsync(), StringComparison.Ordinal);
        await CloseAsync(page);
    }

    [Fact]
    public async Task CollectionPage_SharedPassagesOfADocument_ListsTheDocumentsQuotingItAndLinksToTheSideBySideView()
    {
        string c = await server.SeedsCollectionAsync(("unrelated", TestData.BbcCorpus()[0].Text));

        IPage page = await OpenAsync($"/collections/{c}");
        // Figures as English writes them, whatever the browser's language: the 2014 report's characters in its row.
        ILocator report = page.Locator("tr", new PageLocatorOptions { HasTextString = "2014" });
        Assert.Contains(TestData.Seed2014.EnumerateRunes().Count().ToString("N0", CultureInfo.InvariantCulture), await report.Locator("td.num").AllInnerTextsAsync());
        await report.Locator("a", new LocatorLocatorOptions { HasTextString = "shared passages" }).ClickAsync();
        await NavigatedToAsync(page, "passages");
        ILocator row = page.Locator("tbody tr");
        await row.First.WaitForAsync();
        Assert.Equal(1, await row.CountAsync()); // the unrelated article shares nothing
        Assert.Equal("2016", await row.Locator("td").First.InnerTextAsync());
        Assert.Contains(await row.Locator("q").AllInnerTextsAsync(), q => q.Contains("Silk Road Economic Belt", StringComparison.Ordinal));
        Assert.Contains("at least 7 words", await page.Locator("p.muted").First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await row.Locator("q").AllInnerTextsAsync(), q => q.Contains("Shanghai Cooperation Organization", StringComparison.Ordinal));

        // Shorter passages, asked for on the page: the organisation's name (6 words) is shown beside the Silk Road.
        Assert.Equal("7", await page.InputValueAsync("#words"));
        await page.FillAsync("#words", "4");
        await page.Locator("button", new PageLocatorOptions { HasTextString = "Search again" }).ClickAsync();
        await page.WaitForURLAsync("**/passages?**words=4**");
        await page.Locator("tbody tr q").First.WaitForAsync();
        row = page.Locator("tbody tr");
        Assert.Contains(await row.Locator("q").AllInnerTextsAsync(), q => q == "of the Shanghai Cooperation Organization (SCO)");
        Assert.Contains("passages from 4 words are shown for the documents found", await page.Locator("p.muted").First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("2016", await row.First.Locator("td").First.InnerTextAsync());

        await row.Locator("a", new LocatorLocatorOptions { HasTextString = "side by side" }).ClickAsync();
        await NavigatedToAsync(page, "view");
        Assert.Equal(("2014", "2016"), (await page.Locator(".side[data-side=left] h2").InnerTextAsync(), await page.Locator(".side[data-side=right] h2").InnerTextAsync()));
        await CloseAsync(page);
    }

    [Fact]
    public async Task View_UnderApiKeys_AsksForTheKeyAndShowsTheTextsOnceGiven()
    {
        const string Key = "browser-key-0123456789abcdef";
        (Microsoft.AspNetCore.Builder.WebApplication app, Grpc.Net.Client.GrpcChannel channel) = await ServerFixture.StartAsync(settings: new() { ["Security:ApiKeys:0"] = Key });
        await using (app)
        using (channel)
        {
            await new DocumentService.DocumentServiceClient(channel).UpsertDocumentsAsync(ServerFixture.Seeds(), new Metadata { { "authorization", $"Bearer {Key}" } });

            IPage page = await chromium.Browser.NewPageAsync();
            await page.GotoAsync(new Uri(new Uri(app.Urls.Single()), "/view?left=2014&right=2016").ToString());
            ILocator error = page.Locator("[role=alert]");
            await error.WaitForAsync();
            Assert.Contains("Enter the API key", await error.InnerTextAsync(), StringComparison.Ordinal);

            await page.FillAsync("#api-key", Key);
            await page.Locator("#api-key").DispatchEventAsync("change");
            await page.ReloadAsync();
            await AssertRecurringWordingMarkedOnBothSidesAsync(page);
            await page.CloseAsync();
        }
    }
}
