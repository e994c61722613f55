#!/usr/bin/env python3
"""A stand-in for tigo_exporter's /metrics: every family of METRICS.md with realistic values
relative to the current time, for checking dashboards and rules against a real Prometheus before
the exporter serves them all. Swap it for the real exporter with promql_check.py --target.

Fleet: "Sunny Day" at solar noon (one underperforming panel, one dead optimizer), a peer in the
same time zone whose hierarchy lacks inverter and MPPT levels, "Night Owl" at solar midnight,
and a system with PV-Off engaged. Names carry quotes, a backslash and accents to test escaping.

Local sources (--local.*): the bus "taptap" hears string A of "Sunny Day" (those panels serve its
readings, seconds old, with duty cycle, output voltage and energy of the day) and one optimizer no
serial names (system 0, "Local bus"); a second bus is disconnected and a third connected but
silent for an hour (TigoLocalSourceDown and TigoLocalSourceSilent).

Usage: fake_exporter.py            prints one exposition
       (promql_check.py imports it and serves it on a free loopback port)
"""
import http.server
import math
import sys
import time

FAMILIES = {}  # name -> (type, help, [(labels, value)])


def add(name, mtype, help_, labels, value):
    fam = FAMILIES.setdefault(name, (mtype, help_, []))
    fam[2].append((labels, value))


def esc(v):
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render():
    out = []
    for name, (mtype, help_, samples) in FAMILIES.items():
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {mtype}")
        for labels, value in samples:
            if mtype == "histogram":
                base = name
                for le, c in value["buckets"]:
                    lab = dict(labels, le=le)
                    out.append(f"{base}_bucket{{{fmt(lab)}}} {c}")
                out.append(f"{base}_sum{{{fmt(labels)}}} {value['sum']}")
                out.append(f"{base}_count{{{fmt(labels)}}} {value['count']}")
                continue
            lab = fmt(labels)
            out.append(f"{name}{{{lab}}} {value}" if lab else f"{name} {value}")
    return "\n".join(out) + "\n"


def fmt(labels):
    return ",".join(f'{k}="{esc(v)}"' for k, v in labels.items())


def solar_lon(now, hour):
    """Longitude at which local mean solar time is `hour` now."""
    utc_h = (now % 86400) / 3600
    lon = (hour - utc_h) * 15
    return (lon + 180) % 360 - 180


