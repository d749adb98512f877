using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Compare.Core.Text;

namespace Compare.Core.Indexing;

/// <summary>
/// Compact binary form of a <see cref="DocumentSketch"/> that records the format version and
/// every parameter it was made with, so a stored sketch is never read under other parameters.
/// Layout (little-endian): "CMPS", version u16, kind u8, shingle size u8, normalisation flags u8,
/// scheme u8, permutations u16, seed u64, shingle count u32, shingles u64[], signature u32[].
/// </summary>
public static class SketchCodec
{
    private const uint Magic = 0x53504D43; // "CMPS"
    private const int HeaderBytes = 4 + 2 + 1 + 1 + 1 + 1 + 2 + 8 + 4;

    /// <summary>Bytes needed to encode <paramref name="sketch"/>.</summary>
    public static int EncodedLength(DocumentSketch sketch)
    {
        ArgumentNullException.ThrowIfNull(sketch);
        return HeaderBytes + (sketch.Shingles.Length * 8) + (sketch.Signature.Length * 4);
    }

    /// <summary>Encodes a sketch made with <paramref name="parameters"/>.</summary>
    public static byte[] Encode(DocumentSketch sketch, SketchParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(sketch);
        ArgumentNullException.ThrowIfNull(parameters);
        if (sketch.Signature.Length != parameters.NumPermutations)
        {
            throw new ArgumentException("The signature length does not match the parameters.", nameof(sketch));
        }

        var bytes = new byte[EncodedLength(sketch)];
        Span<byte> span = bytes;
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], SketchParameters.FormatVersion);
        span[6] = (byte)parameters.Kind;
        span[7] = (byte)parameters.ShingleSize;
        span[8] = Flags(parameters.Normalization);
        span[9] = (byte)parameters.Scheme;
        BinaryPrimitives.WriteUInt16LittleEndian(span[10..], (ushort)parameters.NumPermutations);
        BinaryPrimitives.WriteUInt64LittleEndian(span[12..], parameters.Seed);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)sketch.Shingles.Length);
        Span<byte> setBytes = span.Slice(HeaderBytes, sketch.Shingles.Length * 8);
        Span<byte> signatureBytes = span[(HeaderBytes + setBytes.Length)..];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(sketch.Shingles.AsSpan()).CopyTo(setBytes);
            MemoryMarshal.AsBytes(sketch.Signature.AsSpan()).CopyTo(signatureBytes);
        }
        else
        {
            for (int i = 0; i < sketch.Shingles.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(setBytes[(i * 8)..], sketch.Shingles[i]);
            }

            for (int i = 0; i < sketch.Signature.Length; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(signatureBytes[(i * 4)..], sketch.Signature[i]);
            }
        }

        return bytes;
    }

    /// <summary>
    /// Decodes a sketch, checking that it was written by this format version with
    /// <paramref name="expected"/> parameters; throws <see cref="FormatException"/> saying what differs.
    /// </summary>
    public static DocumentSketch Decode(ReadOnlySpan<byte> bytes, SketchParameters expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (bytes.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw new FormatException("Not a Compare sketch.");
        }

        int version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]);
        if (version != SketchParameters.FormatVersion)
        {
            throw new FormatException($"Sketch format version {version} cannot be read by format version {SketchParameters.FormatVersion}; re-index the documents.");
        }

        var stored = new SketchParameters
        {
            Kind = (ShingleKind)bytes[6],
            ShingleSize = bytes[7],
            Normalization = new NormalizationOptions((bytes[8] & 1) != 0, (bytes[8] & 2) != 0, (bytes[8] & 4) != 0),
            Scheme = (SignatureScheme)bytes[9],
            NumPermutations = BinaryPrimitives.ReadUInt16LittleEndian(bytes[10..]),
            Seed = BinaryPrimitives.ReadUInt64LittleEndian(bytes[12..]),
        };
        if (stored != expected)
        {
            throw new FormatException($"Sketch was made with {stored}, expected {expected}.");
        }

        int shingles = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]);
        if (bytes.Length != HeaderBytes + ((long)shingles * 8) + (stored.NumPermutations * 4))
        {
            throw new FormatException("Sketch length does not match its header.");
        }

        var set = new ulong[shingles];
        var signature = new uint[stored.NumPermutations];
        ReadOnlySpan<byte> setBytes = bytes.Slice(HeaderBytes, shingles * 8);
        ReadOnlySpan<byte> signatureBytes = bytes[(HeaderBytes + (shingles * 8))..];
        if (BitConverter.IsLittleEndian)
        {
            // The stored layout is the memory layout: one copy each (restarts decode millions of sketches).
            setBytes.CopyTo(MemoryMarshal.AsBytes(set.AsSpan()));
            signatureBytes.CopyTo(MemoryMarshal.AsBytes(signature.AsSpan()));
        }
        else
        {
            for (int i = 0; i < set.Length; i++)
            {
                set[i] = BinaryPrimitives.ReadUInt64LittleEndian(setBytes[(i * 8)..]);
            }

            for (int i = 0; i < signature.Length; i++)
            {
                signature[i] = BinaryPrimitives.ReadUInt32LittleEndian(signatureBytes[(i * 4)..]);
            }
        }

        return new DocumentSketch(set, signature);
    }

    private static byte Flags(NormalizationOptions options) =>
        (byte)((options.FoldDigits ? 1 : 0) | (options.FoldDiacritics ? 2 : 0) | (options.CjkBigrams ? 4 : 0));
}
