using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Compare.Core;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Similarity;
using Compare.Messages;
using Google.Protobuf;

namespace Compare.Cli;

/// <summary>
/// compare diff --html: one self-contained page, the browser view's side by side for two files. It carries the view's
/// own script and styles (embedded from the server's assets, not copied) and the comparison as the service's JSON, and
/// loads nothing: it opens from disk, offline, and can be mailed. Passages are numbered and coloured, hovering one lights
/// it in both texts and clicking it moves to its twin, as in the server's /view.
/// </summary>
internal static class HtmlReport
{
    private static readonly DocumentSketcher Sketcher = new(SketchParameters.Default);

    /// <summary>
    /// The comparison of two texts as the service's Compare answers it for the default collection's settings, with
    /// <paramref name="phrases"/> for the passages and what <paramref name="parts"/> asks for besides.
    /// </summary>
    public static V1.CompareResponse Compare(string left, string right, PhraseOptions phrases, ReportParts parts)
    {
        var options = new ComparisonOptions
        {
            Phrases = phrases,
            IncludeFuzzy = parts.Fuzzy,
            // The service's default (Limits:MaxPartialFuzzyCharacters), so that the ratios are the ones Compare answers.
            MaxPartialCharacters = 200,
            IncludeDiff = parts.Diff,
            IncludeSimilarSentences = parts.SimilarSentences,
        };
        return DocumentComparer.Compare(left, right, Sketcher, options).ToProto(options, maxPhrases: 0, maxBytes: int.MaxValue);
    }

    public static string Page(string leftName, string leftText, string rightName, string rightText, V1.CompareResponse comparison, ReportParts parts)
    {
        string data = $$"""{"left":{"title":{{JsonString(leftName)}},"text":{{JsonString(leftText)}}},"right":{"title":{{JsonString(rightName)}},"text":{{JsonString(rightText)}}},"comparison":{{JsonFormatter.Default.Format(comparison)}}}""";
        // Inside <script>, only "</" could end the element early; "<" as \u003c is the same JSON.
        data = data.Replace("<", "\\u003c", StringComparison.Ordinal);
        string title = WebUtility.HtmlEncode($"Compare: {leftName} and {rightName}");
        return $$"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
              <title>{{title}}</title>
              <style>
            {{Asset("compare.css")}}
              </style>
            </head>
            <body>
              <header class="top"><h1>Compare</h1><span>{{WebUtility.HtmlEncode(leftName)}} and {{WebUtility.HtmlEncode(rightName)}}</span></header>
              <main id="result"><p class="muted">This report needs JavaScript to show the passages.</p></main>
              <script type="application/json" id="comparison">{{data}}</script>
              <script type="module">
            {{Asset("compare.js")}}
            const report = JSON.parse(document.getElementById('comparison').textContent);
            renderComparison(document.getElementById('result'), report.left, report.right, report.comparison,
              { include_diff: {{(parts.Diff ? "true" : "false")}}, include_similar_sentences: {{(parts.SimilarSentences ? "true" : "false")}} });
              </script>
            </body>
            </html>
            """;
    }

    private static string JsonString(string value) => $"\"{JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping)}\"";

    /// <summary>The browser view's script or styles, as the server serves them from its assets.</summary>
    public static string Asset(string name)
    {
        using Stream stream = typeof(HtmlReport).Assembly.GetManifestResourceStream("report/" + name)
            ?? throw new InvalidOperationException($"The report's {name} is not embedded in the executable.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

/// <summary>What a comparison computes besides its scores and passages.</summary>
/// <param name="Fuzzy">FuzzySharp's ratios.</param>
/// <param name="Diff">The word diff.</param>
/// <param name="SimilarSentences">Similar sentence pairs: most of a pair's cost (about 12 ms for two news articles).</param>
internal sealed record ReportParts(bool Fuzzy, bool Diff, bool SimilarSentences)
{
    /// <summary>What diff --json prints.</summary>
    public static readonly ReportParts Json = new(Fuzzy: true, Diff: false, SimilarSentences: false);

    /// <summary>diff --html: everything the browser view shows.</summary>
    public static readonly ReportParts Page = new(Fuzzy: true, Diff: true, SimilarSentences: true);

    /// <summary>A page of reuse --html, one of hundreds: the passages, the scores and the word diff.</summary>
    public static readonly ReportParts BatchPage = new(Fuzzy: false, Diff: true, SimilarSentences: false);

    /// <summary>A pair of reuse --html listed without a page.</summary>
    public static readonly ReportParts Listed = new(Fuzzy: false, Diff: false, SimilarSentences: false);
}
