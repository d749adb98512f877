using System.Text.Json;

namespace Compare.TestSupport;

/// <summary>A generated document; a planted near-duplicate names the document it was edited from.</summary>
public sealed record SyntheticDocument(string Id, string Text, string? DuplicateOf, int Edits);

/// <summary>
/// Seeded synthetic news: documents of 8 to 24 BBC sentences drawn at random, and a known fraction of
/// planted near-duplicates: an earlier document with 1 to 4 word edits (a word replaced, deleted or
/// inserted). Recall can be measured at every size against the planted pairs.
/// </summary>
public static class SyntheticCorpus
{
    public static IEnumerable<SyntheticDocument> Generate(int count, int seed, double duplicateFraction = 0.1)
    {
        string[] sentences = [.. Corpus.Bbc().SelectMany(t => t.Split(". ", StringSplitOptions.RemoveEmptyEntries)).Where(s => s.Length > 40)];
        string[] words = [.. sentences.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct().Take(20_000)];
        var random = new Random(seed);
        // Originals are kept only in a bounded window, so a million documents are never all in memory.
        var recent = new List<(string Id, string Text)>(capacity: 1024);
        for (int i = 0; i < count; i++)
        {
            string id = $"doc-{i:D7}";
            if (recent.Count > 0 && random.NextDouble() < duplicateFraction)
            {
                (string originalId, string original) = recent[random.Next(recent.Count)];
                int edits = random.Next(1, 5);
                yield return new SyntheticDocument(id, Edit(original, edits, words, random), originalId, edits);
                continue;
            }

            string text = string.Join(". ", Enumerable.Range(0, random.Next(8, 25)).Select(_ => sentences[random.Next(sentences.Length)])) + ".";
            if (recent.Count == recent.Capacity)
            {
                recent[random.Next(recent.Count)] = (id, text);
            }
            else
            {
                recent.Add((id, text));
            }

            yield return new SyntheticDocument(id, text, null, 0);
        }
    }

    /// <summary>Writes the corpus as JSONL (id, text, and for planted duplicates duplicate_of and edits), the CLI's input format.</summary>
    public static void WriteJsonLines(string path, int count, int seed)
    {
        using var writer = new StreamWriter(path);
        foreach (SyntheticDocument d in Generate(count, seed))
        {
            writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["id"] = d.Id,
                ["text"] = d.Text,
                ["duplicate_of"] = d.DuplicateOf,
                ["edits"] = d.Edits,
            }));
        }
    }

    private static string Edit(string text, int edits, string[] vocabulary, Random random)
    {
        var tokens = text.Split(' ').ToList();
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(tokens.Count);
            switch (random.Next(3))
            {
                case 0:
                    tokens[at] = vocabulary[random.Next(vocabulary.Length)];
                    break;
                case 1 when tokens.Count > 1:
                    tokens.RemoveAt(at);
                    break;
                default:
                    tokens.Insert(at, vocabulary[random.Next(vocabulary.Length)]);
                    break;
            }
        }

        return string.Join(' ', tokens);
    }
}
