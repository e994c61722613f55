#!/usr/bin/env bash
# Cost of the first data/summary answer of a system (the energy sums it pays before its
# checkpoints exist) at several simulated dates, on a 10,000 x 100 fleet.
# Usage: bash bench/sim/first_summary.sh [path/to/tigo_sim]
#   env: TIMES="2025-09-01T20:00:00Z 2026-11-01T12:00:00Z ..." SYSTEMS=10000 PANELS=100 PORT=18932
# Per date: a fresh simulator, then one summary per system for 9 systems spread over the fleet
# (each the first for its system): the CPU time the simulator spent on it (sum of its threads'
# /proc schedstat run time, which a loaded machine inflates less than wall time) and curl's
# time_total; then a second summary per system (the repeat, from the checkpoints); prints
# medians and the 9 first-call CPU figures (ms).
# Only 127.0.0.1 is contacted.
set -euo pipefail
SIM=${1:-./build/src/tigo_sim}
SYSTEMS=${SYSTEMS:-10000}
PANELS=${PANELS:-100}
PORT=${PORT:-18932}
TIMES=${TIMES:-"2025-09-01T20:00:00Z 2026-01-15T12:00:00Z 2026-11-01T12:00:00Z 2029-06-01T12:00:00Z 2035-06-01T12:00:00Z"}
WORK=$(mktemp -d)
PID=
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
# A private copy under another name, so nothing that stops "tigo_sim" by name ends the run.
cp "$SIM" "$WORK/first-summary-bench"
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ns() { cat /proc/"$PID"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
echo "| --time | first: CPU median ms | first: wall median ms | repeat: CPU median ms | first: CPU per system (ms) |"
echo "|---|---|---|---|---|"
for T in $TIMES; do
  "$WORK/first-summary-bench" --listen "127.0.0.1:$PORT" --systems "$SYSTEMS" \
    --panels-per-system "$PANELS" --seed 1 --time "$T" --rate-limit 100000000 >"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 2000); do grep -q "listening on" "$WORK/log" && break; sleep 0.01; done
  B="http://127.0.0.1:$PORT/api/v3"
  TOKEN=$(curl -s -u demo:demo "$B/users/login" | sed -E 's/.*"auth":"([^"]+)".*/\1/')
  vals=()
  walls=()
  for id in 1001 2112 3223 4334 5445 6556 7667 8778 9889; do
    c0=$(cpu_ns)
    ms=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" \
      "$B/data/summary?system_id=$id" | awk '{printf "%.1f", $1 * 1000}')
    c1=$(cpu_ns)
    walls+=("$ms")
    vals+=("$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')")
  done
  reps=()
  for id in 1001 2112 3223 4334 5445 6556 7667 8778 9889; do
    c0=$(cpu_ns)
    curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$B/data/summary?system_id=$id"
    c1=$(cpu_ns)
    reps+=("$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", (b - a) / 1e6}')")
  done
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
  echo "| $T | $(printf '%s\n' "${vals[@]}" | median) | $(printf '%s\n' "${walls[@]}" | median) |" \
    "$(printf '%s\n' "${reps[@]}" | median) | ${vals[*]} |"
done
