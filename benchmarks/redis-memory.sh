#!/usr/bin/env bash
# Where a Redis collection's memory goes: indexes N synthetic news documents (the benchmark runner's corpus) through
# the server executable and `compare index`, then samples 300 keys of each set kind (passage groups `:p`, forest
# groups `:f`) for their encoding, bytes and members. Needs a Release build and redis-server; uses ports 6390, 5390.
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
echo "documents $N; $(redis-cli -p 6390 info memory | grep '^used_memory:' | tr -d '\r'); keys $(redis-cli -p 6390 dbsize)"
for kind in ":p" ":f"; do
  count=$(redis-cli -p 6390 --scan --pattern "*}$kind*" | wc -l)
  sample=$(redis-cli -p 6390 --scan --pattern "*}$kind*" | head -300)
  encodings=$(for k in $sample; do redis-cli -p 6390 object encoding "$k"; done | sort | uniq -c | tr -s ' \n' ' ')
  bytes=$(for k in $sample; do redis-cli -p 6390 memory usage "$k"; done | awk '{s+=$1} END {printf "%.0f", s/NR}')
  members=$(for k in $sample; do redis-cli -p 6390 scard "$k"; done | awk '{s+=$1} END {printf "%.1f", s/NR}')
  echo "$kind groups: $count keys; sampled encodings:$encodings; mean $bytes bytes and $members members a key"
done
