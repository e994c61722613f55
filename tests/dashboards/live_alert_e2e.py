#!/usr/bin/env python3
"""Live alert delivery, end to end: tigo_sim with its planted faults -> tigo_exporter ->
Prometheus with the rules (`for` cut to 2 s) -> a real Alertmanager -> a webhook (alert_e2e.py).
The expected alerts are derived from the simulator's own ground truth, GET /sim/faults, not
written by hand: every planted fault whose conditions hold must raise its alert on the right
system, panel or string, and nothing may arrive for anything else (healthy systems, faults whose
symptoms the sun hides).

The fleet and the instant are fixed, so the sun, the clouds and the faults are the same on every
run: --systems 40 (each fault kind four times, 20 healthy systems, spread around the globe) at
--time 2031-03-20T10:30Z, where every fault kind has a system in daylight (the shaded panel in
its afternoon shadow) and others in the dark. Ten systems cannot do that: each kind appears once,
and the five faulty systems lie ~70 degrees of longitude apart, so no instant has them all in
daylight.

Clocks: the simulator runs from that instant at real speed. The exporter asks for data and judges
its age by its own clock (data windows, night skipping, staleness, the alerts window), so it runs
on the simulator's clock: --debug.time with the same instant, --debug.speed 1. Prometheus and
Alertmanager keep the real clock, which is years behind the simulated one; the rules that
compare time() with a data timestamp therefore see data "from the future" (ages < 0) on healthy
systems, and ages of months on the stalled gateway. TigoDataStale and the no-reading half of
TigoSystemProducingNothing judge by the solar hour of Prometheus's own clock: their expectations
are computed from the real clock.

Usage: live_alert_e2e.py TIGO_SIM TIGO_EXPORTER [--seed N --systems N --time ISO]
       [--wrong-expectation]   (drops one expected alert and adds one that cannot fire, to see
                                the test fail both ways)
Exit 0 pass, 1 fail, 77 skipped (binaries missing).
"""
import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# Thresholds of dashboards/rules (tigo-alerts.yaml, tigo-recording.yaml) this derivation mirrors,
# and the margins around them inside which an alert is allowed but not required.
DAY_POA_W_M2 = 250      # plane-of-array irradiance with clearly more than 50 W a panel
DAY_ELEVATION_DEG = 10
DARK_POA_W_M2 = 0       # optimizers asleep: no readings at all
SHADOW_HOURS = (14.5, 17.5)  # sim/topology.hpp kShade window, mean solar time
ALERTS_WINDOW_S = 24 * 3600  # exporter --alerts.window default

EXPORTER_FLAGS = [
    "--tigo.rate-limit", "100000",
    "--refresh.panels-interval", "5s", "--refresh.summary-interval", "5s",
    "--refresh.sources-interval", "5s", "--refresh.alerts-interval", "10s",
    "--refresh.combined-interval", "30s", "--refresh.layout-interval", "1h",
]


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def http_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


class Proc:
    """A child process whose output lines are kept and searched; only this PID is ever killed."""

    def __init__(self, name, argv, env=None):
        self.name, self.lines = name, []
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern, seconds):
        end = time.time() + seconds
        while time.time() < end:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"{self.name}: no line matching {pattern!r} (exit {self.p.poll()}):\n  " +
                         "\n  ".join(self.lines[-20:]))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def band(value, on, off):
    """'on' when value is clearly past `on`, 'off' when clearly short of `off`, else 'maybe'."""
    if value >= on:
        return "on"
    if value <= off:
        return "off"
    return "maybe"


def hour_in(hour, lo, hi, margin):
    """'on' inside [lo+margin, hi-margin], 'off' outside [lo-margin, hi+margin], else 'maybe'."""
    if lo + margin <= hour <= hi - margin:
        return "on"
    if hour < lo - margin or hour > hi + margin:
        return "off"
    return "maybe"


def combine(*states):
    if "off" in states:
        return "off"
    return "maybe" if "maybe" in states else "on"


