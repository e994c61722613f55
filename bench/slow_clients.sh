#!/usr/bin/env bash
# Slow and idle clients against four web servers, side by side in one run (bench/slow_clients.md):
# cpp-httplib as main had it, cpp-httplib tuned (64 threads, 1 s timeouts), cpp-httplib with a
# thread per connection, and the exporter's own server (web::Server on web::HttpServer). For each
# server and each attack (none; 500 slowloris sending a header line every 2 s, and every 0.5 s;
# 500 idle keep-alive; 500 silent; 500 silent from one address), a fresh server process; the load process holds the attack open and scrapes /metrics
# from another address every 100 ms. Records scrape latency, failures, the server's peak RSS and
# thread count. Contacts only 127.0.0.0/8.
#
#   bash bench/slow_clients.sh [BUILD_DIR]     (build with -DTIGO_BENCH=ON first)
# Variables: CONNECTIONS (500) SOURCES (10) INTERVAL_MS (2000) WARMUP (5) DURATION (15)
#            VARIANTS ("httplib-main httplib-tuned httplib-threads event")
#            MODES ("none slowloris slowloris-fast idle silent silent-one-address")
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
bin="$build/bench/slow_clients_bench"
[[ -x $bin ]] || { echo "slow_clients: $bin not built (cmake -DTIGO_BENCH=ON)" >&2; exit 2; }
CONNECTIONS=${CONNECTIONS:-500}
SOURCES=${SOURCES:-10}
INTERVAL_MS=${INTERVAL_MS:-2000}
WARMUP=${WARMUP:-5}
DURATION=${DURATION:-15}
VARIANTS=${VARIANTS:-"httplib-main httplib-tuned httplib-threads event"}
MODES=${MODES:-"none slowloris slowloris-fast idle silent silent-one-address"}

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "# slow_clients.sh $(date -u +%FT%TZ), revision $(git -C "$root" rev-parse --short HEAD)," \
  "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $CONNECTIONS connections from $SOURCES addresses (silent-one-address: 1), slowloris line" \
  "every ${INTERVAL_MS} ms (slowloris-fast: 500 ms), warm-up ${WARMUP} s, scrapes for ${DURATION} s"
echo
echo "| server | attack | scrapes | failed | p50 ms | p90 ms | p99 ms | max ms | attack held | server peak RSS MiB | server threads (max) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for mode in $MODES; do
  for variant in $VARIANTS; do
    "$bin" serve "$variant" >"$work/serve.out" 2>"$work/serve.err" &
    server_pid=$!
    for _ in $(seq 600); do grep -q '^port' "$work/serve.out" && break; sleep 0.1; done
    port=$(awk '/^port/ {print $2}' "$work/serve.out")
    if [[ -z $port ]]; then
      status="still running after 60 s"
      kill -0 "$server_pid" 2>/dev/null || { wait "$server_pid" && status="exited 0" || status="exited $?"; }
      echo "slow_clients: $variant did not print its port ($status):" >&2
      cat "$work/serve.err" >&2
      exit 1
    fi
    # The server's threads, sampled while the load runs (RSS: its high-water mark at the end).
    (max=0; while kill -0 "$server_pid" 2>/dev/null; do
       t=$(awk '/^Threads:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
       ((t > max)) && max=$t && echo "$max" >"$work/threads"
       sleep 0.2
     done) &
    sampler=$!
    line=$("$bin" load "$port" "$mode" --connections "$CONNECTIONS" --sources "$SOURCES" \
      --interval "$INTERVAL_MS" --warmup "$WARMUP" --duration "$DURATION")
    hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    wait "$sampler" 2>/dev/null || true
    held="$(field attack_open_at_start "$line")/$(field attack_open_at_end "$line")"
    [[ $mode == none ]] && held="-"
    echo "| $variant | $mode | $(field scrapes "$line") | $(field failed "$line") |" \
      "$(field p50_ms "$line") | $(field p90_ms "$line") | $(field p99_ms "$line") |" \
      "$(field max_ms "$line") | $held | $((hwm_kb / 1024)) | $(cat "$work/threads") |"
    echo "$variant $line" >>"$work/raw"
    rm -f "$work/threads"
  done
done
echo
echo "Raw lines:"
echo '```'
cat "$work/raw"
echo '```'
