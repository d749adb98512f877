using System.IO.Compression;
using Microsoft.Win32.SafeHandles;

namespace Compare.Cli.Input;

/// <summary>
/// Where the bytes of a file input come from, read again as often as a run needs: a plain file (again at any
/// offset), a compressed file (<see cref="Compression"/>: decompressed again from its start), or standard input, which cannot be read twice and
/// is kept in memory, compressed, as it is read. Offsets are in the decompressed bytes.
/// </summary>
internal abstract class InputSource : IDisposable
{
    /// <summary>What messages call the input: its path, or "standard input".</summary>
    public abstract string Name { get; }

    /// <summary>Bytes of the underlying file for progress; 0 when not known (standard input).</summary>
    public abstract long Length { get; }

    /// <summary>Bytes of the underlying file consumed by the stream opened last.</summary>
    public abstract long Consumed { get; }

    /// <summary>The source's bytes from the start.</summary>
    public abstract Stream Open();

    /// <summary>A reader of byte ranges at ascending offsets.</summary>
    public virtual RangeReader OpenRanges() => new ForwardRanges(this);

    /// <summary>The source for <paramref name="path"/>: standard input for "-", a compressed file for ".gz", ".zst" or ".zstd", else a plain file.</summary>
    public static InputSource For(string path, Func<Stream> openStandardInput)
    {
        ArgumentNullException.ThrowIfNull(openStandardInput);
        if (path == InputSpec.StandardInput)
        {
            return new StandardInputSource(openStandardInput);
        }

        return Compression.Of(path) is not null ? new CompressedSource(path) : new PlainFileSource(path);
    }

    public virtual void Dispose()
    {
    }

    /// <summary>Reads ranges of a source at ascending offsets.</summary>
    public abstract class RangeReader : IDisposable
    {
        /// <summary>Fills <paramref name="destination"/> with the bytes at <paramref name="offset"/>; fewer at the end of the source.</summary>
        /// <returns>How many bytes were read.</returns>
        public abstract int Read(long offset, Span<byte> destination);

        public abstract void Dispose();
    }

    private sealed class PlainFileSource(string path) : InputSource
    {
        private FileStream? _last;

        public override string Name => path;

        public override long Length => new FileInfo(path).Length;

        public override long Consumed => _last is { } stream && stream.SafeFileHandle is { IsClosed: false } ? stream.Position : Length;

        public override Stream Open() => _last = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);

        public override RangeReader OpenRanges() => new RandomAccessRanges(File.OpenHandle(path));

        private sealed class RandomAccessRanges(SafeFileHandle file) : RangeReader
        {
            public override int Read(long offset, Span<byte> destination)
            {
                int total = 0;
                while (total < destination.Length)
                {
                    int read = RandomAccess.Read(file, destination[total..], offset + total);
                    if (read == 0)
                    {
                        break;
                    }

                    total += read;
                }

                return total;
            }

            public override void Dispose() => file.Dispose();
        }
    }

    private sealed class CompressedSource(string path) : InputSource
    {
        private FileStream? _file;

        public override string Name => path;

        public override long Length => new FileInfo(path).Length;

        public override long Consumed => _file is { } file && file.SafeFileHandle is { IsClosed: false } ? file.Position : Length;

        public override Stream Open()
        {
            _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            return Compression.Decompressing(path, _file);
        }
    }

    /// <summary>Ranges read by reading forward from the start, again from the start when asked for an earlier offset.</summary>
    private sealed class ForwardRanges(InputSource source) : RangeReader
    {
        private Stream? _stream;
        private long _position;

        public override int Read(long offset, Span<byte> destination)
        {
            if (_stream is null || offset < _position)
            {
                _stream?.Dispose();
                _stream = source.Open();
                _position = 0;
            }

            Skip(offset - _position);
            int read = _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
            _position += read;
            return read;
        }

        public override void Dispose() => _stream?.Dispose();

        private void Skip(long count)
        {
            if (count == 0)
            {
                return;
            }

            byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(count, 1 << 16));
            try
            {
                while (count > 0)
                {
                    int read = _stream!.Read(scratch, 0, (int)Math.Min(count, scratch.Length));
                    if (read == 0)
                    {
                        return;
                    }

                    count -= read;
                    _position += read;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }
}

/// <summary>
/// The compressions a file input may have, told by its last extension: gzip (.gz) and Zstandard (.zst, .zstd; several
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
    /// (gzip at its default level, as the gzip program writes; Zstandard at its default, 3); disposing it finishes the file and
    /// closes it.
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
