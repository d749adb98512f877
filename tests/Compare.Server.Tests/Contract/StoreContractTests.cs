using Compare.Core;
using Compare.Core.Indexing;
using Compare.Core.Similarity;
using Compare.V1;
using Grpc.Core;

namespace Compare.Server.Tests.Contract;

/// <summary>
/// What every store must do alike, asked through the real server: through one way in and the other (two
/// replicas over one Redis; two channels to a local store's one server), with writers racing each other.
/// </summary>
public abstract class StoreContractTests(StoreReplicas server)
{
    private static readonly DocumentSketcher Sketcher = new(SketchParameters.Default);

    private static UpsertDocumentsRequest Batch(string collection, IEnumerable<(string Id, string Text)> documents, bool skip = false, bool near = false,
        double? threshold = null)
    {
        var request = new UpsertDocumentsRequest { Collection = collection, SkipIfDuplicate = skip, IncludeNearDuplicates = near, MaxNearDuplicates = 100 };
        if (threshold is { } t)
        {
            request.NearDuplicateThreshold = t;
        }

        request.Documents.AddRange(documents.Select(d => new Document { Id = d.Id, Text = d.Text }));
        return request;
    }

    /// <summary>The article with its last sentence-ish tail replaced: a near-duplicate well above 0.8.</summary>
    private static string Edited(string text) => text[..(text.Length * 19 / 20)] + " Edited at the end for this test.";

    [Fact]
    public async Task SkipIfDuplicate_SameTextThroughBothWaysInAtOnce_StoresExactlyOneCopy()
    {
        string c = await server.NewCollectionAsync();
        var a = new DocumentService.DocumentServiceClient(server.A);
        var b = new DocumentService.DocumentServiceClient(server.B);
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        const int Rounds = 25;
        for (int round = 0; round < Rounds; round++)
        {
            string text = corpus[round * 7].Text;
            Task<UpsertDocumentsResponse> first = a.UpsertDocumentsAsync(Batch(c, [($"r{round}-a", text)], skip: true)).ResponseAsync;
            Task<UpsertDocumentsResponse> second = b.UpsertDocumentsAsync(Batch(c, [($"r{round}-b", text)], skip: true)).ResponseAsync;
            UpsertResult[] results = [(await first).Results[0], (await second).Results[0]];

            Assert.True(results.Count(r => r.Status == UpsertStatus.Created) == 1, $"{server.Store}, round {round}: {string.Join(", ", results.Select(r => r.Status))}");
            UpsertResult skipped = Assert.Single(results, r => r.Status == UpsertStatus.SkippedDuplicate);
            UpsertResult created = Assert.Single(results, r => r.Status == UpsertStatus.Created);
            Assert.Equal(created.Id, Assert.Single(skipped.NearDuplicates).Id);
        }

        Collection stats = (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection;
        Assert.Equal(Rounds, stats.DocumentCount);
    }

    [Fact]
    public async Task IncludeNearDuplicates_StoredAndEarlierInTheBatch_ReportsExactScoresOfEveryCloseCopy()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> originals = [.. TestData.BbcCorpus().Skip(100).Take(40)];
        await server.Documents.UpsertDocumentsAsync(Batch(c, originals));

        // Through the other way in: an edited copy of each original, and a copy of the first copy later in the same batch.
        List<(string Id, string Text)> copies = [.. originals.Select(d => ("copy-" + d.Id, Edited(d.Text)))];
        copies.Add(("copy-of-copy", copies[0].Text + " Again."));
        UpsertDocumentsResponse response = await new DocumentService.DocumentServiceClient(server.B).UpsertDocumentsAsync(Batch(c, copies, near: true, threshold: 0.8));

        Dictionary<string, string> texts = originals.Concat(copies).ToDictionary(d => d.Id, d => d.Text);
        for (int i = 0; i < copies.Count; i++)
        {
            UpsertResult result = response.Results[i];
            Assert.Equal(UpsertStatus.Created, result.Status);
            // Every reported match is exact; every document stored before it (or earlier in the batch) with J ≥ 0.9 is reported.
            IEnumerable<string> earlier = originals.Select(d => d.Id).Concat(copies.Take(i).Select(d => d.Id));
            foreach (string other in earlier)
            {
                double jaccard = SetSimilarity.Jaccard(Sketcher.Sketch(copies[i].Text).Shingles, Sketcher.Sketch(texts[other]).Shingles);
                V1.SimilarityMatch? reported = result.NearDuplicates.SingleOrDefault(m => m.Id == other);
                if (reported is not null)
                {
                    Assert.Equal(jaccard, reported.Jaccard, 12);
                }

                Assert.True(reported is not null || jaccard < 0.9, $"{server.Store}: {copies[i].Id} missed {other} at {jaccard:F3}");
                Assert.True(reported is null || jaccard >= 0.8, $"{server.Store}: {copies[i].Id} reported {other} at {jaccard:F3}");
            }
        }

        Assert.Contains(response.Results[^1].NearDuplicates, m => m.Id == copies[0].Id);
    }

