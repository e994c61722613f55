#!/usr/bin/env python3
"""Writes dashboards/rules/tests/tigo-rules-test.yaml, the promtool unit tests of the rules.

Scenarios are small fleets built from one healthy system shape with one fault planted each, so
every alert is checked four ways: it fires on its faulty series (and on nothing else: promtool
compares the full set of firing alerts), and it stays silent on a healthy fleet by day, at night
(faults planted that night makes invisible), and while data is merely late.

Test time starts at 1970-01-01 00:00 UTC; every test evaluates at T = 2h. A system's solar hour is
UTC hour + longitude / 15, so longitude 150 puts it at solar noon at T and longitude -30 at
midnight. Expected annotations are rendered from tigo-alerts.yaml with the few template forms it
uses, so the rule file stays the one source of the wording.

Usage: gen_rule_tests.py [OUT]   (default: the committed file next to the rules)
"""
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
RULES_DIR = os.path.normpath(os.path.join(HERE, "..", "rules"))
STEPS = 180  # 3 h of 1-minute samples
T = 7200  # evaluation instant, seconds
DAY_LON, NIGHT_LON = 150, -30


def const(v):
    return f"{v:g}+0x{STEPS}"


def clock(offset):
    """A timestamp gauge that tracks test time, `offset` seconds behind it (e.g. -1200)."""
    return f"{offset:g}+60x{STEPS}"


def series(name, labels, values):
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def panel_labels(sid, string, idx, mppt=None):
    return {
        "system_id": sid,
        "object_id": f"{sid}{string}{idx}",
        "inverter": "Inverter 1",
        "mppt": mppt or f"MPPT {string}",
        "string": string,
        "panel": f"{string}{idx}",
    }


def system(sid, *, lon=DAY_LON, tz="Etc/GMT-10", rating=1800.0, power=1200.0, lag=1200,
           summary_lag=None, panels=None, sample=None, reporting=None, checkin=-300,
           last_min=None, state="on", tigo_alerts=None, refresh_ok=True, with_panels=True):
    """Series of one system. panels: {"A": [W, W, W], "B": [...]}; a None reading means the
    panel has no power/sample series (a dead optimizer); reporting and sample override per panel
    name ("A2": 0); lag is how far panel data trails test time; power None: no power series (the
    exporter serves none from a summary older than its staleness limit)."""
    sid = str(sid)
    summary_lag = lag if summary_lag is None else summary_lag
    last_min = -lag if last_min is None else last_min
    out = [
        series("tigo_system_info", {"system_id": sid, "name": f"System {sid}", "external_id": "",
                                    "city": "Town", "state": "", "country": "NZ", "timezone": tz},
               const(1)),
        series("tigo_system_location_longitude_degrees", {"system_id": sid}, const(lon)),
        series("tigo_system_location_latitude_degrees", {"system_id": sid}, const(-40)),
        series("tigo_system_power_rating_watts", {"system_id": sid}, const(rating)),
        series("tigo_system_dc_power_watts", {"system_id": sid}, const(power) if power is not None else None),
        series("tigo_system_summary_updated_timestamp_seconds", {"system_id": sid},
               clock(-summary_lag) if isinstance(summary_lag, (int, float)) else summary_lag),
        series("tigo_gateway_last_checkin_timestamp_seconds", {"system_id": sid, "source_id": f"g{sid}"},
               clock(checkin) if checkin > -3600 else const(checkin)),
        series("tigo_gateway_data_last_minute_timestamp_seconds",
               {"system_id": sid, "source_id": f"g{sid}", "set": "panels"}, clock(last_min)),
        series("tigo_gateway_control_state", {"system_id": sid, "source_id": f"g{sid}", "state": state},
               const(1)),
    ]
    out = [x for x in out if x["values"] is not None]
    for ds in ("summary", "panels", "sources"):
        ok = refresh_ok if ds == "panels" else True
        out.append(series("tigo_refresh_success", {"system_id": sid, "dataset": ds}, const(1 if ok else 0)))
    for uid, (title, n) in (tigo_alerts or {}).items():
        out.append(series("tigo_system_alerts", {"system_id": sid, "unique_id": uid, "title": title}, const(n)))
    if not with_panels:
        return out
    panels = panels if panels is not None else {"A": [300, 300, 300], "B": [300, 300, 300]}
    sample = sample or {}
    reporting = reporting or {}
    for string, readings in panels.items():
        for i, w in enumerate(readings, 1):
            lab = panel_labels(sid, string, i)
            name = lab["panel"]
            rep = reporting.get(name, 0 if w is None else 1)
            out.append(series("tigo_panel_reporting", lab, const(rep)))
            if w is None:
                continue
            out.append(series("tigo_panel_power_watts", lab, const(w)))
            s = sample.get(name, -lag)
            out.append(series("tigo_panel_sample_timestamp_seconds", lab,
                              clock(s) if isinstance(s, (int, float)) else s))
    return out


