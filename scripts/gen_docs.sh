#!/usr/bin/env bash
# Regenerates the generated blocks of docs/ from the code: docs/METRICS.md's family tables come
# from tigo_metrics_doc (the exporter's family table). Build first (scripts/build.sh).
#   scripts/gen_docs.sh [--check] [path/to/tigo_metrics_doc]
# --check rewrites nothing and exits 1 when a block differs from what the generator prints.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi
generator="${1:-$root/${BUILD_DIR:-build}/tools/tigo_metrics_doc}"
doc="$root/docs/METRICS.md"
begin='<!-- BEGIN GENERATED families -->'
end='<!-- END GENERATED families -->'

[ -x "$generator" ] || { echo "gen_docs: $generator not built (run scripts/build.sh)" >&2; exit 2; }
grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc" ||
  { echo "gen_docs: $doc lacks the $begin / $end markers" >&2; exit 2; }

generated="$(mktemp)"
updated="$(mktemp)"
trap 'rm -f "$generated" "$updated"' EXIT
"$generator" >"$generated"
# The file with everything between the markers replaced by the generator's output.
awk -v begin="$begin" -v end="$end" -v gen="$generated" '
  $0 == begin { print; print ""; while ((getline line < gen) > 0) print line; print ""; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }
' "$doc" >"$updated"

if [ "$check" = 1 ]; then
  if ! diff -u "$doc" "$updated"; then
    echo "gen_docs: docs/METRICS.md is not the generator's output: run scripts/gen_docs.sh" >&2
    exit 1
  fi
  echo "gen_docs: docs/METRICS.md up to date"
else
  cp "$updated" "$doc"
  echo "gen_docs: docs/METRICS.md regenerated"
fi
