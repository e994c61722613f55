# Issue 10's real-time check: tigo_sim with a fleet of SYSTEMS (default 400, spread around the
# globe, irregular arrivals) at 100 requests a minute, the exporter with its defaults against it
# for MINUTES (default 45). The exporter's /metrics is read every 15 s (its newest panel minute per
# system, the max of tigo_panel_sample_timestamp_seconds).
#
# Panel power by 10 minutes: the systems the simulator's /sim/faults shows with the sun above 8
# degrees at start (so Tigo holds lit minutes of them), gateway not stalled, and how many of them
# the exporter served panel power for within 5 and 10 minutes.
#
# Lag: after WARM minutes (default 25), up to 40 systems in daylight are watched through the
# simulator's own API with a second account (its own rate limit, so the measurement costs the
# exporter nothing): sources/system every minute; each time a system's last_min moves, a batch
# arrived (within that minute), and one data/aggregate Pin call finds the newest minute of it with
# a panel reading (a batch of minutes after sunset has none: left out, and counted). Its lag is how
# long until the exporter served that minute. Prints the lag p50/p95/max, the calls the exporter
# made each minute by endpoint, and the 429s. Contacts only 127.0.0.1.
# Usage: bench/realtime_fleet.sh [build-dir]
set -euo pipefail
build="${1:-build}"
SYSTEMS="${SYSTEMS:-400}" MINUTES="${MINUTES:-45}" WARM="${WARM:-25}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
sim_port=$((20000 + RANDOM % 10000)) exp_port=$((sim_port + 1))
"$build/src/tigo_sim" --systems "$SYSTEMS" --rate-limit 100 --users demo:demo,probe:probe \
  --listen "127.0.0.1:$sim_port" >"$work/sim.log" 2>&1 &
for _ in $(seq 60); do curl -s "http://127.0.0.1:$sim_port/sim/stats" >/dev/null && break; sleep 1; done
printf demo >"$work/pw"
"$build/src/tigo_exporter" --tigo.api-url "http://127.0.0.1:$sim_port/api/v3/" \
  --tigo.username demo --tigo.password-file "$work/pw" --tigo.rate-limit 100 \
  --web.listen-address "127.0.0.1:$exp_port" >"$work/exporter.log" 2>&1 &
python3 - "$sim_port" "$exp_port" "$MINUTES" "$WARM" <<'EOF'
import csv, datetime, io, json, re, sys, time, urllib.request, zoneinfo
sim, exp, minutes, warm = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
api = f"http://127.0.0.1:{sim}/api/v3/"
def get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()
def login():
    # The real API (and the simulator) log in with a GET and basic auth.
    req = urllib.request.Request(api + "users/login",
                                 headers={"Authorization": "Basic cHJvYmU6cHJvYmU="})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["user"]["auth"]
