#!/usr/bin/env bash
# The chart ships the project's dashboards and rules: its copies in helm/tigo-exporter/files/
# must be byte-identical to dashboards/*.json and dashboards/rules/*.yaml, with nothing missing
# and nothing extra (with no dashboards yet, the chart must ship none).
# Usage: chart_files_test.sh SOURCE_DIR
set -euo pipefail
root=$(cd "${1:?usage: chart_files_test.sh SOURCE_DIR}" && pwd)
chart=$root/helm/tigo-exporter/files
passed=0 failed=0

compare() {  # compare SOURCE_DIR PATTERN CHART_DIR
  local src=$1 pattern=$2 dest=$3 name a b
  a=$(cd "$src" 2>/dev/null && ls -1 $pattern 2>/dev/null | sort || true)
  b=$(cd "$dest" 2>/dev/null && ls -1 $pattern 2>/dev/null | sort || true)
  if [ "$a" != "$b" ]; then
    echo "FAIL: ${src#"$root"/}/$pattern and ${dest#"$root"/}/$pattern list different files:"
    comm -23 <(echo "$a" | grep .) <(echo "$b" | grep .) | sed 's/^/  only in the source: /'
    comm -13 <(echo "$a" | grep .) <(echo "$b" | grep .) | sed 's/^/  only in the chart: /'
    failed=$((failed + 1))
    return
  fi
  for name in $a; do
    if ! cmp -s "$src/$name" "$dest/$name"; then
      echo "FAIL: ${dest#"$root"/}/$name differs from ${src#"$root"/}/$name"
      failed=$((failed + 1))
      return
    fi
  done
  echo "ok: ${dest#"$root"/}/$pattern identical to ${src#"$root"/}/$pattern ($(echo "$a" | grep -c . || true) files)"
  passed=$((passed + 1))
}

compare "$root/dashboards" '*.json' "$chart/dashboards"
compare "$root/dashboards/rules" '*.yaml' "$chart/rules"
# Nothing else in files/ (a file there would be shipped by no template, or by mistake).
extra=$(cd "$root/helm/tigo-exporter" && find files -type f 2>/dev/null |
  grep -vE '^files/dashboards/[^/]+\.json$|^files/rules/[^/]+\.yaml$' || true)
if [ -n "$extra" ]; then
  echo "FAIL: unexpected files in the chart's files/: $extra"; failed=$((failed + 1))
else
  echo "ok: files/ holds only dashboards/*.json and rules/*.yaml"; passed=$((passed + 1))
fi
[ "$failed" -eq 0 ] || echo "run scripts/sync-chart-files.sh to copy dashboards/ into the chart"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
