namespace Compare.Cli.Input;

/// <summary>A corpus read into memory: ids and texts in input order, and how many records were skipped.</summary>
internal sealed record LoadedCorpus(List<string> Ids, List<string> Texts, int Skipped);

/// <summary>
/// Reads a whole input for dedup and index: malformed records and repeated ids are reported as
/// "FILE:LINE: reason; skipped", or end the run under --strict.
/// </summary>
internal static class CorpusLoader
{
    /// <summary>The corpus, or null after writing why it cannot be read (the exit code is then <see cref="CompareCli.InputError"/>).</summary>
    public static LoadedCorpus? Load(string path, InputFields fields, bool strict, TextWriter error, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var texts = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int skipped = 0;
        InputProblem? fatal = null;
        try
        {
            foreach (InputDocument d in DocumentReader.Read(path, fields, Report))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (fatal is not null)
                {
                    break;
                }

                if (!seen.Add(d.Id))
                {
                    Report(new InputProblem(d.Source, $"id \"{d.Id}\" was already read"));
                    continue;
                }

                ids.Add(d.Id);
                texts.Add(d.Text);
            }
        }
        catch (Exception e) when (e is IOException or NotSupportedException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"compare: {e.Message}");
            return null;
        }

        if (fatal is not null)
        {
            error.WriteLine($"compare: {fatal.Source}: {fatal.Reason} (--strict).");
            return null;
        }

        return new LoadedCorpus(ids, texts, skipped);

        void Report(InputProblem problem)
        {
            if (strict)
            {
                fatal ??= problem;
                return;
            }

            skipped++;
            error.WriteLine($"compare: {problem.Source}: {problem.Reason}; skipped.");
        }
    }
}
