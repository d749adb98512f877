using System.Diagnostics;
using System.Globalization;
using Compare.Core;
using Compare.Core.Clustering;
using Compare.Core.Indexing;
using Compare.Core.Similarity;

namespace Compare.Benchmarks;

/// <summary>
/// Batch dedup at growing sizes on the synthetic corpus: time, documents/s, MB/s, peak working set,
/// recall of the planted near-duplicates whose exact Jaccard is above the threshold, and precision
/// (clustered pairs whose exact Jaccard, recomputed here, is above it).
/// </summary>
internal static class ScaleBenchmark
{
    private const double Threshold = 0.8;

    public static void Run(int[] sizes)
    {
        Console.WriteLine("| documents | MB | time s | docs/s | MB/s | peak working set MB | planted pairs ≥ 0.8 | recall | precision |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int size in sizes)
        {
            SyntheticDocument[] corpus = [.. SyntheticCorpus.Generate(size, seed: 2014)];
            string[] texts = [.. corpus.Select(d => d.Text)];
            double megabytes = Corpus.Utf8Bytes(texts) / 1e6;
            GC.Collect();
            var clock = Stopwatch.StartNew();
            ClusteringResult result = new Deduplicator(SketchParameters.Default, new DeduplicationOptions { Threshold = Threshold }).Run(texts);
            clock.Stop();
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;

            var sketcher = new DocumentSketcher(SketchParameters.Default);
            var index = corpus.Select((d, i) => (d.Id, i)).ToDictionary(p => p.Id, p => p.i);
            var clusterOf = new int[texts.Length];
            Array.Fill(clusterOf, -1);
            for (int c = 0; c < result.Clusters.Count; c++)
            {
                foreach (ClusterMember m in result.Clusters[c].Members)
                {
                    clusterOf[m.Document] = c;
                }
            }

            int planted = 0, found = 0;
            for (int i = 0; i < corpus.Length; i++)
            {
                if (corpus[i].DuplicateOf is { } of)
                {
                    int j = index[of];
                    if (SetSimilarity.Jaccard(sketcher.Sketch(texts[i]).Shingles, sketcher.Sketch(texts[j]).Shingles) >= Threshold)
                    {
                        planted++;
                        found += clusterOf[i] >= 0 && clusterOf[i] == clusterOf[j] ? 1 : 0;
                    }
                }
            }

            int verified = 0, correct = 0;
            foreach (DuplicatePair p in result.Pairs)
            {
                verified++;
                correct += SetSimilarity.Jaccard(sketcher.Sketch(texts[p.Left]).Shingles, sketcher.Sketch(texts[p.Right]).Shingles) >= Threshold ? 1 : 0;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {size:N0} | {megabytes:F0} | {clock.Elapsed.TotalSeconds:F1} | {size / clock.Elapsed.TotalSeconds:N0} | {megabytes / clock.Elapsed.TotalSeconds:F0} | {peak / 1e6:F0} | {planted:N0} | {(planted == 0 ? 1 : (double)found / planted):P2} | {(verified == 0 ? 1 : (double)correct / verified):P2} |"));
        }
    }
}
