#!/usr/bin/env bash
# Fleet benchmark on loopback (bench/README.md): tigo_sim with SYSTEMS x PANELS, the exporter
# against it with the rate limit raised and short intervals, then
#   1. exporter RSS once the whole fleet's panel series are present (and after the scrapes),
#   2. /metrics latency p50/p99 plain and gzip and bytes per scrape (scrape_bench, N each), while
#      the exporter keeps refreshing and re-rendering, then again with tigo_sim paused,
#   3. background render+gzip per snapshot on the same fleet (snapshot_bench: the exporter's
#      Refresher, timing exactly what app.cpp's render() does),
#   4. API calls per system-hour at DEFAULT intervals and rate limit, on a smaller fleet
#      (SMALL_SYSTEMS x SMALL_PANELS, simulated time running) for CALLS_SECONDS.
# Everything it starts is stopped on exit; it only contacts 127.0.0.1.
#
#   bench/run_fleet.sh [BUILD_DIR]      (default: build)
# Environment: SYSTEMS=1000 PANELS=100 N=200 CONCURRENCY=8 WAIT_MAX=420 SMALL_SYSTEMS=20
#              SMALL_PANELS=20 CALLS_SECONDS=240 SKIP_CALLS=0 SKIP_SNAPSHOT=0
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
SYSTEMS=${SYSTEMS:-1000}
PANELS=${PANELS:-100}
N=${N:-200}
CONCURRENCY=${CONCURRENCY:-8}
WAIT_MAX=${WAIT_MAX:-420}
SMALL_SYSTEMS=${SMALL_SYSTEMS:-20}
SMALL_PANELS=${SMALL_PANELS:-20}
CALLS_SECONDS=${CALLS_SECONDS:-240}
SKIP_CALLS=${SKIP_CALLS:-0}
SKIP_SNAPSHOT=${SKIP_SNAPSHOT:-0}

SIM=$BUILD/src/tigo_sim
EXPORTER=$BUILD/src/tigo_exporter
SCRAPE=$BUILD/bench/scrape_bench
SNAPSHOT=$BUILD/bench/snapshot_bench
for b in "$SIM" "$EXPORTER" "$SCRAPE" "$SNAPSHOT"; do
  [[ -x $b ]] || { echo "missing $b: build first (see bench/README.md)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/tigo-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
stop_pid() {  # stop one process we started and drop it from PIDS
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
now() { date +%s; }
log() { echo "[$(date -u +%H:%M:%S)] $*"; }

# start_sim NAME ARGS... : sets SIM_PID and SIM_URL
start_sim() {
  local name=$1
  shift
  "$SIM" --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  for _ in $(seq 1 600); do
    SIM_URL=$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\/api\/v3\/\)$/\1/p' \
      "$WORK/$name.out" 2>/dev/null || true)
    [[ -n $SIM_URL ]] && return 0
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; exit 1; }
    sleep 0.2
  done
  echo "tigo_sim did not start" >&2
  exit 1
}

# start_exporter NAME ARGS... : sets EXP_PID and EXP_ADDR (HOST:PORT)
start_exporter() {
  local name=$1
  shift
  "$EXPORTER" --tigo.api-url "$SIM_URL" --tigo.username demo \
    --tigo.password-file "$WORK/password" --web.listen-address 127.0.0.1:0 "$@" \
    >"$WORK/$name.log" 2>&1 &
  EXP_PID=$!
  PIDS+=("$EXP_PID")
  for _ in $(seq 1 300); do
    EXP_ADDR=$(sed -n 's/.*msg=listening address=\(127\.0\.0\.1:[0-9]*\).*/\1/p' \
      "$WORK/$name.log" 2>/dev/null | head -1 || true)
    [[ -n $EXP_ADDR ]] && return 0
    kill -0 "$EXP_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "tigo_exporter did not start" >&2
  exit 1
}

rss_line() {  # PID -> "VmRSS=... VmHWM=..." in MiB
  awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {printf "VmRSS=%.0f MiB VmHWM=%.0f MiB", r/1024, h/1024}' \
    "/proc/$1/status"
}

# count_series URL NAME... : one line of counts, one per family name
count_series() {
  local url=$1
  shift
  curl -sf --max-time 60 "$url" | awk -v names="$*" '
    BEGIN { n = split(names, want, " "); for (i = 1; i <= n; i++) c[want[i]] = 0 }
    !/^#/ { split($0, a, /[{ ]/); if (a[1] in c) c[a[1]]++ }
    END { for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? " " : ""), c[want[i]]; print "" }'
}

echo "demo" >"$WORK/password"
chmod 600 "$WORK/password"
START=$(now)
log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "revision: $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"

# ---- 1-2: the big fleet ------------------------------------------------------------------------
start_sim sim --systems "$SYSTEMS" --panels-per-system "$PANELS" --rate-limit 1000000
log "tigo_sim: $SYSTEMS systems x $PANELS panels at $SIM_URL (rss $(rss_line "$SIM_PID"))"
EXP_ARGS=(--tigo.rate-limit 100000 --tigo.concurrency "$CONCURRENCY"
  --refresh.panels-interval 15s --refresh.summary-interval 15s --refresh.sources-interval 15s
  --refresh.alerts-interval 30s --refresh.combined-interval 30s --refresh.panels-lookback 15m)
start_exporter exporter "${EXP_ARGS[@]}"
METRICS="http://$EXP_ADDR/metrics"
log "tigo_exporter ${EXP_ARGS[*]} serving $METRICS"

