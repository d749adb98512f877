using System.Collections.Concurrent;

namespace Compare.Core.Lsh;

/// <summary>
/// How a signature is cut into bands for locality-sensitive hashing: two documents become
/// candidates when all <see cref="Rows"/> values of at least one of the <see cref="Bands"/> bands agree,
/// which happens with probability 1 − (1 − J^rows)^bands for Jaccard similarity J.
/// </summary>
public readonly record struct LshParameters(int Bands, int Rows)
{
    /// <summary>
    /// Default weight of false positives when choosing bands and rows. Compare verifies every
    /// candidate with exact Jaccard, so a false positive costs only CPU while a false negative
    /// loses a duplicate: the default leans hard towards recall (at threshold 0.8 and 128
    /// permutations it picks 18 × 7, which finds a pair at J = 0.85 with probability 0.999).
    /// datasketch weighs both 0.5.
    /// </summary>
    public const double DefaultFalsePositiveWeight = 0.01;

    /// <summary>Default weight of false negatives; see <see cref="DefaultFalsePositiveWeight"/>.</summary>
    public const double DefaultFalseNegativeWeight = 0.99;

    private static readonly ConcurrentDictionary<(double, int, double, double), LshParameters> Cache = new();

    /// <summary>Probability that two documents with Jaccard similarity <paramref name="jaccard"/> become candidates.</summary>
    public double CandidateProbability(double jaccard) => 1 - Power(1 - Power(jaccard, Rows), Bands);

    /// <summary>Recall asked of every query: pairs at least <see cref="RecallMargin"/> above its threshold are found with this probability.</summary>
    public const double TargetRecall = 0.99;

    /// <summary>How far above a query's threshold <see cref="TargetRecall"/> is promised (issue #18: recall ≥ 0.99 for pairs 0.05 above it).</summary>
    public const double RecallMargin = 0.05;

    /// <summary>
    /// Probability that two documents with Jaccard similarity <paramref name="jaccard"/> agree on the first
    /// <paramref name="depth"/> values of at least one band: 1 − (1 − J^depth)^bands.
    /// </summary>
    public double PrefixCandidateProbability(double jaccard, int depth) => 1 - Power(1 - Power(jaccard, depth), Bands);

    /// <summary>
    /// How many leading values of a band a query at <paramref name="threshold"/> must match so that pairs
    /// <see cref="RecallMargin"/> above it are found with probability <see cref="TargetRecall"/>: <see cref="Rows"/> when
    /// the buckets themselves reach it, else the deepest prefix that does (at most <see cref="PrefixForest.MaxDepth"/>),
    /// and 1 when nothing does (thresholds below about 0.2 with 18 bands: the closest this banding comes).
    /// </summary>
    public int ProbeDepth(double threshold)
    {
        double jaccard = Math.Min(1, threshold + RecallMargin);
        for (int depth = Rows; depth > 1; depth--)
        {
            if (PrefixCandidateProbability(jaccard, depth) >= TargetRecall)
            {
                return depth == Rows ? depth : Math.Min(depth, PrefixForest.MaxDepth);
            }
        }

        return 1;
    }

    /// <summary>
    /// The banding a one-off index (a batch dedup) uses at <paramref name="threshold"/>: <see cref="Optimal"/> when it finds
    /// pairs <see cref="RecallMargin"/> above the threshold with probability <see cref="TargetRecall"/>, else the most rows
    /// (fewest chance candidates) whose bands, as many as the permutations allow, do.
    /// </summary>
    public static LshParameters ForThreshold(double threshold, int numPermutations)
    {
        LshParameters optimal = Optimal(threshold, numPermutations);
        double jaccard = Math.Min(1, threshold + RecallMargin);
        if (optimal.CandidateProbability(jaccard) >= TargetRecall)
        {
            return optimal;
        }

        for (int rows = numPermutations; rows > 1; rows--)
        {
            var candidate = new LshParameters(numPermutations / rows, rows);
            if (candidate.CandidateProbability(jaccard) >= TargetRecall)
            {
                return candidate;
            }
        }

        return new LshParameters(numPermutations, 1);
    }

    /// <summary>
    /// x to a positive integer power by squaring: several times cheaper than Math.Pow, which made choosing the bands a
    /// tenth of a small CLI run.
    /// </summary>
    private static double Power(double x, int exponent)
    {
        System.Diagnostics.Debug.Assert(exponent >= 1);
        double result = 1;
        for (double square = x; exponent > 0; exponent >>= 1, square *= square)
        {
            if ((exponent & 1) == 1)
            {
                result *= square;
            }
        }

        return result;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless bands and rows fit in a signature of <paramref name="numPermutations"/> values.</summary>
    public void Validate(int numPermutations)
    {
        if (Bands < 1 || Rows < 1 || (long)Bands * Rows > numPermutations)
        {
            throw new ArgumentException($"Bands ({Bands}) × rows ({Rows}) must be positive and at most the number of permutations ({numPermutations}).");
        }
    }

    /// <summary>
    /// Chooses bands and rows (bands × rows ≤ <paramref name="numPermutations"/>) minimising
    /// <c>fpWeight · ∫₀ᵗ P(s) ds + fnWeight · ∫ₜ¹ (1 − P(s)) ds</c>, as datasketch's <c>_optimal_param</c> does.
    /// </summary>
    public static LshParameters Optimal(double threshold, int numPermutations,
        double falsePositiveWeight = DefaultFalsePositiveWeight, double falseNegativeWeight = DefaultFalseNegativeWeight)
    {
        if (!(threshold is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "Threshold must be between 0 and 1.");
        }

        if (numPermutations < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numPermutations), numPermutations, "At least one permutation is needed.");
        }

        if (!(falsePositiveWeight >= 0) || !(falseNegativeWeight >= 0) || falsePositiveWeight + falseNegativeWeight <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(falsePositiveWeight), "Weights must be non-negative and not both zero.");
        }

        return Cache.GetOrAdd((threshold, numPermutations, falsePositiveWeight, falseNegativeWeight), static key => Search(key.Item1, key.Item2, key.Item3, key.Item4));
    }

    // Simpson's rule over 128 intervals: 129 points on [0, t] for the false positives, 129 on [t, 1] for the false negatives.
    private const int Intervals = 128;

    /// <summary>
    /// Every bands × rows, evaluated the way that costs least: for each rows, the points' 1 − sʳ are computed once and
    /// each further band multiplies their power by them once, since 1 − P(s) = (1 − sʳ)ᵇ. Evaluating P afresh at every
    /// point (two integer powers, ~180,000 times at 128 permutations) ran serially ahead of every batch dedup: 4 ms
    /// of a 70 ms native run. Ties go to fewer bands, then fewer rows, as a bands-then-rows scan would pick.
    /// </summary>
    private static LshParameters Search(double t, int n, double wfp, double wfn)
    {
        Span<double> below = stackalloc double[Intervals + 1], above = stackalloc double[Intervals + 1];
        Span<double> belowPower = stackalloc double[Intervals + 1], abovePower = stackalloc double[Intervals + 1];
        double hBelow = t / Intervals, hAbove = (1 - t) / Intervals;
        var best = new LshParameters(1, 1);
        double bestError = double.MaxValue;
        for (int rows = 1; rows <= n; rows++)
        {
            for (int i = 0; i <= Intervals; i++)
            {
                below[i] = 1 - Power(i * hBelow, rows);
                above[i] = 1 - Power(t + (i * hAbove), rows);
            }

            belowPower.Fill(1);
            abovePower.Fill(1);
            for (int bands = 1; bands <= n / rows; bands++)
            {
                Multiply(belowPower, below);
                Multiply(abovePower, above);
                double falsePositive = t > 0 ? Simpson(belowPower, hBelow, complement: true) : 0;
                double falseNegative = t < 1 ? Simpson(abovePower, hAbove, complement: false) : 0;
                double error = (wfp * falsePositive) + (wfn * falseNegative);
                if (error < bestError || (error == bestError && bands < best.Bands))
                {
                    bestError = error;
                    best = new LshParameters(bands, rows);
                }
            }
        }

        return best;
    }

    private static void Multiply(Span<double> powers, ReadOnlySpan<double> factors)
    {
        for (int i = 0; i < powers.Length; i++)
        {
            powers[i] *= factors[i];
        }
    }

    /// <summary>
    /// Composite Simpson's rule over <see cref="Intervals"/> intervals of width <paramref name="h"/> of the values, or of
    /// one minus each with <paramref name="complement"/>; the integrands are smooth polynomials.
    /// </summary>
    private static double Simpson(ReadOnlySpan<double> values, double h, bool complement)
    {
        double sum = 0;
        for (int i = 0; i <= Intervals; i++)
        {
            double value = complement ? 1 - values[i] : values[i];
            sum += (i == 0 || i == Intervals ? 1 : i % 2 == 1 ? 4 : 2) * value;
        }

        return sum * h / 3;
    }
}