def exporter(*, remaining=80, logins_failing=False, throttled=False):
    out = [
        series("tigo_api_rate_limit_limit", {}, const(100)),
        series("tigo_api_rate_limit_remaining", {}, const(remaining)),
        series("tigo_api_logins_total", {"result": "success"}, const(3)),
        series("tigo_api_logins_total", {"result": "failure"}, "0+1x180" if logins_failing else const(0)),
        series("tigo_api_requests_total", {"endpoint": "data/summary", "code": "200"}, "0+5x180"),
        series("tigo_api_requests_total", {"endpoint": "data/summary", "code": "429"},
               "0+1x180" if throttled else const(0)),
    ]
    return [s for s in out if s["values"] is not None]


def local_source(source, *, connected=None, last_event=None, events=None, infra=None, kind="bus"):
    """Series of one local source (--local.*). connected: values (default: connected throughout);
    last_event: seconds behind test time of the newest event as a tracking clock (-5), or a values
    string (a constant: the source fell silent), or None: no event since the exporter started
    (the family is absent then); events: the power_report counter's values (default: 3 a minute);
    infra: the infrastructure_report counter's (default: 0 throughout)."""
    src = {"source": source}
    out = [
        series("tigo_local_source_connected", dict(src, kind=kind), connected or const(1)),
        series("tigo_local_events_total", dict(src, type="power_report"), events or "0+3x180"),
        series("tigo_local_events_total", dict(src, type="infrastructure_report"), infra or const(0)),
    ]
    if last_event is not None:
        out.append(series("tigo_local_last_event_timestamp_seconds", src,
                          clock(last_event) if isinstance(last_event, (int, float)) else last_event))
    return out


def scraped(series_list, job, instance):
    """The series as Prometheus stores them from one exporter: with its job and instance."""
    out = []
    for x in series_list:
        name, body = x["series"].split("{", 1)
        body = f'job="{job}", instance="{instance}"' + (", " + body if body != "}" else "}")
        out.append({"series": f"{name}{{{body}", "values": x["values"]})
    return out


# --- expected annotations, rendered from the rule file ---------------------------------------

def humanize_duration(v):
    sign = "-" if v < 0 else ""
    v = abs(v)
    if v >= 1:
        s = int(v)
        d, h, m, sec = s // 86400, s // 3600 % 24, s // 60 % 60, s % 60
        if d:
            return f"{sign}{d}d {h}h {m}m {sec}s"
        if h:
            return f"{sign}{h}h {m}m {sec}s"
        if m:
            return f"{sign}{m}m {sec}s"
        return f"{sign}{v:.4g}s"
    raise ValueError("sub-second durations are not used")


def render(text, labels, value):
    def sub(m):
        expr = m.group(1).strip()
        lm = re.fullmatch(r"\$labels\.(\w+)", expr)
        if lm:
            return labels.get(lm.group(1), "")
        pm = re.fullmatch(r'\$value \| printf "(%\.\d+f)"', expr)
        if pm:
            return pm.group(1) % value
        if expr == "$value | humanizeDuration":
            return humanize_duration(value)
        raise ValueError(f"template form not supported by the test generator: {expr}")
    return re.sub(r"\{\{(.*?)\}\}", sub, text)


