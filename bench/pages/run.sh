#!/usr/bin/env bash
# The status page of a large fleet (issue 12): tigo_sim with SYSTEMS systems (400), the exporter
# against it (rate limit raised, so the first round completes in about a minute), then
#   - the size of / in bytes (the page stays compact: one short row per system),
#   - headless Chromium loading / (dump of the DOM after the page's script ran) against loading a
#     one-line page of the same server (/static/status.js's neighbour: a 404 text), side by
#     side and interleaved, RUNS times each: the difference of the medians is what the status
#     page costs the browser over Chromium's own start.
# Contacts only 127.0.0.1; stops what it started. Usage: bench/pages/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
SYSTEMS=${SYSTEMS:-400}
RUNS=${RUNS:-7}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

"$build/src/tigo_sim" --listen 127.0.0.1:0 --systems "$SYSTEMS" --rate-limit 1000000 >"$tmp/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/sim.log" && break; sleep 0.1; done
api=$(grep -o 'http://[^ ]*/api/v3/' "$tmp/sim.log" | head -1)
echo demo >"$tmp/pw"
"$build/src/tigo_exporter" --tigo.api-url "$api" --tigo.username demo --tigo.password-file "$tmp/pw" \
  --tigo.rate-limit 100000 --tigo.concurrency 8 --web.listen-address 127.0.0.1:0 >"$tmp/exp.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q "msg=listening" "$tmp/exp.log" && break; sleep 0.1; done
addr=$(grep -o 'msg=listening address=[^ ]*' "$tmp/exp.log" | head -1 | cut -d= -f3)
start=$(date +%s)
until curl -sf "http://$addr/-/ready" >/dev/null; do
  (($(date +%s) - start < 600)) || { echo "not ready after 600 s" >&2; exit 1; }
  sleep 2
done
echo "exporter ready with $SYSTEMS systems after $(($(date +%s) - start)) s"
bytes=$(curl -s "http://$addr/" | wc -c)
gz=$(curl -s -H 'Accept-Encoding: gzip' "http://$addr/" | wc -c)
echo "status page: $bytes bytes ($gz bytes gzipped on the wire)"

chromium_ms() {  # milliseconds of one headless load + DOM dump
  local t0 t1
  t0=$(date +%s%N)
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage \
    --user-data-dir="$tmp/profile" --virtual-time-budget=2000 --dump-dom "$1" >"$tmp/dom" 2>/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
page=() blank=()
for _ in $(seq "$RUNS"); do
  blank+=("$(chromium_ms "http://$addr/static/none")")
  page+=("$(chromium_ms "http://$addr/")")
done
rows=$(grep -o '<tr' "$tmp/dom" | wc -l)
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(median "${page[@]}") mb=$(median "${blank[@]}")
echo "chromium, $RUNS runs each, interleaved: status page median $mp ms, a 404 text median $mb ms" \
  "(page ${page[*]} / text ${blank[*]}); the page's own share: $((mp - mb)) ms; DOM rows: $rows"
