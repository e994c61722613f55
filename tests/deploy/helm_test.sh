#!/usr/bin/env bash
# With a real helm on PATH: `helm lint` and `helm template` of the chart with each test values
# file (and the default values, which must fail for want of credentials). Without helm, says so
# and exits 77, which CTest reports as skipped (never as passed).
# Usage: helm_test.sh CHART_DIR VALUES_DIR
set -euo pipefail
chart=${1:?usage: helm_test.sh CHART_DIR VALUES_DIR}
values=${2:?usage: helm_test.sh CHART_DIR VALUES_DIR}
if ! command -v helm >/dev/null; then
  echo "helm is not on PATH: helm lint and helm template skipped (the chart is rendered by tools/chart-render instead)"
  exit 77
fi
passed=0 failed=0
for f in "$values"/*.yaml "$chart"/ci/*-values.yaml; do
  name=$(basename "$f")
  if out=$(helm lint --strict -f "$f" "$chart" 2>&1); then
    echo "ok: helm lint -f $name"; passed=$((passed + 1))
  else
    echo "FAIL: helm lint -f $name"; echo "$out"; failed=$((failed + 1))
  fi
  if out=$(helm template tigo "$chart" -n monitoring -f "$f" 2>&1); then
    echo "ok: helm template -f $name ($(grep -c '^kind:' <<<"$out") objects)"; passed=$((passed + 1))
  else
    echo "FAIL: helm template -f $name"; echo "$out"; failed=$((failed + 1))
  fi
done
if out=$(helm template tigo "$chart" 2>&1); then
  echo "FAIL: helm template with default values rendered without credentials"; failed=$((failed + 1))
elif grep -q 'tigo.username is required' <<<"$out"; then
  echo "ok: helm template with default values fails: tigo.username is required"; passed=$((passed + 1))
else
  echo "FAIL: helm template with default values failed otherwise: $out"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
