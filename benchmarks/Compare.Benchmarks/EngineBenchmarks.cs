using BenchmarkDotNet.Attributes;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Lsh;
using Compare.Core.Phrases;
using Compare.Core.Similarity;

namespace Compare.Benchmarks;

/// <summary>
/// The tokenizer on one ~5 KB article: its character loop (the path every word took before the ASCII blocks) as
/// the baseline, the blocks without vectors and with Vector256. Allocations must stay at 0 B.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private string _article = "";

    [GlobalSetup]
    public void Setup() => _article = Corpus.Bbc().OrderBy(t => Math.Abs(t.Length - 5000)).First();

    [Benchmark(Baseline = true)]
    public int CharacterLoop() => TokenCount.Words(_article, Compare.Core.Text.AsciiBlocks.None);

    [Benchmark]
    public int AsciiBlocksScalar() => TokenCount.Words(_article, Compare.Core.Text.AsciiBlocks.Scalar);

    [Benchmark]
    public int AsciiBlocksVector256() => TokenCount.Words(_article, Compare.Core.Text.AsciiBlocks.Vector256);
}

/// <summary>Signing one ~5 KB article: OPH and classic MinHash against the naive baseline.</summary>
[MemoryDiagnoser]
public class SignatureBenchmarks
{
    private readonly DocumentSketcher _oph = new(SketchParameters.Default);
    private readonly DocumentSketcher _classic = new(SketchParameters.Default with { Scheme = SignatureScheme.Classic });
    private readonly uint[] _signature = new uint[128];
    private string _article = "";

    [GlobalSetup]
    public void Setup() => _article = Corpus.Bbc().OrderBy(t => Math.Abs(t.Length - 5000)).First();

    [Benchmark(Baseline = true)]
    public uint[] NaiveDatasketchStyle() => NaiveMinHash.Sign(_article);

    [Benchmark]
    public uint[] OnePermutation()
    {
        _oph.Sign(_article, _signature);
        return _signature;
    }

    [Benchmark]
    public uint[] Classic()
    {
        _classic.Sign(_article, _signature);
        return _signature;
    }

    [Benchmark]
    public DocumentSketch SketchWithExactSet() => _oph.Sketch(_article);
}

/// <summary>LSH over the BBC corpus: building the index, and querying it (with exact verification).</summary>
[MemoryDiagnoser]
public class LshBenchmarks
{
    private readonly DocumentSketcher _sketcher = new(SketchParameters.Default);
    private DocumentSketch[] _sketches = [];
    private SimilarityIndex? _index;

    [GlobalSetup]
    public void Setup()
    {
        _sketches = [.. Corpus.Bbc().Select(t => _sketcher.Sketch(t))];
        _index = new SimilarityIndex(SketchParameters.Default);
        for (int i = 0; i < _sketches.Length; i++)
        {
            _index.Upsert(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _sketches[i]);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _index?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = 2225)]
    public int InsertAllIntoLshIndex()
    {
        var lsh = new LshIndex(LshParameters.Optimal(0.8, 128));
        for (int i = 0; i < _sketches.Length; i++)
        {
            lsh.Insert(i, _sketches[i].Signature);
        }

        return _sketches.Length;
    }

    [Benchmark(OperationsPerInvoke = 2225)]
    public int QueryEveryDocumentVerified()
    {
        int matches = 0;
        foreach (DocumentSketch sketch in _sketches)
        {
            matches += _index!.Query(sketch).Matches.Count;
        }

        return matches;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int QueryHundredDocumentsExhaustive()
    {
        int matches = 0;
        foreach (DocumentSketch sketch in _sketches.Take(100))
        {
            matches += _index!.Query(sketch, exhaustive: true).Matches.Count;
        }

        return matches;
    }
}

/// <summary>
/// Shared passages of two ~5 KB articles against tokenising both as the baseline, on two pairs: a story and
/// its rewrite (the most similar pair of ~5 KB articles that is not an exact copy: two long passages) and two
/// different stories (the next article of about the same length: a Compare of unrelated texts).
/// </summary>
[MemoryDiagnoser]
public class PhraseBenchmarks
{
    private string _left = "", _right = "";

    /// <summary>"rewrite" or "different".</summary>
    [Params("rewrite", "different")]
    public string Pair { get; set; } = "rewrite";

