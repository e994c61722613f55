#!/usr/bin/env python3
"""Offline checks of dashboards/: the dashboards against Grafana's dashboard schema (vendored
from npm @grafana/schema, see schema_npm.sh) plus the conventions the schema cannot see, the
alert rules' labels/annotations and runbooks, and the Grafana alerting file against the rules.

Usage: lint.py [dashboards|rules|grafana|contract|all]   (all: not contract)   Exit 1 with every problem printed.
"""
import copy
import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DASH = os.path.normpath(os.path.join(HERE, "..", "..", "dashboards"))
SCHEMA = os.path.join(HERE, "grafana-dashboard.schema.json")
DASHBOARDS = ["tigo-fleet.json", "tigo-system.json", "tigo-exporter.json"]
UNITS = {"watt", "volt", "amp", "kwatth", "s", "percentunit", "reqps", "ops", "short"}
SEVERITIES = {"critical", "warning", "info"}
problems = []


def problem(msg):
    problems.append(msg)


def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))


def check_dashboards():
    with open(SCHEMA) as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    # The validator must reject a broken dashboard, or it proves nothing.
    with open(os.path.join(DASH, DASHBOARDS[0])) as f:
        broken = json.load(f)
    broken = copy.deepcopy(broken)
    broken["schemaVersion"] = "forty-one"
    broken["panels"][1]["gridPos"] = {"h": "tall"}
    if not list(validator.iter_errors(broken)):
        problem("schema self-check: a dashboard with a string schemaVersion and a bad gridPos passed")
    uids = set()
    for name in DASHBOARDS:
        with open(os.path.join(DASH, name)) as f:
            d = json.load(f)
        for e in validator.iter_errors(d):
            problem(f"{name}: schema: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}")
        if d["uid"] in uids:
            problem(f"{name}: duplicate uid {d['uid']}")
        uids.add(d["uid"])
        variables = {v["name"]: v for v in d["templating"]["list"]}
        if variables.get("datasource", {}).get("type") != "datasource":
            problem(f"{name}: no datasource variable")
        if "system" not in variables:
            problem(f"{name}: no system variable")
        if name == "tigo-system.json" and "string" not in variables:
            problem(f"{name}: no string variable")
        ids = set()
        for p in walk(d["panels"]):
            if p["id"] in ids:
                problem(f"{name}: duplicate panel id {p['id']}")
            ids.add(p["id"])
            if p["type"] == "row":
                continue
            where = f"{name} '{p['title']}'"
            if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                problem(f"{where}: datasource is not the $datasource variable")
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if unit not in UNITS:
                problem(f"{where}: unit {unit!r} not one of {sorted(UNITS)}")
            if not p.get("targets"):
                problem(f"{where}: no query")
            for t in p.get("targets", []):
                ds = t.get("datasource", {}).get("uid")
                if ds != "${datasource}":
                    problem(f"{where} {t.get('refId')}: target datasource {ds}")
                if "tigo_system_dc_energy" in t["expr"] or "energy_today" in t["expr"]:
                    if "3.6e6" not in t["expr"]:
                        problem(f"{where}: energy shown without joules -> kWh conversion")
                    if unit not in ("kwatth", "short"):
                        problem(f"{where}: energy panel unit {unit}")
            g = p["gridPos"]
            if g["x"] + g["w"] > 24:
                problem(f"{where}: panel wider than the grid")


# Where the runbooks live: dashboards/README.md of the project's repository, the only project URL
# the repository uses (no other is recorded in README.md, Chart.yaml or the image). Every alert's
# runbook_url is this plus the anchor of its own section.
RUNBOOK_BASE = "https://github.com/tigo-exporter/tigo_exporter/blob/main/dashboards/README.md#"


