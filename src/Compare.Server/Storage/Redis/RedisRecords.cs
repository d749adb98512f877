using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// A collection as stored in the collections hash; the generation keeps a recreated (or upgraded) collection's keys apart
/// from its predecessor's, and the layout says how its keys are laid out (records written before layouts are of layout 1).
/// </summary>
internal sealed record RedisCollection(string Name, string SettingsJson, long CreateTime, string Generation, int Layout)
{
    public CollectionSettings Settings { get; } = CollectionSettingsCodec.Decode(SettingsJson);

    /// <summary>A new generation: 8 random letters and digits (41 bits), short because every key of the collection carries it.</summary>
    public static string NewGeneration() => RandomNumberGenerator.GetString("0123456789abcdefghijklmnopqrstuvwxyz", 8);

    // Exactly as stored, since transactions compare it: layout 1 records have four parts.
    public string Serialize() => JsonSerializer.Serialize(Layout == 1
        ? new[] { Name, SettingsJson, CreateTime.ToString(CultureInfo.InvariantCulture), Generation }
        : [Name, SettingsJson, CreateTime.ToString(CultureInfo.InvariantCulture), Generation, Layout.ToString(CultureInfo.InvariantCulture)]);

    public static RedisCollection Deserialize(string json)
    {
        string[] parts = JsonSerializer.Deserialize<string[]>(json) ?? throw new StoreFormatException("A stored collection record is empty.");
        return new RedisCollection(parts[0], parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), parts[3],
            parts.Length > 4 ? int.Parse(parts[4], CultureInfo.InvariantCulture) : 1);
    }
}

/// <summary>
/// What a write and a query need of a stored document besides its text: content hash, UTF-8 size, creation time, the
/// sequence number of its write (the order of writes, and its handle in the grouped sets; 40 bits) and its count of
/// passage fingerprints (24 bits). 28 bytes, which with Redis's string header fit a 32-byte allocation.
/// </summary>
internal sealed record RedisVersion(ulong ContentHash, int Utf8Length, long CreateTime, long Sequence, int Passages)
{
    private const int Size = 28;
    private const int MaxPassages = (1 << 24) - 1;
    private const int SequenceBits = 40;

    public long Handle => Sequence;

    public byte[] Encode()
    {
        Debug.Assert(Sequence is >= 0 and <= GroupEntry.MaxHandle);
        var bytes = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ContentHash);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), Utf8Length);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), CreateTime);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(20), Sequence | ((long)Math.Min(Passages, MaxPassages) << SequenceBits));
        return bytes;
    }

    /// <summary>A stored version, or null when its bytes are damaged.</summary>
    public static RedisVersion? Decode(RedisValue value)
    {
        ReadOnlySpan<byte> bytes = ((ReadOnlyMemory<byte>)value).Span;
        if (bytes.Length != Size)
        {
            return null;
        }

        long last = BinaryPrimitives.ReadInt64LittleEndian(bytes[20..]);
        return new RedisVersion(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[12..]), last & ((1L << SequenceBits) - 1), (int)((ulong)last >> SequenceBits));
    }

    /// <summary>The order of writes: by sequence number, then id.</summary>
    public int CompareTo(RedisVersion other, string id, string otherId)
    {
        int bySequence = Sequence.CompareTo(other.Sequence);
        return bySequence != 0 ? bySequence : string.CompareOrdinal(id, otherId);
    }

    public DocumentVersion ToDocumentVersion() => new(ContentHash, Utf8Length, DateTimeOffset.FromUnixTimeMilliseconds(CreateTime));
}

