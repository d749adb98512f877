using Compare.Core.Lsh;
using Compare.Core.MinHash;

namespace Compare.Core.Tests;

public sealed class LshTests
{
    /// <summary>Reference: brute force over (b, r), P(s) evaluated afresh at every point, written independently of the engine.</summary>
    private static (int Bands, int Rows) ReferenceOptimal(double t, int n, double wfp, double wfn, Func<Func<double, double>, double, double, double> area)
    {
        (double Error, int B, int R) best = (double.MaxValue, 0, 0);
        for (int b = 1; b <= n; b++)
        {
            for (int r = 1; r <= n / b; r++)
            {
                double fp = area(s => 1 - Math.Pow(1 - Math.Pow(s, r), b), 0, t);
                double fn = area(s => Math.Pow(1 - Math.Pow(s, r), b), t, 1);
                double error = (wfp * fp) + (wfn * fn);
                if (error < best.Error)
                {
                    best = (error, b, r);
                }
            }
        }

        return (best.B, best.R);
    }

    /// <summary>A fine trapezoid rule: the reference's own integral.</summary>
    private static double Trapezoid(Func<double, double> f, double a, double b)
    {
        const int Steps = 4000;
        double h = (b - a) / Steps, sum = 0;
        for (int i = 0; i < Steps; i++)
        {
            sum += (f(a + (i * h)) + f(a + ((i + 1) * h))) * h / 2;
        }

        return sum;
    }

    /// <summary>Simpson's rule over 128 intervals, the engine's integral, with P(s) evaluated afresh at every point.</summary>
    private static double Simpson(Func<double, double> f, double from, double to)
    {
        if (to <= from)
        {
            return 0;
        }

        double h = (to - from) / 128, sum = f(from) + f(to);
        for (int i = 1; i < 128; i++)
        {
            sum += (i % 2 == 1 ? 4 : 2) * f(from + (i * h));
        }

        return sum * h / 3;
    }

    [Theory]
    [InlineData(0.5, 128, 0.5, 0.5)]
    [InlineData(0.8, 128, 0.5, 0.5)]
    [InlineData(0.8, 128, 0.01, 0.99)]
    [InlineData(0.9, 256, 0.01, 0.99)]
    [InlineData(0.3, 64, 0.2, 0.8)]
    public void Optimal_MatchesBruteForceReference(double threshold, int permutations, double wfp, double wfn)
    {
        LshParameters actual = LshParameters.Optimal(threshold, permutations, wfp, wfn);

        Assert.Equal(ReferenceOptimal(threshold, permutations, wfp, wfn, Trapezoid), (actual.Bands, actual.Rows));
        Assert.True(actual.Bands * actual.Rows <= permutations);
    }

    /// <summary>
    /// The engine's search reuses each rows' powers across bands; this evaluates P(s) afresh at every point with the same
    /// Simpson rule, over every threshold in steps of 0.01, so no choice may move by more than rounding.
    /// </summary>
    [Theory]
    [InlineData(32)]
    [InlineData(128)]
    [InlineData(256)]
    public void Optimal_EqualsDirectEvaluationAtEveryThreshold(int permutations)
    {
        for (int step = 0; step <= 100; step++)
        {
            double t = step / 100.0;
            (int Bands, int Rows) direct = ReferenceOptimal(t, permutations, LshParameters.DefaultFalsePositiveWeight, LshParameters.DefaultFalseNegativeWeight, Simpson);
            LshParameters actual = LshParameters.Optimal(t, permutations);
            Assert.True(direct == (actual.Bands, actual.Rows), $"threshold {t}: direct {direct.Bands}×{direct.Rows}, engine {actual.Bands}×{actual.Rows}");
        }
    }

    [Fact]
    public void Optimal_DefaultWeights_FindPairsJustAboveThresholdAlmostSurely()
    {
        LshParameters lsh = LshParameters.Optimal(0.8, 128);

        Assert.Equal(new LshParameters(18, 7), lsh);
        Assert.True(lsh.CandidateProbability(0.85) > 0.999);
        Assert.True(lsh.CandidateProbability(0.3) < 0.01);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Optimal_ThresholdOutsideUnitInterval_Throws(double threshold)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LshParameters.Optimal(threshold, 128));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.65)]
    [InlineData(0.8)]
    public void Query_RandomPairsAtKnownJaccard_CandidateRateFollowsTheSCurve(double jaccard)
    {
        // 18 × 7 banding at threshold 0.8; measure how often a pair of known similarity collides.
        var hasher = new MinHasher(SketchParameters.Default);
        var lsh = new LshParameters(18, 7);
        var random = new Random((int)(jaccard * 1000));
        const int Pairs = 600;
        int found = 0;
        for (int p = 0; p < Pairs; p++)
        {
            var index = new LshIndex(lsh);
            // |A| = |B| = 500 with |A ∩ B| chosen so that J = shared / (1000 - shared).
            int shared = (int)Math.Round(1000 * jaccard / (1 + jaccard));
            ulong[] common = ShinglerAndMinHashTests.RandomHashes(random, shared);
            uint[] a = hasher.Sign([.. common, .. ShinglerAndMinHashTests.RandomHashes(random, 500 - shared)]);
            uint[] b = hasher.Sign([.. common, .. ShinglerAndMinHashTests.RandomHashes(random, 500 - shared)]);
            index.Insert(0, a);
            var candidates = new List<int>();
            found += index.Query(b, new bool[1], candidates);
        }

        double expected = lsh.CandidateProbability(jaccard);
        double sigma = Math.Sqrt(expected * (1 - expected) / Pairs);
        Assert.InRange((double)found / Pairs, expected - (4 * sigma) - 0.01, expected + (4 * sigma) + 0.01);
    }

    [Fact]
    public void LshIndex_InsertRemoveQuery_FindsOnlyPresentDocuments()
    {
        var hasher = new MinHasher(SketchParameters.Default);
        var index = new LshIndex(new LshParameters(16, 8));
        var random = new Random(9);
        uint[][] signatures = [.. Enumerable.Range(0, 50).Select(_ => hasher.Sign(ShinglerAndMinHashTests.RandomHashes(random, 100)))];
        for (int d = 0; d < signatures.Length; d++)
        {
            index.Insert(d, signatures[d]);
        }

        var seen = new bool[50];
        var candidates = new List<int>();
        index.Query(signatures[7], seen, candidates);
        Assert.Contains(7, candidates);
        Assert.DoesNotContain(true, seen);

        index.Remove(7, signatures[7]);
        candidates.Clear();
        index.Query(signatures[7], seen, candidates);
        Assert.DoesNotContain(7, candidates);

        index.Insert(7, signatures[7]);
        candidates.Clear();
        Assert.Equal(1, index.Query(signatures[7], seen, candidates));
    }
}
