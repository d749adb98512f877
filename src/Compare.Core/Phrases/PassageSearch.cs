using System.Buffers;
using System.Numerics;
using Compare.Core.Text;

namespace Compare.Core.Phrases;

/// <summary>
/// One run of the shared-passage search over two token arrays: marks the shared words and finds every
/// maximal exact match of at least MinWords words (with bridging, the extent its chains reach). Nothing
/// in it depends on which text is A: grams are visited in an order of their own, so even a search the
/// work bound stops finds the same matches, mirrored, with the texts swapped.
/// </summary>
internal sealed class PassageSearch
{
    private const int MatchCost = 64;

    private readonly Token[] _a, _b;
    private readonly int _minWords, _bridge;
    private readonly long _budget, _hardLimit;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<long, long> _forward = [], _backward = [];
    private readonly Stack<(int P, int Q)> _pending = new();
    private long _work, _nextCheck;

    public PassageSearch(Token[] a, Token[] b, PhraseOptions options, CancellationToken cancellationToken)
    {
        _a = a;
        _b = b;
        _minWords = options.MinWords;
        _bridge = options.MaxBridgeWords;
        _budget = options.MaxWork;
        _hardLimit = 2L * options.MaxWork;
        _cancellationToken = cancellationToken;
        ulong[] powers = WordSequenceHashes.Powers(Math.Max(a.Length, b.Length));
        HashesA = new WordSequenceHashes(a, powers);
        HashesB = new WordSequenceHashes(b, powers);
        SharedA = new bool[a.Length];
        SharedB = new bool[b.Length];
    }

    public Token[] A => _a;

    /// <summary>Most differing words a gap may hold on each side.</summary>
    public int Bridge => _bridge;

    public Token[] B => _b;

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

    /// <summary>A k-gram both texts have: its fingerprint, its first position in each text and how often each has it.</summary>
    private readonly record struct SharedGram(ulong Key, int FirstA, int CountA, int FirstB, int CountB)
    {
        public long Pairs => (long)CountA * CountB;
    }

    public void Run()
    {
        if (_a.Length < _minWords || _b.Length < _minWords)
        {
            return;
        }

        // Chains of places per gram, ascending: first place per shared gram, then next[place].
        (List<SharedGram> shared, int[] nextA, int[] nextB) = SharedGrams();
        MarkWindows(shared, nextA, SharedA, isA: true);
        MarkWindows(shared, nextB, SharedB, isA: false);
        _cancellationToken.ThrowIfCancellationRequested();

        // Rare wording first, so that a bound reached on repetitive input costs the least telling grams
        // (under the bound the order changes nothing: the matches are grouped and ordered afterwards).
        if (shared.Sum(static g => g.Pairs) > _budget)
        {
            shared.Sort(static (x, y) => x.Pairs != y.Pairs ? x.Pairs.CompareTo(y.Pairs) : x.Key.CompareTo(y.Key));
        }

        int visited = 0;
        while (visited < shared.Count && _work + shared[visited].Pairs <= _budget && VisitPairs(shared[visited], nextA, nextB, everyPair: true))
        {
            visited++;
        }

        if (visited == shared.Count)
        {
            return;
        }

        // Past the bound, each remaining gram pairs its i-th place in A with its i-th in B only: linear,
        // blind to side, and enough to find text that both repeat in the same order.
        Complete = false;
        for (int k = visited; k < shared.Count && VisitPairs(shared[k], nextA, nextB, everyPair: false); k++)
        {
        }
    }

