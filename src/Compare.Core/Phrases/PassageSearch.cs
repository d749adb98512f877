using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// One run of the shared-passage search over two token arrays: marks the shared words and finds every
/// maximal exact match of at least MinWords words (with bridging, the extent its chains reach). Nothing
/// in it depends on which text is A: a complete search finds every match whatever the order, and when the
/// work bound bites the grams are visited in an order of their own (rarest first, then by fingerprint), so
/// the search finds the same matches, mirrored, with the texts swapped (up to the hard limit, twice the bound).
/// </summary>
internal sealed class PassageSearch : IDisposable
{
    private const int MatchCost = 256;
    private const int MaxRunSegment = 1024;

    private readonly Token[] _a, _b;
    private readonly PassageQuery? _prepared;
    private readonly int[]? _placesA, _placesB;
    private readonly int _minWords, _bridge;
    private readonly long _budget, _hardLimit;
    private readonly CancellationToken _cancellationToken;
    private readonly CellMemo _forward = new(), _backward = new();
    private readonly Stack<PendingRun> _pending = new();
    private PendingRun _gap;
    private long _work, _nextCheck;

    public PassageSearch(Token[] a, Token[] b, PhraseOptions options, CancellationToken cancellationToken)
        : this(a, b, null, options, cancellationToken)
    {
    }

    /// <summary>
    /// A search of words taken from longer texts (<see cref="RunWindows"/>): <paramref name="placesA"/>[i] is where word i
    /// of <paramref name="a"/> stands in its whole text (ascending; null when the words are the whole text), and so for B.
    /// Passages of equal length are then ordered as a search of the whole texts orders them.
    /// </summary>
    public PassageSearch(Token[] a, int[]? placesA, Token[] b, int[]? placesB, PhraseOptions options, CancellationToken cancellationToken)
        : this(a, b, null, options, cancellationToken)
    {
        Debug.Assert(placesA is null || placesA.Length == a.Length);
        Debug.Assert(placesB is null || placesB.Length == b.Length);
        _placesA = placesA;
        _placesB = placesB;
    }

    /// <summary>A search of a prepared text (A) against <paramref name="b"/>: A's fingerprints and grams are the query's.</summary>
    public PassageSearch(PassageQuery a, Token[] b, PhraseOptions options, CancellationToken cancellationToken)
        : this(a.Tokens, b, a, options, cancellationToken)
    {
    }

    private PassageSearch(Token[] a, Token[] b, PassageQuery? prepared, PhraseOptions options, CancellationToken cancellationToken)
    {
        _a = a;
        _b = b;
        _prepared = prepared;
        _minWords = options.MinWords;
        _bridge = options.MaxBridgeWords;
        _budget = options.MaxWork;
        _hardLimit = 2L * options.MaxWork;
        _cancellationToken = cancellationToken;
        HashesA = prepared?.Hashes ?? WordSequenceHashes.Of(a, pooled: true);
        HashesB = WordSequenceHashes.Of(b, pooled: true);
        SharedA = new bool[a.Length];
        SharedB = new bool[b.Length];
    }

    public Token[] A => _a;

    /// <summary>Most differing words a gap may hold on each side.</summary>
    public int Bridge => _bridge;

    public Token[] B => _b;

    /// <summary>Where word <paramref name="i"/> of A stands in A's whole text.</summary>
    public int PlaceA(int i) => _placesA is null ? i : _placesA[i];

    /// <summary>Where word <paramref name="i"/> of B stands in B's whole text.</summary>
    public int PlaceB(int i) => _placesB is null ? i : _placesB[i];

    public WordSequenceHashes HashesA { get; }

    public WordSequenceHashes HashesB { get; }

    /// <summary>Words of A inside a shared run (exact windows and, with bridging, chain extents).</summary>
    public bool[] SharedA { get; }

    /// <summary>Words of B inside a shared run.</summary>
    public bool[] SharedB { get; }

    /// <summary>Each maximal match as word ranges: A [StartA, EndA) against B [StartB, EndB).</summary>
    public List<(int StartA, int EndA, int StartB, int EndB)> Extents { get; } = [];

    /// <summary>False when the work bound left grams unvisited.</summary>
    public bool Complete { get; private set; } = true;