def iso(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
def newest_lit_minute(sid, source, lm, prev):
    """The newest minute in (prev, lm] with a panel reading, Unix time; None if none has one."""
    zone = zoneinfo.ZoneInfo(source["timezone"])
    local = lambda t: datetime.datetime.fromtimestamp(t, zone).strftime("%Y-%m-%dT%H:%M:%S")
    # At least half an hour: a short window may answer the header alone (a known API anomaly).
    text = get(api + f"data/aggregate?system_id={sid}&param=Pin&level=minute&header=id"
               f"&start={local(min(prev + 60, lm - 1800))}&end={local(lm)}", token)
    rows = list(csv.reader(io.StringIO(text)))
    gateway = {str(src.get("object_id")) for src in [source]}
    panels = [k for k, name in enumerate(rows[0]) if k > 0 and name not in gateway] if rows else []
    best = None
    for row in rows[1:]:
        if any(k < len(row) and row[k] != "" for k in panels):
            t = datetime.datetime.strptime(row[0], "%Y/%m/%d %H:%M:%S").replace(tzinfo=zone)
            best = max(best or 0, t.timestamp())
    return best if best and best > prev else None
sample_re = re.compile(r'^tigo_panel_sample_timestamp_seconds\{system_id="(\d+)".*\} (\S+)$', re.M)
power_re = re.compile(r'^tigo_panel_power_watts\{system_id="(\d+)".*\} (\S+)$', re.M)
calls_re = re.compile(r'^tigo_api_requests_total\{([^}]*)\} (\S+)$', re.M)
token = login()
faults = json.loads(get(f"http://127.0.0.1:{sim}/sim/faults"))["systems"]
lit_at_start = {str(f["system_id"]) for f in faults if f["sun_elevation_deg"] > 8
                and not (f["fault"] == "gateway_stall" and f["active"])}
start = time.time()
first_power, newest, r429 = {}, {}, 0
watched, last_min = [], {}      # systems watched, their last_min seen
pending, lags, dark = [], [], 0  # batches (sid, minute, arrived) not yet served; lags (min)
calls_then, next_watch = {}, start + warm * 60
next_minute = start + 60
while time.time() - start < minutes * 60:
    t0 = time.time()
    text = get(f"http://127.0.0.1:{exp}/metrics")
    newest = {}
    for sid, v in sample_re.findall(text):
        newest[sid] = max(newest.get(sid, 0), float(v))
    for sid in newest:
        first_power.setdefault(sid, t0 - start)
    producing = {sid for sid, v in power_re.findall(text) if float(v) > 0}
    calls = {}
    for labels, v in calls_re.findall(text):
        endpoint = re.search(r'endpoint="([^"]*)"', labels).group(1)
        calls[endpoint] = calls.get(endpoint, 0) + float(v)
    r429 = sum(float(v) for labels, v in calls_re.findall(text) if 'code="429"' in labels)
    still = []
    for sid, m, arrived in pending:
        if newest.get(sid, 0) >= m:
            lags.append(max(0.0, (t0 - arrived) / 60))
        else:
            still.append((sid, m, arrived))
    pending = still
    if t0 >= next_watch:
        if not watched:
            # Systems in daylight: some panel produces.
            watched = [sid for sid in sorted(newest, key=int) if sid in producing][:40]
        for sid in watched:
            try:
                src = json.loads(get(api + f"sources/system?system_id={sid}", token))["sources"]
                lm = max(((iso(s["last_min"]).timestamp(), source) for source in src
                          for s in source.get("sets", []) if s.get("last_min")),
                         key=lambda x: x[0])
            except Exception:  # the probe account's own limit, or no sets: next minute
                continue
            lm, source = lm
            if sid in last_min and lm > last_min[sid]:
                try:
                    m = newest_lit_minute(sid, source, lm, last_min[sid])
                except Exception:
                    continue
                if m is None:
                    dark += 1  # minutes after sunset only: nothing for the exporter to serve
                elif newest.get(sid, 0) >= m:
                    lags.append(0.5)  # arrived within the last minute, already served
                else:
                    pending.append((sid, m, t0 - 30))  # counted from the middle of the minute
            last_min[sid] = lm
        next_watch = t0 + 60
    if t0 >= next_minute:
        by = {e: calls.get(e, 0) - calls_then.get(e, 0) for e in calls}
        calls_then, next_minute = calls, next_minute + 60
        shown = " ".join(f"{e} {n:.0f}" for e, n in sorted(by.items()) if n)
        print(f"min {(t0 - start) / 60:5.1f}: {len(newest)} systems with panel power, "
              f"429s {r429:.0f}, batches served {len(lags)}, waiting {len(pending)}; calls: {shown}",
              flush=True)
    time.sleep(max(0, 15 - (time.time() - t0)))
end = time.time()
for sid, m, arrived in pending:
    lags.append((end - arrived) / 60)  # not served by the end: counted as far as it got
lags.sort()
q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] if lags else float("nan")
by5 = sum(1 for sid in lit_at_start if first_power.get(sid, 1e9) <= 300)
by10 = sum(1 for sid in lit_at_start if first_power.get(sid, 1e9) <= 600)
print(f"systems with panel power: {len(first_power)}; with the sun above 8 degrees at start "
      f"(gateway not stalled): {len(lit_at_start)}, of them with panel power by 5 min: {by5}, "
      f"by 10 min: {by10}")
print(f"panel power behind its arrival (sources/system last_min moving) over the last "
      f"{minutes - warm} min, {len(watched)} systems watched, {len(lags)} batches "
      f"({dark} holding only minutes after sunset left out): p50 {q(0.5):.1f} min, "
      f"p95 {q(0.95):.1f} min, max {q(1.0):.1f} min")
print(f"429 answers to the exporter: {r429:.0f}")
EOF
grep -c "what the budget buys" "$work/exporter.log" >/dev/null && grep "what the budget buys\|beyond" "$work/exporter.log" | tail -2 | cut -c1-400
