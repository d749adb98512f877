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
}
