using System.Buffers;
using System.IO.Compression;

namespace Compare.Cli.Input;

/// <summary>
/// Standard input, which can be read only once, kept as it is read so that a run can read it again: in blocks of
/// 4 MB, each compressed on the pool (Deflate, fastest; news text keeps about a third of its size). The blocks may
/// take at most half of the memory the process may use (checked as each block is kept, so a few blocks being
/// compressed may pass it); a larger input is refused, naming the way out (a file).
/// </summary>
internal sealed class StandardInputSource(Func<Stream> openStandardInput, long? limit = null) : InputSource
{
    /// <summary>Bytes of input a block holds.</summary>
    public const int BlockBytes = 4 << 20;
    private readonly List<Task<Block>> _blocks = [];
    private readonly long _limit = limit ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
    private RetainingStream? _first;
    private long _kept;

    public override string Name => "standard input";

    public override long Length => 0;

    public override long Consumed => _first?.BytesRead ?? 0;

    /// <summary>The first call reads standard input itself; later ones read what was kept (the rest of the input is read first).</summary>
    public override Stream Open()
    {
        if (_first is null)
        {
            return _first = new RetainingStream(this, openStandardInput());
        }

        _first.ReadToEnd();
        return new ReplayStream([.. _blocks.Select(b => b.GetAwaiter().GetResult())]);
    }

    public override void Dispose()
    {
        _first?.Release();
        base.Dispose();
    }

    private readonly record struct Block(byte[] Compressed, int Length);

    private void Keep(byte[] block, int length)
    {
        // As many blocks compress at once as there are cores; the reader waits for the oldest beyond that.
        if (_blocks.Count >= Environment.ProcessorCount)
        {
            _blocks[^Environment.ProcessorCount].GetAwaiter().GetResult();
        }

        if (Interlocked.Read(ref _kept) > _limit)
        {
            throw new IOException($"standard input is over {_limit / 1_000_000:N0} MB even compressed in memory; give the input as a file (gzipped or not) instead.");
        }

        _blocks.Add(Task.Run(() =>
        {
            try
            {
                using var compressed = new MemoryStream(length / 3);
                using (var deflate = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                {
                    deflate.Write(block, 0, length);
                }

                Interlocked.Add(ref _kept, compressed.Length);
                return new Block(compressed.ToArray(), length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }));
    }

    /// <summary>
    /// Standard input, each byte also kept in the current block. A reader that stops early and disposes it does not end
    /// the keeping: the next <see cref="Open"/> reads the rest; the block goes back when the source is disposed.
    /// </summary>
    private sealed class RetainingStream(StandardInputSource owner, Stream input) : ForwardStream
    {
        private byte[] _block = ArrayPool<byte>.Shared.Rent(BlockBytes);
        private int _filled;
        private bool _ended;

        public long BytesRead { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            if (_ended)
            {
                return 0;
            }

            int read = input.Read(buffer[..Math.Min(buffer.Length, BlockBytes - _filled)]);
            buffer[..read].CopyTo(_block.AsSpan(_filled));
            _filled += read;
            BytesRead += read;
            if (_filled == BlockBytes || (read == 0 && _filled > 0))
            {
                owner.Keep(_block, _filled);
                _block = read == 0 ? [] : ArrayPool<byte>.Shared.Rent(BlockBytes);
                _filled = 0;
            }

            _ended = read == 0 && buffer.Length > 0;
            return read;
        }

        public void ReadToEnd()
        {
            byte[] scratch = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                while (Read(scratch) > 0)
                {
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }

        /// <summary>Gives the current block back and closes standard input.</summary>
        public void Release()
        {
            if (_block.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_block);
                _block = [];
            }

            _ended = true;
            input.Dispose();
        }
    }

    /// <summary>The kept blocks, decompressed one at a time.</summary>
    private sealed class ReplayStream(Block[] blocks) : ForwardStream
    {
        private byte[] _current = [];
        private int _next, _at, _length;

        public override int Read(Span<byte> buffer)
        {
            while (_at == _length)
            {
                if (_next == blocks.Length)
                {
                    return 0;
                }

                Block block = blocks[_next++];
                if (_current.Length < block.Length)
                {
                    if (_current.Length > 0)
                    {
                        ArrayPool<byte>.Shared.Return(_current);
                    }

                    _current = ArrayPool<byte>.Shared.Rent(block.Length);
                }

                using var deflate = new DeflateStream(new MemoryStream(block.Compressed), CompressionMode.Decompress);
                deflate.ReadExactly(_current, 0, block.Length);
                (_at, _length) = (0, block.Length);
            }

            int count = Math.Min(buffer.Length, _length - _at);
            _current.AsSpan(_at, count).CopyTo(buffer);
            _at += count;
            return count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && _current.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = [];
            }

            base.Dispose(disposing);
        }
    }
}