def build(now=None):
    FAMILIES.clear()
    now = time.time() if now is None else now
    lag = 1500  # minute data 25 min late: normal for Tigo
    minute = int((now - lag) // 60 * 60)
    bus_sample = round(now - 4, 3)  # a bus reading: seconds old

    add("tigo_exporter_build_info", "gauge", "Build of the exporter.",
        {"version": "0.1.0", "revision": "fake", "compiler": "g++ 12"}, 1)
    for reason, n in (("missing", 2), ("invalid", 0)):
        add("tigo_exporter_web_auth_failures_total", "counter", "Requests refused by basic auth.",
            {"reason": reason}, n)
    add("tigo_user_info", "gauge", "The API user (users/get).",
        {"user_id": "42", "user_type": "premium", "company": "Fake Solar"}, 1)
    calls = {("users/login", "200"): 3, ("systems", "200"): 10, ("data/summary", "200"): 500,
             ("data/aggregate", "200"): 800, ("data/aggregate", "429"): 2, ("data/combined", "200"): 300,
             ("sources/system", "200"): 400, ("alerts/system", "200"): 50, ("data/summary", "error"): 1}
    for (ep, code), n in calls.items():
        add("tigo_api_requests_total", "counter", "Calls made to the Tigo API.", {"endpoint": ep, "code": code},
            n + int(now) % 1000)
    for ep in ("data/summary", "data/aggregate"):
        add("tigo_api_request_duration_seconds", "histogram", "Duration of Tigo API calls.", {"endpoint": ep},
            {"buckets": [("0.1", 100), ("0.5", 400), ("1", 480), ("+Inf", 500)], "sum": 120.5, "count": 500})
    add("tigo_api_rate_limit_limit", "gauge", "X-Rate-Limit-Limit last seen.", {}, 100)
    add("tigo_api_rate_limit_remaining", "gauge", "X-Rate-Limit-Remaining last seen.", {}, 63)
    add("tigo_api_rate_limit_reset_seconds", "gauge", "X-Rate-Limit-Reset last seen.", {}, 21)
    add("tigo_api_logins_total", "counter", "Logins by result.", {"result": "success"}, 3)
    add("tigo_api_logins_total", "counter", "Logins by result.", {"result": "failure"}, 0)
    add("tigo_api_token_expiry_timestamp_seconds", "gauge", "Expiry of the token.", {}, int(now) + 86400 * 170)
    for kind in ("header_only", "future_row", "bad_row", "unknown_column"):
        add("tigo_api_csv_anomalies_total", "counter", "Odd CSV answers seen.",
            {"endpoint": "data/aggregate", "kind": kind}, 1 + int(now) % 7)
    intervals = {"system": 21600, "objects": 21600, "layout": 21600, "sources": 300, "summary": 300,
                 "panels": 600, "combined": 600, "alerts": 900}
    for ds, s in intervals.items():
        add("tigo_refresh_interval_seconds", "gauge", "Effective refresh interval per dataset.", {"dataset": ds}, s)

    systems = [
        dict(id="1001", name='Ferme "Soleil" \\ Été', tz="Pacific/Auckland", lon=solar_lon(now, 12.3),
             strings={("Inverter 1", "MPPT 1", "A"): [330, 335, 132, 331], ("Inverter 1", "MPPT 2", "B"): [328, 333, 330, None]},
             state="on", alerts=[("A-1050", "Module Fault (optimizer not reporting)", 1)], bus_strings={"A"}),
        dict(id="1002", name="Peer Roof", tz="Pacific/Auckland", lon=solar_lon(now, 12.1),
             strings={("", "", "Roof"): [300, 301, 299, 302, 298, 300]}, state="on", alerts=[]),
        dict(id="1003", name="Night Owl", tz="America/Denver", lon=solar_lon(now, 0.5),
             strings={("Inverter A", "MPPT 1", "1"): [0, 0, 0], ("Inverter A", "MPPT 2", "2"): [0, 0, 0]},
             state="on", alerts=[], night=True),
        dict(id="1004", name="Shut Down", tz="Europe/Paris", lon=solar_lon(now, 11.5),
             strings={("Inverter 1", "MPPT 1", "S1"): [0, 0, 0, 0]}, state="off",
             alerts=[("A-9000", "PV-Off Activated", 1)]),
    ]
    add("tigo_systems", "gauge", "Systems in the snapshot.", {}, len(systems) + 1)  # + system 0, "Local bus"
    add("tigo_panels", "gauge", "Panels in the snapshot.", {},
        sum(len(p) for s in systems for p in s["strings"].values()) + 1)  # + the bus-only panel
    oid = 5000
    for s in systems:
        sid = s["id"]
        night = s.get("night", False)
        panel_powers = [w for p in s["strings"].values() for w in p if w is not None]
        power = sum(panel_powers)
        rating = 350.0 * sum(len(p) for p in s["strings"].values())
        add("tigo_system_info", "gauge", "System (systems, systems/view).",
            {"system_id": sid, "name": s["name"], "external_id": f"EXT-{sid}", "city": "Town",
             "state": "", "country": "NZ", "timezone": s["tz"]}, 1)
        add("tigo_system_location_latitude_degrees", "gauge", "Latitude.", {"system_id": sid}, -41.3)
        add("tigo_system_location_longitude_degrees", "gauge", "Longitude.", {"system_id": sid}, round(s["lon"], 3))
        add("tigo_system_power_rating_watts", "gauge", "power_rating.", {"system_id": sid}, rating)
        add("tigo_system_turn_on_timestamp_seconds", "gauge", "turn_on_date.", {"system_id": sid}, 1600000000)
        add("tigo_system_dc_power_watts", "gauge", "last_power_dc.", {"system_id": sid}, power)
        add("tigo_system_dc_energy_joules_total", "counter", "lifetime_energy_dc x 3600.", {"system_id": sid},
            3.6e6 * 20000 + power * (now % 86400))
        add("tigo_system_dc_energy_today_joules", "gauge", "daily_energy_dc x 3600.", {"system_id": sid},
            0 if night else 3.6e6 * 9.5)
        add("tigo_system_dc_energy_year_joules", "gauge", "ytd_energy_dc x 3600.", {"system_id": sid}, 3.6e6 * 4100)
        add("tigo_system_summary_updated_timestamp_seconds", "gauge", "updated_on.", {"system_id": sid},
            minute if not night else minute - 6 * 3600)
        for uid, title, n in s["alerts"]:
            add("tigo_system_alerts", "gauge", "Alerts in the window per code.",
                {"system_id": sid, "unique_id": uid, "title": title}, n)
            add("tigo_system_alert_last_timestamp_seconds", "gauge", "Newest generated per code.",
                {"system_id": sid, "unique_id": uid}, int(now) - 3000)
        for ds in intervals:
            add("tigo_refresh_success", "gauge", "Last refresh succeeded.", {"system_id": sid, "dataset": ds}, 1)
            add("tigo_refresh_last_success_timestamp_seconds", "gauge", "Last success.",
                {"system_id": sid, "dataset": ds}, int(now) - 120)
        # hierarchy
        sys_oid = str(oid)
        oid += 1
        add("tigo_object_info", "gauge", "Objects (objects/system).",
            {"system_id": sid, "object_id": sys_oid, "parent_id": "-1", "object_type": "System",
             "label": s["name"], "datasource": ""}, 1)
        add("tigo_object_power_watts", "gauge", "data/combined minute power.",
            {"system_id": sid, "object_id": sys_oid, "object_type": "System", "label": s["name"]}, power)
        add("tigo_object_energy_today_joules", "gauge", "data/combined day energy.",
            {"system_id": sid, "object_id": sys_oid, "object_type": "System", "label": s["name"]},
            0 if night else 3.6e6 * 9.5)
        for (inv, mppt, string), panels in s["strings"].items():
            str_oid = str(oid)
            oid += 1
            add("tigo_object_info", "gauge", "Objects (objects/system).",
                {"system_id": sid, "object_id": str_oid, "parent_id": sys_oid, "object_type": "String",
                 "label": string, "datasource": ""}, 1)
            add("tigo_object_power_watts", "gauge", "data/combined minute power.",
                {"system_id": sid, "object_id": str_oid, "object_type": "String", "label": string},
                sum(w for w in panels if w is not None))
            for i, w in enumerate(panels, 1):
                p_oid = str(oid)
                oid += 1
                name = f"{string}{i}"
                lab = {"system_id": sid, "object_id": p_oid, "inverter": inv, "mppt": mppt, "string": string,
                       "panel": name}
                add("tigo_object_info", "gauge", "Objects (objects/system).",
                    {"system_id": sid, "object_id": p_oid, "parent_id": str_oid, "object_type": "Panel",
                     "label": name, "datasource": f"04C05B80{sid}.panels.{name}"}, 1)
                add("tigo_panel_info", "gauge", "Panels (systems/layout).",
                    {"system_id": sid, "object_id": p_oid, "panel": name, "serial": f"4-{p_oid}X",
                     "panel_type": "TS4-A-O"}, 1)
                reporting = 0 if (w is None or night) else 1
                add("tigo_panel_reporting", "gauge", "Panel reported in the newest minute.", lab, reporting)
                on_bus = w is not None and string in s.get("bus_strings", ())
                add("tigo_panel_source_info", "gauge", "Source of the panel's served readings.",
                    dict(lab, source="bus" if on_bus else "cloud"), 1)
                if w is None:
                    continue  # dead optimizer: no readings at all
                vin = 0.0 if w == 0 else 34.0 + 0.01 * i
                if on_bus:
                    panel_readings(lab, w, vin, i, bus_sample)
                    continue
                add("tigo_panel_power_watts", "gauge", "Pin.", lab, w)
                add("tigo_panel_input_voltage_volts", "gauge", "Vin.", lab, vin)
                add("tigo_panel_input_current_amperes", "gauge", "Iin.", lab, round(w / vin, 3) if vin else 0)
                add("tigo_panel_rssi", "gauge", "RSSI raw 0-255.", lab, 120 + 7 * (i % 5))
                add("tigo_panel_temperature_celsius", "gauge", "Temp.", lab, 12 if night else 41)
                add("tigo_panel_sample_timestamp_seconds", "gauge", "Minute of the power reading.", lab,
                    minute - (6 * 3600 if night else 0))
                # The detail params come less often than power (up to 2 h when the budget is short).
                add("tigo_panel_details_sample_timestamp_seconds", "gauge",
                    "Minute of the detail readings.", lab, minute - (6 * 3600 if night else 3600))
        gw = f"gw-{sid}"
        add("tigo_gateway_info", "gauge", "Gateways (sources/system).",
            {"system_id": sid, "source_id": gw, "name": f"CCA {sid}", "serial": f"04C05B80{sid}",
             "sw_version": "ffs-4.0.1", "timezone": s["tz"]}, 1)
        add("tigo_gateway_last_checkin_timestamp_seconds", "gauge", "last_checkin.",
            {"system_id": sid, "source_id": gw}, int(now) - 240)
        add("tigo_gateway_reporting_gateways", "gauge", "gateway_count.", {"system_id": sid, "source_id": gw}, 1)
        add("tigo_gateway_control_state", "gauge", "control_state (PV-Off).",
            {"system_id": sid, "source_id": gw, "state": s["state"]}, 1)
        add("tigo_gateway_data_last_minute_timestamp_seconds", "gauge", "sets[].last_min.",
            {"system_id": sid, "source_id": gw, "set": "panels"}, minute)
        add("tigo_gateway_data_last_day_timestamp_seconds", "gauge", "sets[].last_day.",
            {"system_id": sid, "source_id": gw, "set": "panels"}, int(now // 86400 * 86400))
    local(now, bus_sample)
    return render()


def panel_readings(lab, w, vin, i, sample):
    """A panel served from the bus: every reading of one report, seconds old, and what only the
    bus measures. A panel far under its siblings is bucked (duty cycle < 1, lower output voltage)."""
    duty = 1.0 if w > 200 else round(w / 330, 2)
    add("tigo_panel_power_watts", "gauge", "Pin.", lab, w)
    add("tigo_panel_input_voltage_volts", "gauge", "Vin.", lab, vin)
    add("tigo_panel_input_current_amperes", "gauge", "Iin.", lab, round(w / vin, 3))
    add("tigo_panel_rssi", "gauge", "RSSI raw 0-255.", lab, 140 + i)
    add("tigo_panel_temperature_celsius", "gauge", "Temp.", lab, 40.5)
    add("tigo_panel_sample_timestamp_seconds", "gauge", "When the reading was measured.", lab, sample)
    add("tigo_panel_details_sample_timestamp_seconds", "gauge", "When the details were measured.", lab, sample)
    add("tigo_panel_output_voltage_volts", "gauge", "voltage_out (bus).", lab, round(vin * duty - 0.3, 1))
    add("tigo_panel_duty_cycle_ratio", "gauge", "dc_dc_duty_cycle (bus).", lab, duty)
    add("tigo_panel_energy_today_joules", "gauge", "Energy today from bus readings.", lab, round(w * 4.5 * 3600))


def local(now, sample):
    """System 0 with the bus's one unmatched optimizer, and three local sources: "taptap" healthy,
    a TCP bus disconnected for two hours, a Unix socket connected but silent for an hour."""
    add("tigo_system_info", "gauge", "System (systems, systems/view).",
        {"system_id": "0", "name": "Local bus", "external_id": "", "city": "", "state": "", "country": "",
         "timezone": ""}, 1)
    lab = {"system_id": "0", "object_id": str(-(4609 * 65536 + 12)), "inverter": "", "mppt": "", "string": "",
           "panel": "4-C3F2ACK"}
    add("tigo_panel_info", "gauge", "Panels (systems/layout).",
        {"system_id": "0", "object_id": lab["object_id"], "panel": "4-C3F2ACK", "serial": "04C05B4000C3F2AC",
         "panel_type": ""}, 1)
    add("tigo_panel_reporting", "gauge", "Panel reported in the newest minute.", lab, 1)
    add("tigo_panel_source_info", "gauge", "Source of the panel's served readings.", dict(lab, source="bus"), 1)
    panel_readings(lab, 312, 33.9, 5, sample)
    sources = [  # name, connected, newest event's age, power reports, nodes heard, matched, unmatched, restarts
        ("taptap", 1, 2, int(now / 4), 5, 4, 1, 1),
        ("tcp:127.0.0.1:7160", 0, 7200, 1200, 0, 0, 0, 7),
        ("unix:/run/taptap.sock", 1, 3600, 800, 0, 3, 0, 0),
    ]
    for name, connected, age, reports, heard, matched, unmatched, restarts in sources:
        src = {"source": name}
        add("tigo_local_source_connected", "gauge", "Local source connected.", dict(src, kind="bus"), connected)
        add("tigo_local_events_total", "counter", "Events read.", dict(src, type="power_report"), reports)
        add("tigo_local_events_total", "counter", "Events read.", dict(src, type="infrastructure_report"), 3)
        for reason, n in (("malformed", 2 if name == "taptap" else 0), ("oversized", 0), ("partial", 1)):
            add("tigo_local_lines_dropped_total", "counter", "Lines dropped.", dict(src, reason=reason), n)
        add("tigo_local_source_restarts_total", "counter", "Restarts.", src, restarts)
        add("tigo_local_node_id_changes_total", "counter", "Node id changes.", src, 0)
        add("tigo_local_last_event_timestamp_seconds", "gauge", "Newest event.", src, round(now - age, 3))
        add("tigo_local_nodes_heard", "gauge", "Nodes heard in the last minute.", src, heard)
        add("tigo_local_nodes_matched", "gauge", "Nodes tied to a panel.", src, matched)
        add("tigo_local_nodes_unmatched", "gauge", "Nodes tied to no panel.", src, unmatched)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = build().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve():
    """Starts the server on a free loopback port in a daemon thread; returns (server, port)."""
    import threading
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


if __name__ == "__main__":
    sys.stdout.write(build())
