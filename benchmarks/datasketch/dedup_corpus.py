"""The peer's whole batch dedup, as one process, for the process runner (`-- process`, with DATASKETCH=<checkout>).

What a datasketch user writes to deduplicate a JSONL corpus at a Jaccard threshold: lower-cased words, 5-word
shingles (Compare's default), MinHash(num_perm=128).update_batch per text, MinHashLSH(threshold, num_perm=128),
a query per document for candidates, each candidate pair verified by the exact Jaccard of the shingle sets, and
union-find clusters. Prints one JSON line with the counts, so the runner can check both tools found the same pairs.
Run with Debian's python3 (numpy, scipy) and PYTHONPATH pointing at a datasketch checkout outside the repository.
"""
import json
import sys

from datasketch import MinHash, MinHashLSH

from sign_corpus import shingles  # the same shingles the signing peer makes


def main():
    path, threshold = sys.argv[1], float(sys.argv[2])
    ids, sets = [], []
    with open(path, encoding="utf-8") as corpus:
        for line in corpus:
            record = json.loads(line)
            ids.append(str(record["id"]))
            sets.append(shingles(record["text"]))
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    signatures = []
    with lsh.insertion_session() as session:
        for i, shingle_set in enumerate(sets):
            m = MinHash(num_perm=128)
            m.update_batch(shingle_set)
            signatures.append(m)
            session.insert(i, m)
    parent = list(range(len(ids)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    candidates = verified = 0
    for i, m in enumerate(signatures):
        for j in lsh.query(m):
            if j <= i:
                continue
            candidates += 1
            a, b = sets[i], sets[j]
            if len(a & b) / len(a | b) >= threshold:
                verified += 1
                parent[root(j)] = root(i)
    clusters = {}
    for i in range(len(ids)):
        clusters.setdefault(root(i), []).append(i)
    duplicates = sum(len(members) - 1 for members in clusters.values() if len(members) > 1)
    print(json.dumps({"peer": "datasketch", "documents": len(ids), "candidate_pairs": candidates, "verified_pairs": verified,
                      "clusters": sum(1 for members in clusters.values() if len(members) > 1), "duplicates": duplicates}))


if __name__ == "__main__":
    main()