    [GlobalSetup]
    public void Setup()
    {
        string[] texts = Corpus.Bbc();
        var result = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.5 }).Run(texts);
        DuplicatePair pair = result.Pairs.Where(p => p.Jaccard < 1).OrderBy(p => Math.Abs(texts[p.Left].Length - 5000)).First();
        _left = texts[pair.Left];
        _right = Pair == "rewrite"
            ? texts[pair.Right]
            : texts.Where(t => t != _left && t != texts[pair.Right]).OrderBy(t => Math.Abs(t.Length - _left.Length)).First();
    }

    [Benchmark(Baseline = true)]
    public int TokeniseBoth() =>
        Compare.Core.Text.Tokenizer.Tokenize(_left, Compare.Core.Text.NormalizationOptions.Default, 1).Length
        + Compare.Core.Text.Tokenizer.Tokenize(_right, Compare.Core.Text.NormalizationOptions.Default, 1).Length;

    [Benchmark]
    public SharedPhrases SharedPhrasesExact() => SharedPhraseFinder.Find(_left, _right);

    [Benchmark]
    public SharedPhrases SharedPhrasesBridged() => SharedPhraseFinder.Find(_left, _right, new PhraseOptions { MaxBridgeWords = 2 });

    [Benchmark]
    public int WordDiff() => Compare.Core.Diff.WordDiff.Diff(_left, _right).Count;

    [Benchmark]
    public int SimilarSentences() => Compare.Core.Diff.SimilarSentences.Find(_left, _right).Count;
}

/// <summary>
/// FuzzySharp's ratio, token-sort and token-set ratios of two ~5 KB articles, cut to 1,000 characters as the
/// service used to: FuzzySharp itself (baseline) against the bit-parallel IndelRatios, which give the same
/// answers; and IndelRatios on the whole texts. Two pairs: a story and its rewrite (FuzzySharp strips their
/// common prefix and suffix first, so it does little) and two different stories (its full quadratic table).
/// </summary>
[MemoryDiagnoser]
public class FuzzyRatioBenchmarks
{
    private string _left = "", _right = "", _leftCut = "", _rightCut = "";

    [Params("rewrite", "different")]
    public string Pair { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string[] texts = Corpus.Bbc();
        var result = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.5 }).Run(texts);
        DuplicatePair pair = result.Pairs.Where(p => p.Jaccard < 1).OrderBy(p => Math.Abs(texts[p.Left].Length - 5000)).First();
        int[] near5k = [.. Enumerable.Range(0, texts.Length).OrderBy(i => Math.Abs(texts[i].Length - 5000)).Take(2)];
        (_left, _right) = Pair == "rewrite" ? (texts[pair.Left], texts[pair.Right]) : (texts[near5k[0]], texts[near5k[1]]);
        (_leftCut, _rightCut) = (_left[..1000], _right[..1000]);
    }

    [Benchmark(Baseline = true)]
    public int FuzzySharpRatioAndTokenRatios1000() =>
        FuzzySharp.Fuzz.Ratio(_leftCut, _rightCut) + FuzzySharp.Fuzz.TokenSortRatio(_leftCut, _rightCut) + FuzzySharp.Fuzz.TokenSetRatio(_leftCut, _rightCut);

    [Benchmark]
    public int IndelRatioAndTokenRatios1000() =>
        IndelRatios.Ratio(_leftCut, _rightCut) + IndelRatios.TokenSortRatio(_leftCut, _rightCut) + IndelRatios.TokenSetRatio(_leftCut, _rightCut);

    [Benchmark]
    public int IndelRatioAndTokenRatiosWholeTexts() =>
        IndelRatios.Ratio(_left, _right) + IndelRatios.TokenSortRatio(_left, _right) + IndelRatios.TokenSetRatio(_left, _right);
}

/// <summary>Whole dedup of the BBC corpus at 0.8, against signing alone as the baseline.</summary>
[MemoryDiagnoser]
public class DedupBenchmarks
{
    private readonly DocumentSketcher _sketcher = new(SketchParameters.Default);
    private string[] _texts = [];

    [GlobalSetup]
    public void Setup() => _texts = Corpus.Bbc();

    [Benchmark(Baseline = true)]
    public void SignAllParallel() => Parallel.ForEach(_texts, () => new uint[128], (t, _, s) => { _sketcher.Sign(t, s); return s; }, _ => { });

    [Benchmark]
    public ClusteringResult DeduplicateAll() => new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = 0.8 }).Run(_texts);
}
