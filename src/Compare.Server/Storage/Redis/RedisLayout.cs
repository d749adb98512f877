using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using StackExchange.Redis;

namespace Compare.Server.Storage.Redis;

/// <summary>
/// A collection's keys, all under one hash tag so that a Redis Cluster keeps them in one slot. From layout 5 the tag is
/// the key prefix and a short generation ({compare:k3x9q2mz}) and the grouped sets' names follow it without a separator:
/// a collection holds about seven set keys a document, and every byte of their names is paid for in each of them.
/// </summary>
internal readonly struct RedisKeys(string prefix, RedisCollection record)
{
    /// <summary>The collection's record these keys were named from.</summary>
    public RedisCollection Record => record;

    public string Tag { get; } = record.Layout >= 5 ? $"{{{prefix}:{record.Generation}}}" : $"{{{prefix}:c:{record.Name}:{record.Generation}}}";

    public RedisKey Config => Tag + ":config";

    /// <summary>Each document's <see cref="RedisVersion"/>, by id.</summary>
    public RedisKey Versions => Tag + ":versions";

    /// <summary>Each document's <see cref="RedisDocumentRecord"/>, by id.</summary>
    public RedisKey Documents => Tag + ":docs";

    /// <summary>
    /// The hash holding the id of the document with <paramref name="handle"/> (the field <see cref="HandleField"/>): what the
    /// grouped sets lead to. 128 handles a hash, so that Redis keeps each as one small listpack (hash-max-listpack-entries)
    /// rather than an entry of a large hash table: about 20 bytes a document instead of 56.
    /// </summary>
    public RedisKey HandleChunk(long handle) => string.Create(CultureInfo.InvariantCulture, $"{Tag}h{handle >> 7:x}");

    /// <summary>The field of <paramref name="handle"/> in its <see cref="HandleChunk"/>.</summary>
    public static RedisValue HandleField(long handle) => handle & 127;

    /// <summary>Every id, for listing in id order.</summary>
    public RedisKey Ids => Tag + ":ids";

    public RedisKey TextBytes => Tag + ":text-bytes";

    public RedisKey DeduplicateResult => Tag + ":deduplicate-result";

    public RedisKey Frequencies => Tag + ":frequencies";

    public RedisKey WriteLock => Tag + ":write-lock";

    /// <summary>The last sequence number given, which is also the last handle.</summary>
    public RedisKey Sequence => Tag + ":sequence";

    /// <summary>The generation an unfinished upgrade was writing (its keys are removed before the next one starts).</summary>
    public RedisKey UpgradingTo => Tag + ":upgrading-to";

    /// <summary>Every key of the collection, as a SCAN pattern.</summary>
    public string Pattern => GlobEscape(Tag) + "*";

    /// <summary>The set holding <paramref name="entry"/>: a band bucket group (g) or a forest group (f).</summary>
    public RedisKey Group(GroupEntry entry) =>
        string.Create(CultureInfo.InvariantCulture, $"{Tag}{(entry.Forest ? 'f' : 'g')}{entry.Band}:{entry.Group:x}:{entry.Range:x}");

    /// <summary>Every bucket group, or every forest group, of the collection, as a SCAN pattern.</summary>
    public string GroupPattern(bool forest) => GlobEscape(Tag) + (forest ? "f*" : "g*");

    /// <summary>The entry (band, group number and range; no member) named by a key made by <see cref="Group"/>.</summary>
    public static GroupEntry ParseGroup(string key)
    {
        ReadOnlySpan<char> name = key.AsSpan(key.LastIndexOf('}') + 1);
        int first = name.IndexOf(':'), second = name.LastIndexOf(':');
        return new GroupEntry(name[0] == 'f', int.Parse(name[1..first], CultureInfo.InvariantCulture),
            int.Parse(name[(first + 1)..second], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            long.Parse(name[(second + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture), 0, 0);
    }

    /// <summary>The string of passage entries of <paramref name="group"/> in <paramref name="range"/> (<see cref="PassageEntry"/>).</summary>
    public RedisKey PassageGroup(int range, uint group) => string.Create(CultureInfo.InvariantCulture, $"{Tag}q{range:x}:{group:x}");

    /// <summary>Layout 5's set of passage entries of <paramref name="group"/> in <paramref name="range"/> (<see cref="Layout5PassageEntry"/>).</summary>
    public RedisKey Layout5PassageGroup(int group, long range) => string.Create(CultureInfo.InvariantCulture, $"{Tag}p{group:x}:{range:x}");

    /// <summary>Every passage group of the collection, as a SCAN pattern.</summary>
    public string PassagePattern => GlobEscape(Tag) + "q*";

    /// <summary>A key or tag as a SCAN pattern that matches it literally.</summary>
    public static string GlobEscape(string text)
    {
        var escaped = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}

/// <summary>
/// A document's place in one band of the band buckets or of the prefix forest. Entries are grouped so that Redis keeps
/// them as sets of integers (intsets, 8 bytes a member) with enough members a key that the key's own cost (about 130
/// bytes with its place in Redis's key table) is shared: the group is the band, the key's top 12 bits and a range of
/// handles; the member is the key's next 23 bits (the tag) and the document's handle. A query reads one group a band and
/// range; a member of the group with another tag belongs to another bucket, and two buckets alike in all 35 bits only
/// add a candidate, which verification drops. A bucket's member is, in decimal, its tag + 1 followed by the handle in 12
/// digits, so that a query asks Redis for its bucket's members only (SSCAN MATCH <see cref="BucketMatch"/>) rather than
/// for the whole group (244 members a band at 1,000,000 documents); a forest member is the tag above a 40-bit handle,
/// since a one-value probe compares the tag's top bits, which no decimal pattern selects.
/// <para>
/// Redis keeps a set compactly only up to 512 members (set-max-intset-entries); past it, about 50 bytes a member. A
/// bucket group holds N / 4,096 members a band (24 at 100,000 documents, 244 at 1,000,000) and a range of 2^20 handles
/// keeps it under 256 however large the collection grows. The forest's prefixes are not spread so evenly: a first value
/// held by many documents (a common shingle's, the minimum of every text holding it) puts them all in one group, which
/// with ranges of 2^20 grew past 512 in a third of the groups at 1,000,000 synthetic documents (626 B a document); its
/// ranges are 2^18.
/// </para>
/// </summary>
internal readonly record struct GroupEntry(bool Forest, int Band, int Group, long Range, long Tag, long Member)
{
    public const int GroupBits = 12;
    public const long MaxHandle = DecimalHandles - 1;
    private const int HandleBits = 40;
    private const long DecimalHandles = 1_000_000_000_000;
    private const int TagBits = 23;

    // The forest's first value takes a prefix key's top 24 bits (PrefixForest): a one-value probe compares those, the
    // group's 12 and the tag's top 12; deeper probes compare all 35.
    private const int FirstValueTagBits = 24 - GroupBits;

    /// <summary>The entry of <paramref name="handle"/> under a band key (or, <paramref name="forest"/>, a prefix key).</summary>
    public static GroupEntry Of(bool forest, int band, ulong key, long handle)
    {
        Debug.Assert(handle is >= 0 and <= MaxHandle);
        long tag = (long)((key >> (64 - GroupBits - TagBits)) & ((1UL << TagBits) - 1));
        return new GroupEntry(forest, band, (int)(key >> (64 - GroupBits)), handle >> RangeBits(forest), tag,
            forest ? (tag << HandleBits) | handle : ((tag + 1) * DecimalHandles) + handle);
    }

    /// <summary>A SSCAN pattern for the members of this entry's bucket in its group: the tag + 1, then 12 digits.</summary>
    public string BucketMatch => string.Create(CultureInfo.InvariantCulture, $"{Tag + 1}????????????");

    /// <summary>The entry a query reads for a key in <paramref name="range"/> (its member is meaningless).</summary>
    public GroupEntry InRange(long range) => this with { Range = range };

    /// <summary>How many ranges the handles up to <paramref name="lastHandle"/> take.</summary>
    public static long RangesUpTo(bool forest, long lastHandle) => (lastHandle >> RangeBits(forest)) + 1;

    public long HandleOf(long member) => Forest ? member & ((1L << HandleBits) - 1) : member % DecimalHandles;

    /// <summary>The bits of a member's tag that a probe of <paramref name="depth"/> prefix values compares (a bucket: all).</summary>
    public long TagOf(long member, int depth) => Forest ? Shorten(member >> HandleBits, depth) : (member / DecimalHandles) - 1;

    /// <summary>The bits of this entry's tag that a probe of <paramref name="depth"/> prefix values compares.</summary>
    public long TagAt(int depth) => Shorten(Tag, depth);

    private static int RangeBits(bool forest) => forest ? 18 : 20;

    private static long Shorten(long tag, int depth) => depth == 1 ? tag >> (TagBits - FirstValueTagBits) : tag;
}

/// <summary>
/// Where a passage fingerprint's holder is kept (layout 6): in a string of fixed-width little-endian entries, one string
/// per range of handles and group of the fingerprint's top bits, read by name for each of a query's fingerprints (one MGET
/// a range), so that a query reads its fingerprints' groups, not the collection.
/// <para>
/// The ranges double: handles below 2^15, then [2^15, 2^16), [2^16, 2^17) and so on, so that a collection of N documents
/// has about log2(N / 2^14) ranges, and a query reads that many strings a fingerprint (6 at 1,000,000 documents; layout
/// 5's ranges of 2^15 handles took 31). A range of 2^b handles takes groups of b + 1 top bits: a full range holds about
/// half a document's fingerprints in each group whatever its size (~100 entries, 400 bytes, on news), and an entry, the
/// fingerprint's other 31 - b bits above the handle's b bits in its range, takes 31 bits, stored as 4 bytes. From handle
/// 2^31 the group is the whole fingerprint and an entry is the handle's place in its range: 4 bytes, 8 past handle 2^33.
/// </para>
/// <para>
/// Strings rather than sets: Redis keeps a string of entries in as many bytes as an intset of them, with no 512-member
/// limit, and a query reads a group as one value rather than as members to parse. A write appends (APPEND); removing
/// entries rewrites the string, read first under the writer's lease.
/// </para>
/// </summary>
internal static class PassageEntry
{
    private const int FirstRangeBits = 15;

    /// <summary>The range holding <paramref name="handle"/>.</summary>
    public static int RangeOf(long handle)
    {
        Debug.Assert(handle >= 0);
        return handle < 1L << FirstRangeBits ? 0 : BitOperations.Log2((ulong)handle) - FirstRangeBits + 1;
    }

    /// <summary>How many ranges the handles up to <paramref name="lastHandle"/> take.</summary>
    public static int RangesUpTo(long lastHandle) => RangeOf(lastHandle) + 1;

    /// <summary>The bytes an entry of <paramref name="range"/> takes: 4, or 8 past handle 2^33.</summary>
    public static int Width(int range) => (32 - GroupBits(range)) + OffsetBits(range) <= 32 ? 4 : 8;

    /// <summary>The group of <paramref name="fingerprint"/> in <paramref name="range"/>: its top bits.</summary>
    public static uint GroupOf(uint fingerprint, int range) => fingerprint >> (32 - GroupBits(range));

    /// <summary>The entry of <paramref name="fingerprint"/> held by <paramref name="handle"/>, in the handle's range.</summary>
    public static ulong Entry(uint fingerprint, long handle)
    {
        int range = RangeOf(handle);
        return (TagOf(fingerprint, range) << OffsetBits(range)) | (ulong)(handle - RangeStart(range));
    }

    /// <summary>The bits of <paramref name="fingerprint"/> an entry of <paramref name="range"/> holds (those its group does not name).</summary>
    public static ulong TagOf(uint fingerprint, int range) => fingerprint & ((1UL << (32 - GroupBits(range))) - 1);

    /// <summary>The fingerprint bits held by <paramref name="entry"/> of <paramref name="range"/>.</summary>
    public static ulong TagOfEntry(ulong entry, int range) => entry >> OffsetBits(range);

    /// <summary>The handle of <paramref name="entry"/> of <paramref name="range"/>.</summary>
    public static long HandleOf(ulong entry, int range) => RangeStart(range) + (long)(entry & ((1UL << OffsetBits(range)) - 1));

    /// <summary>Entry <paramref name="index"/> of a group's string.</summary>
    public static ulong Read(ReadOnlySpan<byte> entries, int index, int width) => width == 4
        ? BinaryPrimitives.ReadUInt32LittleEndian(entries[(index * 4)..])
        : BinaryPrimitives.ReadUInt64LittleEndian(entries[(index * 8)..]);

    /// <summary>Writes <paramref name="entry"/> at the start of <paramref name="destination"/>.</summary>
    public static void Write(Span<byte> destination, ulong entry, int width)
    {
        if (width == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)entry);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, entry);
        }
    }

    private static long RangeStart(int range) => range == 0 ? 0 : 1L << (range + FirstRangeBits - 1);

    private static int OffsetBits(int range) => range == 0 ? FirstRangeBits : range + FirstRangeBits - 1;

    private static int GroupBits(int range) => Math.Min(32, OffsetBits(range) + 1);
}

/// <summary>
/// Layout 5's passage index, read once by the upgrade to layout 6: a set per fingerprint's top 16 bits and range of 2^15
/// handles, of 31-bit members, the fingerprint's low 16 bits above the handle's place in its range.
/// </summary>
internal static class Layout5PassageEntry
{
    public const int Groups = 1 << 16;
    private const int RangeBits = 15;

    public static long RangesUpTo(long lastHandle) => (lastHandle >> RangeBits) + 1;

    public static (uint Fingerprint, long Handle) Decode(int group, long range, long member) =>
        (((uint)group << 16) | (uint)(member >> RangeBits), (range << RangeBits) | (member & ((1L << RangeBits) - 1)));
}
