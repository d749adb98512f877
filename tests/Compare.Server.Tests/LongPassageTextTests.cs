using Compare.Core.Phrases;
using Compare.Server.Application;
using Compare.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Compare.Server.Tests;

/// <summary>
/// FindSharedPassages with a long indexed document (a "book" of 40 articles) quoted by short queries: the book is prepared
/// once and kept (<see cref="LongPassageTexts"/>), each query searches only where its runs meet it, and the answers are
/// Compare's passages of the query and the whole book, before and after the book is rewritten.
/// </summary>
public sealed class LongPassageTextTests
{
    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task FindSharedPassages_BookQuotedByShortTexts_AnswersAsTheWholeComparisonAndFollowsARewrite(string store)
    {
        using var directory = new TempDirectory();
        (WebApplication app, GrpcChannel channel) = await ServerFixture.StartAsync(settings: new()
        {
            ["Storage:Provider"] = store,
            ["Storage:Path"] = Path.Combine(directory.Path, "compare.db"),
        });
        await using (app)
        using (channel)
        {
            IReadOnlyList<(string Id, string Text)> bbc = TestData.BbcCorpus();
            string book = string.Join("\n\n", bbc.Skip(300).Take(40).Select(d => d.Text));
            Assert.True(book.Length >= 4 * PassageText.LongCharacters);
            var documents = new DocumentService.DocumentServiceClient(channel);
            var similarity = new SimilarityService.SimilarityServiceClient(channel);
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("", [("book", book), .. bbc.Take(30)]));

            // Quotes of the book's start, its end, across two of its articles, and twice the same passage, amid words it has not.
            string[] words = book.Split(' ');
            var random = new Random(2026);
            string Quote(int start, int length) => string.Join(' ', words[start..(start + length)]);
            string Filler() => string.Join(' ', Enumerable.Range(0, 12).Select(_ => "w" + random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            int across = book.IndexOf("\n\n", book.Length / 2, StringComparison.Ordinal);
            int acrossWord = book[..across].Split(' ').Length - 5;
            string[] queries =
            [
                $"{Quote(0, 15)} {Filler()} {Quote(words.Length - 20, 20)}",
                $"{Filler()} {Quote(acrossWord, 14)} {Filler()} {Quote(400, 9)} {Filler()} {Quote(400, 9)}",
                $"{Filler()} {Quote(1000, 30)} {Filler()}",
            ];

            LongPassageTexts kept = app.Services.GetRequiredService<LongPassageTexts>();
            foreach (string query in queries)
            {
                await AnswersAsTheWholeComparisonAsync(similarity, query, book);
            }

            (int count, long bytes) = kept.Held;
            Assert.Equal(1, count);
            Assert.InRange(bytes, 2L * book.Length, PassageText.LongCharacters * 1000L);
            // The first query read the book and kept it; the others used it without reading the book's text again.
            Assert.Equal(queries.Length - 1, kept.UsedUnread);

            // Rewritten: the quoted start is gone, and the answer follows the book as it is now, read again (its stored
            // content hash is no longer the kept text's), then kept in its new form.
            string rewritten = "A new opening. " + book[200..];
            await documents.UpsertDocumentsAsync(ServerFixture.Batch("", [("book", rewritten)]));
            PassageMatch after = await AnswersAsTheWholeComparisonAsync(similarity, queries[0], rewritten);
            Assert.Single(after.Passages);
            Assert.Equal(1, kept.Held.Count);
            Assert.Equal(queries.Length - 1, kept.UsedUnread);
            await AnswersAsTheWholeComparisonAsync(similarity, queries[1], rewritten);
            Assert.Equal(queries.Length, kept.UsedUnread);

            // Only its metadata changed: the stored hash covers it, so the text is read again rather than trusted.
            UpsertDocumentsRequest edition = ServerFixture.Batch("", [("book", rewritten)]);
            edition.Documents[0].Metadata.Add("edition", "2");
            await documents.UpsertDocumentsAsync(edition);
            await AnswersAsTheWholeComparisonAsync(similarity, queries[2], rewritten);
            Assert.Equal(queries.Length, kept.UsedUnread);
        }
    }

    // The book's match must be Compare's passages of the query and the whole book: spans, texts and counts.
    private static async Task<PassageMatch> AnswersAsTheWholeComparisonAsync(SimilarityService.SimilarityServiceClient similarity, string query, string book)
    {
        FindSharedPassagesResponse answer = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Query = new DocumentRef { Text = query }, TopK = 50 });
        SharedPhrases expected = SharedPhraseFinder.Find(query, book, new PhraseOptions { MinWords = 7 });
        PassageMatch match = Assert.Single(answer.Matches, m => m.Id == "book");
        Assert.NotEmpty(expected.Phrases);
        Assert.Equal(expected.LeftSharedWords, match.SharedWordCount);
        Assert.Equal(expected.RightCoverage, match.CoverageOfMatch, 12);
        Assert.Equal(expected.LeftCoverage, match.CoverageOfQuery, 12);
        Assert.Equal(
            expected.Phrases.Select(p => (p.Text, p.WordCount, p.LeftOccurrences.Count, p.Left.Start, p.Left.End, p.RightOccurrences.Count, p.Right.Start, p.Right.End)),
            match.Passages.Select(p => (p.Text, p.WordCount, p.LeftOccurrences.Count, p.Left.Start, p.Left.End, p.RightOccurrences.Count, p.Right.Start, p.Right.End)));
        return match;
    }
}
