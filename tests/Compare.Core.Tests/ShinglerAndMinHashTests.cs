using Compare.Core.Indexing;
using Compare.Core.MinHash;
using Compare.Core.Shingling;
using Compare.Core.Similarity;

namespace Compare.Core.Tests;

public sealed class ShinglerAndMinHashTests
{
    [Fact]
    public void ShingleSet_DistinctWords_HasOneShinglePerWindow()
    {
        ulong[] set = Shingler.ShingleSet("one two three four five six seven", SketchParameters.Default);

        Assert.Equal(3, set.Length); // 7 words, k = 5
        Assert.True(set.AsSpan().SequenceEqual([.. set.Order()]));
    }

    [Theory]
    [InlineData("one", 1)]
    [InlineData("one two three four", 1)]
    [InlineData("", 0)]
    [InlineData("  ... ", 0)]
    public void ShingleSet_ShorterThanK_YieldsOneShingleNotNone(string text, int expected)
    {
        Assert.Equal(expected, Shingler.ShingleSet(text, SketchParameters.Default).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(511)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(70_000)]
    [InlineData(300_000)]
    public void ToSet_EvenHashesRepeatsAndSkewedValues_EqualsSortingAndDroppingRepeats(int length)
    {
        var random = new Random(length);
        var inputs = new List<ulong[]>
        {
            // Spread hashes with repeats, as shingles are.
            Enumerable.Range(0, length).Select(_ => ((ulong)random.NextInt64() * 2) + (ulong)random.Next(2)).Select((v, i) => i % 7 == 3 ? 42UL : v).ToArray(),
            // Every value in the lowest bucket, descending: the insertion pass runs over its budget and sorts again.
            Enumerable.Range(0, length).Select(i => (ulong)(length - i)).ToArray(),
            // All the same, and the extremes.
            Enumerable.Repeat(ulong.MaxValue, length).ToArray(),
            Enumerable.Range(0, length).Select(i => i % 2 == 0 ? 0UL : ulong.MaxValue - (ulong)i).ToArray(),
        };

        foreach (ulong[] input in inputs)
        {
            ulong[] expected = [.. input.Distinct().Order()];
            ulong[] copy = [.. input];

            Assert.Equal(expected, Shingler.ToSet(copy).ToArray());
        }
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(4097)]
    [InlineData(1_000_000)]
    public void HashSort_KeysWithItemsOrAlone_SortsTheKeysAndMovesEachItemWithItsKey(int length)
    {
        var random = new Random(length);
        // Spread keys with a tenth repeated (band keys of documents sharing a bucket), and an uneven input that falls back.
        foreach (ulong[] keys in new[]
        {
            Enumerable.Range(0, length).Select(i => i % 10 == 0 ? 7UL << 40 : (ulong)random.NextInt64() * 3).ToArray(),
            Enumerable.Range(0, length).Select(i => (ulong)(length - i)).ToArray(),
        })
        {
            int[] items = [.. Enumerable.Range(0, length)];
            (ulong, int)[] expected = [.. keys.Select((k, i) => (k, i)).Order()];
            ulong[] alone = [.. keys];

            Compare.Core.Hashing.HashSort.Sort(keys, items);
            // The path without items (a document's shingles), and its fallback for the uneven input.
            Compare.Core.Hashing.HashSort.Sort(alone);

            Assert.Equal(expected, keys.Zip(items).OrderBy(p => p).Select(p => (p.First, p.Second)));
            Assert.Equal(expected.Select(p => p.Item1), keys);
            Assert.Equal(expected.Select(p => p.Item1), alone);
        }
    }

    [Fact]
    public void Shingle_CallerBufferTooSmall_GrowsAndKeepsEveryShingle()
    {
        ulong[] buffer = new ulong[3]; // not from the array pool
        string text = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"w{i}"));

        int count = Shingler.Shingle(text, SketchParameters.Default, ref buffer);