/// <summary>
/// A stored document: a 37-byte header (format, content hash, times, shingle count, length, metadata size), its metadata
/// as JSON when it has any, and its text as UTF-8, unescaped.
/// </summary>
internal sealed record RedisDocumentRecord(string Text, IReadOnlyDictionary<string, string> Metadata, int ShingleCount, int Length, ulong ContentHash,
    long CreateTime, long UpdateTime)
{
    private const byte Format = 5;
    private const int HeaderSize = 37;

    public static RedisDocumentRecord From(DocumentWrite w) =>
        new(w.Content.Text, w.Content.Metadata, w.Sketch.Shingles.Length, w.Content.Length, w.Content.ContentHash,
            w.CreateTime.ToUnixTimeMilliseconds(), w.UpdateTime.ToUnixTimeMilliseconds());

    public byte[] Encode()
    {
        byte[] metadata = Metadata.Count == 0 ? []
            : JsonSerializer.SerializeToUtf8Bytes(Metadata.ToDictionary(StringComparer.Ordinal), SettingsJson.Default.DictionaryStringString);
        var bytes = new byte[HeaderSize + metadata.Length + Encoding.UTF8.GetByteCount(Text)];
        bytes[0] = Format;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), ContentHash);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), CreateTime);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), UpdateTime);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(25), ShingleCount);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(29), Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(33), metadata.Length);
        metadata.CopyTo(bytes.AsSpan(HeaderSize));
        Encoding.UTF8.GetBytes(Text, bytes.AsSpan(HeaderSize + metadata.Length));
        return bytes;
    }

    /// <summary>A stored record; <see cref="DocumentDamagedException"/> when its bytes cannot be read as one.</summary>
    public static RedisDocumentRecord Decode(RedisValue value, string id)
    {
        ReadOnlySpan<byte> bytes = ((ReadOnlyMemory<byte>)value).Span;
        int metadataSize = bytes.Length >= HeaderSize ? BinaryPrimitives.ReadInt32LittleEndian(bytes[33..]) : -1;
        if (bytes.Length < HeaderSize || bytes[0] != Format || metadataSize < 0 || metadataSize > bytes.Length - HeaderSize)
        {
            throw new DocumentDamagedException(id, "its record cannot be read");
        }

        Dictionary<string, string> metadata = [];
        try
        {
            if (metadataSize > 0)
            {
                metadata = JsonSerializer.Deserialize(bytes.Slice(HeaderSize, metadataSize), SettingsJson.Default.DictionaryStringString) ?? [];
            }

            string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes[(HeaderSize + metadataSize)..]);
            return new RedisDocumentRecord(text, metadata, BinaryPrimitives.ReadInt32LittleEndian(bytes[25..]), BinaryPrimitives.ReadInt32LittleEndian(bytes[29..]),
                BinaryPrimitives.ReadUInt64LittleEndian(bytes[1..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[9..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[17..]));
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            throw new DocumentDamagedException(id, "its record cannot be read");
        }
    }

    public StoredDocument ToStored(string id, bool includeText) =>
        new(id, includeText ? Text : null, Metadata, ShingleCount, Length, ContentHash,
            DateTimeOffset.FromUnixTimeMilliseconds(CreateTime), DateTimeOffset.FromUnixTimeMilliseconds(UpdateTime));
}

/// <summary>How layouts 1 to 4 stored a document and its version: read only by the upgrade to layout 5.</summary>
internal static class LegacyRecords
{
    /// <summary>
    /// A layout 1-4 version (content hash, UTF-8 size, creation time, then, once there were any, sequence number, handle and
    /// passage count, separated by colons): what the upgrade keeps of it.
    /// </summary>
    public static (ulong ContentHash, int Utf8Length, long CreateTime, long Sequence) Version(string version)
    {
        string[] parts = version.Split(':');
        return (ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture),
            long.Parse(parts[2], CultureInfo.InvariantCulture), parts.Length > 3 ? long.Parse(parts[3], CultureInfo.InvariantCulture) : 0);
    }

    /// <summary>A layout 1-4 record (JSON), as a layout 5 one; null when it cannot be read.</summary>
    public static RedisDocumentRecord? Record(RedisValue value)
    {
        try
        {
            return JsonSerializer.Deserialize<Json>((string)value!) is { Text: { } text } r
                ? new RedisDocumentRecord(text, r.Metadata ?? [], r.ShingleCount, r.Length, r.ContentHash, r.CreateTime, r.UpdateTime)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Json(string? Text, Dictionary<string, string>? Metadata, int ShingleCount, int Length, ulong ContentHash, long CreateTime, long UpdateTime);
}