want=$((SYSTEMS * PANELS))
prev=-1
t0=$(now)
while :; do
  sleep 5
  read -r reporting power info < <(count_series "$METRICS" tigo_panel_reporting \
    tigo_panel_power_watts tigo_panel_info) || true
  log "waiting: panels $reporting/$want, with power $power, panel_info $info, exporter $(rss_line "$EXP_PID")"
  # Complete: every panel listed and the readings no longer growing (systems in the dark may
  # have none).
  if [[ ${reporting:-0} -ge $want && ${power:-0} -gt 0 && ${power:-0} -eq $prev ]]; then break; fi
  prev=${power:-0}
  if (($(now) - t0 > WAIT_MAX)); then
    log "fleet not complete after ${WAIT_MAX}s; measuring what there is"
    break
  fi
done
FETCH_S=$(($(now) - t0))
log "fleet fetched in ~${FETCH_S}s"
curl -sf "$METRICS" -o "$WORK/scrape.txt"
SERIES=$(grep -vc '^#' "$WORK/scrape.txt" || true)
PANEL_SERIES=$(grep -c '^tigo_panel_' "$WORK/scrape.txt" || true)
log "scrape: $(wc -c <"$WORK/scrape.txt") bytes, $SERIES series ($PANEL_SERIES tigo_panel_*)"
grep -v '^#' "$WORK/scrape.txt" | sed 's/[{ ].*//' | sort | uniq -c | sort -rn | head -12 |
  sed 's/^/    /'
log "RESULT exporter RSS, fleet complete: $(rss_line "$EXP_PID")"
log "scrape_bench: $N plain + $N gzip scrapes, alternating, one keep-alive connection"
"$SCRAPE" "${EXP_ADDR%:*}" "${EXP_ADDR#*:}" /metrics "$N" | sed 's/^/    /' || true
log "RESULT exporter RSS after the scrapes: $(rss_line "$EXP_PID")"
# The same with the exporter's background work out of the way: the simulator paused (SIGSTOP),
# the refresher's calls wait, no new snapshot is rendered; only the serving path is measured.
kill -STOP "$SIM_PID"
sleep 5
log "scrape_bench again, tigo_sim paused (no refresh, no re-render in the exporter)"
"$SCRAPE" "${EXP_ADDR%:*}" "${EXP_ADDR#*:}" /metrics "$N" | sed 's/^/    /' || true
kill -CONT "$SIM_PID"
log "RESULT exporter RSS after the quiet scrapes: $(rss_line "$EXP_PID")"
stop_pid "$EXP_PID"

# ---- 3: background render+gzip per snapshot on the same fleet ----------------------------------
if [[ $SKIP_SNAPSHOT != 1 ]]; then
  log "snapshot_bench: the Refresher against the same tigo_sim; render+gzip as app.cpp's render() (cache_fleet) and the text-only work before it"
  "$SNAPSHOT" --api-url "$SIM_URL" --panels "$want" --min-power $((${power:-0} * 8 / 10)) --snapshots 5 --timeout "$WAIT_MAX" \
    --concurrency "$CONCURRENCY" | grep -v '^snapshot ' | sed 's/^/    /' || true
fi
stop_pid "$SIM_PID"

# ---- 4: API calls per system-hour at default intervals ------------------------------------------
if [[ $SKIP_CALLS != 1 ]]; then
  # Simulated time runs (--speed 1) so gateways upload new minutes as they would; the simulator's
  # and the exporter's rate limits are their defaults (100 per minute).
  start_sim small --systems "$SMALL_SYSTEMS" --panels-per-system "$SMALL_PANELS" --speed 1
  start_exporter calls
  METRICS="http://$EXP_ADDR/metrics"
  log "default intervals: $SMALL_SYSTEMS systems x $SMALL_PANELS panels for ${CALLS_SECONDS}s"
  requests() { curl -sf "$METRICS" | awk '/^tigo_api_requests_total/ {s += $NF} END {print s + 0}'; }
  by_endpoint() {
    curl -sf "$METRICS" | awk '/^tigo_api_requests_total/ {
      match($0, /endpoint="[^"]*"/); e = substr($0, RSTART + 10, RLENGTH - 11); c[e] += $NF }
      END { for (e in c) printf "%s %d\n", e, c[e] }' | sort
  }
  sleep 60
  r1=$(requests)
  t1=$(now)
  by_endpoint >"$WORK/ep1"
  sleep $((CALLS_SECONDS - 60))
  r2=$(requests)
  t2=$(now)
  by_endpoint >"$WORK/ep2"
  total_s=$((t2 - t1 + 60))
  log "RESULT calls: $r2 in the first ~${total_s}s (start-up included); $((r2 - r1)) in the" \
    "$((t2 - t1))s after the first minute"
  awk -v r="$((r2 - r1))" -v s="$((t2 - t1))" -v n="$SMALL_SYSTEMS" 'BEGIN {
    printf "    steady state after start-up: %.1f calls per system-hour (%d systems)\n",
           r / n * 3600 / s, n }'
  log "per endpoint, calls in the steady-state window:"
  join -a2 -e0 -o '0,1.2,2.2' "$WORK/ep1" "$WORK/ep2" |
    awk '{printf "    %-28s %d\n", $1, $3 - $2}'
  grep '^tigo_refresh_interval_seconds' <(curl -sf "$METRICS") | sed 's/^/    /' || true
  stop_pid "$EXP_PID"
  stop_pid "$SIM_PID"
fi
log "done in $(($(now) - START))s"