    [Fact]
    public async Task Deduplicate_ThroughOneWayIn_IsTheLastDeduplicateOfTheOtherWithTheFirstWrittenAsRepresentative()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> articles = [.. TestData.BbcCorpus().Skip(300).Take(30)];
        // z-copy is written first, so it represents its cluster though its id sorts last; a-copy comes after its original.
        // "moved" is written before its original too, but rewritten after it: a rewrite counts as a new write.
        await server.Documents.UpsertDocumentsAsync(Batch(c, [("z-copy", Edited(articles[0].Text)), ("moved", articles[2].Text + " First.")]));
        await server.Documents.UpsertDocumentsAsync(Batch(c, articles));
        await new DocumentService.DocumentServiceClient(server.B).UpsertDocumentsAsync(Batch(c, [("a-copy", Edited(articles[1].Text))]));
        await server.Documents.UpsertDocumentsAsync(Batch(c, [("moved", articles[2].Text + " Rewritten.")]));

        var clusters = new List<DuplicateCluster>();
        using (AsyncServerStreamingCall<DeduplicateResponse> call = new SimilarityService.SimilarityServiceClient(server.B)
            .Deduplicate(new DeduplicateRequest { Collection = c, Threshold = 0.8 }))
        {
            await foreach (DeduplicateResponse r in call.ResponseStream.ReadAllAsync())
            {
                if (r.Cluster is { } cluster)
                {
                    clusters.Add(cluster);
                }
            }
        }