def load_alerts():
    with open(os.path.join(RULES_DIR, "tigo-alerts.yaml")) as f:
        doc = yaml.safe_load(f)
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}


ALERTS = load_alerts()


def fires(name, labels, value=0.0):
    rule = ALERTS[name]
    full = dict(labels)
    full.update(rule.get("labels", {}))
    return {
        "exp_labels": full,
        "exp_annotations": {k: render(v, labels, value) for k, v in rule["annotations"].items()},
    }


def expect(alerts_by_name, group_name):
    """One alert_rule_test per alert of the rule file: those not listed must be silent."""
    unknown = set(alerts_by_name) - set(ALERTS)
    if unknown:
        raise SystemExit(f"{group_name}: unknown alerts {unknown}")
    return [{"eval_time": f"{T}s", "alertname": a, "exp_alerts": alerts_by_name.get(a, [])}
            for a in ALERTS]


def panel_alert(sid, string, idx):
    lab = panel_labels(str(sid), string, idx)
    return lab


def string_labels(sid, string):
    return {"system_id": str(sid), "inverter": "Inverter 1", "mppt": f"MPPT {string}", "string": string}


# --- scenarios --------------------------------------------------------------------------------

def day_faulty():
    s = []
    s += system(1)  # healthy peer in Etc/GMT-10
    s += system(2, panels={"A": [300, 90, 300], "B": [300, 300, 300]})
    s += system(3, panels={"A": [300, 300, 300], "B": [300, 300, None]})
    s += system(4, panels={"A": [300, 300, 300], "B": [0, 0, 0]}, power=900)
    s += system(5, panels={"A": [300, 300, 300], "B": [None, None, None]}, power=900)
    s += system(6, panels={"A": [300, 300, 300], "B": [150, 150, 150]}, power=900)
    s += system(7, panels={"A": [0, 0, 0], "B": [0, 0, 0]}, power=0)
    s += system(8, tz="Pacific/Lonely", power=0, with_panels=False)
    s += system(9, state="off")
    s += system(10, checkin=-10800)
    s += system(11, tigo_alerts={"A123": ("Optimizer fault", 2)})
    s += system(12, lag=14400 + T, summary_lag=14400 + T,
                sample={}, last_min=-(14400 + T))
    s += system(13, refresh_ok=False)
    s += exporter(remaining=5, logins_failing=True)
    # system 12's data stopped 4 h before test start: constant timestamps, not a clock
    for x in s:
        if 'system_id="12"' in x["series"] and ("sample_timestamp" in x["series"]
                                                  or "summary_updated" in x["series"]):
            x["values"] = const(-14400)
    exp = {
        "TigoPanelUnderperforming": [fires("TigoPanelUnderperforming", panel_alert(2, "A", 2), 0.3)],
        "TigoPanelNotReporting": [fires("TigoPanelNotReporting", panel_alert(3, "B", 3))]
        + [fires("TigoPanelNotReporting", panel_alert(5, "B", i)) for i in (1, 2, 3)],
        "TigoStringDown": [fires("TigoStringDown", string_labels(4, "B")),
                           fires("TigoStringDown", string_labels(5, "B"))],
        "TigoStringUnderperforming": [fires("TigoStringUnderperforming", string_labels(6, "B"), 0.5)],
        # 12: no reading at Tigo for 6 h at noon, peers producing: nothing is known to be produced.
        "TigoSystemProducingNothing": [fires("TigoSystemProducingNothing", {"system_id": "7"}),
                                       fires("TigoSystemProducingNothing", {"system_id": "8"}),
                                       fires("TigoSystemProducingNothing", {"system_id": "12"})],
        "TigoPvOffEngaged": [fires("TigoPvOffEngaged", {"system_id": "9", "source_id": "g9", "state": "off"})],
        "TigoGatewayNotCheckingIn": [fires("TigoGatewayNotCheckingIn", {"system_id": "10", "source_id": "g10"},
                                           T + 10800)],
        "TigoSystemAlertsPresent": [fires("TigoSystemAlertsPresent",
                                          {"system_id": "11", "unique_id": "A123", "title": "Optimizer fault"}, 2)],
        "TigoDataStale": [fires("TigoDataStale", {"system_id": "12"}, T + 14400)],
        "TigoExporterRefreshFailing": [fires("TigoExporterRefreshFailing", {"system_id": "13", "dataset": "panels"})],
        "TigoRateLimitNearlySpent": [fires("TigoRateLimitNearlySpent", {})],
        "TigoLoginFailing": [fires("TigoLoginFailing", {"result": "failure"})],
    }
    return {"name": "day: one fault planted per system, each alert fires on its fault only",
            "series": s, "alerts": exp}


