#!/usr/bin/env bash
# Issue 10's restart check: tigo_sim with SYSTEMS (default 400, spread around the globe) at 100
# requests a minute; the exporter with its defaults and --storage.path runs WARM minutes (default
# 25), is stopped (SIGTERM: the state file is written) and started again from the file; then a
# third start without the file, the cold case, side by side in the same run against the same
# simulator. "Full data": every system the first run had at its stop is back with its panels
# (tigo_panel_info), its summary (tigo_system_dc_power_watts), its gateways (tigo_gateway_info)
# and, where the first run had it, panel power (tigo_panel_power_watts). Prints, for each start,
# the seconds to full data (and per family; what a start that is not full by then still misses)
# and to /-/ready, the calls of its first 2 minutes by endpoint
# (tigo_api_requests_total), and how many systems whose objects or layout the first run had got
# them fetched again (tigo_refresh_last_success_timestamp_seconds moved); and the state file's
# size. A cold start that is not full after MAX minutes (default 30) says so.
# Contacts only 127.0.0.1. Usage: bench/restart_fleet.sh [build-dir]
set -euo pipefail
build="${1:-build}"
SYSTEMS="${SYSTEMS:-400}" WARM="${WARM:-25}" MAX="${MAX:-30}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
sim_port=$((20000 + RANDOM % 10000)) exp_port=$((sim_port + 1))
"$build/src/tigo_sim" --systems "$SYSTEMS" --rate-limit 100 --listen "127.0.0.1:$sim_port" \
  >"$work/sim.log" 2>&1 &
for _ in $(seq 60); do curl -s "http://127.0.0.1:$sim_port/sim/stats" >/dev/null && break; sleep 1; done
printf demo >"$work/pw"
python3 - "$build/src/tigo_exporter" "$sim_port" "$exp_port" "$work" "$WARM" "$MAX" <<'EOF'
import os, re, signal, subprocess, sys, time, urllib.request
exporter, sim, port, work, warm, max_min = sys.argv[1:7]
warm, max_min = int(warm), int(max_min)
base = f"http://127.0.0.1:{port}"

def start(name, state):
    args = [exporter, "--tigo.api-url", f"http://127.0.0.1:{sim}/api/v3/", "--tigo.username", "demo",
            "--tigo.password-file", f"{work}/pw", "--tigo.rate-limit", "100",
            "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "debug"]
    if state:
        args += ["--storage.path", f"{work}/state"]
    log = open(f"{work}/{name}.log", "w")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    return p, time.time()

def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)

def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, r.read().decode()
    except Exception:
        return 0, ""

FAMILIES = ["tigo_panel_info", "tigo_system_dc_power_watts", "tigo_gateway_info", "tigo_panel_power_watts"]
def sets(text):
    out = {f: set() for f in FAMILIES}
    for f in FAMILIES:
        out[f] = set(re.findall(r'^' + f + r'\{[^}]*system_id="(\d+)"', text, re.M))
    return out

def hierarchy_times(text):
    # (system, dataset) -> last success of objects and layout
    return {(sid, d): float(v) for d, sid, v in re.findall(
        r'^tigo_refresh_last_success_timestamp_seconds\{(?=[^}]*dataset="(objects|layout)")(?=[^}]*system_id="(\d+)")[^}]*\} (\S+)$',
        text, re.M)}

def calls(text):
    by = {}
    for ep, v in re.findall(r'^tigo_api_requests_total\{[^}]*endpoint="([^"]+)"[^}]*\} (\S+)$', text, re.M):
        by[ep] = by.get(ep, 0) + float(v)
    return by

def fmt_calls(by):
    keys = ["objects/system", "systems/layout", "data/aggregate", "systems", "sources/system",
            "data/summary", "data/combined", "alerts/system"]
    return ", ".join(f"{k} {int(by.get(k, 0))}" for k in keys) + f"; total {int(sum(by.values()))}"

# 1. The first run: cold, with the state file, WARM minutes.
p, t0 = start("first", True)
while time.time() - t0 < warm * 60:
    time.sleep(30)
    _, text = get("/metrics")
    s = sets(text)
    print(f"first run, min {(time.time() - t0) / 60:4.1f}: " +
          ", ".join(f"{f} {len(s[f])}" for f in FAMILIES), flush=True)
_, text = get("/metrics")
reference = sets(text)
known = hierarchy_times(text)
print(f"first run's calls: {fmt_calls(calls(text))}; objects and layout known for "
      f"{sum(1 for k in known if k[1] == 'objects')} and {sum(1 for k in known if k[1] == 'layout')} systems")
stop(p)
size = os.path.getsize(f"{work}/state/state.json")
written = re.findall(r'msg="state file written".* ms=(\d+)', open(f"{work}/first.log").read())
print(f"reference at the stop: " + ", ".join(f"{f} {len(reference[f])}" for f in FAMILIES))
print(f"state file: {size} bytes; written in {', '.join(written)} ms")

# 2. and 3. Restart with the file, then without.
def measure(name, state, limit_s):
    p, t0 = start(name, state)
    full = ready = None
    early = None
    # Per family: when every system the first run had in it was back; what was still missing.
    family_at = {f: None for f in FAMILIES}
    missing = {f: len(reference[f]) for f in FAMILIES}
    step = 1 if state else 5
    while time.time() - t0 < limit_s:
        time.sleep(step)
        el = time.time() - t0
        if ready is None and get("/-/ready")[0] == 200:
            ready = el
        _, text = get("/metrics")
        if early is None and el >= 120:
            early = calls(text)
            again = hierarchy_times(text)
            # Systems whose objects or layout the first run had and this one fetched again.
            refetched = sum(1 for k, t in known.items() if again.get(k, t) > t)
        if full is None:
            s = sets(text)
            for f in FAMILIES:
                missing[f] = len(reference[f] - s[f])
                if family_at[f] is None and not missing[f]:
                    family_at[f] = el
            if all(reference[f] <= s[f] for f in FAMILIES):
                full = el
        if full is not None and early is not None:
            break
    if early is None:
        text = get("/metrics")[1]
        early = calls(text)
        again = hierarchy_times(text)
        refetched = sum(1 for k, t in known.items() if again.get(k, t) > t)
    stop(p)
    log = open(f"{work}/{name}.log").read()
    restored = re.search(r'msg="state restored".*systems=(\d+)', log)
    cold = re.search(r'msg="state file not used[^"]*" .*reason=(\S+)', log)
    how = f"restored {restored.group(1)} systems" if restored else (
        f"cold ({cold.group(1)})" if cold else "cold (no --storage.path)")
    full_s = f"{full:.0f} s" if full is not None else f"not within {limit_s / 60:.0f} min"
    full_s += " (" + ", ".join(
        f"{f} {family_at[f]:.0f} s" if family_at[f] is not None else f"{f} {missing[f]} missing"
        for f in FAMILIES) + ")"
    ready_s = f"{ready:.0f} s" if ready is not None else "never"
    print(f"{name}: {how}; full data after {full_s}, ready after {ready_s}; "
          f"calls in the first 2 min: {fmt_calls(early)}; objects or layout the first run had, "
          f"fetched again: {refetched} of {len(known)}", flush=True)

measure("restart with the state file", True, 10 * 60)
measure("restart without it (cold)", False, max_min * 60)
EOF
