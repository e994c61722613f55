#!/usr/bin/env bash
# Issue 10's real-time check: tigo_sim with a fleet of SYSTEMS (default 400, spread around the
# globe, irregular arrivals) at 100 requests a minute, the exporter with its defaults against it
# for MINUTES (default 45). Every minute: the exporter's newest panel minute per system (max of
# tigo_panel_sample_timestamp_seconds) and, after WARM minutes (default 25), the simulator's own
# sources/system last_min for up to 40 systems that have panel data, asked with a second account
# (its own rate limit) so the measurement costs the exporter nothing. Prints the lag behind
# last_min (p50/p95/max), systems with panel power by 10 minutes after start, and the 429s.
# Contacts only 127.0.0.1. Usage: bench/realtime_fleet.sh [build-dir]
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
token = login()
start = time.time()
first_power, lags, r429 = {}, [], 0
sample_re = re.compile(r'^tigo_panel_sample_timestamp_seconds\{system_id="(\d+)".*\} (\S+)$', re.M)
while time.time() - start < minutes * 60:
    t0 = time.time()
    text = get(f"http://127.0.0.1:{exp}/metrics")
    newest = {}
    for sid, v in sample_re.findall(text):
        newest[sid] = max(newest.get(sid, 0), float(v))
    for sid in newest:
        first_power.setdefault(sid, t0 - start)
    r429 = sum(float(v) for v in re.findall(r'^tigo_api_requests_total\{[^}]*status="429"[^}]*\} (\S+)$', text, re.M))
    elapsed_min = (t0 - start) / 60
    if elapsed_min >= warm:
        # Systems in daylight: a panel reading in the last 90 minutes (at night the gateways still
        # upload empty minutes, so last_min runs ahead of the last reading).
        lit = [sid for sid in sorted(newest) if newest[sid] > t0 - 5400]
        for sid in lit[:40]:
            try:
                src = json.loads(get(api + f"sources/system?system_id={sid}", token))
            except Exception as e:  # the probe account's own limit: skip this one
                continue
            last = max((iso(s["last_min"]) for src_ in src.get("sources", [])
                        for s in src_.get("sets", []) if s.get("last_min")), default=None)
            if last:
                lags.append(max(0.0, (last - newest[sid]) / 60))
    print(f"min {elapsed_min:5.1f}: {len(newest)} systems with panel power, 429s {r429:.0f}, "
          f"lag samples {len(lags)}", flush=True)
    time.sleep(max(0, 60 - (time.time() - t0)))
lags.sort()
q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] if lags else float("nan")
# Systems in daylight at the end: a reading in the last 90 minutes.
lit = [sid for sid in newest if newest[sid] > time.time() - 5400]
by10 = sum(1 for sid in lit if first_power[sid] <= 600)
by5 = sum(1 for sid in lit if first_power[sid] <= 300)
print(f"systems with panel power: {len(first_power)}; in daylight at the end: {len(lit)}, "
      f"of them with panel power by 5 min after start: {by5}, by 10 min: {by10}")
print(f"panel power behind sources/system last_min over the last {minutes - warm} min "
      f"({len(lags)} samples): p50 {q(0.5):.1f} min, p95 {q(0.95):.1f} min, max {q(1.0):.1f} min")
print(f"429 answers to the exporter: {r429:.0f}")
EOF
grep -c "what the budget buys" "$work/exporter.log" >/dev/null && grep "what the budget buys\|beyond" "$work/exporter.log" | tail -2 | cut -c1-400
