namespace Compare.Cli;

/// <summary>One file read as a text to compare or look up (diff, similar, passages).</summary>
internal static class TextFile
{
    /// <summary>
    /// The file's text (UTF-8, or as a byte order mark says; a malformed byte read as U+FFFD, as everywhere in the command
    /// line), or null with the reason in <paramref name="problem"/>: it cannot be read, it is a folder, or it holds a NUL
    /// byte, which no UTF-8 text does (an executable, an image, UTF-16 without its mark): its words would be noise and its
    /// bytes printed.
    /// </summary>
    public static string? Read(string path, out string? problem)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
            {
                problem = $"{path} is a folder; give a text file.";
                return null;
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = e.Message;
            return null;
        }

        // UTF-16 and UTF-32 carry NUL bytes: read as their byte order mark says, as File.ReadAllText does.
        bool marked = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])
            || bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF]);
        int nul = marked ? -1 : Array.IndexOf(bytes, (byte)0);
        if (nul >= 0)
        {
            problem = $"{path} is not text: it has a NUL byte at byte {nul:N0} (a binary file, or UTF-16 without a byte order mark; compare reads UTF-8).";
            return null;
        }

        problem = null;
        using var reader = new StreamReader(new MemoryStream(bytes), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }
}
