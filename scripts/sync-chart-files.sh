#!/usr/bin/env bash
# Copies the project's Grafana dashboards (dashboards/*.json) and Prometheus rule files
# (dashboards/rules/*.yaml) into the Helm chart (helm/tigo-exporter/files/), which ships them as
# ConfigMaps and a PrometheusRule, and removes chart copies whose source is gone. CTest's
# "deploy: chart files match dashboards/" fails until this has been run after a change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart=$root/helm/tigo-exporter/files

sync() {  # sync SOURCE_DIR PATTERN DEST_DIR
  local src=$1 pattern=$2 dest=$3 f
  mkdir -p "$dest"
  for f in "$dest"/$pattern; do
    [ -e "$f" ] || continue
    [ -e "$src/$(basename "$f")" ] || { rm -f "$f"; echo "removed ${f#"$root"/}"; }
  done
  for f in "$src"/$pattern; do
    [ -e "$f" ] || continue
    if ! cmp -s "$f" "$dest/$(basename "$f")"; then
      cp "$f" "$dest/"
      echo "copied ${f#"$root"/} -> ${dest#"$root"/}/"
    fi
  done
  rmdir "$dest" 2>/dev/null || true  # no empty folder when there is nothing to ship
}

sync "$root/dashboards" '*.json' "$chart/dashboards"
sync "$root/dashboards/rules" '*.yaml' "$chart/rules"
rmdir "$chart" 2>/dev/null || true
echo "chart files in sync with dashboards/"