STALL_AGE = 900000  # seconds (10 days) since a stalled gateway's last check-in and summary


def stalled_gateway(lon, name):
    """Seed 13's system 1002 (tigo_sim --systems 3 --seed 13): the gateway stopped checking in
    months ago, Tigo still answers with the summary of that moment, and the exporter serves no
    current power, no energy of today and no panel readings for it (panels say reporting 0)."""
    s = []
    if lon == DAY_LON:
        s += system(1, lon=lon)  # a peer under the same sun, producing
    else:
        s += system(1, lon=lon, power=0, panels={"A": [0, 0, 0], "B": [0, 0, 0]})
    s += system(2, lon=lon, power=None, summary_lag=const(-STALL_AGE), checkin=-STALL_AGE,
                last_min=-STALL_AGE, panels={"A": [None, None, None], "B": [None, None, None]})
    s += exporter()
    return {"name": name, "series": s}


def day_stalled_gateway():
    sc = stalled_gateway(DAY_LON, "day: a stalled gateway's system (no power served) produces nothing")
    sc["alerts"] = {
        "TigoSystemProducingNothing": [fires("TigoSystemProducingNothing", {"system_id": "2"})],
        "TigoGatewayNotCheckingIn": [fires("TigoGatewayNotCheckingIn", {"system_id": "2", "source_id": "g2"},
                                           T + STALL_AGE)],
        "TigoDataStale": [fires("TigoDataStale", {"system_id": "2"}, T + STALL_AGE)],
    }
    return sc


def night_stalled_gateway():
    sc = stalled_gateway(NIGHT_LON, "night: a stalled gateway is not checking in, producing nothing is not news")
    sc["alerts"] = {
        "TigoGatewayNotCheckingIn": [fires("TigoGatewayNotCheckingIn", {"system_id": "2", "source_id": "g2"},
                                           T + STALL_AGE)],
    }
    return sc


def day_throttled():
    s = system(1) + exporter(remaining=60, throttled=True)
    return {"name": "day: 429 answers alone are enough for the rate-limit alert", "series": s,
            "alerts": {"TigoRateLimitNearlySpent": [fires("TigoRateLimitNearlySpent", {})]},
            "only_listed": True}


def day_healthy():
    s = []
    s += system(1)
    s += system(2, panels={"A": [310, 295, 305, 300], "B": [280, 290, 285]}, power=2000)  # spread
    s += system(3, tz="Pacific/Lonely", power=700, with_panels=False)  # lone, summary only
    s += system(4, panels={"A": [300, 300, 300]}, power=900)  # one string
    s += exporter()
    return {"name": "day: a healthy fleet raises nothing", "series": s, "alerts": {}}


def night():
    """Midnight at every system. Dark panels: reporting 0 with no power, or zeros from an
    optimizer that answers; faults planted by day are invisible and must stay silent, and data
    is many hours old because nothing arrives at night."""
    kw = dict(lon=NIGHT_LON, tz="Etc/GMT+2", power=0, lag=8 * 3600, summary_lag=8 * 3600, last_min=-600)
    s = []
    s += system(1, panels={"A": [0, 0, 0], "B": [0, 0, 0]}, **{**kw, "summary_lag": 600})
    s += system(2, panels={"A": [0, 0, 0], "B": [0, 0, None]}, **kw)  # dead optimizer at night
    s += system(3, panels={"A": [0, 0, 0], "B": [0, 0, 0]},
                reporting={p: 0 for p in ("A1", "A2", "A3", "B1", "B2", "B3")}, **kw)
    s += system(4, panels={"A": [None, None, None], "B": [None, None, None]}, **kw)  # empty cells
    s += system(5, tz="Pacific/Lonely", with_panels=False, **{k: v for k, v in kw.items() if k != "tz"})
    s += system(6, panels={"A": [3, 1, 3], "B": [0, 0, 0]}, **kw)  # last light: tiny readings
    s += exporter()
    return {"name": "night: dark panels, zero power and hours-old data raise nothing",
            "series": s, "alerts": {}}


