#!/usr/bin/env bash
# Benchmark of tigo_sim at fleet scale: start time of a 10,000 x 100 fleet, per-endpoint latency
# (curl time_total, medians), and resident memory before and after many requests.
# Usage: bash bench/sim/run.sh [path/to/tigo_sim]   (build first: cmake --build build -j2)
# Only 127.0.0.1 is contacted. Prints a Markdown report on stdout.
set -euo pipefail

SIM=${1:-./build/src/tigo_sim}
SYSTEMS=${SYSTEMS:-10000}
PANELS=${PANELS:-100}
RUNS=${RUNS:-7}
TIME=${TIME:-2026-06-21T12:00:00Z}
PORT=${PORT:-18931}
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PID=

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

now_ns() { date +%s%N; }

# A private copy under another name: other jobs on a shared machine that stop "tigo_sim"
# processes by name must not end the run.
cp "$SIM" "$WORK/fleet-bench-server"
SIM="$WORK/fleet-bench-server"

start_sim() {
  "$SIM" --listen "127.0.0.1:$PORT" --systems "$SYSTEMS" --panels-per-system "$PANELS" \
    --seed 1 --time "$TIME" --rate-limit 100000000 "$@" >"$WORK/sim.log" 2>&1 &
  PID=$!
}

wait_ready() {
  for _ in $(seq 1 2000); do
    grep -q "listening on" "$WORK/sim.log" 2>/dev/null && return 0
    sleep 0.001
  done
  echo "tigo_sim did not start" >&2
  cat "$WORK/sim.log" >&2
  exit 1
}

stop_sim() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}

echo "# tigo_sim benchmark"
echo
echo "- machine: $(nproc) cores, $(uname -sr), $(date -u +%FT%TZ), load average $(cut -d" " -f1-3 /proc/loadavg)"
echo "- fleet: $SYSTEMS systems x $PANELS panels, seed 1, --time $TIME; runs per figure: $RUNS (median)"
echo

# 1. Start time: exec to the "listening on" line.
starts=()
for _ in $(seq 1 "$RUNS"); do
  t0=$(now_ns)
  start_sim
  wait_ready
  t1=$(now_ns)
  starts+=($(( (t1 - t0) / 1000 )))
  stop_sim
done
start_median=$(printf '%s\n' "${starts[@]}" | median)
echo "## Start"
echo
echo "| figure | median | runs (us) |"
echo "|---|---|---|"
echo "| start to \"listening on\" | $(awk -v u="$start_median" 'BEGIN {printf "%.1f ms", u/1000}') | ${starts[*]} |"
echo

# 2. Latency per endpoint.
start_sim
wait_ready
B="http://127.0.0.1:$PORT/api/v3"
TOKEN=$(curl -s -u demo:demo "$B/users/login" | sed -E 's/.*"auth":"([^"]+)".*/\1/')
H="Authorization: Bearer $TOKEN"
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
rss_start=$(rss)

