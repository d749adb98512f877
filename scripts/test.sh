#!/usr/bin/env bash
# Runs every test of the solution on a Debian machine with the .NET SDK, and ends with one plain
# line "N passed, N failed" summed over the test assemblies. Exit code: 0 only when all passed.
# Installs what the tests need and the machine lacks (redis-server, chromium, similarity-tester, with apt-get); the
# tests start their own redis-server (and Redis Clusters, with redis-cli) on free loopback ports and stop them, and drive Chromium through
# Playwright (its driver comes from NuGet). They read the BBC corpus from
# ../shared/corpora and fail (never skip) when anything is missing.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required (dotnet was not found on PATH)." >&2
  exit 2
fi

# What the tests need and a fresh Debian machine lacks: redis-server (the Redis store's tests start their
# own instances; no service is started), Chromium with a font (the browser view's tests drive it), and npm
# (the API contract check installs the buf CLI with it, and the Parquet tests arrow-rs's parquet-wasm), a C linker (clang, or gcc: Native AOT links the
# native compare that a test publishes), and Dick Grune's similarity tester (sim_text: an independent reference for
# compare reuse).
missing=()
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server redis-tools)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing+=(clang)
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
command -v sim_text >/dev/null 2>&1 || missing+=(similarity-tester)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} with apt-get..."
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# One build, then the test assemblies one after another: the deadline, rate and metric tests time real
# work, and another assembly's tests on the second core would skew them.
dotnet build Compare.sln -c Release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The code style of .editorconfig: any file dotnet format would change fails the run (after the tests), naming the file.
style_status=0
if [ "$status" -eq 0 ]; then
  echo "Checking the code style (dotnet format --verify-no-changes)..."
  if ! dotnet format Compare.sln --verify-no-changes --no-restore -v q; then
    echo "Code style: the files above differ from what dotnet format would write; run 'dotnet format Compare.sln'." >&2
    style_status=1
  fi
fi
# The API contract: buf lint, buf format and buf breaking against the last release.
contract_status=0
if [ "$status" -eq 0 ]; then
  bash scripts/check-protos.sh || contract_status=1
fi
if [ "$status" -eq 0 ]; then
  for project in tests/*.Tests/*.Tests.csproj; do
    dotnet test "$project" -c Release --no-build 2>&1 | tee -a "$log"
    project_status=${PIPESTATUS[0]}
    if [ "$project_status" -ne 0 ]; then status=$project_status; fi
  done
fi

# dotnet test prints one summary per assembly: "Passed!  - Failed: 0, Passed: 89, Skipped: 0, ..."
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the build or the test host failed before any test could report
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$style_status" -ne 0 ]; then
  echo "code style: differs from .editorconfig (see above)"
  status=$style_status
fi
if [ "$status" -eq 0 ] && [ "$contract_status" -ne 0 ]; then
  echo "API contract: buf reports the findings above"
  status=$contract_status
fi
exit "$status"
