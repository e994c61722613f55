#!/usr/bin/env bash
# The committed dashboards, Grafana alerting file and promtool tests must be what the generators
# in dashboards/tools/ write: regenerate into a temp dir and compare.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dash="$here/../../dashboards"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 "$dash/tools/gen_dashboards.py" "$tmp"
python3 "$dash/tools/gen_grafana_alerting.py" "$tmp/tigo-alerting.yaml"
python3 "$dash/tools/gen_rule_tests.py" "$tmp/tigo-rules-test.yaml"
status=0
for pair in tigo-fleet.json:tigo-fleet.json tigo-system.json:tigo-system.json \
            tigo-exporter.json:tigo-exporter.json tigo-alerting.yaml:grafana/tigo-alerting.yaml \
            tigo-rules-test.yaml:rules/tests/tigo-rules-test.yaml; do
  if ! diff -u "$dash/${pair#*:}" "$tmp/${pair%%:*}" >"$tmp/diff"; then
    echo "dashboards/${pair#*:} is not what its generator writes; run dashboards/tools/gen_*.py:"
    head -40 "$tmp/diff"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "generated files up to date"
exit "$status"
