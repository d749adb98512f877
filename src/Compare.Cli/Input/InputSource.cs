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