    public void Run()
    {
        if (_a.Length < _minWords || _b.Length < _minWords)
        {
            return;
        }

        // Chains of places per gram, ascending: first place per shared gram, then next[place]. The table is over a prepared
        // text's grams, or else over the text with fewer (a table over a 650-word candidate rather than a 150-word query
        // costs about a third more); the other text's places join chains of their own.
        int gramsA = _a.Length - _minWords + 1, gramsB = _b.Length - _minWords + 1;
        bool tableOfA = _prepared is not null || gramsA < gramsB;
        GramTable table = _prepared?.Grams ?? (tableOfA ? new GramTable(HashesA, gramsA, _minWords, pooled: true, _cancellationToken)
            : new GramTable(HashesB, gramsB, _minWords, pooled: true, _cancellationToken));
        int[] probingNext = ArrayPool<int>.Shared.Rent(tableOfA ? gramsB : gramsA);
        GramSlot[]? shared = null;
        try
        {
            shared = SharedGrams(table, tableOfA, probingNext, out int count);
            _cancellationToken.ThrowIfCancellationRequested();
            (int[] nextA, int[] nextB) = tableOfA ? (table.Next, probingNext) : (probingNext, table.Next);
            VisitGrams(shared.AsSpan(0, count), nextA, nextB);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(probingNext);
            if (shared is not null)
            {
                ArrayPool<GramSlot>.Shared.Return(shared);
            }

            if (table != _prepared?.Grams)
            {
                table.Return();
            }
        }
    }

    private void VisitGrams(Span<GramSlot> shared, int[] nextA, int[] nextB)
    {
        // Rare wording first, so that a bound reached on repetitive input costs the least telling grams
        // (under the bound the order changes nothing: the matches are grouped and ordered afterwards).
        long pairs = 0;
        foreach (GramSlot gram in shared)
        {
            pairs += gram.Pairs;
        }

        if (pairs > _budget)
        {
            shared.Sort(static (x, y) => x.Pairs != y.Pairs ? x.Pairs.CompareTo(y.Pairs) : x.Key.CompareTo(y.Key));
        }

        // Grams are admitted by their pairs alone, so which are visited whole does not depend on the order.
        int visited = 0;
        for (long admitted = 0; visited < shared.Length && admitted + shared[visited].Pairs <= _budget; admitted += shared[visited++].Pairs)
        {
            if (!VisitPairs(shared[visited], nextA, nextB, everyPair: true))
            {
                Complete = false; // the hard limit
                return;
            }
        }

        if (visited == shared.Length)
        {
            return;
        }

        // Past the bound, each remaining gram pairs its i-th place in A with its i-th in B only: linear,
        // blind to side, and enough to find text that both repeat in the same order.
        Complete = false;
        for (int k = visited; k < shared.Length && VisitPairs(shared[k], nextA, nextB, everyPair: false); k++)
        {
        }
    }

    /// <summary>One gram both texts have: its fingerprint + 1 and its chains in each text.</summary>
    private struct GramSlot
    {
        public ulong Key;
        public int FirstA, CountA, FirstB, CountB;

        public readonly long Pairs => (long)CountA * CountB;
    }

    /// <summary>
    /// The grams both texts have (the first <paramref name="count"/> of the rented array returned), each with its chain of
    /// places in A and in B: the table's text's from the table, the other text's (<paramref name="probingNext"/>) made here.
    /// Marks the words inside them.
    /// </summary>
    private GramSlot[] SharedGrams(GramTable table, bool tableOfA, int[] probingNext, out int count)
    {
        (WordSequenceHashes probing, int probingGrams, bool[] probingShared, bool[] tabledShared) =
            tableOfA ? (HashesB, _b.Length - _minWords + 1, SharedB, SharedA) : (HashesA, _a.Length - _minWords + 1, SharedA, SharedB);
        int[] first = ArrayPool<int>.Shared.Rent(table.Distinct), places = ArrayPool<int>.Shared.Rent(table.Distinct);
        Array.Clear(places, 0, table.Distinct);
        ulong[] fingerprints = ArrayPool<ulong>.Shared.Rent(probingGrams);
        int[] grams = ArrayPool<int>.Shared.Rent(probingGrams);
        probing.Runs(_minWords, fingerprints.AsSpan(0, probingGrams));
        table.FindAll(fingerprints.AsSpan(0, probingGrams), grams);
        _cancellationToken.ThrowIfCancellationRequested();
        for (int i = probingGrams - 1; i >= 0; i--)
        {
            int gram = grams[i];
            if (gram >= 0)
            {
                // At the head of the gram's chain: visited from the end, each chain ascends.
                probingShared[i] = true;
                probingNext[i] = places[gram] == 0 ? -1 : first[gram];
                first[gram] = i;
                places[gram]++;
            }
        }

        ArrayPool<ulong>.Shared.Return(fingerprints);
        ArrayPool<int>.Shared.Return(grams);
        for (int j = 0; j < table.Places; j++)
        {
            tabledShared[j] = places[table.GramAt[j]] > 0;
        }

        GramSlot[] shared = ArrayPool<GramSlot>.Shared.Rent(table.Distinct);
        count = 0;
        for (int gram = 0; gram < table.Distinct; gram++)
        {
            if (places[gram] > 0)
            {
                shared[count++] = tableOfA
                    ? new GramSlot { Key = table.Key[gram], FirstA = table.First[gram], CountA = table.Count[gram], FirstB = first[gram], CountB = places[gram] }
                    : new GramSlot { Key = table.Key[gram], FirstA = first[gram], CountA = places[gram], FirstB = table.First[gram], CountB = table.Count[gram] };
            }
        }

        ArrayPool<int>.Shared.Return(first);
        ArrayPool<int>.Shared.Return(places);
        MarkWindows(SharedA);
        MarkWindows(SharedB);
        return shared;
    }