def peer_producing(p):
    """Whether a system produces over 10 % of its rating (tigo:timezone_systems_producing:count):
    about 115 W/m2 on its panels; PV-Off produces nothing; a stalled gateway's system has no
    current power (its summary froze at the onset: the exporter serves none)."""
    if p["active"] and p["fault"] in ("pv_off", "gateway_stall"):
        return "off"
    return band(p["irradiance_w_m2"], 300, 60)


def expected_alerts(truth, real_now, run_seconds):
    """The alerts the rules must raise on this fleet at this instant, each with why; 'maybe' ones
    are optional. Everything not listed must stay silent."""
    sim_now = parse_time(truth["time"])
    systems = truth["systems"]
    by_tz = {}
    for s in systems:
        by_tz.setdefault(s["timezone"], []).append(s)
    out = []

    def add(when, why, **labels):
        if when == "off":
            return
        e = {k: str(v) for k, v in labels.items()}
        if when == "maybe":
            e["_optional"] = True
        e["_why"] = why
        out.append(e)

    for s in systems:
        if not s["active"]:
            continue
        sid, kind = s["system_id"], s["fault"]
        poa, elev = s["irradiance_w_m2"], s["sun_elevation_deg"]
        # Panels produce clearly (string medians well over the rules' 20 / 50 W gates), or are dark.
        day = combine(band(poa, DAY_POA_W_M2, DARK_POA_W_M2), band(elev, DAY_ELEVATION_DEG, 0))
        hour = s["solar_hour"]
        if kind == "shaded_panel":
            # Readings trail by a minute or two; the shadow must hold for the whole run.
            shade = hour_in(hour, SHADOW_HOURS[0], SHADOW_HOURS[1] - run_seconds / 3600, 0.1)
            add(combine(day, shade), f"panel shaded at solar {hour:.2f}, {poa:.0f} W/m2",
                alertname="TigoPanelUnderperforming", system_id=sid, **s["panel"])
        elif kind == "dead_optimizer":
            add(day, f"optimizer dead, siblings in {poa:.0f} W/m2",
                alertname="TigoPanelNotReporting", system_id=sid, **s["panel"])
        elif kind == "weak_string":
            string = {k: v for k, v in s["string"].items() if k != "object_id"}  # summed by string
            add(day, f"weak string in {poa:.0f} W/m2",
                alertname="TigoStringUnderperforming", system_id=sid, **string)
        elif kind == "gateway_stall":
            add("on", "gateway silent since " + s["onset"], alertname="TigoGatewayNotCheckingIn",
                system_id=sid, source_id=s["gateway"]["source_id"])
            # Data stale: judged by the solar hour of Prometheus's clock (the real one), at the start
            # and at the end of the run.
            lon = s["longitude"]
            hours = [((real_now + d) % 86400 / 3600 + lon / 15 + 24) % 24 for d in (0, run_seconds)]
            stale = combine(*(hour_in(h, 11, 17, 0.05) for h in hours)) \
                if len({hour_in(h, 11, 17, 0.05) for h in hours}) == 1 else "maybe"
            add(stale, f"newest data from {s['onset']}, Prometheus's solar hour {hours[0]:.2f}",
                alertname="TigoDataStale", system_id=sid)
            # No reading at Tigo for over 3 h (the onset, by Prometheus's clock): producing
            # nothing while, by that clock's sun, peers in its zone produce (08:00-16:00 solar) or,
            # alone, the sun is high (10:00-14:00).
            peers = [p for p in by_tz[s["timezone"]] if p is not s]
            old = "on" if real_now - parse_time(s["onset"]) > 10800 + run_seconds else "off"
            if peers:
                producing = [peer_producing(p) for p in peers]
                producing = "on" if "on" in producing else ("maybe" if "maybe" in producing else "off")
                by_sun = [hour_in(h, 8, 16, 0.05) for h in hours]
            else:
                producing = "on"
                by_sun = [hour_in(h, 10, 14, 0.05) for h in hours]
            sun = by_sun[0] if len(set(by_sun)) == 1 else "maybe"
            add(combine(old, producing, sun),
                f"no reading since {s['onset']}, Prometheus's solar hour {hours[0]:.2f}, "
                f"{len(peers)} peer(s)", alertname="TigoSystemProducingNothing", system_id=sid)
        elif kind == "pv_off":
            add("on", "PV-Off since " + s["onset"], alertname="TigoPvOffEngaged", system_id=sid,
                source_id=s["gateway"]["source_id"], state="off")
            # Producing nothing: with peers in its time zone, while one of them produces over 10 %
            # of its rating and the reading is from 08:00-16:00 solar; alone, 10:00-14:00 solar.
            peers = [p for p in by_tz[s["timezone"]] if p is not s]
            if peers:
                producing = [peer_producing(p) for p in peers]
                producing = "on" if "on" in producing else ("maybe" if "maybe" in producing else "off")
                state = combine(hour_in(hour, 8, 16, 0.1), producing)
                why = f"PV-Off at solar {hour:.2f}, {len(peers)} peer(s) in {s['timezone']}"
            else:
                state = hour_in(hour, 10, 14, 0.1)
                why = f"PV-Off at solar {hour:.2f}, alone in {s['timezone']}"
            add(state, why, alertname="TigoSystemProducingNothing", system_id=sid)
        # Tigo's own alerts: those generated inside the exporter's window.
        for a in s["alerts"]:
            age = sim_now - parse_time(a["last_generated"])
            state = "on" if age < ALERTS_WINDOW_S - 600 else ("maybe" if age < ALERTS_WINDOW_S + 600 else "off")
            add(state, f"Tigo alert {a['unique_id']} {age / 3600:.1f} h old",
                alertname="TigoSystemAlertsPresent", system_id=sid, unique_id=a["unique_id"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sim")
    ap.add_argument("exporter")
    ap.add_argument("--seed", default="2")
    ap.add_argument("--systems", default="40")
    ap.add_argument("--panels", default="24", help="per system; at least 15 gives every system 2 strings")
    ap.add_argument("--time", default="2031-03-20T10:30:00Z")
    ap.add_argument("--timeout", type=float, default=100, help="seconds for the expected alerts")
    ap.add_argument("--settle", type=float, default=20, help="seconds listening for unexpected ones")
    ap.add_argument("--wrong-expectation", action="store_true")
    args = ap.parse_args()
    for b in (args.sim, args.exporter):
        if not os.access(b, os.X_OK):
            print(f"live_alert_e2e: {b} not built: skipped")
            return 77
    if time.time() > parse_time(args.time) - 86400:
        print(f"live_alert_e2e: --time {args.time} must lie ahead of the real clock (the rules compare "
              "Prometheus's time() with the exporter's timestamps); pick a later instant")
        return 1

    started = time.time()
    tmp = tempfile.mkdtemp(prefix="tigo-live-alerts-")
    procs = []
    try:
        sim = Proc("tigo_sim", [args.sim, "--listen", "127.0.0.1:0", "--systems", args.systems,
                                "--panels-per-system", args.panels, "--seed", args.seed,
                                "--time", args.time, "--speed", "1", "--data-delay", "0s",
                                "--upload-interval", "1m", "--rate-limit", "1000000"])
        procs.append(sim)
        base = sim.wait_for(r"listening on (http://\S+/api/v3/)", 10).group(1)
        root = base[: -len("/api/v3/")]
        truth = http_json(root + "/sim/faults")
        offset = parse_time(truth["time"]) - time.time()
        with open(os.path.join(tmp, "faults.json"), "w") as f:
            json.dump(truth, f, indent=1)

        pw = os.path.join(tmp, "password")
        with open(pw, "w") as f:
            f.write("demo\n")
        # The exporter's clock starts at the simulator's instant of a moment ago, at the same speed.
        exp = Proc("tigo_exporter", [args.exporter, "--tigo.api-url", base, "--tigo.username", "demo",
                                     "--tigo.password-file", pw, "--web.listen-address", "127.0.0.1:0",
                                     "--debug.time", truth["time"], "--debug.speed", "1",
                                     *EXPORTER_FLAGS])
        procs.append(exp)
        target = exp.wait_for(r"msg=listening address=(\S+)", 20).group(1)

        # The exporter must be on the simulator's clock, or nothing below means anything.
        def exporter_clock_ok():
            text = urllib.request.urlopen(f"http://{target}/metrics", timeout=5).read().decode()
            stamps = [float(m) for m in re.findall(
                r"^tigo_refresh_last_success_timestamp_seconds\{[^}]*\} (\S+)$", text, re.M)]
            return stamps and abs(max(stamps) - (time.time() + offset)) < 120
        deadline = time.time() + 30
        while not exporter_clock_ok():
            if time.time() > deadline:
                raise SystemExit("tigo_exporter's refresh timestamps are not on the simulator's clock "
                                 "(--debug.time not effective?)")
            time.sleep(0.5)

        run_seconds = args.timeout + args.settle + 60
        expected = expected_alerts(truth, time.time(), run_seconds)
        kinds = {}
        for s in truth["systems"]:
            kinds[s["fault"]] = kinds.get(s["fault"], 0) + 1
        print(f"live_alert_e2e: sim {truth['time']} (clock +{offset / 86400:.1f} d), seed {args.seed}, "
              f"{len(truth['systems'])} systems: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        for s in truth["systems"]:
            if s["fault"] != "none":
                print(f"  {s['system_id']} {s['fault']:15} {s['timezone']:22} solar {s['solar_hour']:5.2f} "
                      f"sun {s['sun_elevation_deg']:5.1f} deg {s['irradiance_w_m2']:5.0f} W/m2")
        for e in expected:
            labels = " ".join(f"{k}={v}" for k, v in e.items() if not k.startswith("_"))
            print(f"  expect{' (optional)' if e.get('_optional') else ''}: {labels}  [{e['_why']}]")
        required = [e for e in expected if not e.get("_optional")]
        for kind, alert in (("shaded_panel", "TigoPanelUnderperforming"),
                            ("dead_optimizer", "TigoPanelNotReporting"),
                            ("weak_string", "TigoStringUnderperforming"),
                            ("gateway_stall", "TigoGatewayNotCheckingIn"),
                            ("pv_off", "TigoPvOffEngaged"), ("pv_off", "TigoSystemProducingNothing")):
            if not any(e["alertname"] == alert for e in required):
                raise SystemExit(f"live_alert_e2e: no {kind} system of this fleet and instant must raise "
                                 f"{alert}; pick another --time/--seed")
        if args.wrong_expectation:
            dropped = next(e for e in required if e["alertname"] == "TigoPanelNotReporting")
            expected.remove(dropped)
            healthy = next(s for s in truth["systems"] if s["fault"] == "none")
            expected.append({"alertname": "TigoPanelNotReporting", "system_id": str(healthy["system_id"])})
            print(f"  WRONG ON PURPOSE: dropped {dropped}, added TigoPanelNotReporting on healthy system "
                  f"{healthy['system_id']}")
        path = os.path.join(tmp, "expected.json")
        with open(path, "w") as f:
            json.dump([{k: v for k, v in e.items() if k != "_why"} for e in expected], f, indent=1)
        rc = subprocess.call([sys.executable, os.path.join(HERE, "alert_e2e.py"), "--target", target,
                              "--expect", path, "--timeout", str(args.timeout), "--settle", str(args.settle)])
        print(f"live_alert_e2e: {'PASS' if rc == 0 else 'FAIL'} in {time.time() - started:.1f}s")
        if rc:
            print("  exporter log (last lines):\n    " + "\n    ".join(exp.lines[-15:]))
        return 1 if rc else 0
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
