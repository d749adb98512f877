using System.Text;

namespace Compare.Cli;

/// <summary>Where a command's lines go: the file given (UTF-8 without a BOM), or standard output.</summary>
internal static class LinesOutput
{
    public static void Write(TextWriter output, string? path, IEnumerable<string> lines)
    {
        if (path is not null)
        {
            WriteFile(path, lines);
            return;
        }

        foreach (string line in lines)
        {
            output.WriteLine(line);
        }
    }

    public static void WriteFile(string path, IEnumerable<string> lines) => File.WriteAllLines(path, lines, new UTF8Encoding(false));

    /// <summary>
    /// Runs <paramref name="write"/> with a writer for lines made one at a time: standard output, or a file beside
    /// <paramref name="path"/> that replaces it only once <paramref name="write"/> has returned, so a run that fails
    /// halfway leaves no half-written file.
    /// </summary>
    public static T Stream<T>(TextWriter output, string? path, Func<TextWriter, T> write)
    {
        if (path is null)
        {
            return write(output);
        }

        string partial = $"{path}.partial-{Environment.ProcessId}";
        try
        {
            T result;
            using (var file = new StreamWriter(partial, append: false, new UTF8Encoding(false)))
            {
                result = write(file);
            }

            File.Move(partial, path, overwrite: true);
            return result;
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
