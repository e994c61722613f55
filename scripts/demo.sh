#!/usr/bin/env bash
# Sets up the machine, builds, and runs the exporter in demo mode: an embedded simulator with a
# small fleet spread around the globe, no credentials. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
listen="${TIGO_LISTEN_ADDRESS:-:9980}"
port="${listen##*:}"
echo
echo "tigo_exporter demo: point a browser at http://localhost:${port}/ (metrics at /metrics),"
echo "or Prometheus at a scrape target localhost:${port}. Ctrl-C stops it."
echo
exec ./build/src/tigo_exporter --demo --web.listen-address "$listen" "$@"
