#!/usr/bin/env python3
"""Writes the Grafana dashboards dashboards/tigo-{fleet,system,exporter}.json.

Dashboards are generated so that layout, datasource references, units and queries stay uniform;
edit this file, run it, commit both. Queries use the metric names of docs/METRICS.md and the
recording rules of rules/tigo-recording.yaml.

Usage: gen_dashboards.py [OUT_DIR]   (default: dashboards/)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 41
SYS = 'system_id=~"$system"'  # multi-select systems (fleet, exporter)
ONE = 'system_id="$system"'  # the System dashboard's single system
STR = 'string=~"$string"'
J2KWH = " / 3.6e6"  # joules to kWh for people


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping rows. The panels of a
    collapsed row live inside it, placed as they will be when it is expanded, and take no room
    below it until then."""

    def __init__(self):
        self.x, self.y, self.row_h, self.next_id = 0, 0, 0, 1
        self.panels = []
        self.target = self.panels  # where add() puts panels: the dashboard, or a collapsed row
        self.collapsed_at = None  # y of the open collapsed row's header

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = self.next_id
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        self.target.append(panel)

    def row(self, title, collapsed=False):
        self.x, self.y = 0, self.y + self.row_h
        if self.collapsed_at is not None:  # the previous row was collapsed: only its header shows
            self.y = self.collapsed_at + 1
            self.collapsed_at = None
        self.row_h = 0
        self.target = self.panels
        r = {"type": "row", "title": title, "collapsed": collapsed, "panels": []}
        self.add(r, 24, 1)
        if collapsed:
            self.target, self.collapsed_at = r["panels"], r["gridPos"]["y"]


def target(expr, legend="", ref="A", instant=False, fmt="time_series"):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant, "editorMode": "code"}
    if fmt != "time_series":
        t["format"] = fmt
    return t


