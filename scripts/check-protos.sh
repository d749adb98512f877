#!/usr/bin/env bash
# Checks the compare.v1 API contract with buf: lint (STANDARD, buf.yaml), format, and no breaking change
# against the last release. protos/RELEASE names it: its tag, its commit, and the buf image built from that commit
# (buf build .git#ref=COMMIT -o IMAGE), which is what the check reads, so it needs no git history or tags.
# Installs the buf CLI from npm (@bufbuild/buf, pinned below) into the user's cache when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

buf_version=1.75.0
tools="${XDG_CACHE_HOME:-$HOME/.cache}/compare/buf-$buf_version"
buf="$tools/node_modules/.bin/buf"
if [ ! -x "$buf" ]; then
  echo "Installing the buf CLI $buf_version from npm into $tools..."
  npm install --silent --no-audit --no-fund --prefix "$tools" "@bufbuild/buf@$buf_version" >/dev/null
fi

read -r release_tag release_commit release_image < protos/RELEASE
echo "buf lint, buf format, buf breaking against $release_tag ($release_commit, $release_image)..."
status=0
"$buf" lint || status=1
"$buf" format --diff --exit-code || { echo "Format the protos with: $buf format -w" >&2; status=1; }
"$buf" breaking --against "$release_image" || status=1
exit "$status"
