#!/usr/bin/env bash
# Issue 13's soak (bench/soak.md): tigo_sim with every fault class on at once, SYSTEMS systems
# (20), the exporter with its default flags against it, a real Prometheus scraping it every 15 s,
# and the slow-client attacker (slow_clients_bench attack: slowloris, idle and silent
# connections from 127.0.0.2-11) against the exporter the whole time. After a warm-up (until
# the exporter is ready, at most 5 min) it runs MINUTES (30) and then prints:
# every scrape answered (Prometheus' `up` and scrape durations over the run), last good data
# kept (no series of the main families missing from a scrape after it first appeared), the exporter's RSS
# sampled every minute (first against last 10 minutes), the 429s the simulator answered beyond
# its own bursts, the faults it injected, and the attacker's counters. Exits 1 when a criterion
# fails. Contacts only 127.0.0.0/8.
#
#   bash bench/soak.sh [BUILD_DIR]      (tigo_exporter, tigo_sim, slow_clients_bench: -DTIGO_BENCH=ON)
# Variables: MINUTES (30) SYSTEMS (20) FAULTS (below) SLOWLORIS (200) IDLE (150) SILENT (150)
#            KEEP (set: keep the work directory with every log)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
MINUTES=${MINUTES:-30}
SYSTEMS=${SYSTEMS:-20}
FAULTS=${FAULTS:-error_rate=0.05,latency=200ms,malformed=0.02,truncated=0.02,drop_connection=0.02,expired_token=0.01,burst_429=0.01}
SLOWLORIS=${SLOWLORIS:-200} IDLE=${IDLE:-150} SILENT=${SILENT:-150}
prometheus_bin=/usr/bin/prometheus
for bin in "$build/src/tigo_sim" "$build/src/tigo_exporter" "$build/bench/slow_clients_bench" \
  "$prometheus_bin"; do
  [[ -x $bin ]] || { echo "soak: $bin missing (build with -DTIGO_BENCH=ON)" >&2; exit 2; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n ${KEEP:-} ]]; then echo "soak: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The first line of FILE that matches the sed expression, within 60 s.