    /// <summary>The grams both texts have, each with its chain of places in A and in B.</summary>
    private (List<SharedGram> Shared, int[] NextA, int[] NextB) SharedGrams()
    {
        // One open-addressing table over B's grams (the hot loop of the search: a Dictionary costs twice as
        // much here); A's places join the chains of the grams B has, the rest are dropped.
        var nextB = new int[_b.Length - _minWords + 1];
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)(2 * nextB.Length));
        int shift = 64 - BitOperations.Log2((uint)capacity);
        ulong[] keys = RentCleared<ulong>(capacity); // fingerprint + 1; 0 marks an empty slot
        int[] firstB = RentCleared<int>(capacity), countB = RentCleared<int>(capacity);
        int[] firstA = RentCleared<int>(capacity), countA = RentCleared<int>(capacity);
        for (int j = nextB.Length - 1; j >= 0; j--)
        {
            CheckCancellation(j);
            ulong key = HashesB.Of(j, _minWords) + 1;
            int slot = (int)((key * 0x9E3779B97F4A7C15UL) >> shift);
            while (keys[slot] != 0 && keys[slot] != key)
            {
                slot = (slot + 1) & (capacity - 1);
            }

            nextB[j] = countB[slot] == 0 ? -1 : firstB[slot];
            keys[slot] = key;
            firstB[slot] = j;
            countB[slot]++;
        }

        var nextA = new int[_a.Length - _minWords + 1];
        for (int i = nextA.Length - 1; i >= 0; i--)
        {
            CheckCancellation(i);
            ulong key = HashesA.Of(i, _minWords) + 1;
            int slot = (int)((key * 0x9E3779B97F4A7C15UL) >> shift);
            while (keys[slot] != 0 && keys[slot] != key)
            {
                slot = (slot + 1) & (capacity - 1);
            }

            if (keys[slot] != 0)
            {
                nextA[i] = countA[slot] == 0 ? -1 : firstA[slot];
                firstA[slot] = i;
                countA[slot]++;
            }
        }

        var shared = new List<SharedGram>();
        for (int slot = 0; slot < capacity; slot++)
        {
            if (countA[slot] > 0)
            {
                shared.Add(new SharedGram(keys[slot] - 1, firstA[slot], countA[slot], firstB[slot], countB[slot]));
            }
        }

        ArrayPool<ulong>.Shared.Return(keys);
        foreach (int[] table in (int[][])[firstB, countB, firstA, countA])
        {
            ArrayPool<int>.Shared.Return(table);
        }

        return (shared, nextA, nextB);
    }

    private static T[] RentCleared<T>(int length)
    {
        T[] array = ArrayPool<T>.Shared.Rent(length);
        Array.Clear(array, 0, length);
        return array;
    }

    private void CheckCancellation(int position)
    {
        if ((position & 0xFFFF) == 0)
        {
            _cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Marks every word inside a shared window (a difference array keeps it linear for any MinWords).</summary>
    private void MarkWindows(List<SharedGram> shared, int[] next, bool[] marks, bool isA)
    {
        var delta = new int[marks.Length + 1];
        foreach (SharedGram gram in shared)
        {
            for (int position = isA ? gram.FirstA : gram.FirstB; position >= 0; position = next[position])
            {
                delta[position]++;
                delta[position + _minWords]--;
            }
        }

        for (int i = 0, depth = 0; i < marks.Length; i++)
        {
            depth += delta[i];
            marks[i] |= depth > 0;
        }
    }

    /// <summary>
    /// Every pair of the gram's places (or, past the bound, its i-th places in each text) that is
    /// left-maximal starts a maximal exact match. False when the hard limit is reached.
    /// </summary>
    private bool VisitPairs(SharedGram gram, int[] nextA, int[] nextB, bool everyPair)
    {
        if (!everyPair)
        {
            for (int x = gram.FirstA, y = gram.FirstB; x >= 0 && y >= 0; x = nextA[x], y = nextB[y])
            {
                if (!VisitPair(x, y))
                {
                    return false;
                }
            }

            return true;
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

    private bool VisitPair(int x, int y)
    {
        if (!Spend(1))
        {
            return false;
        }

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
    /// Memoised over word pairs and iterative, so a chain as long as the texts costs no stack.
    /// </summary>
    private (int A, int B) Reach(int p0, int q0, bool forward)
    {
        Dictionary<long, long> memo = forward ? _forward : _backward;
        int step = forward ? 1 : -1, width = _bridge + 1;
        _pending.Clear();
        _pending.Push((p0, q0));
        while (_pending.Count > 0)
        {
            (int p, int q) = _pending.Peek();
            long key = Key(p, q);
            if (memo.ContainsKey(key))
            {
                _pending.Pop();
                continue;
            }

            if (_work > _hardLimit)
            {
                _pending.Clear();
                return forward ? (p0 + 1, q0 + 1) : (p0, q0);
            }

            bool ready = true;
            int reachA = forward ? p + 1 : p, reachB = forward ? q + 1 : q;
            for (int da = 0; da < width; da++)
            {
                int s = p + step * (1 + da);
                if (s < 0 || s >= _a.Length)
                {
                    break;
                }

                for (int db = 0; db < width; db++)
                {
                    int t = q + step * (1 + db);
                    if (t < 0 || t >= _b.Length)
                    {
                        break;
                    }

                    if (_a[s].Hash != _b[t].Hash)
                    {
                        continue;
                    }

                    if (memo.TryGetValue(Key(s, t), out long reached))
                    {
                        (int ra, int rb) = Unpack(reached);
                        reachA = forward ? Math.Max(reachA, ra) : Math.Min(reachA, ra);
                        reachB = forward ? Math.Max(reachB, rb) : Math.Min(reachB, rb);
                    }
                    else
                    {
                        ready = false;
                        _pending.Push((s, t));
                    }
                }
            }

            if (ready)
            {
                Spend(width * width); // counted once per pair of words, whatever order reached it
                memo[key] = Pack(reachA, reachB);
                _pending.Pop();
            }
        }

        return Unpack(memo[Key(p0, q0)]);
    }

    private long Key(int p, int q) => ((long)p * (_b.Length + 1)) + q;

    private static long Pack(int a, int b) => ((long)a << 32) | (uint)b;

    private static (int A, int B) Unpack(long packed) => ((int)(packed >> 32), (int)packed);

    /// <summary>Counts work; false once the hard limit is passed. Checks the caller's token now and then.</summary>
    private bool Spend(int units)
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
