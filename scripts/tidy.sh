#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy at the root) over the project's sources in src/, with the
# build's compile_commands.json, on every core. Prints each finding once (a header's finding
# shows once, not per file including it), then the count per check and the time taken.
# Exits 1 when there is any finding or a file fails to parse, 0 when clean.
# Usage: scripts/tidy.sh [BUILD_DIR]   (default: build/, configured by scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-${BUILD_DIR:-build}}"
if [[ ! -f $build/compile_commands.json ]]; then
  echo "tidy: no $build/compile_commands.json: run scripts/build.sh first" >&2
  exit 2
fi
repo=$(pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date +%s)

# -Wno-error: the build's -Werror would turn clang's own warnings into parse failures here;
# they are reported as clang-diagnostic-* findings instead.
run-clang-tidy -p "$build" -j "$(nproc)" -quiet -extra-arg=-Wno-error \
  "^$repo/src/.*\.cpp$" 2>&1 | sed -E 's/\x1b\[[0-9;]*m//g' >"$log" || true  # it always colours

findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[[a-z0-9.,-]+\]$' "$log" | sort -u || true)
errors=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: error: ' "$log" | grep -v '\]$' | sort -u || true)
[[ -z $findings ]] || echo "$findings"
[[ -z $errors ]] || { echo "files that did not parse:"; echo "$errors"; }

echo "== clang-tidy: $(grep -c "^$repo/src/.*\.cpp$" < <(ls "$repo"/src/*/*.cpp "$repo"/src/*.cpp)) files in $(($(date +%s) - started))s"
if [[ -n $findings ]]; then
  echo "$findings" | sed -E 's/.*\[([a-z0-9.,-]+)\]$/\1/' | sort | uniq -c | sort -rn
  echo "$(wc -l <<<"$findings") finding(s)"
fi
[[ -z $findings && -z $errors ]]