wait_for() {
  local file=$1 expr=$2 value=""
  for _ in $(seq 600); do
    value=$(sed -n "$expr" "$file" 2>/dev/null | head -1)
    [[ -n $value ]] && { echo "$value"; return 0; }
    sleep 0.1
  done
  echo "soak: nothing like '$expr' in $file:" >&2
  tail -5 "$file" >&2
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$build/src/tigo_sim" --systems "$SYSTEMS" --faults "$FAULTS" --listen 127.0.0.1:0 \
  >"$work/sim.log" 2>&1 &
pids+=($!)
api=$(wait_for "$work/sim.log" 's/^listening on \(http:[^ ]*\).*/\1/p')
sim_url=${api%/api/v3/}

printf demo >"$work/password"
"$build/src/tigo_exporter" --tigo.api-url "$api" --tigo.username demo \
  --tigo.password-file "$work/password" --web.listen-address 127.0.0.1:0 \
  >"$work/exporter.log" 2>&1 &
exporter_pid=$!
pids+=("$exporter_pid")
exporter=$(wait_for "$work/exporter.log" 's/.*msg=listening address=\([^ ]*\).*/\1/p')
exporter_port=${exporter##*:}

"$build/bench/slow_clients_bench" attack "$exporter_port" --slowloris "$SLOWLORIS" --idle "$IDLE" \
  --silent "$SILENT" --sources 10 >"$work/attack.log" 2>&1 &
pids+=($!)

prom_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 15s
  scrape_timeout: 10s
scrape_configs:
  - job_name: tigo
    static_configs:
      - targets: ['$exporter']
EOF
"$prometheus_bin" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

echo "# soak.sh $(date -u +%FT%TZ), revision $(git -C "$root" rev-parse --short HEAD)," \
  "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $MINUTES min after warm-up; tigo_sim --systems $SYSTEMS --faults $FAULTS;" \
  "exporter with default flags; Prometheus 15 s; attacker $SLOWLORIS slowloris (a header line" \
  "every 2 s) + $IDLE idle + $SILENT silent connections from 10 addresses"

python3 - "$prom_port" "$exporter_pid" "$sim_url" "$MINUTES" "$SYSTEMS" "$work" "$exporter" <<'EOF'
import datetime, json, os, statistics, sys, time, urllib.parse, urllib.request
from zoneinfo import ZoneInfo

prom_port, exporter_pid, sim_url, minutes, systems, work, exporter = sys.argv[1:8]
minutes, systems = int(minutes), int(systems)
prom = f"http://127.0.0.1:{prom_port}/api/v1/"

def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())

def query(q, at=None):
    params = {"query": q}
    if at is not None:
        params["time"] = f"{at:.3f}"
    try:
        return get(prom + "query?" + urllib.parse.urlencode(params))["data"]["result"]
    except Exception:
        return []

def scalar(q, at=None, default=float("nan")):
    r = query(q, at)
    return float(r[0]["value"][1]) if r else default

def proc(field):
    try:
        with open(f"/proc/{exporter_pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None

# Warm-up: until the exporter is ready (at most 5 min), then one scrape more, so the run measures
# a running exporter (its memory included).
def ready():
    try:
        with urllib.request.urlopen(f"http://{exporter}/-/ready", timeout=5) as r:
            return r.status == 200
    except Exception:
        return False

t_warm = time.time()
while time.time() - t_warm < 300 and not ready():
    time.sleep(2)
warm_s = time.time() - t_warm
print(f"warm-up: ready {'after' if ready() else 'NOT READY after'} {warm_s:.0f} s", flush=True)
time.sleep(15)

# The run: the exporter's RSS, threads and descriptors every minute.
t0 = time.time()
samples, alive = [], True
for k in range(minutes + 1):
    time.sleep(max(0.0, t0 + 60 * k - time.time()))
    rss = proc("VmRSS")
    if rss is None:
        alive = False
        print(f"minute {k}: the exporter is gone", flush=True)
        break
    try:
        fds = len(os.listdir(f"/proc/{exporter_pid}/fd"))
    except OSError:
        fds = -1
    samples.append((k, rss / 1024, proc("Threads"), fds))
    up = scalar('up{job="tigo"}')
    print(f"minute {k:3d}: RSS {rss / 1024:6.1f} MiB, threads {samples[-1][2]}, fds {fds}, "
          f"up {up:.0f}", flush=True)
t1 = time.time()
time.sleep(20)  # the last scrape of the window is in Prometheus
rng = f"{int(t1 - t0)}s"
results, ok = [], True

def check(name, passed, figure):
    global ok
    ok = ok and passed
    results.append((name, "yes" if passed else "NO", figure))

# Every scrape answered: `up` of every scrape in the run, and how long scrapes took.
expected = int((t1 - t0) // 15)
ups = [float(v) for r in query(f'up{{job="tigo"}}[{rng}]', t1) for _, v in r["values"]]
q = {p: scalar(f'quantile_over_time({p}, scrape_duration_seconds{{job="tigo"}}[{rng}])', t1) * 1000
     for p in (0.5, 0.99, 1.0)}
check("every scrape answered", len(ups) >= expected - 1 and all(v == 1 for v in ups),
      f"{len(ups)} scrapes in {(t1 - t0) / 60:.1f} min (expected ~{expected}), "
      f"{sum(1 for v in ups if v != 1)} with up = 0; scrape duration p50 {q[0.5]:.0f} ms, "
      f"p99 {q[0.99]:.0f} ms, max {q[1.0]:.0f} ms")

# Last good data kept: a series, once scraped in the run, is in every later scrape (a dataset
# that fails keeps its last good values up to --refresh.max-staleness). From the raw samples:
# every sample of a scrape carries the scrape's timestamp, which `up` has too. A series is what
# it describes (system, object, alert, gateway): one whose descriptive labels change when a later
# dataset adds them (a panel's serial and type from the layout, its string from the objects
# tree) continues under its new labels, counted as relabelled. An absence docs/METRICS.md
# states is no loss: energy of today is withheld from the site's midnight until a summary
# updated on the new day arrives (checked against the summary's updated_on of that scrape).
IDENTITY = ("system_id", "object_id", "unique_id", "source_id")

def raw(selector):
    return query(f"{selector}[{rng}]", t1)

scrape_times = sorted({round(float(t) * 1000) for r in raw('up{job="tigo"}') for t, _ in r["values"]})
zones = {r["metric"]["system_id"]: ZoneInfo(r["metric"].get("timezone") or "UTC")
         for r in query(f"last_over_time(tigo_system_info[{rng}])", t1)}
updated_on = {r["metric"]["system_id"]: {round(float(t) * 1000): float(v) for t, v in r["values"]}
              for r in raw("tigo_system_summary_updated_timestamp_seconds")}

def documented_absence(family, key, t_ms):
    if family != "tigo_system_dc_energy_today_joules" or key[0] not in zones:
        return False
    updated = updated_on.get(key[0], {}).get(t_ms)
    day = lambda seconds: datetime.datetime.fromtimestamp(seconds, zones[key[0]]).date()
    return updated is not None and day(updated) < day(t_ms / 1000)

for family in ("tigo_system_info", "tigo_system_dc_power_watts", "tigo_system_dc_energy_today_joules",
               "tigo_system_alerts", "tigo_gateway_last_checkin_timestamp_seconds",
               "tigo_object_power_watts", "tigo_panel_info", "tigo_panel_power_watts",
               "tigo_panel_input_voltage_volts"):
    seen, label_sets = {}, {}
    for r in raw(family):
        key = tuple(r["metric"].get(k, "") for k in IDENTITY)
        seen.setdefault(key, set()).update(round(float(t) * 1000) for t, _ in r["values"])
        label_sets[key] = label_sets.get(key, 0) + 1
    absent = {key: [t for t in scrape_times if t >= min(ts) and t not in ts] for key, ts in seen.items()}
    gaps = {key: [t for t in ts if not documented_absence(family, key, t)] for key, ts in absent.items()}
    documented = sum(map(len, absent.values())) - sum(map(len, gaps.values()))
    broken = sum(1 for g in gaps.values() if g)
    at_start = sum(1 for ts in seen.values() if scrape_times[0] in ts)
    at_end = sum(1 for ts in seen.values() if scrape_times[-1] in ts)
    relabelled = sum(1 for n in label_sets.values() if n > 1)
    check(f"{family} kept", seen and broken == 0,
          f"{len(seen)} series ({at_start} in the first scrape, {at_end} in the last, {relabelled} "
          f"relabelled); {broken} missing from a later scrape ({sum(map(len, gaps.values()))} samples)"
          + (f"; {documented} samples withheld as documented (a summary of the site's previous day)"
             if documented else ""))

# Memory flat: median RSS of the first and the last 10 minutes (a third of a shorter run).
span = max(1, min(10, len(samples) // 3))
first = statistics.median(s[1] for s in samples[:span])
last = statistics.median(s[1] for s in samples[-span:])
check("exporter alive, memory flat", alive and last <= first * 1.10 + 1,
      f"RSS median {first:.1f} MiB (first {span} min) -> {last:.1f} MiB (last {span} min), "
      f"ratio {last / first:.3f}; max {max(s[1] for s in samples):.1f} MiB; threads "
      f"{min(s[2] for s in samples)}-{max(s[2] for s in samples)}, descriptors "
      f"{min(s[3] for s in samples)}-{max(s[3] for s in samples)}")

# 429s: what the simulator answered against its own bursts, and what the exporter counted.
stats = get(sim_url + "/sim/stats")
answered_429 = sum(codes.get("429", 0) for codes in stats["requests"].values())
bursts_429 = stats["faults"].get("burst_429", 0)
exporter_429 = scalar('sum(tigo_api_requests_total{code="429"})', t1, 0)
check("no 429 beyond the simulator's bursts", answered_429 - bursts_429 == 0,
      f"simulator answered {answered_429} x 429, {bursts_429} of them its bursts; "
      f"the exporter counted {exporter_429:.0f}")

print()
print("| criterion | met | figures |")
print("| --- | --- | --- |")
for name, passed, figure in results:
    print(f"| {name} | {passed} | {figure} |")
print()
faults = ", ".join(f"{k} {v}" for k, v in stats["faults"].items() if k != "total")
print(f"simulator: {stats['requests_total']} requests, faults injected: {faults}")
codes = {r["metric"].get("code", "?"): float(r["value"][1])
         for r in query("sum by (code) (tigo_api_requests_total)", t1)}
print("exporter's API calls by code: " + ", ".join(f"{c} {v:.0f}" for c, v in sorted(codes.items())))
logins = {r["metric"].get("result", "?"): float(r["value"][1])
          for r in query("sum by (result) (tigo_api_logins_total)", t1)}
print("exporter's logins: " + ", ".join(f"{c} {v:.0f}" for c, v in sorted(logins.items())))
success = scalar(f"avg(avg_over_time(tigo_refresh_success[{rng}]))", t1)
print(f"tigo_refresh_success averaged over datasets and the run: {success:.3f}")
with open(f"{work}/verdict", "w") as f:
    f.write("ok\n" if ok else "failed\n")
EOF

kill -TERM "${pids[2]}" 2>/dev/null || true  # the attacker prints its totals
wait "${pids[2]}" 2>/dev/null || true
echo "attacker: $(tail -1 "$work/attack.log")"
echo "exporter log lines by level: $(sed -n 's/.*level=\([a-z]*\).*/\1/p' "$work/exporter.log" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')"
echo "exporter's most frequent warnings and errors:"
sed -n 's/.*level=\(warn\|error\) msg=\("[^"]*"\|[^ ]*\).*/  \1 \2/p' "$work/exporter.log" | sort | uniq -c |
  sort -rn | head -8
[[ $(cat "$work/verdict" 2>/dev/null) == ok ]]
