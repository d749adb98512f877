using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compare.Core.Hashing;

/// <summary>
/// Seeded 64-bit hash of a word's normalised UTF-8 bytes. Bytes are packed eight to a lane, little-endian; a lane is
/// folded in with a multiply-rotate round, and the last (partial, zero-padded) one with the length through
/// MurmurHash3's finaliser. For words of up to eight bytes (most words) the hash is a bijection of (bytes, length), so
/// distinct short words never collide. About 4× cheaper than an XxHash3 call per word. Stored signatures depend on
/// these values: the golden signature test guards them.
/// </summary>
internal static class WordHash
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong Prime3 = 0x165667B19E3779F9UL;

    /// <summary>The hash of a whole word at once: eight bytes a round.</summary>
    public static ulong Hash(ReadOnlySpan<byte> bytes, ulong seed)
    {
        int full = bytes.Length & ~7;
        return Hash(bytes, full, LastLane(bytes[full..]), bytes.Length, seed);
    }

    /// <summary>
    /// The 0 to 7 bytes after the last whole lane, little-endian and zero-padded, read in place: 4 to 7 bytes as two
    /// overlapping 32-bit reads (the bytes they share are equal, so OR-ing them changes nothing), 1 to 3 as a 16-bit and a
    /// byte read. Copying them into a zeroed stack buffer cost more than the hash's rounds for most words.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LastLane(ReadOnlySpan<byte> tail)
    {
        System.Diagnostics.Debug.Assert(tail.Length < 8);
        if (tail.Length >= 4)
        {
            return BinaryPrimitives.ReadUInt32LittleEndian(tail) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(tail[^4..]) << ((tail.Length - 4) << 3));
        }

        return tail.Length switch
        {
            0 => 0,
            1 => tail[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(tail),
            _ => BinaryPrimitives.ReadUInt16LittleEndian(tail) | ((ulong)tail[2] << 16),
        };
    }

    /// <summary>
    /// The same hash of the <paramref name="length"/> bytes at <paramref name="word"/>, in a buffer that has at least sixteen
    /// more readable bytes after them: the last lane is read whole and masked. A word shorter than sixteen bytes (nearly every
    /// word) takes no branch on its length: both its possible lanes are read and the right one chosen, where a loop over its
    /// lanes was a branch the processor mispredicted for about one word in five.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashWithSlack(ref byte word, int length, ulong seed)
    {
        if (length >= 16)
        {
            return HashLongWithSlack(ref word, length, seed);
        }

        ulong first = ReadLane(ref word), second = ReadLane(ref Unsafe.Add(ref word, 8));
        // All ones when the word fills its first lane (8 to 15 bytes): the first lane is then a round and the second the last.
        ulong oneRound = 0UL - (ulong)(length >> 3);
        ulong state = seed ^ ((Round(seed, first) ^ seed) & oneRound);
        ulong last = LowBytes(first ^ ((first ^ second) & oneRound), length);
        return Mix.Finalize(state ^ (last * Prime3) ^ ((ulong)length * Prime1));
    }

    /// <summary>
    /// <see cref="HashWithSlack"/> of a word of sixteen bytes or more: out of line, since about one word in a hundred is,
    /// so that the loops that hash words keep the short path in line without a profile to tell them which one is hot.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashLongWithSlack(ref byte word, int length, ulong seed)
    {
        int full = length & ~7;
        return Hash(MemoryMarshal.CreateReadOnlySpan(ref word, full), full, LowBytes(ReadLane(ref Unsafe.Add(ref word, full)), length), length, seed);
    }

    /// <summary>The bytes of <paramref name="lane"/> that belong to a word of <paramref name="length"/> bytes ending in it: the first length mod 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LowBytes(ulong lane, int length) => lane & ((1UL << ((length & 7) << 3)) - 1);

    /// <summary>Eight bytes as a little-endian lane, whatever the machine's byte order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadLane(ref byte at)
    {
        ulong lane = Unsafe.ReadUnaligned<ulong>(ref at);
        return BitConverter.IsLittleEndian ? lane : BinaryPrimitives.ReverseEndianness(lane);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong state, ulong lane) => BitOperations.RotateLeft(state ^ (lane * Prime1), 31) * Prime2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ReadOnlySpan<byte> bytes, int full, ulong lastLane, int length, ulong seed)
    {
        ulong state = seed;
        for (int k = 0; k < full; k += 8)
        {
            state = Round(state, BinaryPrimitives.ReadUInt64LittleEndian(bytes[k..]));
        }

        return Mix.Finalize(state ^ (lastLane * Prime3) ^ ((ulong)length * Prime1));
    }
}