def late():
    """Daylight, data 55 min late everywhere (Tigo's normal worst case), a panel whose newest
    reading trails its siblings' by 30 min, and a morning system whose data is 2.5 h old."""
    s = []
    s += system(1, lag=3300, summary_lag=3300, checkin=-600)
    s += system(2, lag=3300, summary_lag=3300, panels={"A": [300, 120, 300], "B": [300, 300, 300]},
                sample={"A2": -3300 - 1800})
    # solar 11:30 at T with 2.5 h lag: the reading is from 09:00, dim but not dark
    s += system(3, lon=142.5, lag=9000, summary_lag=9000, power=200,
                panels={"A": [60, 60, 60], "B": [60, 60, 60]})
    s += system(4, tz="Pacific/Lonely", lag=3300, summary_lag=3300, power=400, with_panels=False)
    s += exporter()
    return {"name": "day: data merely late (55 min, uneven panels, 2.5 h in the morning) raises nothing",
            "series": s, "alerts": {}}


def late_faults():
    """Lag-aware is not lag-blind: with data 55 min late, plant faults still fire."""
    kw = dict(lag=3300, summary_lag=3300, checkin=-600)
    s = []
    s += system(1, **kw)
    s += system(2, panels={"A": [300, 90, 300], "B": [300, 300, 300]}, **kw)
    s += system(3, panels={"A": [300, 300, 300], "B": [300, 300, None]}, **kw)
    s += system(4, panels={"A": [300, 300, 300], "B": [0, 0, 0]}, power=900, **kw)
    s += system(7, panels={"A": [0, 0, 0], "B": [0, 0, 0]}, power=0, **kw)
    s += exporter()
    exp = {
        "TigoPanelUnderperforming": [fires("TigoPanelUnderperforming", panel_alert(2, "A", 2), 0.3)],
        "TigoPanelNotReporting": [fires("TigoPanelNotReporting", panel_alert(3, "B", 3))],
        "TigoStringDown": [fires("TigoStringDown", string_labels(4, "B"))],
        "TigoSystemProducingNothing": [fires("TigoSystemProducingNothing", {"system_id": "7"})],
    }
    return {"name": "day: data 55 min late, plant faults still fire", "series": s, "alerts": exp}


def dark_region():
    """Snow or heavy overcast over a whole time zone: peers exist and none produces, so a
    system producing nothing is not singled out (and its rating alone does not decide)."""
    s = []
    s += system(1, tz="Etc/GMT-11", power=0, panels={"A": [0, 0, 0], "B": [0, 0, 0]})
    s += system(2, tz="Etc/GMT-11", power=5, panels={"A": [2, 2, 2], "B": [2, 2, 2]})
    s += exporter()
    return {"name": "day: a whole region dark (snow, storm) is not one system's fault",
            "series": s, "alerts": {}}


def weak_strings():
    """The string rule's threshold: a string at 72 % of the best (the simulator's weak string,
    which Tigo itself flags) fires; one at 85 % (mismatch, a little soiling) does not."""
    s = []
    s += system(1)
    s += system(2, panels={"A": [300, 300, 300], "B": [216, 216, 216]}, power=1548)
    s += system(3, panels={"A": [300, 300, 300], "B": [255, 255, 255]}, power=1665)
    s += exporter()
    return {"name": "day: a string at 72% of the best fires, one at 85% does not", "series": s,
            "alerts": {"TigoStringUnderperforming": [fires("TigoStringUnderperforming",
                                                           string_labels(2, "B"), 0.72)]}}