        Assert.Equal(96, count);
        Assert.Equal(Shingler.ShingleSet(text, SketchParameters.Default), buffer[..count].Order());
    }

    [Fact]
    public void ShingleSet_RepeatedWindows_AreCountedOnce()
    {
        // Nine windows, two of them distinct ("a b" and "b a"): the set holds each once, ascending.
        SketchParameters pairs = SketchParameters.Default with { ShingleSize = 2 };
        ulong[] windows = new ulong[16];
        int count = Shingler.Shingle("a b a b a b a b a b", pairs, ref windows);
        ulong[] set = Shingler.ShingleSet("a b a b a b a b a b", pairs);

        Assert.Equal(9, count);
        Assert.Equal(2, set.Length);
        Assert.Equal(windows[..count].Distinct().Order(), set);
    }

    [Fact]
    public void ShingleSet_WordShingles_MatchAnIndependentStringImplementation()
    {
        // Reference: shingles as strings of words, Jaccard over string sets.
        string a = "the cat sat on the mat and the dog sat on the log by the door";
        string b = "the cat sat on the mat while the dog sat on the log by the fire";
        static HashSet<string> Reference(string text, int k)
        {
            string[] words = text.Split(' ');
            return [.. Enumerable.Range(0, words.Length - k + 1).Select(i => string.Join(' ', words[i..(i + k)]))];
        }

        for (int k = 1; k <= 6; k++)
        {
            HashSet<string> ra = Reference(a, k), rb = Reference(b, k);
            double expected = (double)ra.Intersect(rb).Count() / ra.Union(rb).Count();
            var parameters = SketchParameters.Default with { ShingleSize = k };

            double actual = SetSimilarity.Jaccard(Shingler.ShingleSet(a, parameters), Shingler.ShingleSet(b, parameters));

            Assert.Equal(expected, actual, 12);
            Assert.Equal(ra.Count, Shingler.ShingleSet(a, parameters).Length);
        }
    }

    [Fact]
    public void ShingleSet_CharacterShingles_MatchAnIndependentImplementation()
    {
        var parameters = SketchParameters.Default with { Kind = ShingleKind.Character, ShingleSize = 3 };
        HashSet<string> expected = [.. Enumerable.Range(0, "ab cd ab".Length - 2).Select(i => "ab cd ab".Substring(i, 3))];

        Assert.Equal(expected.Count, Shingler.ShingleSet("AB, cd  ab", parameters).Length);
        Assert.Single(Shingler.ShingleSet("ab", parameters));
    }

    [Fact]
    public void SetSimilarity_HandMadeSets_MatchReference()
    {
        ulong[] a = [1, 2, 3, 4, 5, 6], b = [4, 5, 6, 7];

        Assert.Equal(3, SetSimilarity.IntersectionCount(a, b));
        Assert.Equal(3.0 / 7, SetSimilarity.Jaccard(a, b), 12);
        Assert.Equal(0.5, SetSimilarity.Containment(a.Length, 3));
        Assert.Equal(0.75, SetSimilarity.Containment(b.Length, 3));
        Assert.Equal(1.0, SetSimilarity.Jaccard(a, a));
        Assert.Equal(0.0, SetSimilarity.Jaccard([], []));
    }

    [Fact]
    public void SetSimilarity_RandomSets_AreSymmetricBoundedAndMatchHashSetReference()
    {
        var random = new Random(11);
        for (int round = 0; round < 200; round++)
        {
            ulong[] a = [.. Enumerable.Range(0, random.Next(0, 60)).Select(_ => (ulong)random.Next(100)).Distinct().Order()];
            ulong[] b = [.. Enumerable.Range(0, random.Next(0, 60)).Select(_ => (ulong)random.Next(100)).Distinct().Order()];
            int union = a.Union(b).Count();
            double expected = union == 0 ? 0 : (double)a.Intersect(b).Count() / union;

            double jab = SetSimilarity.Jaccard(a, b);

            Assert.Equal(expected, jab, 12);
            Assert.Equal(jab, SetSimilarity.Jaccard(b, a));
            Assert.InRange(jab, 0, 1);
        }
    }

    public static TheoryData<SignatureScheme> Schemes => [SignatureScheme.OnePermutation, SignatureScheme.Classic];

    [Theory]
    [MemberData(nameof(Schemes))]
    public void EstimateJaccard_RandomPairs_WithinStatisticalErrorOfExact(SignatureScheme scheme)
    {
        var hasher = new MinHasher(SketchParameters.Default with { Scheme = scheme });
        var random = new Random(3);
        int outside = 0, pairs = 400;
        double bias = 0;
        for (int p = 0; p < pairs; p++)
        {
            // Sizes straddle the signature length so densification is exercised too.
            int shared = random.Next(0, 300), onlyA = random.Next(1, 200), onlyB = random.Next(1, 200);
            ulong[] common = RandomHashes(random, shared);
            ulong[] a = [.. common, .. RandomHashes(random, onlyA)];
            ulong[] b = [.. common, .. RandomHashes(random, onlyB)];
            double exact = (double)shared / (shared + onlyA + onlyB);

            double estimate = MinHasher.EstimateJaccard(hasher.Sign(a), hasher.Sign(b));

            double sigma = Math.Sqrt(Math.Max(exact * (1 - exact), 0.01) / 128);
            if (Math.Abs(estimate - exact) > 3 * sigma)
            {
                outside++;
            }

            bias += estimate - exact;
        }

        Assert.True(outside <= pairs * 0.02, $"{outside} of {pairs} estimates were more than 3σ away");
        Assert.InRange(bias / pairs, -0.01, 0.01);
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public void Sign_IdenticalAndEmptyInputs_BehaveAsSpecified(SignatureScheme scheme)
    {
        var hasher = new MinHasher(SketchParameters.Default with { Scheme = scheme });
        ulong[] a = RandomHashes(new Random(1), 5);

        Assert.Equal(1.0, MinHasher.EstimateJaccard(hasher.Sign(a), hasher.Sign([.. a.Reverse(), a[0]])));
        Assert.All(hasher.Sign([]), v => Assert.Equal(MinHasher.EmptyValue, v));
        Assert.Equal(0.0, MinHasher.EstimateJaccard(hasher.Sign([]), hasher.Sign([])));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(128)]
    [InlineData(130)]
    public void CountEqual_LengthsAroundVectorWidths_MatchScalarCount(int length)
    {
        var random = new Random(length);
        uint[] a = [.. Enumerable.Range(0, length).Select(_ => (uint)random.Next(4))];
        uint[] b = [.. Enumerable.Range(0, length).Select(_ => (uint)random.Next(4))];
        a[0] = b[0] = MinHasher.EmptyValue;
        int expected = Enumerable.Range(0, length).Count(i => a[i] == b[i] && a[i] != MinHasher.EmptyValue);

        Assert.Equal(expected, MinHasher.CountEqual(a, b));
    }

    [Theory]
    [InlineData(SignatureScheme.OnePermutation, 1)]
    [InlineData(SignatureScheme.Classic, 3)]
    [InlineData(SignatureScheme.Classic, 11)]
    [InlineData(SignatureScheme.Classic, 130)]
    public void Sign_OddSignatureLengths_AreDeterministicAndVectorPathsMatchScalar(SignatureScheme scheme, int permutations)
    {
        var parameters = SketchParameters.Default with { Scheme = scheme, NumPermutations = permutations };
        ulong[] shingles = RandomHashes(new Random(5), 50);

        uint[] first = new MinHasher(parameters).Sign(shingles);
        uint[] second = new MinHasher(parameters).Sign(shingles);

        Assert.Equal(first, second);
        Assert.Equal(permutations, first.Length);
    }

    public static TheoryData<int> ShingleSizes => [1, 2, 3, 5, 7];

    [Theory]
    [MemberData(nameof(ShingleSizes))]
    public void Shingle_EachWindow_IsThePolynomialOfItsWordHashes(int size)
    {
        // The reference computes every window on its own, with no rolling state to carry between windows.
        var parameters = SketchParameters.Default with { ShingleSize = size };
        string[] texts = [.. Enumerable.Range(0, 12).Select(n => string.Join(' ', Enumerable.Range(0, n).Select(w => $"w{w % 4}"))), TestData.Seed2014, "Ünïcödé ½ straße 東京都 – naïve café"];
        foreach (string text in texts)
        {
            ulong[] words = [.. Compare.Core.Text.Tokenizer.Tokenize(text, parameters.Normalization, parameters.Seed).Select(t => t.Hash)];
            ulong[] expected = words.Length == 0 ? []
                : words.Length < size ? [Window(words)]
                : [.. Enumerable.Range(0, words.Length - size + 1).Select(j => Window(words.AsSpan(j, size)))];
            ulong[] buffer = new ulong[4];

            int count = Shingler.Shingle(text, parameters, ref buffer);

            Assert.Equal(expected, buffer[..count]);
        }

        ulong Window(ReadOnlySpan<ulong> window) => WindowPolynomial(window, parameters.Seed);
    }

    [Theory]
    [MemberData(nameof(ShingleSizes))]
    [InlineData(SketchParameters.MaxShingleSize)]
    public void RollWordShingles_WordCountsAroundTheVectorWidth_VectorsAndTheScalarLoopGiveEachWindowsPolynomial(int size)
    {
        // Up to four vectors of eight shingles and every remainder after them, each way the shingles can be made.
        var random = new Random(size);
        const ulong seed = 0x5EED;
        for (int words = 0; words <= (4 * 8) + size; words++)
        {
            ulong[] hashes = new ulong[words];
            random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(hashes.AsSpan()));
            ulong[] expected = words == 0 ? []
                : words < size ? [WindowPolynomial(hashes, seed)]
                : [.. Enumerable.Range(0, words - size + 1).Select(j => WindowPolynomial(hashes.AsSpan(j, size), seed))];
            foreach (bool vectors in new[] { false, true })
            {
                ulong[] inPlace = (ulong[])hashes.Clone();

                int count = Shingler.RollWordShingles(inPlace, size, seed, vectors);

                Assert.Equal(expected, inPlace[..count]);
            }
        }
    }

    private static ulong WindowPolynomial(ReadOnlySpan<ulong> window, ulong seed)
    {
        ulong value = 0;
        foreach (ulong word in window)
        {
            value = (value * 0x9E3779B97F4A7C15UL) + word;
        }

        return Compare.Core.Hashing.Mix.Finalize(value ^ seed);
    }

    [Theory]
    [InlineData(SignatureScheme.OnePermutation, 128, 5)]
    [InlineData(SignatureScheme.OnePermutation, 130, 1)]
    [InlineData(SignatureScheme.OnePermutation, 7, 3)]
    [InlineData(SignatureScheme.Classic, 128, 5)]
    public void Sign_WithoutTheShingleSet_GivesTheSketchsSignature(SignatureScheme scheme, int permutations, int size)
    {
        var sketcher = new DocumentSketcher(SketchParameters.Default with { Scheme = scheme, NumPermutations = permutations, ShingleSize = size });
        string[] texts = ["", "  ... ", "one", "one two three four", "one two three four five six", TestData.Seed2014, TestData.Seed2016,
            "Ünïcödé ½ straße 東京都 – naïve café", .. Corpus.Bbc().Take(300)];
        var signature = new uint[permutations];
        foreach (string text in texts)
        {
            sketcher.Sign(text, signature);

            Assert.Equal(sketcher.Sketch(text).Signature, signature);
        }
    }

    [Fact]
    public void Sketch_Seeds_IsStableAcrossProcessesAndVersions()
    {
        // A golden value: if this changes, stored signatures are invalid and FormatVersion must be bumped.
        DocumentSketch sketch = new DocumentSketcher(SketchParameters.Default).Sketch(TestData.Seed2014);

        Assert.Equal(1, SketchParameters.FormatVersion);
        Assert.Equal(SignatureProbe.ExpectedSeed2014Prefix, sketch.Signature[..4]);
        Assert.Equal(SignatureProbe.RunInChildProcess(TestData.Seed2014), string.Join(',', sketch.Signature));
    }

    [Fact]
    public void Sketch_DifferentSeeds_GiveDifferentSignatures()
    {
        uint[] a = new DocumentSketcher(SketchParameters.Default).Sketch(TestData.Seed2014).Signature;
        uint[] b = new DocumentSketcher(SketchParameters.Default with { Seed = 7 }).Sketch(TestData.Seed2014).Signature;

        Assert.NotEqual(a, b);
    }

    internal static ulong[] RandomHashes(Random random, int count)
    {
        var values = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
        }

        return values;
    }
}
