using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Compare.Core.Hashing;

/// <summary>
/// Seeded 64-bit mixing functions. Everything Compare stores is derived from these and from
/// XxHash3, never from <see cref="string.GetHashCode()"/>, so signatures are identical across
/// processes, machines and runtime versions.
/// </summary>
internal static class Mix
{
    /// <summary>MurmurHash3's 64-bit finaliser (fmix64): a bijection with full avalanche.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Finalize(ulong x)
    {
        x ^= x >> 33;
        x *= FinalizeMultiplier1;
        x ^= x >> 33;
        x *= FinalizeMultiplier2;
        x ^= x >> 33;
        return x;
    }

    /// <summary><see cref="Finalize(ulong)"/> in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Finalize(Vector512<ulong> x)
    {
        x ^= Vector512.ShiftRightLogical(x, 33);
        x *= FinalizeMultiplier1;
        x ^= Vector512.ShiftRightLogical(x, 33);
        x *= FinalizeMultiplier2;
        x ^= Vector512.ShiftRightLogical(x, 33);
        return x;
    }

    /// <summary>
    /// <see cref="Finalize(ulong)"/> in every lane, where a vector of 64-bit lanes has no multiply instruction (AVX2): the JIT
    /// builds each product from three 32-bit ones, still about twice as fast as four scalar finalisers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Finalize(Vector256<ulong> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 33);
        x *= FinalizeMultiplier1;
        x ^= Vector256.ShiftRightLogical(x, 33);
        x *= FinalizeMultiplier2;
        x ^= Vector256.ShiftRightLogical(x, 33);
        return x;
    }

    private const ulong FinalizeMultiplier1 = 0xff51afd7ed558ccdUL;
    private const ulong FinalizeMultiplier2 = 0xc4ceb9fe1a85ec53UL;

    /// <summary>SplitMix64 step: derives independent constants from one seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9e3779b97f4a7c15UL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }

    /// <summary>Maps a 64-bit hash uniformly onto [0, range) without division (Lemire's fastrange).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Range(ulong hash, int range) => (int)(ulong)(Math.BigMul(hash, (ulong)range) >> 64);
}
