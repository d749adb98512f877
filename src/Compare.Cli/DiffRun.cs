using System.Globalization;
using System.Text;
using Compare.Core.Phrases;
using Google.Protobuf;

namespace Compare.Cli;

/// <summary>compare diff: the passages two files share, each text printed with its shared words highlighted, then the passages with every occurrence.</summary>
internal static class DiffRun
{
    private const string Highlight = "\u001b[30;43m"; // black on yellow: readable on dark and light terminals
    private const string Reset = "\u001b[0m";

    public static int Run(TextWriter output, TextWriter error, string leftPath, string rightPath, PhraseOptions options, bool json, bool? color, string? htmlPath = null)
    {
        if (TextFile.Read(leftPath, out string? problem) is not { } left || TextFile.Read(rightPath, out problem) is not { } right)
        {
            error.WriteLine($"compare: {problem}");
            return CompareCli.InputError;
        }

        bool useColor = color ?? (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")));
        if (json || htmlPath is not null)
        {
            return Report(output, error, (leftPath, left), (rightPath, right), options, json, htmlPath);
        }

        SharedPhrases shared = SharedPhraseFinder.Find(left, right, options);
        if (!shared.Complete)
        {
            WarnIncomplete(error);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{shared.Phrases.Count} shared passage{(shared.Phrases.Count == 1 ? "" : "s")}; they cover {shared.LeftCoverage:P1} of {leftPath} and {shared.RightCoverage:P1} of {rightPath}."));
        output.WriteLine();
        output.WriteLine($"== {leftPath}");
        output.WriteLine(Mark(left, shared.LeftShared.Concat(shared.Phrases.SelectMany(p => p.LeftOccurrences)), useColor));
        output.WriteLine();
        output.WriteLine($"== {rightPath}");
        output.WriteLine(Mark(right, shared.RightShared.Concat(shared.Phrases.SelectMany(p => p.RightOccurrences)), useColor));
        output.WriteLine();
        output.WriteLine("== shared passages, longest first (code point offsets of every occurrence: left; right)");
        foreach (SharedPhrase p in shared.Phrases)
        {
            string words = p.WordCount == p.RightWordCount ? $"{p.WordCount} words" : $"{p.WordCount}/{p.RightWordCount} words";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Spans(p.LeftOccurrences)}; {Spans(p.RightOccurrences)} {words}: {p.Text}"));
        }

        return CompareCli.Ok;
    }

    /// <summary>
    /// The whole comparison as the service's Compare answer carries it (scores, FuzzySharp ratios, passages; for the
    /// report also the word diff and similar sentences): as JSON on standard output, or as an HTML page.
    /// </summary>
    private static int Report(TextWriter output, TextWriter error, (string Name, string Text) left, (string Name, string Text) right, PhraseOptions options,
        bool json, string? htmlPath)
    {
        V1.CompareResponse answer = HtmlReport.Compare(left.Text, right.Text, options, htmlPath is null ? ReportParts.Json : ReportParts.Page);
        if (answer.PhrasesTruncated)
        {
            WarnIncomplete(error);
        }

        if (htmlPath is not null)
        {
            try
            {
                LinesOutput.WriteFile(htmlPath, [HtmlReport.Page(left.Name, left.Text, right.Name, right.Text, answer, ReportParts.Page)]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"compare: {e.Message}");
                return CompareCli.InputError;
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare: {Counted.Of(answer.TotalPhraseCount, "shared passage")}, Jaccard {answer.Jaccard:F3}; the report is {htmlPath}."));
        }

        if (json)
        {
            answer.Diff.Clear();
            answer.SimilarSentences.Clear();
            output.WriteLine(JsonFormatter.Default.Format(answer));
        }

        return CompareCli.Ok;
    }

    private static void WarnIncomplete(TextWriter error) =>
        error.WriteLine("compare: the texts repeat the same wording so often that the passage search stopped at its work bound; some passages are not listed.");

    private static string Spans(IEnumerable<TextSpan> spans) =>
        string.Join(' ', spans.Select(s => string.Create(CultureInfo.InvariantCulture, $"[{s.Start}..{s.End})")));

    // Spans are in code points; the text is indexed in UTF-16 units. Without colour, phrases are [[bracketed]].
    private static string Mark(string text, IEnumerable<TextSpan> spans, bool color)
    {
        var utf16At = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
        {
            utf16At.Add(i);
        }

        utf16At.Add(text.Length);
        var marked = new StringBuilder(text.Length + 64);
        int position = 0;
        foreach (TextSpan span in MergeOverlaps(spans))
        {
            int start = utf16At[span.Start], end = utf16At[span.End];
            marked.Append(text, position, start - position);
            marked.Append(color ? Highlight : "[[").Append(text, start, end - start).Append(color ? Reset : "]]");
            position = end;
        }

        return marked.Append(text, position, text.Length - position).ToString();
    }

    private static List<TextSpan> MergeOverlaps(IEnumerable<TextSpan> spans)
    {
        var merged = new List<TextSpan>();
        foreach (TextSpan span in spans.OrderBy(s => s.Start))
        {
            if (merged.Count > 0 && span.Start <= merged[^1].End)
            {
                merged[^1] = new TextSpan(merged[^1].Start, Math.Max(merged[^1].End, span.End));
            }
            else
            {
                merged.Add(span);
            }
        }

        return merged;
    }
}
