#!/usr/bin/env bash
# Where a Redis collection's memory goes: indexes N synthetic news documents (the benchmark runner's corpus) through
# the server executable and `compare index`, then reports Redis's used memory a document, and for each kind of key
# (the collection's hashes and sorted set; its grouped sets: band buckets `g`, prefix forest `f`, passages `p`) how
# many there are, their bytes (MEMORY USAGE of each hash, of 200 sampled sets of each kind scaled to all) and encodings.
# Needs a Release build and redis-server; uses ports 6390, 5390.
# Usage: bash benchmarks/redis-memory.sh [documents]
set -eu
N=${1:-20000}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
redis-server --port 6390 --dir "$work" --save '' --appendonly no --daemonize yes >/dev/null
trap 'kill "${server:-0}" 2>/dev/null || true; redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
dotnet run -c Release --no-build --project benchmarks/Compare.Benchmarks -- generate "$N" "$work/docs.jsonl" >/dev/null
Storage__Provider=Redis Redis__Configuration=127.0.0.1:6390 dotnet src/Compare.Server/bin/Release/net10.0/Compare.Server.dll \
  --urls http://127.0.0.1:5390 >"$work/server.log" 2>&1 &
server=$!
sleep 6
dotnet src/Compare.Cli/bin/Release/net10.0/compare.dll index "$work/docs.jsonl" --server http://127.0.0.1:5390 >/dev/null 2>&1
texts=$(python3 -c "import json,sys; print(sum(len(json.loads(l)['text'].encode()) for l in open(sys.argv[1])))" "$work/docs.jsonl")
used=$(redis-cli -p 6390 info memory | grep '^used_memory:' | tr -d '\r' | cut -d: -f2)
echo "documents $N; used_memory $used: $((used / N)) B/doc, $(((used - texts) / N)) B/doc besides the texts' $((texts / N)) B; keys $(redis-cli -p 6390 dbsize)"
# A key's kind: what follows the collection's tag, the grouped sets by their letter; keys outside a collection by name.
redis-cli -p 6390 --scan | awk '{ k = $0; if (index(k, "}") > 0) { sub(/^.*}/, "", k); if (k !~ /^:/) k = substr(k, 1, 1) " groups" } print k "\t" $0 }' >"$work/kinds"
cut -f1 "$work/kinds" | sort | uniq -c | while read -r count kind; do
  sample=$(awk -F'\t' -v k="$kind" '$1 == k { print $2 }' "$work/kinds" | shuf -n 200 --random-source=<(yes))
  bytes=$(for key in $sample; do redis-cli -p 6390 memory usage "$key" samples 0; done | awk -v n="$count" '{ s += $1; m++ } END { printf "%.0f", s * n / m }')
  encodings=$(for key in $(echo "$sample" | head -20); do redis-cli -p 6390 object encoding "$key"; done | sort | uniq -c | tr -s ' \n' ' ')
  printf '%-22s %9d keys %14d bytes %7d B/doc  %s\n' "$kind" "$count" "$bytes" "$((bytes / N))" "$encodings"
done
