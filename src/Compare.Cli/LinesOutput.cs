using System.Text;
using Compare.Cli.Input;

namespace Compare.Cli;

/// <summary>
/// Where a command's lines go: the file given (UTF-8 without a BOM, compressed as its name says: .gz, .zst), or
/// standard output.
/// </summary>
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

    public static void WriteFile(string path, IEnumerable<string> lines)
    {
        using TextWriter file = Open(path, path);
        foreach (string line in lines)
        {
            file.WriteLine(line);
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> with a writer for lines made one at a time: standard output, or a file beside
    /// <paramref name="path"/> that replaces it only once <paramref name="write"/> has returned, so a run that fails
    /// halfway leaves no half-written file.
    /// </summary>
    public static T Stream<T>(TextWriter output, string? path, Func<TextWriter, T> write) =>
        StreamAsync(output, path, writer => Task.FromResult(write(writer))).GetAwaiter().GetResult();

    /// <inheritdoc cref="Stream{T}"/>
    public static async Task<T> StreamAsync<T>(TextWriter output, string? path, Func<TextWriter, Task<T>> write)
    {
        if (path is null)
        {
            return await write(output).ConfigureAwait(false);
        }

        string partial = $"{path}.partial-{Environment.ProcessId}";
        try
        {
            T result;
            using (TextWriter file = Open(partial, path))
            {
                result = await write(file).ConfigureAwait(false);
            }

            File.Move(partial, path, overwrite: true);
            return result;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>A writer into <paramref name="file"/>, compressed as <paramref name="name"/> says, through a 1 MB buffer.</summary>
    private static StreamWriter Open(string file, string name) =>
        new(Compression.Compressing(name, new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20)), new UTF8Encoding(false));
}
