#!/usr/bin/env python3
"""The pages in a real browser: headless Chromium (Debian's `chromium`) loads the status page and
panel maps of the exporter, and the test reads the DOM Chromium built after the pages' scripts ran
(--dump-dom, with virtual time so the map's JSON refresh completes first).

1. Planted faults: tigo_sim with ten systems in one zone on a fixed afternoon clock (every fault
   kind once, the shaded panel in its shadow), the exporter on the same clock (libfaketime). The
   maps must draw every panel as an element with its `data-object-id`, and mark what /sim/faults
   says: the dead optimizer `dead`, the shaded panel `very-low`, every panel of the PV-Off system
   `pv-off`, the stalled gateway's system stale.
2. The demo (`tigo_exporter --demo`): the status page lists its six systems, each linked to a
   map that draws every panel the JSON lists. The demo's bus (taptap's lines from the embedded
   simulator) feeds the panels of the systems in daylight: their map shows each reading's source
   `bus`, seconds old, and refreshes every 2 s.

Screenshots go to --out (the build directory): the artefacts a person looks at; the README's
panel map is readme-panel-map.png, the shaded system's. Exit 0 when every check holds, 1 otherwise.
"""
import argparse
import datetime as dt
import glob
import html.parser
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

SIM_TIME = "2026-06-21T14:30:00Z"  # Berlin, 15:20 mean solar time: lit, the shadow on
EXPORTER_FLAGS = [
    "--tigo.rate-limit", "100000",
    "--refresh.panels-interval", "5s", "--refresh.summary-interval", "5s",
    "--refresh.sources-interval", "5s", "--refresh.combined-interval", "30s",
]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def libfaketime():
    for pattern in ("/usr/lib/*/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1"):
        found = glob.glob(pattern)
        if found:
            return found[0]
    return None


def http_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


class Proc:
    """A child process whose output lines are kept and searched; only this PID is ever killed."""

    def __init__(self, name, argv, env=None):
        self.name, self.lines = name, []
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env=env)
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


