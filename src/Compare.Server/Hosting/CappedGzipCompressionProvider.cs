using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;

namespace Compare.Server.Hosting;

/// <summary>
/// gzip for gRPC messages whose decompression stops at the receive limit. grpc-dotnet checks
/// MaxReceiveMessageSize against the compressed length only, then inflates into memory without a
/// bound: a 64 MB request of zeros would inflate to tens of gigabytes.
/// </summary>
internal sealed class CappedGzipCompressionProvider(int maxBytes) : ICompressionProvider
{
    public string EncodingName => "gzip";

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        new GZipStream(stream, compressionLevel ?? CompressionLevel.Fastest, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream stream) =>
        new CappedReadStream(new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true), maxBytes);

    private sealed class CappedReadStream(Stream inner, long maxBytes) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            _read += read;
            if (_read > maxBytes)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"The request inflates past {maxBytes:N0} bytes when decompressed; the limit is Limits:MaxReceiveMessageBytes."));
            }

            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
