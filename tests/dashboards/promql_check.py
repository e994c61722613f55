#!/usr/bin/env python3
"""Runs every PromQL expression of the dashboards, the rule files and the Grafana alerting
provisioning file against a real Prometheus: none may error, and the core panels (and every
recording rule) must return data.

Data source, swappable:
  (default)            start fake_exporter.py on a loopback port, and a Prometheus that scrapes
                       it with the rules loaded (temp dir, loopback port, stopped at the end)
  --target HOST:PORT   start a Prometheus scraping that target instead (the live exporter on tigo_sim)
  --prometheus-url U   use an already running Prometheus (must load the rules and scrape an exporter)

  --require {faults,core,none}  what must return data: faults = core + the alerts the fake fleet
                       plants (default with the fake), core = core panels and recording rules
                       (default otherwise), none = errors only.
Exit 0 when every check passes, 1 otherwise (each failure printed).
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DASH = os.path.join(ROOT, "dashboards")
RULE_FILES = [os.path.join(DASH, "rules", "tigo-recording.yaml"), os.path.join(DASH, "rules", "tigo-alerts.yaml")]
GRAFANA_ALERTING = os.path.join(DASH, "grafana", "tigo-alerting.yaml")
DASHBOARDS = ["tigo-fleet.json", "tigo-system.json", "tigo-exporter.json"]

# (dashboard uid, panel title): panels that must show data on a fleet with daylight.
CORE_PANELS = {
    ("tigo-fleet", "Power now"), ("tigo-fleet", "Energy today"), ("tigo-fleet", "Systems"),
    ("tigo-fleet", "Power by system"), ("tigo-fleet", "Power as share of rating"), ("tigo-fleet", "Data lag"),
    ("tigo-fleet", "Refresh success"),
    ("tigo-system", "Power now"), ("tigo-system", "System and inverter power"), ("tigo-system", "String power"),
    ("tigo-system", "Panel power vs its string's median"), ("tigo-system", "Panel power now, by string"),
    ("tigo-system", "Panel power"), ("tigo-system", "Panel input voltage"), ("tigo-system", "Panel input current"),
    ("tigo-system", "Panel RSSI"), ("tigo-system", "Gateways"), ("tigo-system", "Data lag"),
    ("tigo-exporter", "API calls by endpoint and code"), ("tigo-exporter", "Rate limit"),
    ("tigo-exporter", "Refresh success by dataset"), ("tigo-exporter", "Data age by system"),
    ("tigo-exporter", "Scrape size"), ("tigo-exporter", "Exporter"),
}
# Panels of the local path (--local.*): they must show data whenever the exporter serves a local
# source (the fake does, and so does --demo with its simulated bus). The System dashboard's are
# run on the system with the most panels on the bus.
LOCAL_PANELS = {
    ("tigo-system", "Panels on live data"), ("tigo-system", "Panels by source"),
    ("tigo-system", "String power (live)"), ("tigo-system", "Panel power (bus)"),
    ("tigo-system", "Panel duty cycle"), ("tigo-system", "Panel output voltage"),
    ("tigo-system", "Panel energy today (bus)"),
    ("tigo-exporter", "Local sources"), ("tigo-exporter", "Connected"), ("tigo-exporter", "Time since last event"),
    ("tigo-exporter", "Local events by type"), ("tigo-exporter", "Dropped lines by reason"),
    ("tigo-exporter", "Restarts and node id changes"), ("tigo-exporter", "Nodes heard, matched, unmatched"),
}
# Alerts whose bare expression (before `for`) must match on the fake fleet's planted faults.
FAULT_ALERTS = {"TigoPanelUnderperforming", "TigoPanelNotReporting", "TigoPvOffEngaged",
                "TigoSystemAlertsPresent", "TigoRateLimitNearlySpent", "TigoLocalSourceDown",
                "TigoLocalSourceSilent"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, path, params):
    url = f"{base}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except Exception:
            return {"status": "error", "error": f"HTTP {e.code}"}


def wait_until(pred, seconds, what):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.3)
    raise SystemExit(f"timed out after {seconds}s waiting for {what}")


def start_prometheus(target, tmp):
    port = free_port()
    cfg = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": RULE_FILES,
        "scrape_configs": [{"job_name": "tigo", "static_configs": [{"targets": [target]}]}],
    }
    cfg_path = os.path.join(tmp, "prometheus.yml")
    with open(cfg_path, "w") as f:
        yaml.safe_dump(cfg, f)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen([shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={cfg_path}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


# --- extraction ----------------------------------------------------------------------------------

def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def dashboard_queries():
    """(where, expr, kind, dashboard uid, panel title): kind is instant, range or variable."""
    out = []
    for name in DASHBOARDS:
        with open(os.path.join(DASH, name)) as f:
            d = json.load(f)
        for v in d["templating"]["list"]:
            q = v.get("query")
            if v["type"] == "query":
                q = q["query"] if isinstance(q, dict) else q
                out.append((f"{name} variable ${v['name']}", q, "variable", d["uid"], "$" + v["name"]))
        for p in walk_panels(d["panels"]):
            for t in p.get("targets", []):
                kind = "instant" if t.get("instant") and not t.get("range") else "range"
                out.append((f"{name} panel '{p['title']}' {t['refId']}", t["expr"], kind, d["uid"], p["title"]))
    return out


def rule_queries():
    out = []
    for path in RULE_FILES:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for g in doc["groups"]:
            for r in g["rules"]:
                name = r.get("record") or r.get("alert")
                out.append((f"{os.path.basename(path)} {name}", r["expr"], "instant", "rules", name))
    with open(GRAFANA_ALERTING) as f:
        doc = yaml.safe_load(f)
    for g in doc["groups"]:
        for r in g["rules"]:
            for q in r["data"]:
                if q["datasourceUid"] != "__expr__":
                    out.append((f"tigo-alerting.yaml {r['title']} {q['refId']}", q["model"]["expr"], "instant",
                                "grafana", r["title"]))
    return out


def substitute(expr, system):
    for k, v in (("$__rate_interval", "1m"), ("$__interval", "1m"), ("$__range", "1h"),
                 ("$system", system), ("$string", ".*"), ("$job", ".*")):
        expr = expr.replace(k, v)
    if "$" in re.sub(r'"[^"]*"', "", expr):
        raise ValueError(f"unsubstituted variable in {expr}")
    return expr


def run(base, expr, kind):
    """Returns (error or None, number of series/values returned)."""
    if kind == "variable":
        m = re.fullmatch(r"query_result\((.*)\)", expr, re.S)
        if m:
            return run(base, m.group(1), "instant")
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", expr, re.S)
        if not m:
            return f"unsupported variable query {expr}", 0
        now = time.time()
        r = api(base, "series", {"match[]": m.group(1), "start": now - 300, "end": now})
        if r.get("status") != "success":
            return r.get("error", "error"), 0
        return None, len({s.get(m.group(2)) for s in r["data"] if m.group(2) in s})
    if kind == "instant":
        r = api(base, "query", {"query": expr})
    else:
        now = time.time()
        r = api(base, "query_range", {"query": expr, "start": now - 120, "end": now, "step": "5"})
    if r.get("status") != "success":
        return r.get("error", "error"), 0
    return None, len(r["data"]["result"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target")
    ap.add_argument("--prometheus-url")
    ap.add_argument("--require", choices=["faults", "core", "none"])
    ap.add_argument("--wait", type=float, default=60, help="seconds to wait for data")
    args = ap.parse_args()
    require = args.require or ("faults" if not (args.target or args.prometheus_url) else "core")

    started = time.time()
    tmp = proc = srv = None
    try:
        base = args.prometheus_url
        if not base:
            target = args.target
            if not target:
                sys.path.insert(0, HERE)
                import fake_exporter
                srv, port = fake_exporter.serve()
                target = f"127.0.0.1:{port}"
            tmp = tempfile.mkdtemp(prefix="tigo-promql-")
            proc, base = start_prometheus(target, tmp)
            wait_until(lambda: urllib.request.urlopen(base + "/-/ready", timeout=2).status == 200, 30,
                       "Prometheus ready")
        # Data scraped twice (rate) and the recording rules evaluated at least once.
        wait_until(lambda: run(base, "count(tigo:system_data_lag_seconds) and count(count_over_time("
                                     "tigo_system_info[1m]) > 2)", "instant")[1] > 0, args.wait,
                   "scraped data and recording rules")
        time.sleep(1.5)
        # The system the System dashboard shows: the one with the most panels compared in daylight.
        _, n = run(base, "count(tigo:panel_power_ratio:string_median)", "instant")
        pick = ("topk(1, count by (system_id) (tigo:panel_power_ratio:string_median))" if n else
                "topk(1, count by (system_id) (tigo_system_info))")
        sysid = api(base, "query", {"query": pick})["data"]["result"][0]["metric"]["system_id"]
        # The local path: served by the fake (which must), by --demo, by an exporter with --local.*.
        local = run(base, "count(tigo_local_source_connected)", "instant")[1] > 0
        if require == "faults" and not local:
            raise SystemExit("the fake exporter serves no local source")
        local_sysid = sysid
        if local and require != "none":
            wait_until(lambda: run(base, 'count(tigo_panel_source_info{source="bus"})', "instant")[1] > 0,
                       args.wait, "panels on the local bus")
            local_sysid = api(base, "query", {"query": 'topk(1, count by (system_id) '
                                                       '(tigo_panel_source_info{source="bus"}))'}
                              )["data"]["result"][0]["metric"]["system_id"]

        failures, checked, empty = [], 0, []
        core_seen = {}
        local_seen = set()
        for where, expr, kind, uid, title in dashboard_queries() + rule_queries():
            try:
                q = substitute(expr, local_sysid if (uid, title) in LOCAL_PANELS else sysid)
            except ValueError as e:
                failures.append(f"{where}: {e}")
                continue
            err, n = run(base, q, kind)
            checked += 1
            if (uid, title) in LOCAL_PANELS:
                local_seen.add((uid, title))
            if err:
                failures.append(f"{where}: {err}\n    {q}")
                continue
            must = (require != "none" and (uid, title) in CORE_PANELS) or \
                   (require != "none" and local and (uid, title) in LOCAL_PANELS) or \
                   (require != "none" and uid == "rules" and title.startswith("tigo:")) or \
                   (require != "none" and kind == "variable" and title != "$string") or \
                   (require == "faults" and (kind == "variable" or (uid == "rules" and title in FAULT_ALERTS)))
            if (uid, title) in CORE_PANELS:
                core_seen[(uid, title)] = core_seen.get((uid, title), 0) + n
            elif must and n == 0:
                failures.append(f"{where}: returned no data\n    {q}")
            elif n == 0:
                empty.append(where)
        # The harness must see errors and empty answers, or its passes prove nothing.
        if run(base, "sum(tigo_system_info", "instant")[0] is None:
            failures.append("self-check: a syntax error was not reported")
        if run(base, 'tigo_system_info{system_id="no-such-system"}', "range")[1] != 0:
            failures.append("self-check: a query for a missing system returned data")
        if require != "none":
            for key in sorted(CORE_PANELS):
                if core_seen.get(key, 0) == 0:
                    failures.append(f"core panel {key[0]} '{key[1]}' returned no data")
        for key in sorted(LOCAL_PANELS - local_seen):
            failures.append(f"local panel {key[0]} '{key[1]}' not found in the dashboards")
        empty += [f"core panel {k[0]} '{k[1]}'" for k, v in sorted(core_seen.items()) if not v]
        print(f"promql_check: {checked} expressions run against {base} (System dashboard on system "
              f"{sysid}, its local bus row on {local_sysid if local else 'none: no local source'}) in "
              f"{time.time() - started:.1f}s; "
              f"{sum(1 for v in core_seen.values() if v)}/{len(CORE_PANELS)} core panels with data; "
              f"{len(empty)} optional queries empty")
        for e in empty:
            print(f"  empty (allowed): {e}")
        for f in failures:
            print(f"FAIL {f}")
        return 1 if failures else 0
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if srv:
            srv.shutdown()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
