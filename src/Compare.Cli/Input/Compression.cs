using System.IO.Compression;

namespace Compare.Cli.Input;

/// <summary>
/// The compressions a file input (or a kept corpus) may have, told by its last extension: gzip (.gz) and Zstandard (.zst, .zstd; several
/// frames one after another, as zstd and pzstd write them, are one stream). The name before it tells the format.
/// </summary>
internal static class Compression
{
    private static readonly string[] Extensions = [".gz", ".zst", ".zstd"];

    /// <summary>The compression extension <paramref name="path"/> ends with, or null.</summary>
    public static string? Of(string path) => Extensions.FirstOrDefault(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary><paramref name="path"/> without its compression extension: the name that tells the format.</summary>
    public static string Without(string path) => Of(path) is { } extension ? path[..^extension.Length] : path;

    /// <summary>
    /// A stream that writes into <paramref name="output"/>, the file at <paramref name="path"/>, compressed as its name says
    /// (gzip at its default level, as the gzip program writes; Zstandard at its default, 3); disposing it finishes the
    /// file and closes it.
    /// </summary>
    public static Stream Compressing(string path, Stream output) => Of(path)?.ToUpperInvariant() switch
    {
        ".GZ" => new GZipStream(output, CompressionLevel.Optimal),
        ".ZST" or ".ZSTD" => new ZstdSharp.CompressionStream(output, level: 3, leaveOpen: false),
        _ => output,
    };

    /// <summary>The decompressed bytes of <paramref name="compressed"/>, the file at <paramref name="path"/>; disposing it closes the file.</summary>
    public static Stream Decompressing(string path, Stream compressed) => Of(path)?.ToUpperInvariant() switch
    {
        ".GZ" => new GZipStream(compressed, CompressionMode.Decompress),
        ".ZST" or ".ZSTD" => new ZstandardInput(path, new ZstdSharp.DecompressionStream(compressed, leaveOpen: false)),
        _ => compressed,
    };

    /// <summary>
    /// Zstandard's decompressed bytes, its faults told as every unreadable input's are (<see cref="InvalidDataException"/>
    /// naming the file): ZstdSharp throws its own exception for bytes that are not Zstandard, and a bare end of stream
    /// for a file cut short.
    /// </summary>
    private sealed class ZstandardInput(string path, ZstdSharp.DecompressionStream decompressing) : ForwardStream
    {
        public override int Read(Span<byte> buffer)
        {
            try
            {
                return decompressing.Read(buffer);
            }
            catch (ZstdSharp.ZstdException e)
            {
                throw new InvalidDataException($"{path}: not readable as Zstandard ({e.Message}).", e);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{path}: it ends inside a Zstandard frame (cut short?).", e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                decompressing.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
