using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Compare.Core.Hashing;

namespace Compare.Core.MinHash;

/// <summary>
/// Computes MinHash signatures from shingle hashes. Instances are immutable and thread-safe;
/// build one per <see cref="SketchParameters"/> and reuse it.
/// </summary>
public sealed class MinHasher
{
    /// <summary>The value every position of an empty document's signature holds.</summary>
    public const uint EmptyValue = uint.MaxValue;

    private readonly int _count;
    private readonly SignatureScheme _scheme;
    private readonly ulong _densifyKey;
    private readonly ulong[] _multipliers; // classic: odd a_i
    private readonly ulong[] _offsets;     // classic: b_i

    /// <summary>Creates a hasher for <paramref name="parameters"/>.</summary>
    public MinHasher(SketchParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        _count = parameters.NumPermutations;
        _scheme = parameters.Scheme;
        ulong state = parameters.Seed ^ 0x6D696E68617368UL; // "minhash"
        _densifyKey = Mix.SplitMix(ref state);
        if (_scheme == SignatureScheme.Classic)
        {
            _multipliers = new ulong[_count];
            _offsets = new ulong[_count];
            for (int i = 0; i < _count; i++)
            {
                _multipliers[i] = Mix.SplitMix(ref state) | 1;
                _offsets[i] = Mix.SplitMix(ref state);
            }
        }
        else
        {
            _multipliers = [];
            _offsets = [];
        }
    }

    /// <summary>Signature length.</summary>
    public int Count => _count;

    /// <summary>Returns the signature of a document with the given shingle hashes (repeats allowed).</summary>
    public uint[] Sign(ReadOnlySpan<ulong> shingles)
    {
        var signature = new uint[_count];
        Sign(shingles, signature);
        return signature;
    }

    /// <summary>Writes the signature of a document with the given shingle hashes into <paramref name="destination"/>.</summary>
    public void Sign(ReadOnlySpan<ulong> shingles, Span<uint> destination)
    {
        if (destination.Length != _count)
        {
            throw new ArgumentException($"Destination must hold {_count} values.", nameof(destination));
        }

        if (_scheme == SignatureScheme.Classic)
        {
            SignClassic(shingles, destination);
        }
        else
        {
            SignOnePermutation(shingles, destination);
        }
    }

    /// <summary>
    /// Shingle hashes are already finalised with the seed: the high bits choose the bin (fastrange), the low 32 bits are the
    /// value ranked within it. The minimum is taken without a branch (vpminud): whether a value is its bin's new minimum is
    /// a coin toss the predictor loses; Math.Min compiled to a branch, and this loop was a third of a signature (12.2 → 8.8
    /// ms for the BBC corpus on one core).
    /// </summary>
    // Ingest's hot path: optimised from the first call (docs/ARCHITECTURE.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SignOnePermutation(ReadOnlySpan<ulong> shingles, Span<uint> signature)
    {
        Span<byte> filled = stackalloc byte[_count];
        filled.Clear();
        signature.Fill(EmptyValue);
        ref uint values = ref MemoryMarshal.GetReference(signature);
        ref byte marks = ref MemoryMarshal.GetReference(filled);
        foreach (ulong hash in shingles)
        {
            int bin = Mix.Range(hash, _count);
            ref uint slot = ref Unsafe.Add(ref values, bin);
            slot = Vector128.Min(Vector128.CreateScalarUnsafe(slot), Vector128.CreateScalarUnsafe((uint)hash)).ToScalar();
            Unsafe.Add(ref marks, bin) = 1;
        }

        Densify(signature, filled);
    }

