using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Core.Text;

namespace Compare.Core.Tests;

public sealed class PassageIndexTests
{
    private static string RandomWords(Random random, int count) =>
        string.Join(' ', Enumerable.Range(0, count).Select(_ => "w" + random.Next(50_000).ToString(System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void GramHashes_AreTheChainOfFinalisersOfEachGram_AtEveryCountAroundTheVectorWidth()
    {
        // The stored definition, written out: fmix64 over seed "passages" and the gram's words, plus the word's place.
        static ulong Fmix(ulong x)
        {
            x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdUL;
            x = (x ^ (x >> 33)) * 0xc4ceb9fe1a85ec53UL;
            return x ^ (x >> 33);
        }

        var random = new Random(19);
        for (int words = PassageFingerprints.GramWords; words <= PassageFingerprints.GramWords + 41; words++)
        {
            ulong[] hashes = [.. Enumerable.Range(0, words).Select(_ => (ulong)random.NextInt64() * 3 + (ulong)random.Next(3))];
            var grams = new uint[words - PassageFingerprints.GramWords + 1];
            PassageFingerprints.GramHashes(hashes, grams);
            for (int g = 0; g < grams.Length; g++)
            {
                ulong h = 0x7061737361676573UL;
                for (int w = 0; w < PassageFingerprints.GramWords; w++)
                {
                    h = Fmix(h ^ hashes[g + w]) + (ulong)w;
                }

                Assert.True((uint)(h >> 32) == grams[g], $"gram {g} of {grams.Length}");
            }
        }
    }

    [Fact]
    public void Fingerprints_AreTheDistinctMinimaOfEveryWindowOfGrams_SortedAtEveryLengthAroundTheVectorWidths()
    {
        var random = new Random(23);
        for (int words = 0; words <= 140; words++)
        {
            // Words from a small vocabulary as well, so that grams and window minima repeat.
            ulong[] hashes = [.. Enumerable.Range(0, words).Select(_ => words % 2 == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(3))];
            int grams = Math.Max(0, words - PassageFingerprints.GramWords + 1);
            var gramHashes = new uint[grams];
            if (grams > 0)
            {
                PassageFingerprints.GramHashes(hashes, gramHashes);
            }

            int window = Math.Min(PassageFingerprints.Window, grams);
            uint[] expected = [.. Enumerable.Range(window, grams - window + (grams > 0 ? 1 : 0))
                .Select(end => gramHashes[Math.Max(0, end - PassageFingerprints.Window)..end].Min()).Distinct().Order()];
            Assert.Equal(expected, PassageFingerprints.OfWordHashes(hashes));
        }
    }

    [Fact]
    public void Fingerprints_TwoTextsSharingARunOfTheGuaranteedLength_ShareOneWhereverItStands()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 2000; trial++)
        {
            string passage = RandomWords(random, PassageFingerprints.GuaranteedWords);
            string a = $"{RandomWords(random, random.Next(0, 60))} {passage} {RandomWords(random, random.Next(0, 60))}";
            string b = $"{RandomWords(random, random.Next(0, 60))} {passage.ToUpperInvariant()} {RandomWords(random, random.Next(0, 60))}";

            Assert.NotEmpty(PassageFingerprints.Of(a, NormalizationOptions.Default).Intersect(PassageFingerprints.Of(b, NormalizationOptions.Default)));
        }
    }

    [Fact]
    public void Fingerprints_AreAboutTwoInWindowPlusOneWordsDistinctSortedAndTheSameEveryTime()
    {
        var random = new Random(8);
        string text = RandomWords(random, 5000);

        uint[] fingerprints = PassageFingerprints.Of(text, NormalizationOptions.Default);

        Assert.InRange(fingerprints.Length, 5000 * 2 / (PassageFingerprints.Window + 1) * 0.9, 5000 * 2 / (PassageFingerprints.Window + 1) * 1.1);
        Assert.Equal(fingerprints.Order().Distinct(), fingerprints);
        Assert.Equal(fingerprints, PassageFingerprints.Of(text, NormalizationOptions.Default));
        Assert.Empty(PassageFingerprints.Of("three short words", NormalizationOptions.Default));
        Assert.Single(PassageFingerprints.Of("exactly four words here", NormalizationOptions.Default));
    }

    [Theory]
    [InlineData(ShingleKind.Word, 5)]
    [InlineData(ShingleKind.Word, 1)]
    [InlineData(ShingleKind.Character, 5)]
    public void SketchWithPassages_IsTheSketchAndTheFingerprintsOfSeparatePasses(ShingleKind kind, int shingleSize)
    {
        var sketcher = new DocumentSketcher(new SketchParameters { Kind = kind, ShingleSize = shingleSize });
        var random = new Random(9);
        // Vector-block edges (63-65 ASCII chars), accents, CJK, surrogate pairs, NFKC expansions, digits, empty and one word.
        string[] pieces = ["Économie", "北京上海", "𝒳𝒴 𝒵", "½ ﬁnal", "2016", "SCO", "the", "Silk-Road", new string('a', 63), new string('b', 65), "x"];
        IEnumerable<string> texts = Enumerable.Range(0, 300).Select(_ => string.Join(random.Next(3) == 0 ? ", " : " ",
            Enumerable.Range(0, random.Next(0, 120)).Select(_ => pieces[random.Next(pieces.Length)])))
            .Concat(TestData.BbcCorpus().Take(50).Select(d => d.Text))
            .Concat(["", "one", TestData.Seed2014, TestData.Seed2016]);
        foreach (string text in texts)
        {
            (DocumentSketch sketch, uint[] passages) = sketcher.SketchWithPassages(text);

            DocumentSketch alone = sketcher.Sketch(text);
            Assert.Equal(alone.Shingles, sketch.Shingles);
            Assert.Equal(alone.Signature, sketch.Signature);
            Assert.Equal(PassageFingerprints.Of(text, sketcher.Parameters.Normalization), passages);
            Assert.Equal(PassageFingerprints.Of(SharedPhraseFinder.Tokenize(text, sketcher.Parameters.Normalization)), passages);
        }
    }

    [Theory]
    [InlineData(200, 3, false)] // within the delta
    [InlineData(3000, 5, false)] // across merges, with removals and replacements in the run and in the delta
    [InlineData(3000, 6, true)] // fingerprints over the whole range: every part of the run's directory, both ends included
    public void Query_AfterLoadAddsRemovesAndMerges_CountsWhatBruteForceCounts(int documents, int seed, bool wholeRange)
    {
        var random = new Random(seed);
        var stored = new Dictionary<string, uint[]>(StringComparer.Ordinal);
        uint[] pool = wholeRange
            ? [0, 1, 0xFFFF, 0x1_0000, 0xFFFF_FFFF, 0xFFFF_0000, .. Enumerable.Range(0, 1994).Select(_ => (uint)random.NextInt64(1L << 32))]
            : [.. Enumerable.Range(0, 2000).Select(i => (uint)i)];
        uint[] Draw() => [.. Enumerable.Range(0, random.Next(1, 80)).Select(_ => pool[random.Next(pool.Length)]).Distinct()];
        for (int i = 0; i < documents / 2; i++)
        {
            stored["d" + i] = Draw();
        }

        using var index = new PassageIndex();
        index.Load(visit =>
        {
            foreach ((string id, uint[] fingerprints) in stored)
            {
                visit(id, fingerprints);
            }
        });
        for (int i = documents / 2; i < documents; i++)
        {
            string id = "d" + (random.Next(3) == 0 ? random.Next(i) : i); // a third replace an earlier document
            stored[id] = Draw();
            index.Add(id, stored[id]);
            if (i % 5 == 0)
            {
                string gone = "d" + random.Next(i);
                Assert.Equal(stored.Remove(gone), index.Remove(gone));
            }
        }

        Assert.Equal(stored.Count, index.Count);
        for (int q = 0; q < 30; q++)
        {
            uint[] query = Draw();
            int cap = q % 2 == 0 ? 1000 : 40;
            Dictionary<uint, int> holders = query.ToDictionary(f => f, f => stored.Count(d => d.Value.Contains(f)));
            var expected = stored.Select(d => (Id: d.Key, Shared: query.Count(f => holders[f] <= cap && d.Value.Contains(f)))).Where(d => d.Shared > 0)
                .OrderByDescending(d => d.Shared).ThenBy(d => d.Id, StringComparer.Ordinal).Select(d => new PassageCandidate(d.Id, d.Shared, stored[d.Id].Length));

            PassageCandidates found = index.Query(query, cap);

            Assert.Equal(expected, found.Candidates);
            Assert.Equal(holders.Count(h => h.Value > cap), found.CommonFingerprints);
        }
    }
}
