#!/usr/bin/env python3
"""End to end alert delivery: exporter -> Prometheus with the rules -> a real Alertmanager ->
a webhook receiver in this process. Every expected alert must arrive with the right labels, and
nothing else (no alert on the healthy systems). Time-accelerated: the rules' `for` durations are
cut to 2 s in a temp copy, and everything is evaluated every second.

Default source: fake_exporter.py, whose fleet plants an underperforming panel and a dead
optimizer (1001), PV-Off (1004), Tigo alerts (1001, 1004), 429 answers, a local source down and
one connected but silent (1001 in daylight), beside a healthy peer (1002), a system at night
(1003) and a healthy local source. --target HOST:PORT with --expect FILE (JSON list of
{"alertname": ..., label: value...}) points it at the live exporter on tigo_sim (see
live_alert_e2e.py, which derives that list from the simulator's /sim/faults). An entry with
"_optional": true may arrive but need not (a condition too close to a rule's threshold to call).
Exit 0 on success, 1 with the differences printed.
"""
import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import promql_check  # noqa: E402  (shared helpers: ports, rule paths, waiting)

FAKE_EXPECTED = [
    {"alertname": "TigoPanelUnderperforming", "system_id": "1001", "panel": "A3"},
    {"alertname": "TigoPanelNotReporting", "system_id": "1001", "panel": "B4"},
    {"alertname": "TigoPvOffEngaged", "system_id": "1004", "state": "off"},
    {"alertname": "TigoSystemProducingNothing", "system_id": "1004"},
    {"alertname": "TigoSystemAlertsPresent", "system_id": "1001", "unique_id": "A-1050"},
    {"alertname": "TigoSystemAlertsPresent", "system_id": "1004", "unique_id": "A-9000"},
    {"alertname": "TigoRateLimitNearlySpent"},
    {"alertname": "TigoLocalSourceDown", "source": "tcp:127.0.0.1:7160", "kind": "bus"},
    {"alertname": "TigoLocalSourceSilent", "source": "unix:/run/taptap.sock", "kind": "bus"},
]


class Receiver(http.server.BaseHTTPRequestHandler):
    alerts = []
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Receiver.lock:
            for a in body.get("alerts", []):
                if a.get("status") == "firing":
                    Receiver.alerts.append(a["labels"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def matches(exp, labels):
    # As in Prometheus, an empty label value is the label's absence (e.g. inverter="" on a system
    # that records no inverter level).
    return all(labels.get(k, "") == v for k, v in exp.items() if not k.startswith("_"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target")
    ap.add_argument("--expect")
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--settle", type=float, default=4,
                    help="seconds to keep listening after the expected alerts arrived")
    args = ap.parse_args()
    expected = FAKE_EXPECTED
    if args.expect:
        with open(args.expect) as f:
            expected = json.load(f)
    elif args.target:
        raise SystemExit("--target needs --expect")

    started = time.time()
    tmp = tempfile.mkdtemp(prefix="tigo-alert-e2e-")
    procs, servers = [], []
    try:
        target = args.target
        if not target:
            import fake_exporter
            srv, port = fake_exporter.serve()
            servers.append(srv)
            target = f"127.0.0.1:{port}"
        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        servers.append(hook)

        # Alertmanager first, so Prometheus's first alerts are not lost to a resend delay.
        am_port = promql_check.free_port()
        am_cfg = {
            "route": {"receiver": "hook", "group_by": ["..."], "group_wait": "1s", "group_interval": "1s",
                      "repeat_interval": "1h"},
            "receivers": [{"name": "hook", "webhook_configs": [
                {"url": f"http://127.0.0.1:{hook.server_address[1]}/", "send_resolved": False}]}],
        }
        with open(os.path.join(tmp, "alertmanager.yml"), "w") as f:
            yaml.safe_dump(am_cfg, f)
        am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        procs.append(subprocess.Popen(
            [am_bin, f"--config.file={tmp}/alertmanager.yml", f"--storage.path={tmp}/am",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
            stdout=open(f"{tmp}/am.log", "w"), stderr=subprocess.STDOUT))
        promql_check.wait_until(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{am_port}/-/ready", timeout=2).status == 200,
            30, "Alertmanager ready")

        # Accelerated copy of the alerting rules: same expressions, `for` cut to 2 s.
        with open(promql_check.RULE_FILES[1]) as f:
            alerts = yaml.safe_load(f)
        for g in alerts["groups"]:
            for r in g["rules"]:
                if "for" in r:
                    r["for"] = "2s"
        fast = os.path.join(tmp, "tigo-alerts-fast.yaml")
        with open(fast, "w") as f:
            yaml.safe_dump(alerts, f, sort_keys=False)
        prom_port = promql_check.free_port()
        cfg = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [promql_check.RULE_FILES[0], fast],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [{"job_name": "tigo", "static_configs": [{"targets": [target]}]}],
        }
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            yaml.safe_dump(cfg, f)
        procs.append(subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={tmp}/prometheus.yml",
             f"--storage.tsdb.path={tmp}/prom", f"--web.listen-address=127.0.0.1:{prom_port}",
             "--rules.alert.resend-delay=1s"],
            stdout=open(f"{tmp}/prom.log", "w"), stderr=subprocess.STDOUT))

        required = [e for e in expected if not e.get("_optional")]

        def arrived():
            with Receiver.lock:
                got = list(Receiver.alerts)
            return all(any(matches(e, g) for g in got) for e in required)

        try:
            promql_check.wait_until(arrived, args.timeout, "every expected alert at the webhook")
        except SystemExit as e:
            print(e)
        arrived_after = time.time() - started
        time.sleep(args.settle)  # anything unexpected has time to arrive too
        with Receiver.lock:
            got = list(Receiver.alerts)
        failures = []
        for e in required:
            if not any(matches(e, g) for g in got):
                failures.append(f"expected alert never arrived: {e}")
        seen = set()
        brief = ("alertname", "system_id", "panel", "string", "unique_id", "state", "source")
        for g in got:
            key = json.dumps(g, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            mark = "ok "
            if not any(matches(e, g) for e in expected):
                failures.append(f"unexpected alert: {g}")
                mark = "BAD"
            print(f"  {mark} {' '.join(f'{k}={g[k]}' for k in brief if k in g)}")
        print(f"alert_e2e: {len(seen)} distinct alerts received, {len(required)} required "
              f"({len(expected) - len(required)} optional), required ones in by "
              f"{arrived_after:.1f}s, {time.time() - started:.1f}s in all")
        for f in failures:
            print(f"FAIL {f}")
        return 1 if failures else 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for s in servers:
            s.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
