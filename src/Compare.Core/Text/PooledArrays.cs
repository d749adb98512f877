using System.Buffers;
using System.Runtime.CompilerServices;

namespace Compare.Core.Text;

/// <summary>Growth of the pooled buffers the token sinks fill one word at a time.</summary>
internal static class PooledArrays
{
    /// <summary>
    /// A pooled array twice as long as the full <paramref name="full"/>, holding its items; <paramref name="full"/> goes back
    /// to the pool. Takes and returns the array, not a reference to it: a reference would pin the caller's sink to memory.
    /// Out of line, so that the word loop a sink is inlined into keeps its registers for the words.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T[] Doubled<T>(T[] full)
    {
        T[] larger = ArrayPool<T>.Shared.Rent(Math.Max(16, full.Length * 2));
        full.AsSpan().CopyTo(larger);
        ArrayPool<T>.Shared.Return(full);
        return larger;
    }
}