SILENT = const(T - 2400)  # newest event 40 minutes before test time, nothing since
# Sources of one exporter, every case of the local rules at once: healthy; disconnected for hours
# (down); connected, silent 40 min; connected, never an event in 3 h; silent 25 min only;
# reconnected 3 min ago after hours down; silent 40 min with a disconnection at test time (the
# taptap command restarted for its silence: a blip, not a source down); disconnected 3 min only;
# configured 10 min ago (the exporter restarted), no event yet.
LOCAL_FLEET = [
    ("taptap", dict(last_event=-5)),
    ("tcp:10.0.0.5:7160", dict(connected=const(0), last_event=const(-600), events=const(40))),
    ("unix:/run/taptap.sock", dict(last_event=SILENT, events="0+3x79 240x100")),
    ("tcp:10.0.0.6:7160", dict(events=const(0))),
    ("tcp:10.0.0.7:7160", dict(last_event=const(T - 1500), events="0+3x94 285x85")),
    ("tcp:10.0.0.8:7160", dict(connected="0x116 1x64", last_event=-5)),
    ("tcp:10.0.0.9:7160", dict(connected="1x119 0 1x60", last_event=SILENT, events="0+3x79 240x100")),
    ("tcp:10.0.0.10:7160", dict(connected="1x117 0x63", last_event=-5)),
    ("tcp:10.0.0.11:7160", dict(connected="_x109 1x71", events="_x109 0x71", infra="_x109 0x71")),
]


def local_series(lon):
    s = system(1, lon=lon, **({} if lon == DAY_LON else dict(power=0, panels={"A": [0, 0, 0], "B": [0, 0, 0]})))
    for name, kw in LOCAL_FLEET:
        s += local_source(name, **kw)
    return s + exporter()


def local_down():
    return fires("TigoLocalSourceDown", {"source": "tcp:10.0.0.5:7160", "kind": "bus"})


def local_day():
    return {"name": "day: local sources: the one down and the connected but silent ones (40 min, never an "
                    "event, a restart blip) fire; healthy, 25 min silent, reconnected, 3 min down and 10 min old do not",
            "series": local_series(DAY_LON),
            "alerts": {"TigoLocalSourceDown": [local_down()],
                       "TigoLocalSourceSilent": [fires("TigoLocalSourceSilent", {"source": src, "kind": "bus"}, 1)
                                                 for src in ("unix:/run/taptap.sock", "tcp:10.0.0.6:7160",
                                                             "tcp:10.0.0.9:7160")]}}


def local_night():
    return {"name": "night: a silent bus is the night's (optimizers sleep); a source down still fires",
            "series": local_series(NIGHT_LON), "alerts": {"TigoLocalSourceDown": [local_down()]}}


def local_two_exporters():
    """Each exporter's sources are judged by its own systems' sun: two exporters, one at noon and
    one at midnight, each with a bus silent for 40 minutes."""
    s = scraped(system(1) + local_source("unix:/run/taptap.sock", last_event=SILENT, events="0+3x79 240x100"),
                "tigo", "noon:9980")
    s += scraped(system(2, lon=NIGHT_LON, power=0, panels={"A": [0, 0, 0], "B": [0, 0, 0]})
                 + local_source("unix:/run/taptap.sock", last_event=SILENT, events="0+3x79 240x100"),
                 "tigo", "midnight:9980")
    lab = {"job": "tigo", "instance": "noon:9980", "source": "unix:/run/taptap.sock", "kind": "bus"}
    return {"name": "day and night: two exporters' silent buses, only the one under the sun fires", "series": s,
            "alerts": {"TigoLocalSourceSilent": [fires("TigoLocalSourceSilent", lab, 1)]},
            "only_listed": True}