        Assert.Equal(["z-copy", articles[1].Id, articles[2].Id], clusters.Select(k => k.RepresentativeId));
        Assert.Equal([[articles[0].Id, "z-copy"], ["a-copy", articles[1].Id], [articles[2].Id, "moved"]],
            clusters.Select(k => k.Members.Select(m => m.Id).Order(StringComparer.Ordinal).ToArray()));
        GetLastDeduplicateResponse last = await server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c });
        Assert.Equal(clusters, last.Clusters);
        Assert.Equal(0.8, last.Summary.Threshold);
        Assert.Equal(33, last.Summary.DocumentCount);
    }

    [Fact]
    public async Task DeleteDocuments_ThroughOneWayIn_IsSeenByTheOthersQueriesCountsAndSizes()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> articles = [.. TestData.BbcCorpus().Skip(500).Take(10)];
        await server.Documents.UpsertDocumentsAsync(Batch(c, articles));

        DeleteDocumentsResponse deleted = await new DocumentService.DocumentServiceClient(server.B).DeleteDocumentsAsync(
            new DeleteDocumentsRequest { Collection = c, Ids = { articles[0].Id, "never-stored", articles[1].Id } });

        Assert.Equal(2, deleted.DeletedCount);
        Assert.Equal(["never-stored"], deleted.NotFoundIds);
        FindSimilarResponse found = await server.Similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = new DocumentRef { Text = articles[0].Text } });
        Assert.Empty(found.Matches);
        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await server.Documents.GetDocumentAsync(new GetDocumentRequest { Collection = c, Id = articles[1].Id }));
        Collection stats = (await server.Collections.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection;
        Assert.Equal(8, stats.DocumentCount);
        Assert.Equal(articles.Skip(2).Sum(d => (long)System.Text.Encoding.UTF8.GetByteCount(d.Text)), stats.TextBytes);
    }

    [Fact]
    public async Task FindSimilar_ThroughEitherWayIn_EqualsTheExhaustiveAnswerAndTheEngineFreeReference()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> articles = [.. TestData.BbcCorpus().Skip(700).Take(20)];
        articles.AddRange(articles.Take(5).Select(d => ("copy-" + d.Id, Edited(d.Text))).ToList());
        await server.Documents.UpsertDocumentsAsync(Batch(c, articles));

        foreach ((string id, string text) in articles.Take(5))
        {
            var request = new FindSimilarRequest { Collection = c, Query = new DocumentRef { Id = id }, Threshold = 0.5, TopK = 10 };
            FindSimilarResponse viaA = await server.Similarity.FindSimilarAsync(request);
            FindSimilarResponse viaB = await new SimilarityService.SimilarityServiceClient(server.B).FindSimilarAsync(request);
            FindSimilarResponse exhaustive = await server.Similarity.FindSimilarAsync(new FindSimilarRequest(request) { Exhaustive = true });

            Assert.Equal(viaA.Matches, viaB.Matches);
            Assert.Equal(exhaustive.Matches, viaA.Matches);
            V1.SimilarityMatch match = Assert.Single(viaA.Matches);
            Assert.Equal("copy-" + id, match.Id);
            Assert.Equal(ReferenceJaccard.Jaccard(text, Edited(text)), match.Jaccard, 12);
            Assert.Equal(articles.Count - 1, exhaustive.CandidatesExamined);
        }
    }

    [Fact]
    public async Task FindSimilarAndDeduplicate_AtAnyThreshold_FindPairsAboveItLikeExactJaccardOverEveryPair()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> documents = [.. TestData.BbcCorpus().Take(1200)];
        // Copies with a growing share of their words replaced, so that pairs fall at every Jaccard from about 0.1 to 1.
        var random = new Random(18);
        documents.AddRange(documents.Take(400).Select((d, i) => ("edit-" + d.Id, ReplaceWords(d.Text, Math.Pow(i % 100 / 100.0, 2) * 0.4, random))).ToList());
        foreach ((string Id, string Text)[] chunk in documents.Chunk(200))
        {
            await server.Documents.UpsertDocumentsAsync(Batch(c, chunk));
        }

        Dictionary<(int, int), double> reference = ReferenceJaccard.Pairs([.. documents.Select(d => d.Text)], 0.15);
        var similarity = new SimilarityService.SimilarityServiceClient(server.B);
        foreach (double threshold in new[] { 0.2, 0.3, 0.5, 0.8 })
        {
            int due = 0, found = 0;
            long examined = 0;
            var missed = new List<string>();
            for (int q = 1200; q < documents.Count; q++)
            {
                FindSimilarResponse answer = await similarity.FindSimilarAsync(new FindSimilarRequest { Collection = c, Query = new DocumentRef { Id = documents[q].Id }, Threshold = threshold });
                examined += answer.CandidatesExamined;
                Dictionary<string, double> expected = reference.Where(p => p.Key.Item1 == q || p.Key.Item2 == q)
                    .ToDictionary(p => documents[p.Key.Item1 == q ? p.Key.Item2 : p.Key.Item1].Id, p => p.Value);
                foreach (V1.SimilarityMatch match in answer.Matches)
                {
                    Assert.True(match.Jaccard >= threshold, $"{match.Id} at {match.Jaccard} below {threshold}");
                    Assert.Equal(expected[match.Id], match.Jaccard, 9);
                }

                HashSet<string> matched = [.. answer.Matches.Select(m => m.Id)];
                foreach ((string id, double _) in expected.Where(e => e.Value >= threshold + 0.05))
                {
                    due++;
                    found += matched.Contains(id) ? 1 : 0;
                    if (!matched.Contains(id))
                    {
                        missed.Add($"{documents[q].Id}~{id}");
                    }
                }
            }

            Assert.True(due >= 20, $"{server.Store}: only {due} pairs above {threshold + 0.05}");
            Assert.True(found >= 0.99 * due, $"{server.Store}, FindSimilar at {threshold}: {found} of {due} pairs found; missed {string.Join(", ", missed)}");
            // A small fraction of the collection is examined, not all of it.
            Assert.True(examined < 400L * documents.Count / 4, $"{server.Store}, FindSimilar at {threshold}: {examined / 400.0:F0} candidates a query of {documents.Count}");

            Dictionary<string, int> clusterOf = [];
            int clusters = 0;
            await foreach (DeduplicateResponse r in similarity.Deduplicate(new DeduplicateRequest { Collection = c, Threshold = threshold }).ResponseStream.ReadAllAsync())
            {
                if (r.Cluster is { } cluster)
                {
                    clusters++;
                    foreach (var member in cluster.Members)
                    {
                        clusterOf[member.Id] = clusters;
                    }
                }
            }

            (int Due, int Together) pairs = (0, 0);
            foreach (((int a, int b), double _) in reference.Where(p => p.Value >= threshold + 0.05))
            {
                pairs.Due++;
                pairs.Together += clusterOf.TryGetValue(documents[a].Id, out int x) && clusterOf.TryGetValue(documents[b].Id, out int y) && x == y ? 1 : 0;
            }

            Assert.True(pairs.Together >= 0.99 * pairs.Due, $"{server.Store}, Deduplicate at {threshold}: {pairs.Together} of {pairs.Due} pairs clustered");
        }
    }

    [Fact]
    public async Task FindSharedPassages_ArticlesQuotingOthers_FindEverySourceSharingSevenWordsInARow()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> sources = [.. TestData.BbcCorpus().Skip(900).Take(500)];
        // Articles that quote two to four others: 7 to 25 words of each, amid words no article has.
        var random = new Random(1803);
        var quoting = new List<(string Id, string Text)>();
        for (int q = 0; q < 25; q++)
        {
            var parts = new List<string> { Filler(random, 30) };
            for (int k = 0; k < random.Next(2, 5); k++)
            {
                string[] words = sources[random.Next(sources.Count)].Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                int length = random.Next(7, 26), start = random.Next(words.Length - length);
                parts.Add(string.Join(' ', words[start..(start + length)]));
                parts.Add(Filler(random, 20));
            }

            quoting.Add(($"quote-{q}", string.Join(' ', parts)));
        }

        foreach ((string Id, string Text)[] chunk in sources.Concat(quoting).Chunk(250))
        {
            await server.Documents.UpsertDocumentsAsync(Batch(c, chunk));
        }

        var similarity = new SimilarityService.SimilarityServiceClient(server.B);
        foreach ((string id, string text) in quoting)
        {
            FindSharedPassagesResponse answer = await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Id = id }, TopK = 50 });

            // The engine-free reference: every indexed document that has one of the query's runs of seven words.
            HashSet<string> runs = ReferencePassages.Runs(text, 7);
            string[] expected = [.. sources.Concat(quoting).Where(d => d.Id != id && ReferencePassages.Runs(d.Text, 7).Overlaps(runs)).Select(d => d.Id).Order(StringComparer.Ordinal)];
            Assert.NotEmpty(expected);
            Assert.Equal(expected, answer.Matches.Select(m => m.Id).Order(StringComparer.Ordinal));
            Assert.Equal(7, answer.GuaranteedMinWords);
            Assert.DoesNotContain(answer.Matches, m => m.Id == id);
            Assert.Equal(answer.Matches.OrderByDescending(m => m.SharedWordCount).ThenBy(m => m.Id, StringComparer.Ordinal), answer.Matches);
            foreach (PassageMatch match in answer.Matches)
            {
                Assert.InRange(match.CoverageOfQuery, 1e-9, 1);
                Assert.InRange(match.CoverageOfMatch, 1e-9, 1);
                V1.SharedPhrase longest = match.Passages[0];
                Assert.True(longest.WordCount >= 7 || !expected.Contains(match.Id));
                Assert.Equal(longest.Text, Slice(text, longest.Left));
                Assert.Equal(longest.RightText, Slice(sources.Concat(quoting).Single(d => d.Id == match.Id).Text, longest.Right));
            }
        }

        // The seeds' question: the 2016 report by text finds the 2014 one by the wording they share, though their Jaccard is 0.005.
        await server.Documents.UpsertDocumentsAsync(ServerFixture.Seeds(c));
        FindSharedPassagesResponse seeds = await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Text = TestData.Seed2016 } });
        PassageMatch report = Assert.Single(seeds.Matches, m => m.Id == "2014");
        Assert.Contains(report.Passages, p => p.Text.Contains("construction of the Silk Road Economic Belt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FindSimilar_ContainmentEitherWay_FindsEveryDocumentAboveItLikeExactContainmentOverEveryPair()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> documents = [.. TestData.BbcCorpus().Skip(1500).Take(400)];
        var random = new Random(2016);
        // Press releases: a stretch of an article, a tenth to all of it, lightly edited; and round-ups: two articles and more joined.
        for (int i = 0; i < 60; i++)
        {
            string[] words = documents[i].Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int length = Math.Max(30, words.Length * random.Next(10, 101) / 100), start = random.Next(words.Length - length + 1);
            documents.Add(($"release-{i}", ReplaceWords(string.Join(' ', words[start..(start + length)]), 0.02, random)));
            documents.Add(($"roundup-{i}", string.Join("\n\n", Enumerable.Range(0, random.Next(2, 4)).Select(_ => documents[random.Next(400)].Text))));
        }

        foreach ((string Id, string Text)[] chunk in documents.Chunk(200))
        {
            await server.Documents.UpsertDocumentsAsync(Batch(c, chunk));
        }

        HashSet<string>[] shingles = [.. documents.Select(d => ReferenceJaccard.Shingles(d.Text))];
        var similarity = new SimilarityService.SimilarityServiceClient(server.B);
        // How many documents share a fingerprint with each query: what a containment search would verify without its bounds.
        Dictionary<int, int> sharing = [];
        foreach (int q in Enumerable.Range(0, 60).Concat(Enumerable.Range(400, 40)))
        {
            sharing[q] = (await similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Id = documents[q].Id } })).CandidatesFound;
        }

        foreach (double minimum in new[] { 0.2, 0.5, 0.8 })
        {
            int due = 0, found = 0;
            var examined = new Dictionary<bool, int> { [true] = 0, [false] = 0 };
            foreach (int q in Enumerable.Range(0, 60).Concat(Enumerable.Range(400, 40)))
            {
                foreach (bool ofQuery in new[] { true, false })
                {
                    var request = new FindSimilarRequest { Collection = c, Query = new DocumentRef { Id = documents[q].Id }, TopK = 1000 };
                    if (ofQuery)
                    {
                        request.MinContainmentOfQuery = minimum;
                    }
                    else
                    {
                        request.MinContainmentOfMatch = minimum;
                    }

                    FindSimilarResponse answer = await similarity.FindSimilarAsync(request);
                    examined[ofQuery] += answer.CandidatesExamined;
                    Assert.Equal(0, answer.Threshold);
                    Assert.False(answer.Truncated);
                    Dictionary<string, V1.SimilarityMatch> matches = answer.Matches.ToDictionary(m => m.Id);
                    Assert.All(answer.Matches, m => Assert.True((ofQuery ? m.ContainmentOfQuery : m.ContainmentOfMatch) >= minimum));
                    Assert.Equal(answer.Matches.OrderByDescending(m => ofQuery ? m.ContainmentOfQuery : m.ContainmentOfMatch).Select(m => ofQuery ? m.ContainmentOfQuery : m.ContainmentOfMatch),
                        answer.Matches.Select(m => ofQuery ? m.ContainmentOfQuery : m.ContainmentOfMatch));
                    for (int d = 0; d < documents.Count; d++)
                    {
                        int shared = shingles[q].Count(shingles[d].Contains);
                        double containment = (double)shared / (ofQuery ? shingles[q].Count : shingles[d].Count);
                        if (d != q && containment >= minimum + 0.05)
                        {
                            due++;
                            found += matches.ContainsKey(documents[d].Id) ? 1 : 0;
                        }
                    }
                }
            }

            Assert.True(due >= 50, $"{server.Store}: only {due} documents above {minimum + 0.05}");
            Assert.True(found >= 0.99 * due, $"{server.Store}, containment {minimum}: {found} of {due} found");
            // Both ways the bounds leave out documents that share too little for the containment asked.
            Assert.All(examined, e => Assert.True(e.Value < sharing.Values.Sum(), $"{server.Store}, containment {minimum}, of query {e.Key}: {e.Value} of {sharing.Values.Sum()} verified"));
        }

        await RpcAssert.InvalidFieldAsync("min_containment_of_query", async () => await similarity.FindSimilarAsync(
            new FindSimilarRequest { Collection = c, Query = new DocumentRef { Id = documents[0].Id }, MinContainmentOfQuery = 1.5 }));
    }

    [Fact]
    public async Task FindSharedPassages_BadArguments_AreInvalidNamingTheField()
    {
        string c = await server.SeedsCollectionAsync();
        var query = new DocumentRef { Id = "2014" };
        await RpcAssert.InvalidFieldAsync("min_words", async () => await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = query, MinWords = 1 }));
        await RpcAssert.InvalidFieldAsync("min_words", async () => await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = query, MinWords = 65 }));
        await RpcAssert.InvalidFieldAsync("max_bridge_words", async () => await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = query, MaxBridgeWords = 11 }));
        await RpcAssert.InvalidFieldAsync("query", async () => await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Id = "missing" } }));
    }

    [Fact]
    public async Task Upsert_IdsThatJsonEscapes_AreFoundAgainByEveryBatchRead()
    {
        // The stores read a batch's versions and a passage query's texts by a list of ids in one read (SQLite: a JSON
        // array through json_each), so ids that JSON escapes must come back as themselves.
        string c = await server.NewCollectionAsync();
        string[] ids = ["emoji 😀 id", "é-accent", "中文标识", "quote\"inside", "back\\slash", "[\"json\"]", "tab\there", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"];
        List<(string Id, string Text)> documents = [.. ids.Zip(TestData.BbcCorpus().Skip(1500).Take(ids.Length), (id, d) => (id, d.Text))];
        Assert.All((await server.Documents.UpsertDocumentsAsync(Batch(c, documents))).Results, r => Assert.Equal(UpsertStatus.Created, r.Status));
        Assert.All((await server.Documents.UpsertDocumentsAsync(Batch(c, documents))).Results, r => Assert.Equal(UpsertStatus.Unchanged, r.Status));
        UpsertDocumentsResponse changed = await server.Documents.UpsertDocumentsAsync(Batch(c, [.. documents.Select(d => (d.Id, d.Text + " Changed."))]));
        Assert.Equal(ids, changed.Results.Select(r => r.Id));
        Assert.All(changed.Results, r => Assert.Equal(UpsertStatus.Updated, r.Status));

        foreach ((string id, string text) in documents)
        {
            string quote = "Elsewhere: " + string.Join(' ', text.Split(' ')[10..30]) + " so it was said.";
            FindSharedPassagesResponse found = await server.Similarity.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Text = quote } });
            Assert.Equal(id, Assert.Single(found.Matches).Id);
        }
    }

    private static string Filler(Random random, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => "zq" + random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture)));

    // A span of code points, as the API gives them.
    private static string Slice(string text, Span span)
    {
        int[] starts = [.. Enumerable.Range(0, text.Length).Where(i => !char.IsLowSurrogate(text[i])), text.Length];
        return text[starts[span.Start]..starts[span.End]];
    }

    private static string ReplaceWords(string text, double share, Random random) =>
        string.Join(' ', text.Split(' ').Select(w => random.NextDouble() < share ? "w" + random.Next(1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture) : w));

    [Fact]
    public async Task FindSharedPassages_AfterRewritesAndDeletesThroughTheOtherWayIn_AnswersFromTheDocumentsAsTheyAreNow()
    {
        string c = await server.NewCollectionAsync();
        List<(string Id, string Text)> articles = [.. TestData.BbcCorpus().Skip(1400).Take(40)];
        await server.Documents.UpsertDocumentsAsync(Batch(c, articles));
        var random = new Random(1907);
        string query = string.Join(' ', articles.Take(6).Select(a => Filler(random, 15) + " " + string.Join(' ', a.Text.Split(' ').Skip(20).Take(12))));
        var similarityB = new SimilarityService.SimilarityServiceClient(server.B);
        var request = new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Text = query }, TopK = 100 };
        HashSet<string> before = [.. (await similarityB.FindSharedPassagesAsync(request)).Matches.Select(m => m.Id)];
        Assert.Equal(Sharing(articles, query), before);

        // Through the first way in, after the other has searched (a replica may remember what it read): one article rewritten
        // with another's words, one deleted, one rewritten with a sentence more, and a copy of one under a new id.
        await server.Documents.UpsertDocumentsAsync(Batch(c, [(articles[0].Id, articles[39].Text), (articles[4].Id, articles[4].Text + " One sentence more."),
            ("copy-of-3", articles[3].Text)]));
        await server.Documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = c, Ids = { articles[1].Id } });
        List<(string Id, string Text)> now = [.. articles.Skip(2).Where(a => a.Id != articles[4].Id), (articles[0].Id, articles[39].Text),
            (articles[4].Id, articles[4].Text + " One sentence more."), ("copy-of-3", articles[3].Text)];

        FindSharedPassagesResponse after = await similarityB.FindSharedPassagesAsync(request);
        HashSet<string> expected = Sharing(now, query);
        Assert.Equal(expected, after.Matches.Select(m => m.Id).ToHashSet());
        Assert.Contains("copy-of-3", expected);
        Assert.DoesNotContain(articles[1].Id, after.Matches.Select(m => m.Id));
        Assert.DoesNotContain(articles[0].Id, expected);
        Assert.DoesNotContain(articles[0].Id, after.Matches.Select(m => m.Id));
        Assert.Equal(after.Matches.Select(m => (m.Id, m.SharedWordCount)), (await server.Similarity.FindSharedPassagesAsync(request)).Matches.Select(m => (m.Id, m.SharedWordCount)));

        // The engine-free reference: the documents having one of the query's runs of seven words.
        static HashSet<string> Sharing(IEnumerable<(string Id, string Text)> documents, string query)
        {
            HashSet<string> runs = ReferencePassages.Runs(query, 7);
            return [.. documents.Where(d => ReferencePassages.Runs(d.Text, 7).Overlaps(runs)).Select(d => d.Id)];
        }
    }

    [Fact]
    public async Task FindSharedPassages_LongDocumentKeptByOneWayIn_IsUsedUnreadUntilRewrittenThroughTheOther()
    {
        string c = await server.NewCollectionAsync();
        IReadOnlyList<(string Id, string Text)> bbc = TestData.BbcCorpus();
        string book = string.Join("\n\n", bbc.Skip(600).Take(30).Select(d => d.Text));
        Assert.True(book.Length >= Core.Phrases.PassageText.LongCharacters);
        await server.Documents.UpsertDocumentsAsync(Batch(c, [("book", book), .. bbc.Take(10)]));
        string[] words = book.Split(' ');
        var random = new Random(7);
        string opening = $"{string.Join(' ', words[..15])} {Filler(random, 12)}", middle = $"{Filler(random, 12)} {string.Join(' ', words[2000..2016])}";
        var similarityB = new SimilarityService.SimilarityServiceClient(server.B);
        Application.LongPassageTexts kept = server.LongTextsOfB;

        // Read and kept by the second way in, then used there without reading it.
        await AnswersAsTheBookAsync(opening, book);
        long unread = kept.UsedUnread;
        await AnswersAsTheBookAsync(middle, book);
        Assert.Equal(unread + 1, kept.UsedUnread);

        // Rewritten through the first way in: the second reads it again and answers from the new text, then keeps that.
        string rewritten = "A new opening. " + book[300..];
        await server.Documents.UpsertDocumentsAsync(Batch(c, [("book", rewritten)]));
        await AnswersAsTheBookAsync(middle, rewritten);
        Assert.Equal(unread + 1, kept.UsedUnread);
        await AnswersAsTheBookAsync(middle, rewritten);
        Assert.Equal(unread + 2, kept.UsedUnread);
        FindSharedPassagesResponse gone = await similarityB.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Text = opening }, TopK = 20 });
        Assert.DoesNotContain(gone.Matches, m => m.Id == "book");

        async Task AnswersAsTheBookAsync(string query, string text)
        {
            FindSharedPassagesResponse answer = await similarityB.FindSharedPassagesAsync(new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Text = query }, TopK = 20 });
            Core.Phrases.SharedPhrases expected = Core.Phrases.SharedPhraseFinder.Find(query, text, new Core.Phrases.PhraseOptions { MinWords = 7 });
            PassageMatch match = Assert.Single(answer.Matches, m => m.Id == "book");
            Assert.NotEmpty(expected.Phrases);
            Assert.Equal(expected.Phrases.Select(p => (p.Text, p.Left.Start, p.Left.End, p.Right.Start, p.Right.End)),
                match.Passages.Select(p => (p.Text, p.Left.Start, p.Left.End, p.Right.Start, p.Right.End)));
        }
    }

    [Fact]
    public async Task Queries_CollectionRecreatedWithOtherSettingsThroughTheOtherWayIn_AnswerWithTheNewSettings()
    {
        // Digits every fourth word: a collection that folds digits holds the query's words, one that does not, none of its runs.
        string c = await server.NewCollectionAsync();
        string[] words = TestData.BbcCorpus()[1450].Text.Split(' ');
        string Dated(string year) => string.Join(' ', words.Select((w, i) => i % 3 == 2 ? w + " " + year : w));
        var similarityB = new SimilarityService.SimilarityServiceClient(server.B);
        var passages = new FindSharedPassagesRequest { Collection = c, Query = new DocumentRef { Text = Dated("2024") } };
        var similar = new FindSimilarRequest { Collection = c, Query = new DocumentRef { Text = Dated("2024") }, Threshold = 0.9 };
        await server.Documents.UpsertDocumentsAsync(Batch(c, [("dated", Dated("1999"))]));
        Assert.Empty((await similarityB.FindSharedPassagesAsync(passages)).Matches);
        Assert.Empty((await similarityB.FindSimilarAsync(similar)).Matches);

        // The other way in has read the collection's settings; through the first, it goes and comes back folding digits.
        await server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = c });
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = c, Config = new CollectionConfig { Normalization = new Normalization { FoldDigits = true } } });
        await server.Documents.UpsertDocumentsAsync(Batch(c, [("dated", Dated("1999"))]));

        PassageMatch match = Assert.Single((await similarityB.FindSharedPassagesAsync(passages)).Matches);
        Assert.Equal(("dated", 1.0), (match.Id, match.CoverageOfQuery));
        V1.SimilarityMatch near = Assert.Single((await similarityB.FindSimilarAsync(similar)).Matches);
        Assert.Equal(("dated", 1.0), (near.Id, near.Jaccard));
    }

    [Fact]
    public async Task DeleteCollection_ThenCreateAgain_StartsEmptyWithoutTheLastDeduplicate()
    {
        string c = await server.NewCollectionAsync();
        await server.Documents.UpsertDocumentsAsync(Batch(c, TestData.BbcCorpus().Take(5)));
        await foreach (DeduplicateResponse _ in server.Similarity.Deduplicate(new DeduplicateRequest { Collection = c }).ResponseStream.ReadAllAsync())
        {
        }

        // The other way in has read the collection (a replica may remember what it read), then it goes and comes back.
        var collectionsB = new CollectionService.CollectionServiceClient(server.B);
        var similarityB = new SimilarityService.SimilarityServiceClient(server.B);
        var query = new FindSimilarRequest { Collection = c, Query = new DocumentRef { Text = TestData.BbcCorpus()[0].Text } };
        Assert.Single((await similarityB.FindSimilarAsync(query)).Matches);
        Assert.Equal(5, (await server.Collections.DeleteCollectionAsync(new DeleteCollectionRequest { Name = c })).DeletedDocumentCount);
        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await similarityB.FindSimilarAsync(query));
        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await collectionsB.GetCollectionAsync(new GetCollectionRequest { Name = c }));
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = c });

        Assert.Equal(0, (await collectionsB.GetCollectionAsync(new GetCollectionRequest { Name = c })).Collection.DocumentCount);
        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await server.Similarity.GetLastDeduplicateAsync(new GetLastDeduplicateRequest { Collection = c }));
        Assert.Empty((await similarityB.FindSimilarAsync(query)).Matches);
    }

    [Fact]
    public async Task ListDocuments_IdsAboveTheBasicPlane_PageInCodePointOrder()
    {
        // U+1F600 sorts before U+FFFD by UTF-16 unit but after it by code point.
        string[] ids = ["b", "a\uFFFD", "a\U0001F600", "a", "A", "a\u00E9", "a-1"];
        string[] expected = [.. ids.OrderBy(id => id, Comparer<string>.Create((x, y) =>
            string.CompareOrdinal(string.Join(",", x.EnumerateRunes().Select(r => r.Value.ToString("x6", null))),
                                  string.Join(",", y.EnumerateRunes().Select(r => r.Value.ToString("x6", null))))))];
        Assert.Equal(["A", "a", "a-1", "a\u00E9", "a\uFFFD", "a\U0001F600", "b"], expected);

        string c = await server.NewCollectionAsync();
        var documents = server.Documents;
        var request = new UpsertDocumentsRequest { Collection = c };
        request.Documents.AddRange(ids.Select(id => new Document { Id = id, Text = "text of " + id }));
        await documents.UpsertDocumentsAsync(request);

        var listed = new List<string>();
        string token = string.Empty;
        do
        {
            ListDocumentsResponse page = await documents.ListDocumentsAsync(new ListDocumentsRequest { Collection = c, PageSize = 2, PageToken = token });
            listed.AddRange(page.Documents.Select(d => d.Id));
            Assert.Equal(ids.Length, page.TotalCount);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.True(expected.SequenceEqual(listed), $"{server.Store}: {string.Join(" ", listed)}");
    }

    private const string Footer = "Copyright 2005 BBC News. All rights reserved. Reproduction of this article in any form without written permission is prohibited.";

    [Fact]
    public async Task Compare_FooterOfEveryArticle_IsBoilerplateAndStopsBeingSoWhenArticlesDropIt()
    {
        IReadOnlyList<(string Id, string Text)> corpus = TestData.BbcCorpus();
        // The quote stands away from the footer in both texts (a passage running on into the footer is kept).
        string source = corpus[10].Text, quote = source.Split("\n\n").SkipLast(1).OrderByDescending(p => p.Length).First();
        string other = corpus[400].Text;
        int middle = other.IndexOf("\n\n", other.Length / 3, StringComparison.Ordinal);
        Assert.True(middle > 0);
        string quoting = other[..middle] + "\n\nAs an earlier report put it: " + quote + other[middle..];
        string store = server.Store, news = await server.NewCollectionAsync(new CollectionConfig { MaxPhraseDocumentFrequency = 0.5 });
        // Written through one way in, compared through the other.
        var documents = server.Documents;
        var similarity = new SimilarityService.SimilarityServiceClient(server.B);
        var upsert = new UpsertDocumentsRequest { Collection = news };
        upsert.Documents.Add(new Document { Id = "source", Text = source + "\n\n" + Footer });
        upsert.Documents.Add(new Document { Id = "quoting", Text = quoting + "\n\n" + Footer });
        upsert.Documents.AddRange(corpus.Skip(1000).Take(10).Select(d => new Document { Id = d.Id, Text = d.Text + "\n\n" + Footer }));
        await documents.UpsertDocumentsAsync(upsert);
        var compare = new CompareRequest { Collection = news, Left = new DocumentRef { Id = "source" }, Right = new DocumentRef { Id = "quoting" } };

        // The collection's default (0.5): the footer, in 12 of 12 documents, is left out; the quote stays.
        CompareResponse filtered = await similarity.CompareAsync(compare);
        CompareResponse everything = await similarity.CompareAsync(new CompareRequest(compare) { MaxPhraseDocumentFrequency = 1 });
        CompareResponse swapped = await similarity.CompareAsync(new CompareRequest(compare) { Left = compare.Right, Right = compare.Left });
        Assert.True(everything.SharedPhrases.Any(p => p.Text.Contains("All rights reserved", StringComparison.Ordinal)), store);
        Assert.DoesNotContain(filtered.SharedPhrases, p => p.Text.Contains("All rights reserved", StringComparison.Ordinal));
        Assert.Contains(filtered.SharedPhrases, p => quote.StartsWith(p.Text, StringComparison.Ordinal) && p.WordCount > 50);
        Assert.Equal(1, filtered.BoilerplatePhraseCount);
        Assert.Equal(0, everything.BoilerplatePhraseCount);
        int footerWords = Core.Text.Tokenizer.Tokenize(Footer, Core.Text.NormalizationOptions.Default, 1).Length;
        Assert.Equal(everything.LeftCoverage * everything.LeftWordCount - footerWords, filtered.LeftCoverage * filtered.LeftWordCount, 6);
        Assert.Equal((filtered.LeftCoverage, filtered.RightCoverage, filtered.BoilerplatePhraseCount), (swapped.RightCoverage, swapped.LeftCoverage, swapped.BoilerplatePhraseCount));

        // Ten articles rewritten without the footer: it is in 2 of 12 documents, telling again.
        var rewrite = new UpsertDocumentsRequest { Collection = news };
        rewrite.Documents.AddRange(corpus.Skip(1000).Take(10).Select(d => new Document { Id = d.Id, Text = d.Text }));
        await documents.UpsertDocumentsAsync(rewrite);
        CompareResponse telling = await similarity.CompareAsync(compare);
        Assert.Equal(0, telling.BoilerplatePhraseCount);
        Assert.Contains(telling.SharedPhrases, p => p.Text.Contains("All rights reserved", StringComparison.Ordinal));

        // At 10 %, more than one document of twelve: the footer and the quote, each in two, are both boilerplate;
        // once "quoting" is deleted each is in one document only, and telling again.
        var inline = new CompareRequest(compare) { Right = new DocumentRef { Text = quoting + "\n\n" + Footer }, MaxPhraseDocumentFrequency = 0.1 };
        Assert.Equal(2, (await similarity.CompareAsync(inline)).BoilerplatePhraseCount);
        await documents.DeleteDocumentsAsync(new DeleteDocumentsRequest { Collection = news, Ids = { "quoting" } });
        CompareResponse afterDelete = await similarity.CompareAsync(inline);
        Assert.Equal(0, afterDelete.BoilerplatePhraseCount);
        Assert.Equal(everything.LeftCoverage, afterDelete.LeftCoverage);
        await RpcAssert.InvalidFieldAsync("max_phrase_document_frequency",
            () => similarity.CompareAsync(new CompareRequest(compare) { MaxPhraseDocumentFrequency = 0 }).ResponseAsync);
    }
}

public sealed class StoreContractOnMemory(MemoryReplicas server) : StoreContractTests(server), IClassFixture<MemoryReplicas>;

public sealed class StoreContractOnSqlite(SqliteReplicas server) : StoreContractTests(server), IClassFixture<SqliteReplicas>;

public sealed class StoreContractOnRedis(RedisReplicas server) : StoreContractTests(server), IClassFixture<RedisReplicas>;

public sealed class StoreContractOnRedisCluster(RedisClusterReplicas server) : StoreContractTests(server), IClassFixture<RedisClusterReplicas>;
