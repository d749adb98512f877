"""The peer, measured in the same run as Compare's end-to-end runner (`-- e2e`, with DATASKETCH=<checkout>).

Signs every text of a JSONL corpus the way a datasketch user does: lower-cased words, 5-word shingles (Compare's
default), MinHash(num_perm=128).update_batch, one core. Prints one JSON line: the best time over the repetitions.
Run with Debian's python3 (numpy, scipy) and PYTHONPATH pointing at a datasketch checkout outside the repository.
"""
import json
import re
import sys
import time

import datasketch
from datasketch import MinHash

WORD = re.compile(r"\w+")


def shingles(text, size=5):
    words = WORD.findall(text.lower())
    return {" ".join(words[i:i + size]).encode("utf-8") for i in range(max(1, len(words) - size + 1))}


def main():
    path, repetitions = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="utf-8") as corpus:
        texts = [json.loads(line)["text"] for line in corpus]
    best = float("inf")
    for _ in range(repetitions):
        started = time.perf_counter()
        for text in texts:
            m = MinHash(num_perm=128)
            m.update_batch(shingles(text))
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"peer": "datasketch", "version": datasketch.__version__, "documents": len(texts), "sign_ms": best * 1000}))


if __name__ == "__main__":
    main()