def thresholds(*steps):
    """steps: (color, value) with the first value None (base)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def panel(kind, title, targets, unit="short", description="", options=None, custom=None,
          th=None, overrides=None, mappings=None, transformations=None, extra=None):
    defaults = {"unit": unit}
    if custom is not None:
        defaults["custom"] = custom
    if th is not None:
        defaults["thresholds"] = th
        defaults["color"] = {"mode": "thresholds"}
    if mappings is not None:
        defaults["mappings"] = mappings
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        p["transformations"] = transformations
    if extra:
        p.update(extra)
    return p


def timeseries(title, targets, unit, description="", stack=False, bars=False, **kw):
    custom = {"drawStyle": "bars" if bars else "line", "lineWidth": 1,
              "fillOpacity": 60 if bars else 10, "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    opts = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"}}
    return panel("timeseries", title, targets, unit, description, opts, custom, **kw)


def stat(title, expr, unit, description="", th=None, mappings=None, legend=""):
    opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": "area", "textMode": "auto", "justifyMode": "auto",
            "orientation": "auto"}
    return panel("stat", title, [target(expr, legend)], unit, description, opts,
                 th=th or thresholds(("green", None)), mappings=mappings)


def value_map(mapping):
    return [{"type": "value", "options": {str(k): {"text": t, "color": c, "index": i}
                                           for i, (k, (t, c)) in enumerate(mapping.items())}}]


def override(name, props):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": k, "value": v} for k, v in props.items()]}


def table(title, targets, description="", renames=None, units=None, mappings=None, hide=None,
          merge=True, cell_colors=None, links=None):
    renames = renames or {}
    excl = {"Time": True}
    for h in hide or []:
        excl[h] = True
    transformations = []
    if merge:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({"id": "organize", "options": {"excludeByName": excl, "renameByName": renames,
                                                          "indexByName": {}}})
    overrides = [override(col, {"unit": u}) for col, u in (units or {}).items()]
    for col, m in (mappings or {}).items():
        overrides.append(override(col, {"mappings": m, "custom.cellOptions": {"type": "color-background"}}))
    for col, th in (cell_colors or {}).items():
        overrides.append(override(col, {"thresholds": th, "color": {"mode": "thresholds"},
                                        "custom.cellOptions": {"type": "color-background"}}))
    for col, ls in (links or {}).items():
        overrides.append(override(col, {"links": ls}))
    opts = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    return panel("table", title, targets, "short", description, opts, custom={"align": "auto"},
                 overrides=overrides, transformations=transformations)


def variables(system_multi, with_string=False, with_job=False):
    v = [{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
          "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0, "refresh": 1, "regex": "", "options": []}]
    v.append({
        "name": "system", "label": "System", "type": "query", "datasource": DS,
        # query_result lists each system once with all its labels; the regex shows the name and
        # keeps the id as the value (labels print in alphabetical order: name before system_id).
        "query": "query_result(max by (system_id, name) (tigo_system_info))",
        "definition": "query_result(max by (system_id, name) (tigo_system_info))",
        "regex": '/name="(?<text>[^"]*)".*system_id="(?<value>[^"]*)"/',
        "refresh": 2, "sort": 1, "multi": system_multi, "includeAll": system_multi,
        "allValue": ".*" if system_multi else None, "current": {"text": "", "value": ""}, "hide": 0, "options": [],
    })
    if with_string:
        v.append({
            "name": "string", "label": "String", "type": "query", "datasource": DS,
            "query": f"label_values(tigo_panel_power_watts{{{ONE}}}, string)",
            "definition": f"label_values(tigo_panel_power_watts{{{ONE}}}, string)",
            "regex": "", "refresh": 2, "sort": 1, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"text": "", "value": ""}, "hide": 0, "options": [],
        })
    if with_job:
        v.append({
            "name": "job", "label": "Exporter job", "type": "query", "datasource": DS,
            "query": "label_values(tigo_exporter_build_info, job)",
            "definition": "label_values(tigo_exporter_build_info, job)",
            "regex": "", "refresh": 2, "sort": 1, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"text": "", "value": ""}, "hide": 0, "options": [],
        })
    for x in v:
        if x.get("includeAll"):
            x["current"] = {"text": ["All"], "value": ["$__all"]}
        if x.get("allValue") is None:
            x.pop("allValue", None)
    return v


def dashboard(uid, title, description, layout, templating, links_tag="tigo"):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["tigo", "solar"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "links": [{"title": "Tigo dashboards", "type": "dashboards", "tags": [links_tag], "asDropdown": True,
                   "icon": "external link", "includeVars": True, "keepTime": True, "targetBlank": False,
                   "tooltip": "", "url": ""}],
        "templating": {"list": templating},
        "panels": layout.panels,
    }


# Sorts series by string, then panel: Grafana orders a bar gauge's bars by their labels.
ORDERED = 'label_replace(label_replace({expr}, "_a", "$1", "string", "(.*)"), "_b", "$1", "panel", "(.*)")'
NAMED = "* on (system_id) group_left (name) max by (system_id, name) (tigo_system_info)"
STATE_MAP = value_map({0: ("normal", "green"), 1: ("PV-Off", "red")})
REFRESH_MAP = value_map({0: ("failing", "red"), 1: ("ok", "green")})
LAG_TH = thresholds(("green", None), ("yellow", 3600), ("red", 10800))

# The local bus (docs/LOCAL.md): readings seconds old, at 10 s resolution over the last hour. The
# exporter must be scraped every 10 s (or faster) for that resolution; with the usual 60 s the
# panels show the same readings each minute.
LIVE = {"interval": "10s", "timeFrom": "1h"}
BUS_NOTE = (" Readings from the local bus (taptap), seconds old, every 10 s over the last hour: scrape the "
            "exporter every 10 s for that resolution. Empty without a local source (--local.*).")


def local_bus_row(L):
    """The System dashboard's real-time row. Collapsed: a row cannot hide itself without a
    `repeat`, so it waits, folded, for those who have a bus (expand it once and save)."""
    L.row("Real-time panels (local bus)", collapsed=True)
    bus = f'tigo_panel_source_info{{{ONE}, {STR}, source="bus"}}'
    share = stat("Panels on live data",
                 f"(count({bus}) or vector(0)) / count(tigo_panel_source_info{{{ONE}, {STR}}})", "percentunit",
                 "Share of the panels whose served reading is the bus's (tigo_panel_source_info source=\"bus\"): "
                 "heard within --local.stale-after and newer than the cloud's minute. 0 at night, when the "
                 "optimizers sleep; no data without a local source.", th=thresholds(("blue", None)))
    share.update(LIVE)
    L.add(share, 4, 8)
    L.add(timeseries("Panels by source", [target(
        f"count by (source) (tigo_panel_source_info{{{ONE}, {STR}}})", "{{source}}")], "short",
        "Panels per source of their served reading: bus (seconds old), cca (the CCA's local minutes), "
        "cloud (10-60 min old)." + BUS_NOTE, stack=True, extra=dict(LIVE)), 8, 8)
    L.add(timeseries("String power (live)", [target(
        f"sum by (inverter, mppt, string) (tigo_panel_power_watts{{{ONE}, {STR}}})"
        f" and on (inverter, mppt, string) count by (inverter, mppt, string) ({bus})",
        "{{inverter}} {{mppt}} {{string}}")], "watt",
        "Each string with a panel on the bus, summed from its panels' served readings: the bus's for "
        "panels on live data, the cloud's minute for the others (see Panels on live data)." + BUS_NOTE,
        extra=dict(LIVE)), 12, 8)
    L.add(timeseries("Panel power (bus)", [target(
        f"tigo_panel_power_watts{{{ONE}, {STR}}} and on (system_id, object_id) {bus}", "{{string}} {{panel}}")],
        "watt", "Input power of each panel on live data (voltage_in x current); "
        "tigo_panel_sample_timestamp_seconds is the second it was measured." + BUS_NOTE,
        extra=dict(LIVE)), 12, 9)
    duty = timeseries("Panel duty cycle", [target(
        f"tigo_panel_duty_cycle_ratio{{{ONE}, {STR}}}", "{{string}} {{panel}}")], "percentunit",
        "DC-DC duty cycle of each optimizer (bus only): 100% passes the panel through; lower bucks a panel "
        "that is shaded or weaker than its string." + BUS_NOTE, extra=dict(LIVE))
    duty["fieldConfig"]["defaults"].update({"min": 0, "max": 1})
    L.add(duty, 12, 9)
    L.add(timeseries("Panel output voltage", [target(
        f"tigo_panel_output_voltage_volts{{{ONE}, {STR}}}", "{{string}} {{panel}}")], "volt",
        "Output voltage of each optimizer (bus only; the cloud serves input voltage). A string's panels "
        "share its current, so their output voltages split the string voltage." + BUS_NOTE,
        extra=dict(LIVE)), 12, 9)
    L.add(panel("bargauge", "Panel energy today (bus)", [target(
        ORDERED.format(expr=f"tigo_panel_energy_today_joules{{{ONE}, {STR}}}{J2KWH}"), "{{string}} {{panel}}")],
        "kwatth",
        "Energy of each panel since site-local midnight, integrated from its bus readings (a silence over "
        "150 s adds nothing, so it can fall short of Tigo's totals): the short bar is the panel that "
        "underperformed over the day. Panels never heard on the bus have none.",
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "orientation": "vertical", "displayMode": "basic", "showUnfilled": True,
                 "valueMode": "color", "namePlacement": "auto", "sizing": "auto", "minVizHeight": 10,
                 "minVizWidth": 8, "maxVizHeight": 300},
        th=thresholds(("blue", None))), 12, 9)


def fleet():
    L = Layout()
    L.row("Fleet")
    L.add(stat("Power now", f"sum(max by (system_id) (tigo_system_dc_power_watts{{{SYS}}}))", "watt",
               "DC power of the selected systems (Tigo summary, last_power_dc)."), 4, 4)
    L.add(stat("Energy today", f"sum(max by (system_id) (tigo_system_dc_energy_today_joules{{{SYS}}})){J2KWH}",
               "kwatth", "DC energy since local midnight of each system."), 4, 4)
    L.add(stat("Energy this year", f"sum(max by (system_id) (tigo_system_dc_energy_year_joules{{{SYS}}})){J2KWH}",
               "kwatth", "DC energy since 1 January, local time."), 4, 4)
    L.add(stat("Firing alerts", 'count(ALERTS{alertname=~"Tigo.*", alertstate="firing"}) or vector(0)', "short",
               "Alerts of tigo-alerts.yaml firing now.", th=thresholds(("green", None), ("red", 1))), 4, 4)
    L.add(stat("Refresh success", f"avg(tigo_refresh_success{{{SYS}}})", "percentunit",
               "Share of (system, dataset) pairs whose last refresh succeeded.",
               th=thresholds(("red", None), ("yellow", 0.9), ("green", 0.99))), 4, 4)
    L.add(stat("Rate limit left", "min(tigo_api_rate_limit_remaining / (tigo_api_rate_limit_limit > 0))",
               "percentunit", "Share of the account's Tigo API budget left in the current window.",
               th=thresholds(("red", None), ("yellow", 0.1), ("green", 0.25))), 4, 4)
    L.add(table("Systems", [
        target(f"max by (system_id, name) (tigo_system_info{{{SYS}}})", ref="A", instant=True, fmt="table"),
        target(f"max by (system_id) (tigo_system_dc_power_watts{{{SYS}}})", ref="B", instant=True, fmt="table"),
        target(f"max by (system_id) (tigo_system_power_rating_watts{{{SYS}}})", ref="C", instant=True, fmt="table"),
        target(f"tigo:system_power_ratio:rating{{{SYS}}}", ref="D", instant=True, fmt="table"),
        target(f"max by (system_id) (tigo_system_dc_energy_today_joules{{{SYS}}}){J2KWH}", ref="E", instant=True, fmt="table"),
        target(f"max by (system_id) (tigo_system_dc_energy_year_joules{{{SYS}}}){J2KWH}", ref="F", instant=True, fmt="table"),
        target(f"sum by (system_id) (tigo_system_alerts{{{SYS}}})", ref="G", instant=True, fmt="table"),
        target(f'count by (system_id) (ALERTS{{alertname=~"Tigo.*", alertstate="firing", {SYS}}})', ref="H",
               instant=True, fmt="table"),
        target(f"tigo:system_data_lag_seconds{{{SYS}}}", ref="I", instant=True, fmt="table"),
        target(f'max by (system_id) (tigo_gateway_control_state{{{SYS}, state!~"on|"}} == 1)'
               f" or on (system_id) 0 * max by (system_id) (tigo_gateway_control_state{{{SYS}}})",
               ref="J", instant=True, fmt="table"),
        target(f"time() - max by (system_id) (tigo_gateway_last_checkin_timestamp_seconds{{{SYS}}})", ref="K",
               instant=True, fmt="table"),
        target(f"min by (system_id) (tigo_refresh_success{{{SYS}}})", ref="L", instant=True, fmt="table"),
    ], "One row per system: power now against its rating, energy, alerts (Tigo's and ours), data lag, "
       "gateway state and the exporter's refresh health.",
        renames={"system_id": "ID", "name": "System", "Value #A": "info", "Value #B": "Power",
                 "Value #C": "Rating", "Value #D": "% of rating", "Value #E": "Energy today",
                 "Value #F": "Energy this year", "Value #G": "Tigo alerts (24h)", "Value #H": "Firing alerts",
                 "Value #I": "Data lag", "Value #J": "PV-Off", "Value #K": "Last check-in",
                 "Value #L": "Refresh"},
        hide=["info"],
        units={"Power": "watt", "Rating": "watt", "% of rating": "percentunit", "Energy today": "kwatth",
               "Energy this year": "kwatth", "Data lag": "s", "Last check-in": "s"},
        mappings={"PV-Off": STATE_MAP, "Refresh": REFRESH_MAP},
        cell_colors={"Data lag": LAG_TH, "Firing alerts": thresholds(("green", None), ("red", 1)),
                     "Tigo alerts (24h)": thresholds(("green", None), ("orange", 1))},
        links={"System": [{"title": "Open in Tigo / System", "targetBlank": False,
                           "url": "/d/tigo-system/tigo-system?var-datasource=${datasource}"
                                  "&var-system=${__data.fields.ID}&${__url_time_range}"}]}), 24, 10)
    L.row("Power")
    L.add(timeseries("Power by system", [target(f"max by (system_id) (tigo_system_dc_power_watts{{{SYS}}}) {NAMED}",
                                                "{{name}}")], "watt",
                     "DC power per system (Tigo summary)."), 12, 9)
    L.add(timeseries("Power as share of rating", [target(f"tigo:system_power_ratio:rating{{{SYS}}} {NAMED}",
                                                         "{{name}}")], "percentunit",
                     "Power over rating: systems under the same sun should track each other."), 12, 9)
    L.add(timeseries("Energy per day", [target(f"increase(tigo_system_dc_energy_joules_total{{{SYS}}}[1d]){J2KWH} {NAMED}",
                                               "{{name}}")], "kwatth",
                     "DC energy per day from the lifetime counter.", stack=True, bars=True,
                     extra={"interval": "1d"}), 12, 9)
    L.add(timeseries("Data lag", [target(f"tigo:system_data_lag_seconds{{{SYS}}} {NAMED}", "{{name}}")], "s",
                     "Age of the newest reading per system. 10-60 min is normal for Tigo; it grows every "
                     "night until morning data arrives.", th=LAG_TH), 12, 9)
    return dashboard("tigo-fleet", "Tigo / Fleet overview",
                     "Every system at a glance: power against rating, energy, alerts, data lag, gateways.",
                     L, variables(system_multi=True))


def system_dash():
    L = Layout()
    L.row("Now")
    L.add(stat("Power now", f"max(tigo_system_dc_power_watts{{{ONE}}})", "watt"), 4, 4)
    L.add(stat("Share of rating", f"max(tigo:system_power_ratio:rating{{{ONE}}})", "percentunit"), 4, 4)
    L.add(stat("Energy today", f"max(tigo_system_dc_energy_today_joules{{{ONE}}}){J2KWH}", "kwatth"), 4, 4)
    L.add(stat("Energy this year", f"max(tigo_system_dc_energy_year_joules{{{ONE}}}){J2KWH}", "kwatth"), 4, 4)
    L.add(stat("Data lag", f"max(tigo:system_data_lag_seconds{{{ONE}}})", "s",
               "Age of the newest panel reading (or summary). 10-60 min is normal; it grows at night.",
               th=LAG_TH), 4, 4)
    L.add(stat("PV-Off", f'max(tigo_gateway_control_state{{{ONE}, state!~"on|"}} == 1) or vector(0)', "short",
               "PV-Off (rapid shutdown) state of the system's gateways.", mappings=STATE_MAP,
               th=thresholds(("green", None), ("red", 1))), 4, 4)
    local_bus_row(L)
    L.row("Power")
    L.add(timeseries("System and inverter power", [
        target(f"max(tigo_system_dc_power_watts{{{ONE}}})", "system (summary)", "A"),
        target(f"tigo:inverter_power_watts:sum{{{ONE}}}", "{{inverter}}", "B"),
    ], "watt", "System DC power from the summary, and each inverter summed from its panels."), 12, 9)
    L.add(timeseries("String power", [target(f"tigo:string_power_watts:sum{{{ONE}, {STR}}}",
                                             "{{inverter}} {{mppt}} {{string}}")], "watt",
                     "Each string summed from its panels: a string down drops to zero alone."), 12, 9)
    L.add(timeseries("Energy per day", [target(f"increase(tigo_system_dc_energy_joules_total{{{ONE}}}[1d]){J2KWH}",
                                               "energy")], "kwatth", "DC energy per day.", bars=True,
                     extra={"interval": "1d"}), 12, 8)
    L.add(timeseries("Data lag", [
        target(f"tigo:system_data_lag_seconds{{{ONE}}}", "exporter's newest reading", "A"),
        target(f"tigo:system_upload_lag_seconds{{{ONE}}}", "Tigo's newest minute (gateway)", "B"),
    ], "s", "How old the data is, as held by the exporter and as uploaded to Tigo.", th=LAG_TH), 12, 8)
    L.row("Panels")
    L.add(panel("status-history", "Panel power vs its string's median", [target(
        ORDERED.format(expr=f"tigo:panel_power_ratio:string_median{{{ONE}, {STR}}}"), "{{string}} {{panel}}")],
        "percentunit",
        "One row per panel, ordered by string: green is in line with its siblings, red under 70%. A bad "
        "panel is the red row in a green block. Empty at night.",
        options={"showValue": "never", "rowHeight": 0.9, "colWidth": 0.9,
                 "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
                 "tooltip": {"mode": "single", "sort": "none"}},
        custom={"lineWidth": 0, "fillOpacity": 80},
        th=thresholds(("red", None), ("orange", 0.7), ("yellow", 0.9), ("green", 0.95))), 24, 12)
    L.add(panel("bargauge", "Panel power now, by string", [target(
        ORDERED.format(expr=f"tigo_panel_power_watts{{{ONE}, {STR}}}"), "{{string}} {{panel}}")], "watt",
        "Latest power of every panel, in string order: a short bar among long ones is a bad panel.",
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "orientation": "vertical", "displayMode": "basic", "showUnfilled": True,
                 "valueMode": "color", "namePlacement": "auto", "sizing": "auto", "minVizHeight": 10,
                 "minVizWidth": 8, "maxVizHeight": 300},
        th=thresholds(("blue", None))), 24, 9)
    L.add(timeseries("Panel power", [target(f"tigo_panel_power_watts{{{ONE}, {STR}}}", "{{string}} {{panel}}")],
                     "watt", "Power of each panel (Tigo Pin), at its sample minute."), 12, 9)
    # Voltage, current, RSSI and temperature have their own, slower cadence (issue 10): say so.
    details = ("fetched with voltage, current and RSSI in their own call, less often than power (every "
               "15 min for a small fleet, up to 2 h for a large one: the exporter's log and status page "
               "say which). The minute a reading belongs to is tigo_panel_details_sample_timestamp_seconds: "
               "a flat line between two points is an old reading, not a steady one.")
    L.add(timeseries("Panel input voltage", [target(f"tigo_panel_input_voltage_volts{{{ONE}, {STR}}}",
                                                    "{{string}} {{panel}}")], "volt",
                     "Input voltage (Vin) of each optimizer, " + details), 12, 9)
    L.add(timeseries("Panel input current", [target(f"tigo_panel_input_current_amperes{{{ONE}, {STR}}}",
                                                    "{{string}} {{panel}}")], "amp",
                     "Input current (Iin) of each optimizer, " + details), 12, 9)
    L.add(timeseries("Panel RSSI", [target(f"tigo_panel_rssi{{{ONE}, {STR}}}", "{{string}} {{panel}}")], "short",
                     "Radio signal of each optimizer as Tigo reports it (raw 0-255, higher is better), "
                     + details), 12, 9)
    L.add(table("Panels not reporting", [target(f"tigo_panel_reporting{{{ONE}}} == 0", instant=True, fmt="table")],
                "Panels without a reading in the newest minute while their siblings have one (dead "
                "optimizer, lost radio). At night no panel is listed.",
                renames={"Value": "reporting"}, hide=["__name__", "job", "instance", "system_id"],
                merge=False), 12, 8)
    L.add(table("Alerts", [
        target(f"tigo_system_alerts{{{ONE}}}", ref="A", instant=True, fmt="table"),
        target(f'ALERTS{{{ONE}, alertstate="firing"}}', ref="B", instant=True, fmt="table"),
    ], "Tigo's alerts of the alerts window (count per code) and the Prometheus alerts firing now.",
        renames={"Value #A": "Tigo count", "Value #B": "firing"},
        hide=["__name__", "job", "instance", "system_id", "alertstate"]), 12, 8)
    L.row("Gateways")
    L.add(table("Gateways", [
        target(f"max by (source_id, name, serial, sw_version) (tigo_gateway_info{{{ONE}}})", ref="A",
               instant=True, fmt="table"),
        target(f"time() - max by (source_id) (tigo_gateway_last_checkin_timestamp_seconds{{{ONE}}})", ref="B",
               instant=True, fmt="table"),
        target(f"max by (source_id, state) (tigo_gateway_control_state{{{ONE}}} == 1)", ref="C", instant=True,
               fmt="table"),
        target(f"time() - max by (source_id) (tigo_gateway_data_last_minute_timestamp_seconds{{{ONE}}})", ref="D",
               instant=True, fmt="table"),
    ], "Each gateway (CCA): last check-in, PV-Off state (\"on\" is normal), newest minute of data at Tigo.",
        renames={"source_id": "Gateway", "Value #B": "Last check-in", "state": "PV state",
                 "Value #D": "Newest data"},
        hide=["Value #A", "Value #C"], units={"Last check-in": "s", "Newest data": "s"}), 12, 7)
    L.add(timeseries("Gateway check-in age", [target(
        f"time() - tigo_gateway_last_checkin_timestamp_seconds{{{ONE}}}", "{{source_id}}")], "s",
        "Time since each gateway last checked in. Over 2 h raises TigoGatewayNotCheckingIn.",
        th=thresholds(("green", None), ("red", 7200))), 12, 7)
    return dashboard("tigo-system", "Tigo / System",
                     "One system: power by inverter and string, every panel against its string, "
                     "voltage, current, RSSI, gateways and alerts; real-time panels from the local bus.",
                     L, variables(system_multi=False, with_string=True))


def exporter_dash():
    L = Layout()
    job = 'job=~"$job"'
    L.row("Tigo API")
    L.add(timeseries("API calls by endpoint and code", [target(
        f"sum by (endpoint, code) (rate(tigo_api_requests_total{{{job}}}[$__rate_interval]))",
        "{{endpoint}} {{code}}")], "reqps", "Every call the exporter made; code \"error\" is a transport failure.",
        stack=True), 12, 9)
    L.add(timeseries("API latency (p95)", [target(
        f"histogram_quantile(0.95, sum by (le, endpoint) (rate(tigo_api_request_duration_seconds_bucket{{{job}}}[$__rate_interval])))",
        "{{endpoint}}")], "s"), 12, 9)
    L.add(timeseries("Rate limit", [
        target(f"tigo_api_rate_limit_remaining{{{job}}}", "remaining {{instance}}", "A"),
        target(f"tigo_api_rate_limit_limit{{{job}}}", "limit {{instance}}", "B"),
    ], "short", "X-Rate-Limit-Remaining and -Limit as last seen: the account's budget per window."), 8, 8)
    L.add(timeseries("Logins", [target(
        f"sum by (result) (increase(tigo_api_logins_total{{{job}}}[$__rate_interval]))", "{{result}}")], "short",
        "Logins to users/login by result."), 8, 8)
    L.add(stat("Token expires in", f"min(tigo_api_token_expiry_timestamp_seconds{{{job}}}) - time()", "s",
               "Time left on the current bearer token.", th=thresholds(("red", None), ("green", 3600))), 8, 8)
    L.row("Refresh")
    L.add(timeseries("Refresh success by dataset", [target(
        f"avg by (dataset) (tigo_refresh_success{{{SYS}}})", "{{dataset}}")], "percentunit",
        "Share of systems whose last refresh of each dataset succeeded."), 8, 8)
    L.add(timeseries("Refresh interval by dataset", [target(
        f"max by (dataset) (tigo_refresh_interval_seconds{{{job}}})", "{{dataset}}")], "s",
        "The interval the scheduler holds per dataset; it stretches when the fleet outgrows the rate limit."), 8, 8)
    L.add(timeseries("Time since last success by dataset", [target(
        f"max by (dataset) (time() - tigo_refresh_last_success_timestamp_seconds{{{SYS}}})", "{{dataset}}")], "s",
        "Worst system per dataset. Minute data is not fetched at night, so panels grow overnight."), 8, 8)
    L.add(timeseries("Data age by system", [
        target(f"tigo:system_data_lag_seconds{{{SYS}}} {NAMED}", "{{name}}", "A"),
    ], "s", "Age of the newest reading per system (panels' sample time, or the summary).", th=LAG_TH), 12, 8)
    L.add(timeseries("CSV anomalies", [target(
        f"sum by (endpoint, kind) (increase(tigo_api_csv_anomalies_total{{{job}}}[$__rate_interval]))",
        "{{endpoint}} {{kind}}")], "short",
        "Odd CSV answers the parser coped with: header_only, future_row, bad_row, unknown_column."), 12, 8)
    L.row("Scrape")
    L.add(timeseries("Scrape size", [
        target(f"scrape_samples_scraped{{{job}}}", "samples {{instance}}", "A"),
        target(f"scrape_series_added{{{job}}}", "series added {{instance}}", "B"),
    ], "short", "Samples per scrape: grows with panels x metrics."), 8, 8)
    L.add(timeseries("Scrape duration", [target(f"scrape_duration_seconds{{{job}}}", "{{instance}}")], "s"), 8, 8)
    L.add(table("Exporter", [
        target(f"max by (instance, version, revision) (tigo_exporter_build_info{{{job}}})", ref="A", instant=True,
               fmt="table"),
        target(f"max by (instance) (tigo_systems{{{job}}})", ref="B", instant=True, fmt="table"),
        target(f"max by (instance) (tigo_panels{{{job}}})", ref="C", instant=True, fmt="table"),
        target(f"max by (instance) (up{{{job}}})", ref="D", instant=True, fmt="table"),
    ], "Each exporter: version, systems and panels in its snapshot, whether Prometheus reaches it.",
        renames={"Value #B": "systems", "Value #C": "panels", "Value #D": "up"}, hide=["Value #A"],
        mappings={"up": value_map({0: ("down", "red"), 1: ("up", "green")})}), 8, 8)
    # The local sources (--local.*): collapsed, as on the System dashboard, for exporters without one.
    L.row("Local sources", collapsed=True)
    L.add(table("Local sources", [
        target(f"max by (instance, source, kind) (tigo_local_source_connected{{{job}}})", ref="A", instant=True,
               fmt="table"),
        target(f"max by (instance, source) (time() - tigo_local_last_event_timestamp_seconds{{{job}}})", ref="B",
               instant=True, fmt="table"),
        target(f"max by (instance, source) (tigo_local_nodes_heard{{{job}}})", ref="C", instant=True, fmt="table"),
        target(f"max by (instance, source) (tigo_local_nodes_matched{{{job}}})", ref="D", instant=True, fmt="table"),
        target(f"max by (instance, source) (tigo_local_nodes_unmatched{{{job}}})", ref="E", instant=True,
               fmt="table"),
        target(f"max by (instance, source) (tigo_local_source_restarts_total{{{job}}})", ref="F", instant=True,
               fmt="table"),
    ], "Each local source (a taptap command, a TCP or Unix socket, a CCA): connected, time since its "
       "newest event, optimizers heard in the last minute, tied to a panel or not, restarts since the "
       "exporter started.",
        renames={"instance": "Exporter", "source": "Source", "kind": "Kind", "Value #A": "Connected",
                 "Value #B": "Last event", "Value #C": "Heard", "Value #D": "Matched", "Value #E": "Unmatched",
                 "Value #F": "Restarts"},
        units={"Last event": "s"},
        mappings={"Connected": value_map({0: ("disconnected", "red"), 1: ("connected", "green")})},
        cell_colors={"Last event": thresholds(("green", None), ("yellow", 300), ("red", 1800)),
                     "Unmatched": thresholds(("green", None), ("yellow", 1))}), 24, 6)
    L.add(panel("state-timeline", "Connected", [target(
        f"tigo_local_source_connected{{{job}}}", "{{source}} ({{kind}})")], "short",
        "Whether each local source is connected: the taptap command running, the socket open, the CCA "
        "answering. Disconnected for 5 minutes raises TigoLocalSourceDown.",
        options={"mergeValues": True, "showValue": "never", "alignValue": "left", "rowHeight": 0.9,
                 "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
                 "tooltip": {"mode": "single", "sort": "none"}},
        custom={"lineWidth": 0, "fillOpacity": 80},
        mappings=value_map({0: ("disconnected", "red"), 1: ("connected", "green")})), 12, 8)
    L.add(timeseries("Time since last event", [target(
        f"time() - tigo_local_last_event_timestamp_seconds{{{job}}}", "{{source}}")], "s",
        "Age of each source's newest event. Optimizers report about every 20 s in daylight and sleep at "
        "night; 30 minutes without one by day raises TigoLocalSourceSilent.",
        th=thresholds(("green", None), ("red", 1800))), 12, 8)
    L.add(timeseries("Local events by type", [target(
        f"sum by (source, type) (rate(tigo_local_events_total{{{job}}}[$__rate_interval]))",
        "{{source}} {{type}}")], "ops",
        "Events read per second: power_report (each optimizer about every 20 s in daylight), "
        "infrastructure_report (addresses and barcodes, mostly after dusk), and unknown types.",
        stack=True), 8, 8)
    L.add(timeseries("Dropped lines by reason", [target(
        f"sum by (source, reason) (increase(tigo_local_lines_dropped_total{{{job}}}[$__rate_interval]))",
        "{{source}} {{reason}}")], "short",
        "Lines skipped: malformed (a surge means taptap and the CCA's firmware disagree: update taptap), "
        "oversized (over 256 KiB), partial (cut off by an exit or a disconnect)."), 8, 8)
    L.add(timeseries("Restarts and node id changes", [
        target(f"sum by (source) (increase(tigo_local_source_restarts_total{{{job}}}[$__rate_interval]))",
               "restarts {{source}}", "A"),
        target(f"sum by (source) (increase(tigo_local_node_id_changes_total{{{job}}}[$__rate_interval]))",
               "node id changes {{source}}", "B"),
    ], "short", "Restarts: the command exited or fell silent for --local.taptap.silence-restart, the "
       "connection was lost. Node id changes: a bus node id came to name another optimizer."), 8, 8)
    L.add(timeseries("Nodes heard, matched, unmatched", [
        target(f"tigo_local_nodes_heard{{{job}}}", "heard {{source}}", "A"),
        target(f"tigo_local_nodes_matched{{{job}}}", "matched {{source}}", "B"),
        target(f"tigo_local_nodes_unmatched{{{job}}}", "unmatched {{source}}", "C"),
    ], "short", "Optimizers heard in the last minute, and those tied to a panel (the cloud's serials or the "
       "mapping file) or not (served in system 0 until an infrastructure report or the mapping file "
       "names them)."), 24, 8)
    return dashboard("tigo-exporter", "Tigo / Exporter",
                     "The exporter itself: API calls and rate limit, logins, refreshes per dataset, data age, "
                     "CSV anomalies, scrape size, local sources.", L, variables(system_multi=True, with_job=True))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(HERE, ".."))
    for name, d in (("tigo-fleet.json", fleet()), ("tigo-system.json", system_dash()),
                    ("tigo-exporter.json", exporter_dash())):
        with open(os.path.join(out, name), "w") as f:
            json.dump(d, f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
