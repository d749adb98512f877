using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Compare.Server.Storage;

/// <summary>The content hash a document is stored with, and the check every read of its text makes against it.</summary>
public static class DocumentHash
{
    // Texts up to this many chars are encoded whole into one pooled buffer (three bytes a char at most) to be hashed.
    private const int WholeTextChars = 64 * 1024;

    /// <summary>
    /// A 64-bit hash of text and metadata that is the same on every machine: XXH3 (seed 0) over the text's UTF-8
    /// bytes, then for each metadata entry in ordinal key order the UTF-8 byte lengths of key and value (32-bit
    /// little-endian, so no two different maps feed the same bytes) and their UTF-8 bytes.
    /// </summary>
    public static ulong Of(string text, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.Count == 0 && text.Length <= WholeTextChars)
        {
            // Most documents: their bytes hashed at once, which is the same hash as appended in slices, without an XxHash3
            // and a sort of no metadata to allocate for each one of an ingest's documents.
            byte[] buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
            try
            {
                return XxHash3.HashToUInt64(buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer)));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        var hash = new XxHash3();
        AppendUtf8(hash, text);
        Span<byte> lengths = stackalloc byte[8];
        foreach (KeyValuePair<string, string> kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            BinaryPrimitives.WriteInt32LittleEndian(lengths, Encoding.UTF8.GetByteCount(kv.Key));
            BinaryPrimitives.WriteInt32LittleEndian(lengths[4..], Encoding.UTF8.GetByteCount(kv.Value));
            hash.Append(lengths);
            AppendUtf8(hash, kv.Key);
            AppendUtf8(hash, kv.Value);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    private static void AppendUtf8(XxHash3 hash, string value)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(Math.Min(value.Length, 4096)));
        try
        {
            // In slices, so a 10 MB text needs no 30 MB buffer; a slice never ends inside a surrogate pair.
            for (int start = 0; start < value.Length;)
            {
                int end = Math.Min(value.Length, start + 4096);
                if (end < value.Length && char.IsHighSurrogate(value[end - 1]))
                {
                    end--;
                }

                int written = Encoding.UTF8.GetBytes(value.AsSpan(start, end - start), buffer);
                hash.Append(buffer.AsSpan(0, written));
                start = end;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The document, after checking its text and metadata against the hash it was stored with: bytes altered on disk
    /// (or in a backing server) are <see cref="DocumentDamagedException"/>, never served as the document.
    /// </summary>
    public static StoredDocument Verified(StoredDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (document.Text is null)
        {
            throw new ArgumentException("Only a document read with its text can be verified.", nameof(document));
        }

        return IsWhole(document)
            ? document
            : throw new DocumentDamagedException(document.Id, "its text or metadata no longer match the content hash it was stored with");
    }

    /// <summary>Whether a document read with its text still has the content hash it was stored with.</summary>
    public static bool IsWhole(StoredDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return document.Text is not null && Of(document.Text, document.Metadata) == document.ContentHash;
    }
}