    /// <summary>Gives the fingerprints' buffers back: nothing of the search is read after.</summary>
    public void Dispose()
    {
        HashesA.Return(); // a prepared text's are not rented: this gives nothing back
        HashesB.Return();
    }

    /// <summary>From the starts of shared grams to every word inside one: a word is shared while a window that started at most MinWords - 1 words before covers it.</summary>
    private void MarkWindows(bool[] marks)
    {
        for (int i = 0, end = 0; i < marks.Length; i++)
        {
            if (marks[i])
            {
                end = i + _minWords;
            }

            marks[i] = i < end;
        }
    }

    /// <summary>
    /// Every pair of the gram's places (or, past the bound, its i-th places in each text) that is
    /// left-maximal starts a maximal exact match. False when the hard limit is reached.
    /// </summary>
    private bool VisitPairs(GramSlot gram, int[] nextA, int[] nextB, bool everyPair)
    {
        if (!everyPair)
        {
            for (int x = gram.FirstA, y = gram.FirstB; x >= 0 && y >= 0; x = nextA[x], y = nextB[y])
            {
                if (!Spend(1) || !VisitPair(x, y))
                {
                    return false;
                }
            }

            return true;
        }

        if (!Spend(gram.Pairs))
        {
            return false;
        }

        for (int x = gram.FirstA; x >= 0; x = nextA[x])
        {
            for (int y = gram.FirstB; y >= 0; y = nextB[y])
            {
                if (!VisitPair(x, y))
                {
                    return false;
                }
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool VisitPair(int x, int y)
    {
        if (x > 0 && y > 0 && _a[x - 1].Hash == _b[y - 1].Hash)
        {
            return true; // inside a match that starts earlier
        }

        int length = 0;
        while (x + length < _a.Length && y + length < _b.Length && _a[x + length].Hash == _b[y + length].Hash)
        {
            length++;
        }

        if (!Spend(length))
        {
            return false;
        }

        // Shorter: the fingerprints collided. A match also costs its share of grouping and answering.
        if (length >= _minWords && Spend(MatchCost))
        {
            AddMatch(x, y, length);
        }

        return true;
    }

    private void AddMatch(int x, int y, int length)
    {
        if (_bridge == 0)
        {
            Extents.Add((x, x + length, y, y + length));
            return;
        }

        // Every chain through one of the match's MinWords windows: forward from the first window's last
        // word, backward from the last window's first word (the others reach no further).
        // A reach cut short by the hard limit is still at least the match itself.
        (int endA, int endB) = Reach(x + _minWords - 1, y + _minWords - 1, forward: true);
        (int startA, int startB) = Reach(x + length - _minWords, y + length - _minWords, forward: false);
        (startA, startB, endA, endB) = (Math.Min(startA, x), Math.Min(startB, y), Math.Max(endA, x + length), Math.Max(endB, y + length));
        Extents.Add((startA, endA, startB, endB));
        Array.Fill(SharedA, true, startA, endA - startA);
        Array.Fill(SharedB, true, startB, endB - startB);
    }

    /// <summary>
    /// How far chains of exact blocks with gaps of at most MaxBridgeWords on each side reach from the
    /// matching words (p, q): forward, the furthest end in each text; backward, the earliest start.
    /// Memoised over word pairs and iterative, so a chain as long as the texts costs no stack: an exact
    /// run is settled from its last word back to its first, and where a word's gap leads somewhere not
    /// known yet, that place is settled first and the run resumes where it stopped. A gap only leads
    /// onward, so whatever it needs of the run is already settled.
    /// </summary>
    private (int A, int B) Reach(int p0, int q0, bool forward)
    {
        CellMemo memo = forward ? _forward : _backward;
        int step = forward ? 1 : -1;
        _pending.Clear();
        _pending.Push(new PendingRun(p0, q0, -1, -1));
        while (_pending.Count > 0)
        {
            PendingRun run = _pending.Pop();
            if (run.Length < 0)
            {
                if (memo.TryGetValue(Key(run.P, run.Q), out _))
                {
                    continue;
                }

                // A run longer than a segment continues as another pending run, settled first.
                int length = 1;
                while (length < MaxRunSegment && InBounds(run.P + (step * length), run.Q + (step * length))
                    && _a[run.P + (step * length)].Hash == _b[run.Q + (step * length)].Hash)
                {
                    length++;
                }

                Spend(length);
                run = new PendingRun(run.P, run.Q, length, length - 1);
            }

            if (_work > _hardLimit)
            {
                _pending.Clear();
                return forward ? (p0 + 1, q0 + 1) : (p0, q0);
            }

            int next = Settle(run, step, memo);
            if (next >= 0)
            {
                _pending.Push(run with { Next = next }); // resumes once the gap pushed above it is settled
                _pending.Push(_gap);
            }
        }

        return memo.TryGetValue(Key(p0, q0), out (int A, int B) reach) ? reach : throw new InvalidOperationException("The reach was not memoised.");
    }

    /// <summary>Word pairs still to settle: the run from (P, Q) of Length pairs (-1: not measured yet), settled down from Next.</summary>
    private readonly record struct PendingRun(int P, int Q, int Length, int Next);

    /// <summary>
    /// Settles the run's pairs from Next down to its first; returns the index where it stopped because a
    /// gap leads to a pair not settled yet (left in <see cref="_gap"/>), or -1 when the run is done.
    /// </summary>
    private int Settle(PendingRun run, int step, CellMemo memo)
    {
        bool forward = step > 0;
        (int A, int B)? settled = null; // the pair after this one in the run, when this loop just settled it
        for (int t = run.Next; t >= 0; t--)
        {
            int x = run.P + (step * t), y = run.Q + (step * t);
            if (memo.TryGetValue(Key(x, y), out (int A, int B) known))
            {
                settled = known;
                continue;
            }

            (int A, int B) reach = forward ? (x + 1, y + 1) : (x, y);
            for (int da = 0; da <= _bridge; da++)
            {
                for (int db = 0; db <= _bridge; db++)
                {
                    int s = x + (step * (1 + da)), u = y + (step * (1 + db));
                    if (!InBounds(s, u) || _a[s].Hash != _b[u].Hash)
                    {
                        continue;
                    }

                    (int A, int B) next = default;
                    if ((da | db) == 0 && settled is { } inRun)
                    {
                        next = inRun;
                    }
                    else if (!memo.TryGetValue(Key(s, u), out next))
                    {
                        _gap = new PendingRun(s, u, -1, -1);
                        return t;
                    }

                    reach = forward ? (Math.Max(reach.A, next.A), Math.Max(reach.B, next.B)) : (Math.Min(reach.A, next.A), Math.Min(reach.B, next.B));
                }
            }

            Spend((_bridge + 1) * (_bridge + 1)); // counted once per pair of words, whatever order reached it
            memo.Add(Key(x, y), reach);
            settled = reach;
        }

        return -1;
    }

    private bool InBounds(int p, int q) => p >= 0 && p < _a.Length && q >= 0 && q < _b.Length;

    private long Key(int p, int q) => ((long)p * (_b.Length + 1)) + q;

    /// <summary>Counts work; false once the hard limit is passed. Checks the caller's token now and then.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Spend(long units)
    {
        _work += units;
        if (_work >= _nextCheck)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            _nextCheck = _work + 4096;
        }

        return _work <= _hardLimit;
    }
}