# Systems spread over the fleet; each endpoint is timed on each of them (first call and repeats).
IDS="1001 3457 6023 8765 10999"
[ "$SYSTEMS" -lt 10000 ] && IDS="1001 1002 1003"
timeit() {  # url -> seconds
  curl -s -o /dev/null -w '%{time_total}\n' -H "$H" "$1"
}
declare -A ENDPOINTS=(
  ["users/login"]="LOGIN"
  ["systems?page=17&limit=50"]="systems?page=17&limit=50"
  ["systems/{id}?include=all"]="systems/ID?include=inverters,mppts,strings,panels,meters,objects,images,sources"
  ["systems/layout"]="systems/layout?id=ID"
  ["objects/system"]="objects/system?system_id=ID"
  ["objects/types"]="objects/types"
  ["sources/system"]="sources/system?system_id=ID"
  ["data/summary"]="data/summary?system_id=ID"
  ["data/aggregate min 2 h Pin"]="data/aggregate?system_id=ID&start=2026-06-21T08:00:00&end=2026-06-21T10:00:00&param=Pin"
  ["data/aggregate min 1 day Vin"]="data/aggregate?system_id=ID&start=2026-06-20T00:00:00&end=2026-06-20T23:59:00&param=Vin"
  ["data/aggregate day 30 days"]="data/aggregate?system_id=ID&level=day&start=2026-05-21T00:00:00&end=2026-06-20T00:00:00"
  ["data/combined minute 1 day"]="data/combined?system_id=ID&level=minute&start=2026-06-20T00:00:00&end=2026-06-20T23:59:00"
  ["data/combined hour 7 days"]="data/combined?system_id=ID&level=hour&start=2026-06-14T00:00:00&end=2026-06-20T23:00:00"
  ["alerts/system"]="alerts/system?system_id=ID"
  ["alerts/types"]="alerts/types?language=DE"
)
echo "## Latency (curl time_total over loopback, one connection per request)"
echo
echo "| endpoint | first call, median over systems | repeat, median of $RUNS x systems | body bytes |"
echo "|---|---|---|---|"
for name in "users/login" "systems?page=17&limit=50" "systems/{id}?include=all" "systems/layout" \
            "objects/system" "objects/types" "sources/system" "data/summary" \
            "data/aggregate min 2 h Pin" "data/aggregate min 1 day Vin" "data/aggregate day 30 days" \
            "data/combined minute 1 day" "data/combined hour 7 days" "alerts/system" "alerts/types"; do
  path=${ENDPOINTS[$name]}
  firsts=()
  repeats=()
  bytes=0
  for id in $IDS; do
    if [ "$path" = LOGIN ]; then
      url="$B/users/login"
      t=$(curl -s -o /dev/null -w '%{time_total}\n' -u demo:demo "$url")
    else
      url="$B/${path//ID/$id}"
      t=$(timeit "$url")
    fi
    firsts+=("$t")
    for _ in $(seq 1 "$RUNS"); do
      if [ "$path" = LOGIN ]; then
        repeats+=("$(curl -s -o /dev/null -w '%{time_total}\n' -u demo:demo "$url")")
      else
        repeats+=("$(timeit "$url")")
      fi
    done
    [ "$path" = LOGIN ] || bytes=$(curl -s -H "$H" "$url" | wc -c)
  done
  f=$(printf '%s\n' "${firsts[@]}" | median)
  r=$(printf '%s\n' "${repeats[@]}" | median)
  printf '| %s | %.2f ms | %.2f ms | %s |\n' "$name" "$(awk -v s="$f" 'BEGIN {print s*1000}')" \
    "$(awk -v s="$r" 'BEGIN {print s*1000}')" "$bytes"
done
echo

# 3. Memory: many requests over many systems must not grow the process without bound.
rss_before=$(rss)
for round in 1 2 3; do
  for i in $(seq 1 300); do
    id=$(( 1001 + (i * 7919 + round * 104729) % SYSTEMS ))
    for path in "data/aggregate?system_id=$id&start=2026-06-21T08:00:00&end=2026-06-21T09:00:00" \
                "sources/system?system_id=$id" "data/summary?system_id=$id"; do
      curl -s -o /dev/null -H "$H" "$B/$path"
    done
    curl -s -o /dev/null -u demo:demo "$B/users/login"
  done
  eval "rss_round_$round=$(rss)"
done
echo "## Memory (VmRSS)"
echo
echo "| moment | RSS |"
echo "|---|---|"
echo "| after start and login | ${rss_start} kB |"
echo "| after the latency runs | ${rss_before} kB |"
echo "| after 1200 more requests (300 systems, 300 logins) | ${rss_round_1} kB |"
echo "| after 2400 more requests (600 systems, 600 logins) | ${rss_round_2} kB |"
echo "| after 3600 more requests (900 systems, 900 logins) | ${rss_round_3} kB |"
stop_sim
