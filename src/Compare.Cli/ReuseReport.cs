using System.Globalization;
using System.Net;
using System.Text;
using Compare.Cli.Input;
using Compare.Core.Phrases;

namespace Compare.Cli;

/// <summary>
/// compare reuse --html DIR: the pairs that share the most words, as WCopyfind reports them. DIR/index.html lists them
/// best first (shared words, coverage of each side, the longest passage), each linked to its own page DIR/pairs/N.html,
/// the diff --html page of the two documents. Only the best pairs are held while the corpus is read (a bounded heap of
/// positions and counts); their texts are read again at the end.
/// </summary>
internal sealed class ReuseReport(string directory, int maxPairs)
{
    public string Directory { get; } = directory;

    // The worst pair kept comes out first: fewest shared words, then the later pair, so that the kept ones do not depend
    // on the order pairs are found in.
    private readonly PriorityQueue<Kept, Kept> _best = new(Comparer<Kept>.Create((a, b) =>
        a.Words != b.Words ? a.Words.CompareTo(b.Words) : a.Left != b.Left ? b.Left.CompareTo(a.Left) : b.Right.CompareTo(a.Right)));

    private readonly Lock _gate = new();

    /// <summary>
    /// The most characters of a pair's two texts that get a page: each page carries both texts whole, so a book quoted by
    /// hundreds of articles would otherwise be written hundreds of times. Such a pair is listed without a page.
    /// </summary>
    public const int MaxPageCharacters = 500_000;

    /// <summary>Refuses a path that is a file before any work.</summary>
    public static string? Problem(string directory) =>
        File.Exists(directory) ? $"--html {directory}: that is a file; name a folder for the report (it is made if missing)" : null;

    public void Offer(ReusePair pair)
    {
        var kept = new Kept(pair.Left, pair.Right, pair.Shared.LeftSharedWords, pair.Shared.RightSharedWords);
        lock (_gate)
        {
            _best.Enqueue(kept, kept);
            if (_best.Count > maxPairs)
            {
                _best.Dequeue();
            }
        }
    }

    /// <summary>Writes the pages of the pairs kept, reading their texts again; the index last, so that its links hold.</summary>
    public int Write(CorpusFile corpus, ReuseOptions options, ReuseCounts counts, CancellationToken cancellationToken)
    {
        Kept[] pairs = [.. _best.UnorderedItems.Select(i => i.Element).OrderByDescending(p => p.Words).ThenBy(p => p.Left).ThenBy(p => p.Right)];
        int[] positions = [.. pairs.SelectMany(p => new[] { p.Left, p.Right }).Distinct().Order()];
        Dictionary<int, string> texts = positions.Zip(corpus.ReadAt(positions, cancellationToken)).ToDictionary(t => t.First, t => t.Second);
        var phrases = new PhraseOptions { MinWords = options.MinWords, MaxBridgeWords = options.MaxBridgeWords, Normalization = options.Normalization };
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "pairs"));
        var rows = new string[pairs.Length];
        Parallel.For(0, pairs.Length, new ParallelOptions { CancellationToken = cancellationToken }, k =>
        {
            (string leftId, string rightId) = (corpus.Ids[pairs[k].Left], corpus.Ids[pairs[k].Right]);
            (string left, string right) = (texts[pairs[k].Left], texts[pairs[k].Right]);
            if (left.Length + right.Length > MaxPageCharacters)
            {
                rows[k] = Row(k, null, leftId, rightId, pairs[k], HtmlReport.Compare(left, right, phrases, ReportParts.Listed));
                return;
            }

            V1.CompareResponse answer = HtmlReport.Compare(left, right, phrases, ReportParts.BatchPage);
            string page = PageName(k);
            LinesOutput.WriteFile(Path.Combine(Directory, page), [HtmlReport.Page(leftId, left, rightId, right, answer, ReportParts.BatchPage)]);
            rows[k] = Row(k, page, leftId, rightId, pairs[k], answer);
        });
        LinesOutput.WriteFile(Path.Combine(Directory, "index.html"), [Index(rows, options, counts)]);
        return pairs.Length;
    }

    private static string PageName(int rank) => string.Create(CultureInfo.InvariantCulture, $"pairs/{rank + 1:D5}.html");

    /// <summary>A row of the index; without a page, the ids are not links and the longest passage says why.</summary>
    private static string Row(int rank, string? page, string leftId, string rightId, Kept pair, V1.CompareResponse answer)
    {
        string longest = answer.SharedPhrases.Count > 0 ? H(ServerCommands.Excerpt(answer.SharedPhrases[0].Text)) : string.Empty;
        if (page is null)
        {
            longest += string.Create(CultureInfo.InvariantCulture, $" <span class=\"muted\">(no page: the two texts have over {MaxPageCharacters:N0} characters)</span>");
        }

        string Link(string id) => page is null ? H(id) : $"<a href=\"{page}\">{H(id)}</a>";
        return string.Create(CultureInfo.InvariantCulture,
            $"<tr><td class=\"num\">{rank + 1}</td><td>{Link(leftId)}</td><td>{Link(rightId)}</td><td class=\"num\">{pair.LeftWords:N0} · {pair.RightWords:N0}</td><td class=\"num\">{answer.LeftCoverage * 100:F1}%</td><td class=\"num\">{answer.RightCoverage * 100:F1}%</td><td class=\"num\">{answer.TotalPhraseCount}</td><td>{longest}</td></tr>");
    }

    private static string Index(string[] rows, ReuseOptions options, ReuseCounts counts)
    {
        string shown = rows.Length < counts.PairsFound ? $"the {rows.Length:N0} that share the most words of {counts.PairsFound:N0}" : $"all {rows.Length:N0}";
        var page = new StringBuilder();
        page.Append(CultureInfo.InvariantCulture, $$"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
              <title>Compare: shared passages of {{counts.DocumentCount:N0}} documents</title>
              <style>
            {{HtmlReport.Asset("compare.css")}}
              </style>
            </head>
            <body>
              <header class="top"><h1>Compare</h1><span>shared passages of {{options.MinWords}}+ words{{(options.MaxBridgeWords > 0 ? $", bridging {options.MaxBridgeWords}" : "")}} in {{counts.DocumentCount:N0}} documents</span></header>
              <main>
                <p>{{counts.PairsFound:N0}} pairs of documents share passages; {{shown}} are listed, most shared words first. Each opens the two texts side by side.</p>
                <table class="sentences">
                  <thead><tr><th class="num">#</th><th>Left</th><th>Right</th><th class="num">Shared words (left · right)</th><th class="num">Of left</th><th class="num">Of right</th><th class="num">Passages</th><th>Longest passage</th></tr></thead>
                  <tbody>

            """);
        foreach (string row in rows)
        {
            page.Append("      ").AppendLine(row);
        }

        page.Append("""
                  </tbody>
                </table>
              </main>
            </body>
            </html>
            """);
        return page.ToString();
    }

    private static string H(string text) => WebUtility.HtmlEncode(text);

    private readonly record struct Kept(int Left, int Right, int LeftWords, int RightWords)
    {
        public int Words => LeftWords + RightWords;
    }
}