class Dom(html.parser.HTMLParser):
    """The elements of a serialized DOM that the checks need: panels, table rows, ids."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.panels, self.rows, self.by_id, self.banners = [], [], {}, []
        self._in_banner = None
        self.h1, self._in_h1 = "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-object-id" in a:
            self.panels.append(a)
        if tag == "tr" and "data-row-id" in a:
            self.rows.append(a)
        if "id" in a:
            self.by_id[a["id"]] = a
        if tag == "p" and "banner" in (a.get("class") or "").split():
            self._in_banner = ""
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_data(self, data):
        if self._in_banner is not None:
            self._in_banner += data
        if self._in_h1:
            self.h1 += data

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        if tag == "p" and self._in_banner is not None:
            self.banners.append(self._in_banner)
            self._in_banner = None


class Browser:
    def __init__(self, binary, out):
        self.binary, self.out = binary, out
        self.profile = tempfile.mkdtemp(prefix="tigo-chromium-")
        self.timings = []

    def _run(self, extra, url):
        argv = [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                "--user-data-dir=" + self.profile, "--window-size=1280,900", *extra, url]
        start = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=90)
        self.timings.append((url, extra[0].split("=")[0], time.monotonic() - start))
        if r.returncode != 0:
            raise SystemExit(f"chromium failed on {url} ({r.returncode}):\n{r.stderr[-2000:]}")
        return r.stdout

    def dom(self, url):
        # Virtual time runs the scripts and waits for their fetches before the DOM is dumped.
        return self._run(["--dump-dom", "--virtual-time-budget=5000"], url)

    def screenshot(self, url, name, height=900, width=1280):
        path = os.path.join(self.out, name)
        self._run([f"--screenshot={path}", "--virtual-time-budget=5000",
                   f"--window-size={width},{height}"], url)
        size = os.path.getsize(path) if os.path.exists(path) else 0
        check(size > 5000, f"screenshot {name} written ({size} bytes)")
        return path

    def close(self):
        shutil.rmtree(self.profile, ignore_errors=True)


def check_map(browser, base, system_id, label):
    """Loads a panel map; checks the panels against the JSON. Returns (dom, json)."""
    doc = http_json(f"{base}/api/systems/{system_id}")
    dom = Dom(browser.dom(f"{base}/systems/{system_id}"))
    ids = [p["data-object-id"] for p in dom.panels]
    want = [str(p["id"]) for p in doc["panels"]]
    check(len(want) > 0 and sorted(ids) == sorted(want),
          f"{label}: every panel drawn with its data-object-id ({len(ids)} of {len(want)})")
    check(len(dom.rows) == len(want), f"{label}: the table has a row per panel ({len(dom.rows)})")
    check("data-refreshed" in dom.by_id.get("map", {}),
          f"{label}: the map's script fetched and applied its JSON")
    return dom, doc


def planted_faults(args, browser):
    preload = libfaketime()
    if not check(preload is not None, "libfaketime installed (scripts/packages: faketime)"):
        return
    procs = []
    try:
        sim = Proc("tigo_sim", [args.sim, "--listen", "127.0.0.1:0", "--systems", "10",
                                "--zones", "Europe/Berlin", "--time", SIM_TIME,
                                "--rate-limit", "1000000"])
        procs.append(sim)
        api = sim.wait_for(r"listening on (http://\S+/api/v3/)", 10).group(1)
        truth = http_json(api[: -len("/api/v3/")] + "/sim/faults")
        with open(os.path.join(args.out, "faults.json"), "w") as f:
            json.dump(truth, f, indent=1)
        by_fault = {s["fault"]: s for s in truth["systems"] if s.get("active")}
        for kind in ("dead_optimizer", "shaded_panel", "pv_off", "gateway_stall"):
            if not check(kind in by_fault, f"/sim/faults has an active {kind}"):
                return
        shaded, dead = by_fault["shaded_panel"], by_fault["dead_optimizer"]
        check(shaded.get("in_shadow") is True, "the shaded panel is in its shadow at " + SIM_TIME)
        ids = [str(by_fault[k]["system_id"]) for k in ("dead_optimizer", "shaded_panel", "pv_off",
                                                        "gateway_stall")]

        pw = os.path.join(args.out, "password")
        with open(pw, "w") as f:
            f.write("demo\n")
        offset = dt.datetime.fromisoformat(SIM_TIME.replace("Z", "+00:00")).timestamp() - time.time()
        env = dict(os.environ, LD_PRELOAD=preload, FAKETIME=f"{offset:+.0f}",
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
        exp = Proc("tigo_exporter", [args.exporter, "--tigo.api-url", api, "--tigo.username", "demo",
                                     "--tigo.password-file", pw, "--web.listen-address",
                                     "127.0.0.1:0", "--tigo.systems", ",".join(ids),
                                     *EXPORTER_FLAGS], env=env)
        procs.append(exp)
        base = "http://" + exp.wait_for(r"msg=listening address=(\S+)", 20).group(1)

        # Until the shaded system's string has readings and the PV-Off state is known.
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                s = http_json(f"{base}/api/systems/{shaded['system_id']}")
                p = http_json(f"{base}/api/systems/{by_fault['pv_off']['system_id']}")
                d = http_json(f"{base}/api/systems/{dead['system_id']}")
                if (sum(x["pin"] is not None for x in s["panels"]) >= len(s["panels"]) - 1 and p["pv_off"]
                        and sum(x["pin"] is not None for x in d["panels"]) >= len(d["panels"]) - 1):
                    break
            except OSError:
                pass
            time.sleep(1)

        dom, _ = check_map(browser, base, dead["system_id"], "dead optimizer system")
        state = {p["data-object-id"]: p["data-state"] for p in dom.panels}
        dead_id = str(dead["panel"]["object_id"])
        check(state.get(dead_id) == "dead",
              f"dead optimizer {dead['panel']['panel']} ({dead_id}) marked dead: {state.get(dead_id)}")
        check(sum(v == "dead" for v in state.values()) == 1, "no other panel of it marked dead")
        check(any(dead["panel"]["panel"] in b and "not reporting" in b for b in dom.banners),
              "the banner names the panel not reporting")
        browser.screenshot(f"{base}/systems/{dead['system_id']}", "map-dead-optimizer.png", 1100)

        dom, _ = check_map(browser, base, shaded["system_id"], "shaded panel system")
        state = {p["data-object-id"]: p["data-state"] for p in dom.panels}
        shaded_id = str(shaded["panel"]["object_id"])
        check(state.get(shaded_id) == "very-low",
              f"shaded panel {shaded['panel']['panel']} ({shaded_id}) marked very-low: {state.get(shaded_id)}")
        check(sorted(set(state.values())) == ["ok", "very-low"] and
              sum(v == "very-low" for v in state.values()) == 1,
              f"every other panel of it ok: {sorted(set(state.values()))}")
        browser.screenshot(f"{base}/systems/{shaded['system_id']}", "map-shaded-panel.png", 1100)
        # A link to one panel pins its tooltip: labels, readings, sample time.
        pinned = f"{base}/systems/{shaded['system_id']}#panel-{shaded_id}"
        text = browser.dom(pinned)
        m = re.search(r'<div id="tip"([^>]*)>(.*?)</div></div>', text, re.S)
        tip = re.sub(r"<[^>]+>", "\n", m.group(2)) if m else ""
        check(m is not None and "hidden" not in m.group(1) and
              tip.lstrip().startswith(shaded["panel"]["panel"] + " \u2014 string " + shaded["panel"]["string"])
              and "Pin " in tip and "Vin " in tip and "RSSI " in tip and "sample 2026-06-21T" in tip,
              f"#panel-{shaded_id} pins the shaded panel's tooltip: {tip.split(chr(10))[:4]}")
        # The README's picture (docs/panel-map.png is a copy of this file).
        browser.screenshot(pinned, "readme-panel-map.png", 760, 900)

        dom, _ = check_map(browser, base, by_fault["pv_off"]["system_id"], "PV-Off system")
        check({p["data-state"] for p in dom.panels} == {"pv-off"}, "every panel of it marked pv-off")
        check(any("PV-Off" in b for b in dom.banners), "a PV-Off banner")
        browser.screenshot(f"{base}/systems/{by_fault['pv_off']['system_id']}", "map-pv-off.png", 1100)

        dom, _ = check_map(browser, base, by_fault["gateway_stall"]["system_id"], "stalled gateway system")
        check(all(p["data-state"] != "ok" or "stale" in p.get("class", "").split() for p in dom.panels),
              "no panel of it shown as fresh and fine")
        check(any("stopped reporting" in b for b in dom.banners),
              f"a banner says the gateway stopped reporting: {dom.banners}")
        browser.screenshot(f"{base}/systems/{by_fault['gateway_stall']['system_id']}",
                           "map-gateway-stall.png", 1100)

        text = browser.dom(f"{base}/")
        status = Dom(text)
        check("systems" in status.by_id and "q" in status.by_id, "status page: systems table and search box")
        stall_row = re.search(r'href="systems/%d">.*?</tr>' % by_fault["gateway_stall"]["system_id"], text, re.S)
        check(stall_row is not None and "gateway silent" in stall_row.group(0),
              "status page: the stalled gateway's system says so")
        browser.screenshot(f"{base}/", "status-faults.png")
    finally:
        for p in reversed(procs):
            p.stop()


def demo(args, browser):
    exp = Proc("tigo_exporter --demo", [args.exporter, "--demo", "--web.listen-address", "127.0.0.1:0"])
    try:
        base = "http://" + exp.wait_for(r"msg=listening address=(\S+)", 20).group(1)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{base}/-/ready", timeout=5).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        # Every bus node tied to its cloud panel once the layouts are in (until then unmatched
        # nodes are served in system 0 of their own).
        deadline = time.time() + 90
        while time.time() < deadline:
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
                m = re.search(r"^tigo_local_nodes_unmatched\{[^}]*\} (\S+)$", r.read().decode(), re.M)
            if m and float(m.group(1)) == 0:
                break
            time.sleep(1)
        check(m is not None and float(m.group(1)) == 0, "demo: every bus node matched to a cloud panel")
        text = browser.dom(f"{base}/")
        check("local-sources" in Dom(text).by_id, "demo status page: the local sources table")
        links = sorted(set(re.findall(r'href="systems/(\d+)"', text)))
        check(len(links) == 6, f"demo status page links six panel maps: {links}")
        check('href="./metrics"' in text and 'href="./-/healthy"' in text and 'href="./-/ready"' in text,
              "demo status page links /metrics and the health endpoints")
        browser.screenshot(f"{base}/", "status-demo.png")
        for system_id in links[:3]:
            check_map(browser, base, system_id, f"demo system {system_id}")
        # A name with quotes, a backslash and UTF-8 (one demo system in seven has one) reads in
        # the browser exactly as the API sent it.
        names = {s: http_json(f"{base}/api/systems/{s}")["name"] for s in links}
        odd = [s for s, n in names.items() if '"' in n and "\\" in n]
        if check(len(odd) > 0, f"a demo system has a name with a quote and a backslash: {names}"):
            dom = Dom(browser.dom(f"{base}/systems/{odd[0]}"))
            check(dom.h1 == names[odd[0]], f"its map's heading reads {dom.h1!r}, as the API sent it")
        # Without JavaScript a browser shows the HTML as sent: the map and the table are in it
        # (read here as sent: headless Chromium's --dump-dom and --screenshot need scripts on).
        doc = http_json(f"{base}/api/systems/{links[0]}")
        with urllib.request.urlopen(f"{base}/systems/{links[0]}", timeout=10) as r:
            dom = Dom(r.read().decode())
        check(len(dom.panels) == len(doc["panels"]) and len(dom.rows) == len(doc["panels"]),
              f"without JavaScript the map and its table are there ({len(dom.panels)} panels, "
              f"{len(dom.rows)} rows)")
        browser.screenshot(f"{base}/systems/{links[0]}", "map-demo.png", 1100)

        # Second-fresh readings from the bus on the map of a system in daylight.
        live, deadline = None, time.time() + 60
        while live is None and time.time() < deadline:
            for system_id in links:
                doc = http_json(f"{base}/api/systems/{system_id}")
                if sum(p.get("source") == "bus" for p in doc["panels"]) >= len(doc["panels"]) // 2:
                    live = system_id
                    break
            time.sleep(1)
        if check(live is not None, "demo: a system's panels fed by the bus"):
            dom, doc = check_map(browser, base, live, f"demo system {live} on the bus")
            sources = [p.get("data-source") for p in dom.panels]
            check(sources.count("bus") >= len(sources) // 2,
                  f"its map marks the bus-fed panels data-source=bus ({sources.count('bus')} of {len(sources)})")
            check(dom.by_id.get("map", {}).get("data-refresh") == "2",
                  f"its map refreshes every 2 s: {dom.by_id.get('map', {}).get('data-refresh')}")
            ages = [p["age_seconds"] for p in doc["panels"] if p.get("source") == "bus"]
            check(ages and max(ages) <= 60,
                  f"bus readings are seconds old (demo nodes report every 20 s): max {max(ages or [0])} s")
            check(all("from the local bus" in p["tip"] for p in doc["panels"] if p.get("source") == "bus"),
                  "their tooltips say the reading came from the local bus")
            browser.screenshot(f"{base}/systems/{live}", "map-demo-bus.png", 1100)
    finally:
        exp.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.chromium or not os.path.exists(args.chromium):
        print("browser_test: chromium not found (scripts/setup.sh installs it)", file=sys.stderr)
        return 1
    browser = Browser(args.chromium, args.out)
    try:
        planted_faults(args, browser)
        demo(args, browser)
    finally:
        browser.close()
    with open(os.path.join(args.out, "timings.txt"), "w") as f:
        for url, what, seconds in browser.timings:
            f.write(f"{seconds:6.2f} s  {what:20s} {url}\n")
    print(f"artefacts in {args.out}")
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
