#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test (unit, simulator over HTTP, end to end with a
# real Prometheus) through CTest. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 "$@"
