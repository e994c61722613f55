# Issue 10's real-time check: tigo_sim with a fleet of SYSTEMS (default 400, spread around the
# globe, irregular arrivals) at 100 requests a minute, the exporter with its defaults against it
# for MINUTES (default 45). The exporter's /metrics is read every 15 s (its newest panel minute per
# system, the max of tigo_panel_sample_timestamp_seconds). After WARM minutes (default 25), up to 40
# systems in daylight are watched through the simulator's own sources/system, asked every minute
# with a second account (its own rate limit, so the measurement costs the exporter nothing): each
# time a system's last_min moves, a batch arrived (within that minute); its lag is how long until
# the exporter served a panel minute at or after it. Batches of minutes after sunset (the exporter
# never gets a reading for them) are left out. Prints the lag p50/p95/max, the systems with panel
# power by 10 minutes after start, and the 429s. Contacts only 127.0.0.1.
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
import datetime, json, re, sys, time, urllib.request
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
    # Site-local with an offset, as Tigo writes it.
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
power_re = re.compile(r'^tigo_panel_power_watts\{system_id="(\d+)".*\} (\S+)$', re.M)
sample_re = re.compile(r'^tigo_panel_sample_timestamp_seconds\{system_id="(\d+)".*\} (\S+)$', re.M)
token = login()
start = time.time()
first_power, newest, r429 = {}, {}, 0
watched, last_min = [], {}      # systems watched, their last_min seen
pending, lags = [], []          # batches (sid, last_min, arrived) not yet served; lags (min)
next_watch = start + warm * 60
while time.time() - start < minutes * 60:
    t0 = time.time()
    text = get(f"http://127.0.0.1:{exp}/metrics")
    newest = {}
    for sid, v in sample_re.findall(text):
        newest[sid] = max(newest.get(sid, 0), float(v))
    for sid in newest:
        first_power.setdefault(sid, t0 - start)
    producing = {sid for sid, v in power_re.findall(text) if float(v) > 0}
    r429 = sum(float(v) for v in re.findall(r'^tigo_api_requests_total\{[^}]*code="429"[^}]*\} (\S+)$', text, re.M))
    still = []
    for sid, lm, arrived in pending:
        if newest.get(sid, 0) >= lm:
            lags.append(max(0.0, (t0 - arrived) / 60))
        else:
            still.append((sid, lm, arrived))
    pending = still
    if t0 >= next_watch:
        if not watched:
            # Systems in daylight: some panel produces.
            watched = [sid for sid in sorted(newest, key=int) if sid in producing][:40]
        for sid in watched:
            try:
                src = json.loads(get(api + f"sources/system?system_id={sid}", token))
            except Exception:  # the probe account's own limit: next minute
                continue
            lm = max((iso(s["last_min"]) for src_ in src.get("sources", [])
                      for s in src_.get("sets", []) if s.get("last_min")), default=None)
            if lm is None:
                continue
            if sid in last_min and lm > last_min[sid]:
                # Arrived since the previous look, a minute ago: counted from the middle (already
                # served: within that minute).
                if newest.get(sid, 0) >= lm:
                    lags.append(0.5)
                else:
                    pending.append((sid, lm, t0 - 30))
            last_min[sid] = lm
        next_watch = t0 + 60
        print(f"min {(t0 - start) / 60:5.1f}: {len(newest)} systems with panel power, "
              f"429s {r429:.0f}, batches served {len(lags)}, waiting {len(pending)}", flush=True)
    time.sleep(max(0, 15 - (time.time() - t0)))
# A batch still waiting whose minutes are past the system's last reading by more than 20 minutes
# holds only minutes after sunset (or the system stalled): left out, and counted.
end = time.time()
dark = [p for p in pending if p[1] > newest.get(p[0], 0) + 1200]
for sid, lm, arrived in pending:
    if (sid, lm, arrived) not in dark:
        lags.append((end - arrived) / 60)  # not served by the end: counted as far as it got
lags.sort()
q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] if lags else float("nan")
lit = [sid for sid in newest if newest[sid] > end - 5400]
by10 = sum(1 for sid in lit if first_power[sid] <= 600)
by5 = sum(1 for sid in lit if first_power[sid] <= 300)
print(f"systems with panel power: {len(first_power)}; in daylight at the end: {len(lit)}, "
      f"of them with panel power by 5 min after start: {by5}, by 10 min: {by10}")
print(f"panel power behind its arrival (sources/system last_min moving) over the last "
      f"{minutes - warm} min, {len(watched)} systems watched, {len(lags)} batches "
      f"({len(dark)} after sunset left out): p50 {q(0.5):.1f} min, p95 {q(0.95):.1f} min, "
      f"max {q(1.0):.1f} min")
print(f"429 answers to the exporter: {r429:.0f}")
EOF
grep -c "what the budget buys" "$work/exporter.log" >/dev/null && grep "what the budget buys\|beyond" "$work/exporter.log" | tail -2 | cut -c1-400