def readme_anchors():
    """Anchors GitHub gives the headings of dashboards/README.md (not `#` lines in code blocks)."""
    with open(os.path.join(DASH, "README.md")) as f:
        text = f.read()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    anchors = set()
    for h in re.findall(r"^#+\s+(.*)$", prose, re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-"))
    return anchors, text


def check_runbook_url(where, alert, url, anchors):
    if not url.startswith(RUNBOOK_BASE):
        problem(f"{where} {alert}: runbook_url {url!r} does not start with {RUNBOOK_BASE}")
        return
    anchor = url[len(RUNBOOK_BASE):]
    if anchor not in anchors:
        problem(f"{where} {alert}: runbook section #{anchor} not in dashboards/README.md")
    elif anchor != alert.lower():
        problem(f"{where} {alert}: runbook_url points at #{anchor}, not at the alert's own section")


def load_alerts():
    with open(os.path.join(DASH, "rules", "tigo-alerts.yaml")) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def check_rules():
    anchors, text = readme_anchors()
    for r in load_alerts():
        a = r["alert"]
        if r.get("labels", {}).get("severity") not in SEVERITIES:
            problem(f"{a}: severity missing or not one of {sorted(SEVERITIES)}")
        ann = r.get("annotations", {})
        for k in ("summary", "description", "runbook_url"):
            if not ann.get(k):
                problem(f"{a}: annotation {k} missing")
        check_runbook_url("tigo-alerts.yaml", a, ann.get("runbook_url", ""), anchors)
        if a not in text:
            problem(f"{a}: not described in dashboards/README.md")


def check_grafana():
    with open(os.path.join(DASH, "grafana", "tigo-alerting.yaml")) as f:
        doc = yaml.safe_load(f)
    if doc.get("apiVersion") != 1:
        problem("tigo-alerting.yaml: apiVersion is not 1")
    prom = {r["alert"]: r for r in load_alerts()}
    seen = set()
    for g in doc["groups"]:
        for k in ("orgId", "name", "folder", "interval", "rules"):
            if k not in g:
                problem(f"tigo-alerting.yaml group {g.get('name')}: {k} missing")
        for r in g["rules"]:
            t = r.get("title")
            seen.add(t)
            for k in ("uid", "title", "condition", "data", "for", "noDataState", "execErrState", "labels",
                      "annotations"):
                if k not in r:
                    problem(f"tigo-alerting.yaml {t}: {k} missing")
            if len(r.get("uid", "")) > 40:
                problem(f"tigo-alerting.yaml {t}: uid longer than 40")
            refs = {q["refId"]: q for q in r.get("data", [])}
            if r.get("condition") not in refs:
                problem(f"tigo-alerting.yaml {t}: condition {r.get('condition')} is no query")
            if t in prom:
                p = prom[t]
                if r["labels"] != p.get("labels", {}) or r["for"] != p.get("for", "0s"):
                    problem(f"tigo-alerting.yaml {t}: labels or for differ from tigo-alerts.yaml")
                if refs.get("A", {}).get("model", {}).get("expr", "").strip() != p["expr"].strip():
                    problem(f"tigo-alerting.yaml {t}: query differs from tigo-alerts.yaml")
                url = r.get("annotations", {}).get("runbook_url", "")
                if url != p.get("annotations", {}).get("runbook_url"):
                    problem(f"tigo-alerting.yaml {t}: runbook_url differs from tigo-alerts.yaml")
                check_runbook_url("tigo-alerting.yaml", t, url, readme_anchors()[0])
    if seen != set(prom):
        problem(f"tigo-alerting.yaml alerts {sorted(seen)} != tigo-alerts.yaml alerts {sorted(prom)}")


def contract_names(path):
    """Metric names of docs/METRICS.md's tables (first column, generated from the exporter's family
    table), `a`, `..._b` shorthands expanded."""
    names = set()
    with open(path) as f:
        for line in f:
            if not line.startswith("| `tigo_"):
                continue
            cells = re.findall(r"`([^`]+)`", line.split("|")[1])
            for c in cells:
                if c.startswith("..."):
                    prev = cells[0]
                    names.add(prev[: prev.rindex("_", 0, prev.rindex("_"))] + c[3:])
                else:
                    names.add(c)
    return names


def check_contract():
    """Every tigo_* name the dashboards, rules and fake exporter use is in METRICS.md, and the fake
    exporter serves every family of it."""
    path = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "METRICS.md"))
    path = os.environ.get("TIGO_METRICS_MD", path)
    if not os.path.exists(path):
        print(f"contract: {path} not found: skipped")
        sys.exit(77)
    names = contract_names(path)
    if len(names) < 40:
        problem(f"contract: only {len(names)} names parsed from {path}")
    used = {}
    files = [os.path.join(DASH, n) for n in DASHBOARDS] + [
        os.path.join(DASH, "rules", "tigo-recording.yaml"), os.path.join(DASH, "rules", "tigo-alerts.yaml"),
        os.path.join(DASH, "grafana", "tigo-alerting.yaml")]
    for fp in files:
        with open(fp) as f:
            for n in re.findall(r"\btigo_[a-z_]+", f.read()):
                used.setdefault(re.sub(r"_(bucket|sum|count)$", "", n), fp)
    for n, fp in sorted(used.items()):
        if n not in names and n not in ("tigo_exporter", "tigo_sim"):  # project names in comments
            problem(f"contract: {os.path.basename(fp)} uses {n}, not in METRICS.md")
    sys.path.insert(0, HERE)
    import fake_exporter
    fake_exporter.build()
    missing = names - set(fake_exporter.FAMILIES)
    extra = set(fake_exporter.FAMILIES) - names
    if missing:
        problem(f"contract: fake exporter lacks {sorted(missing)}")
    if extra:
        problem(f"contract: fake exporter serves {sorted(extra)}, not in METRICS.md")
    print(f"contract: {len(names)} families in METRICS.md, {len(used)} used by dashboards and rules")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "contract":
        check_contract()
    if what in ("dashboards", "all"):
        check_dashboards()
    if what in ("rules", "all"):
        check_rules()
    if what in ("grafana", "all"):
        check_grafana()
    for p in problems:
        print(f"FAIL {p}")
    print(f"lint {what}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
