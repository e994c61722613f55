#!/usr/bin/env bash
# Runs the built tests with the clock moved to other hours of today (UTC), to show that no
# outcome depends on the wall-clock hour: the simulated fleet's sun, night and alerts move with
# it. The tests and the processes they start (tigo_sim, tigo_exporter) run under libfaketime;
# Prometheus, a Go program, keeps the real clock, which the tests do not compare with.
# Usage: scripts/test_at_hours.sh [unit|e2e] [HH:MM ...]   (default: unit at 02:00 06:41 12:00 18:00 22:00)
set -euo pipefail
cd "$(dirname "$0")/.."
suite="${1:-unit}"
shift || true
hours=("$@")
[ ${#hours[@]} -gt 0 ] || hours=(02:00 06:41 12:00 18:00 22:00)
command -v faketime >/dev/null || { echo "test_at_hours: faketime not installed (apt-get install faketime)"; exit 77; }
bin="${BUILD_DIR:-build}/tests/${suite}_tests"
[ -x "$bin" ] || { echo "test_at_hours: $bin not built"; exit 2; }
# The steady clock stays real (timeouts and condition variables use it), only the wall clock moves.
export FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1
# libfaketime stalls this client test's threads in their timed waits: it has no clock in it.
skip=()
[ "$suite" = unit ] && skip=("~at most \`concurrency\` requests are in flight, whatever the threads")
failed=0
for hour in "${hours[@]}"; do
  echo "== $suite tests at $hour UTC"
  faketime "$(date -u +%F) $hour:00" "$bin" "${skip[@]}" || failed=1
done
exit "$failed"