def recording_tests():
    """Checks of the recording rules on the faulty day fleet."""
    return [
        {"expr": 'tigo:string_power_watts:sum{system_id="2"}', "eval_time": f"{T}s",
         "exp_samples": [
             {"labels": 'tigo:string_power_watts:sum{system_id="2",inverter="Inverter 1",mppt="MPPT A",string="A"}', "value": 690},
             {"labels": 'tigo:string_power_watts:sum{system_id="2",inverter="Inverter 1",mppt="MPPT B",string="B"}', "value": 900}]},
        {"expr": 'tigo:inverter_power_watts:sum{system_id="6"}', "eval_time": f"{T}s",
         "exp_samples": [{"labels": 'tigo:inverter_power_watts:sum{system_id="6",inverter="Inverter 1"}', "value": 1350}]},
        {"expr": 'tigo:panel_power_ratio:string_median{system_id="2",string="A"}', "eval_time": f"{T}s",
         "exp_samples": [
             {"labels": 'tigo:panel_power_ratio:string_median{' + ",".join(
                 f'{k}="{v}"' for k, v in panel_labels("2", "A", i).items()) + "}", "value": v}
             for i, v in ((1, 1), (2, 0.3), (3, 1))]},
        {"expr": 'tigo:string_power_ratio:system_best{system_id="6"}', "eval_time": f"{T}s",
         "exp_samples": [
             {"labels": 'tigo:string_power_ratio:system_best{system_id="6",inverter="Inverter 1",mppt="MPPT A",string="A"}', "value": 1},
             {"labels": 'tigo:string_power_ratio:system_best{system_id="6",inverter="Inverter 1",mppt="MPPT B",string="B"}', "value": 0.5}]},
        {"expr": 'tigo:system_data_lag_seconds{system_id=~"1|8|12"}', "eval_time": f"{T}s",
         "exp_samples": [
             {"labels": 'tigo:system_data_lag_seconds{system_id="1"}', "value": 1200},
             {"labels": 'tigo:system_data_lag_seconds{system_id="8"}', "value": 1200},  # summary only
             {"labels": 'tigo:system_data_lag_seconds{system_id="12"}', "value": T + 14400}]},
        {"expr": 'tigo:system_upload_lag_seconds{system_id="1"}', "eval_time": f"{T}s",
         "exp_samples": [{"labels": 'tigo:system_upload_lag_seconds{system_id="1"}', "value": 1200}]},
        {"expr": 'tigo:system_solar_hour{system_id="1"}', "eval_time": f"{T}s",
         "exp_samples": [{"labels": 'tigo:system_solar_hour{system_id="1"}', "value": 12}]},
        {"expr": 'tigo:system_peers:count{system_id=~"1|8"}', "eval_time": f"{T}s",
         "exp_samples": [
             {"labels": 'tigo:system_peers:count{system_id="1",timezone="Etc/GMT-10"}', "value": 11},
             {"labels": 'tigo:system_peers:count{system_id="8",timezone="Pacific/Lonely"}', "value": 0}]},
    ]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(RULES_DIR, "tests", "tigo-rules-test.yaml")
    groups = []
    scenarios = [day_faulty(), day_throttled(), day_healthy(), night(), late(), late_faults(), dark_region(),
                 weak_strings(), day_stalled_gateway(), night_stalled_gateway(), local_day(), local_night(),
                 local_two_exporters()]
    for sc in scenarios:
        tests = expect(sc["alerts"], sc["name"])
        if sc.get("only_listed"):
            tests = [t for t in tests if t["alertname"] in sc["alerts"]]
        g = {"name": sc["name"], "interval": "1m", "input_series": sc["series"], "alert_rule_test": tests}
        if sc is scenarios[0]:
            g["promql_expr_test"] = recording_tests()
        groups.append(g)
    doc = {
        "rule_files": ["../tigo-recording.yaml", "../tigo-alerts.yaml"],
        "evaluation_interval": "1m",
        # Recording rules first, as a real Prometheus converges to: without an order promtool
        # evaluates groups in random order, and an alert reading a recording rule sees it a step
        # late in some runs (annotations then differ by a minute).
        "group_eval_order": ["tigo.recording", "tigo.plant", "tigo.exporter"],
        "tests": groups,
    }
    header = ("# Generated by dashboards/tools/gen_rule_tests.py: edit that, then run it.\n"
              "# promtool test rules dashboards/rules/tests/tigo-rules-test.yaml\n")
    with open(out, "w") as f:
        f.write(header)
        yaml.safe_dump(doc, f, sort_keys=False, width=200, allow_unicode=True)


if __name__ == "__main__":
    main()