    /// <summary>
    /// Optimal densification: an empty bin takes the value of the first filled bin on its own seeded probe sequence. Every
    /// document uses the same sequences, which keeps the collision probability of each position equal to the Jaccard
    /// similarity. A document without shingles keeps <see cref="EmptyValue"/> everywhere.
    /// </summary>
    private void Densify(Span<uint> values, ReadOnlySpan<byte> filled)
    {
        // The empty bins are found with a vectorised search: most documents have none, and a loop over every bin was a
        // twentieth of signing the BBC corpus.
        int bin = filled.IndexOf((byte)0);
        if (bin < 0 || !filled.Contains((byte)1))
        {
            return;
        }

        int bins = values.Length;
        while (bin >= 0)
        {
            for (ulong attempt = 0; ; attempt++)
            {
                int source = Mix.Range(Mix.Finalize(_densifyKey ^ ((ulong)bin << 32) ^ attempt), bins);
                if (IsFilled(filled, source))
                {
                    values[bin] = values[source];
                    break;
                }
            }

            int next = filled[(bin + 1)..].IndexOf((byte)0);
            bin = next < 0 ? -1 : bin + 1 + next;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsFilled(ReadOnlySpan<byte> filled, int bin) => filled[bin] != 0;

    private void SignClassic(ReadOnlySpan<ulong> shingles, Span<uint> signature)
    {
        signature.Fill(EmptyValue);
        if (shingles.IsEmpty)
        {
            return;
        }

        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + Vector512<ulong>.Count <= _count; i += Vector512<ulong>.Count)
            {
                var a = Vector512.Create<ulong>(_multipliers.AsSpan(i));
                var b = Vector512.Create<ulong>(_offsets.AsSpan(i));
                var min = Vector512.Create((ulong)EmptyValue);
                foreach (ulong hash in shingles)
                {
                    min = Vector512.Min(min, Vector512.ShiftRightLogical((a * hash) + b, 32));
                }

                Narrow(min.GetLower(), signature[i..]);
                Narrow(min.GetUpper(), signature[(i + Vector256<ulong>.Count)..]);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<ulong>.Count <= _count; i += Vector256<ulong>.Count)
            {
                var a = Vector256.Create<ulong>(_multipliers.AsSpan(i));
                var b = Vector256.Create<ulong>(_offsets.AsSpan(i));
                var min = Vector256.Create((ulong)EmptyValue);
                foreach (ulong hash in shingles)
                {
                    min = Vector256.Min(min, Vector256.ShiftRightLogical((a * hash) + b, 32));
                }

                Narrow(min, signature[i..]);
            }
        }

        for (; i < _count; i++)
        {
            ulong a = _multipliers[i], b = _offsets[i];
            uint min = EmptyValue;
            foreach (ulong hash in shingles)
            {
                min = Math.Min(min, (uint)(((a * hash) + b) >> 32));
            }

            signature[i] = min;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Narrow(Vector256<ulong> values, Span<uint> destination)
    {
        for (int lane = 0; lane < Vector256<ulong>.Count; lane++)
        {
            destination[lane] = (uint)values.GetElement(lane);
        }
    }

    /// <summary>
    /// The fraction of positions at which two signatures agree: the MinHash estimate of their
    /// Jaccard similarity. Positions where both are empty do not count as agreement.
    /// </summary>
    public static double EstimateJaccard(ReadOnlySpan<uint> left, ReadOnlySpan<uint> right)
    {
        if (left.Length != right.Length)
        {
            throw new ArgumentException("Signatures must have the same length.", nameof(right));
        }

        if (left.IsEmpty)
        {
            return 0;
        }

        return (double)CountEqual(left, right) / left.Length;
    }

    internal static int CountEqual(ReadOnlySpan<uint> left, ReadOnlySpan<uint> right)
    {
        int equal = 0, i = 0;
        var empty256 = Vector256.Create(EmptyValue);
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<uint>.Count <= left.Length; i += Vector256<uint>.Count)
            {
                var l = Vector256.Create(left[i..]);
                var r = Vector256.Create(right[i..]);
                var same = Vector256.Equals(l, r) & ~Vector256.Equals(l, empty256);
                equal += System.Numerics.BitOperations.PopCount(same.ExtractMostSignificantBits());
            }
        }

        for (; i < left.Length; i++)
        {
            if (left[i] == right[i] && left[i] != EmptyValue)
            {
                equal++;
            }
        }

        return equal;
    }
}
