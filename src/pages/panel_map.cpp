#include "pages/panel_map.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "pages/escape.hpp"
#include "util/time.hpp"

namespace pages {
namespace {

constexpr double kPortrait = 1.6;  // a module's height over its width

const refresh::SystemEntry* find_system(const refresh::Snapshot& snap, std::int64_t id) {
  for (const auto& e : snap.systems)
    if (e.system.system_id == id) return &e;
  return nullptr;
}

std::string num(double v, int decimals = 1) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::isfinite(v) ? v : 0.0);
  return buf;
}

std::string percent(std::optional<double> fraction) {
  if (!fraction) return "-";
  return num(*fraction * 100, 0) + " %";
}

std::string reading(const refresh::Panel& p, tigo::PanelParam param, int decimals) {
  const auto& r = p.readings[param];
  return r ? format_number(r->value, decimals) : std::string("-");
}

std::string display_name(const refresh::SystemEntry& e) {
  return e.system.name.empty() ? "System " + std::to_string(e.system.system_id) : e.system.name;
}

// Where each panel is drawn: centre, size and rotation in the SVG's user units.
struct Placed {
  double cx = 0, cy = 0, w = 0, h = 0, rotation = 0;
};

struct Box {
  double x0 = std::numeric_limits<double>::infinity(), y0 = x0;
  double x1 = -std::numeric_limits<double>::infinity(), y1 = x1;
  bool empty() const { return x0 > x1; }
  void add(double x, double y) {
    x0 = std::min(x0, x);
    y0 = std::min(y0, y);
    x1 = std::max(x1, x);
    y1 = std::max(y1, y);
  }
  void add(const Box& b) {
    if (b.empty()) return;
    add(b.x0, b.y0);
    add(b.x1, b.y1);
  }
  void add(const Placed& p) {
    const double a = p.rotation * M_PI / 180, c = std::fabs(std::cos(a)),
                 s = std::fabs(std::sin(a));
    const double hw = (p.w * c + p.h * s) / 2, hh = (p.w * s + p.h * c) / 2;
    add(p.cx - hw, p.cy - hh);
    add(p.cx + hw, p.cy + hh);
  }
  Box padded(double left, double top, double right, double bottom) const {
    return {x0 - left, y0 - top, x1 + right, y1 + bottom};
  }
};

std::optional<double> median_of(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The pitch between neighbours along one axis: per panel, the nearest other panel that lies
// mostly in that direction; the median over panels.
std::optional<double> pitch(const std::vector<std::pair<double, double>>& pts, bool along_x) {
  std::vector<double> nearest;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < pts.size(); ++j) {
      if (i == j) continue;
      const double da =
          std::fabs(along_x ? pts[j].first - pts[i].first : pts[j].second - pts[i].second);
      const double db =
          std::fabs(along_x ? pts[j].second - pts[i].second : pts[j].first - pts[i].first);
      if (da > 0 && db <= 0.3 * da) best = std::min(best, da);
    }
    if (std::isfinite(best)) nearest.push_back(best);
  }
  return median_of(std::move(nearest));
}

std::vector<Placed> place(const SystemView& v) {
  std::vector<Placed> out(v.panels.size());
  if (v.positioned) {
    std::vector<std::pair<double, double>> pts;
    pts.reserve(v.panels.size());
    for (const auto& p : v.panels) pts.emplace_back(*p.ui->x, *p.ui->y);
    const auto sx = pitch(pts, true), sy = pitch(pts, false);
    for (std::size_t i = 0; i < v.panels.size(); ++i) {
      const auto& ui = *v.panels[i].ui;
      const bool landscape = ui.op && *ui.op == 0;
      const double aspect = landscape ? 1 / kPortrait : kPortrait;
      double w = 40, h = 40 * aspect;
      if (sx) {
        w = 0.9 * *sx;
        h = w * aspect;
        if (sy && h > 0.68 * *sy) {
          h = 0.68 * *sy;
          w = std::min(w, h / aspect * 1.0);
        }
      } else if (sy) {
        h = 0.68 * *sy;
        w = h / aspect;
      }
      const double zoom = ui.zoom && *ui.zoom > 0 && *ui.zoom < 100 ? *ui.zoom : 1.0;
      out[i] = {*ui.x, *ui.y, w * zoom, h * zoom, ui.rotation.value_or(0)};
    }
    return out;
  }
  // No positions: one row per string, inverters a gap apart.
  const double w = 40, h = 64, gap = 6, row = h + 34, inverter_gap = 22;
  double y = 0;
  for (std::size_t gi = 0; gi < v.groups.size(); ++gi) {
    const auto& g = v.groups[gi];
    if (gi > 0 && g.inverter != v.groups[gi - 1].inverter) y += inverter_gap;
    for (std::size_t k = 0; k < g.panels.size(); ++k)
      out[g.panels[k]] = {static_cast<double>(k) * (w + gap) + w / 2, y + h / 2, w, h, 0};
    y += row;
  }
  return out;
}

// The tooltip: the first line is the panel's name and place, then its readings.
std::string_view source_words(refresh::ReadingSource s) {
  switch (s) {
    case refresh::ReadingSource::bus:
      return "the local bus (taptap)";
    case refresh::ReadingSource::cca:
      return "the CCA's local API";
    case refresh::ReadingSource::cloud:
      break;
  }
  return "the Tigo cloud";
}

// Fast enough to watch a cloud pass while local readings flow; the cloud's pace otherwise.
int refresh_seconds(const SystemView& v, const MapOptions& o) {
  return v.live > 0 ? o.live_refresh_seconds : o.refresh_seconds;
}

std::string tip(const SystemView& v, const PanelView& pv) {
  const auto& p = *pv.panel;
  const auto& g = v.groups[pv.group];
  std::string out = p.label.empty() ? "panel " + std::to_string(p.object_id) : p.label;
  std::string place;
  auto part = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    place += (place.empty() ? "" : ", ") + std::string(name) + " " + value;
  };
  part("string", p.string);
  part("MPPT", p.mppt);
  part("inverter", p.inverter);
  if (!place.empty()) out += " \u2014 " + place;
  out += "\n" + std::string(state_name(pv.state)) + ": " + std::string(state_description(pv.state));
  out += "\nPin " + format_power(pv.power_w);
  if (pv.ratio) out += ", " + percent(pv.ratio) + " of string median " + format_power(g.median_w);
  if (pv.rating_w && pv.power_w)
    out +=
        ", " + percent(*pv.power_w / *pv.rating_w) + " of " + format_power(pv.rating_w) + " rating";
  out += "\nVin " + reading(p, tigo::PanelParam::voltage, 1) + " V \u00b7 Iin " +
         reading(p, tigo::PanelParam::current, 2) + " A \u00b7 RSSI " +
         reading(p, tigo::PanelParam::rssi, 0);
  if (p.readings[tigo::PanelParam::temperature])
    out += " \u00b7 " + reading(p, tigo::PanelParam::temperature, 1) + " \u00b0C";
  if (pv.sample) {
    out += "\nsample " + util::format_iso8601_utc(*pv.sample) + " (" + format_age(pv.age) + " ago)";
    if (pv.stale) out += ", stale";
    out += "\nfrom " + std::string(source_words(p.source));
  } else {
    out += "\nno reading";
  }
  if (!p.serial.empty() || !p.panel_type.empty())
    out += "\n" + (p.serial.empty() ? "" : "serial " + p.serial + " ") + p.panel_type;
  out += "\nobject " + std::to_string(p.object_id);
  return out;
}

// The table's cells that change with the data (after panel, string, inverter).
std::vector<std::string> cells(const PanelView& pv) {
  const auto& p = *pv.panel;
  std::optional<double> of_rating;
  if (pv.rating_w && pv.power_w) of_rating = *pv.power_w / *pv.rating_w;
  return {std::string(state_name(pv.state)) + (pv.stale ? " (stale)" : ""),
          format_number(pv.power_w, 1),
          percent(pv.ratio),
          percent(of_rating),
          reading(p, tigo::PanelParam::voltage, 1),
          reading(p, tigo::PanelParam::current, 2),
          reading(p, tigo::PanelParam::rssi, 0),
          reading(p, tigo::PanelParam::temperature, 1),
          pv.sample ? util::format_iso8601_utc(*pv.sample) : std::string("-"),
          format_age(pv.age),
          pv.sample ? std::string(refresh::reading_source_name(p.source)) : std::string("-")};
}

// How full a panel's bar is: its power over its rating, or over the system's strongest panel.
double bar_fraction(const SystemView& v, const PanelView& pv) {
  if (!pv.power_w || pv.state == PanelState::pv_off) return 0;
  double scale = pv.rating_w.value_or(0);
  if (scale <= 0)
    for (const auto& o : v.panels) scale = std::max(scale, o.power_w.value_or(0));
  return scale > 0 ? std::clamp(*pv.power_w / scale, 0.0, 1.0) : 0;
}

struct Banner {
  std::string level;  // info, warn, bad
  std::string text;
};

std::vector<Banner> banners(const SystemView& v, Timestamp now) {
  std::vector<Banner> out;
  if (v.pv_off())
    out.push_back({"info", "Gateway \u201c" + v.pv_off_gateway +
                               "\u201d is in PV-Off: the optimizers hold every panel's output "
                               "off on purpose."});
  if (v.gateway_silent) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *v.last_checkin);
    out.push_back({"bad", "The gateway last checked in " + format_age(age) + " ago (" +
                              util::format_iso8601_utc(*v.last_checkin) +
                              "): it has stopped reporting."});
  }
  if (!v.newest_sample) {
    out.push_back({"warn", v.panels.empty() ? "No panels known yet (objects and layout)."
                                            : "No panel readings yet."});
  } else if (v.stale) {
    std::string text = "Stale: the newest panel reading is " + format_age(v.data_age) + " old (" +
                       util::format_iso8601_utc(*v.newest_sample) + ")";
    if (v.last_checkin && !v.gateway_silent) {
      text += "; the gateway checked in " +
              format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *v.last_checkin)) +
              " ago (night, or uploads held back).";
    } else {
      text += ".";
    }
    out.push_back({"warn", text});
  }
  std::string dead;
  std::size_t dead_count = 0;
  for (const auto& pv : v.panels) {
    if (pv.state != PanelState::dead) continue;
    if (++dead_count <= 12) dead += (dead.empty() ? "" : ", ") + pv.panel->label;
  }
  if (dead_count)
    out.push_back({"bad", std::to_string(dead_count) + " panel" + (dead_count > 1 ? "s" : "") +
                              " not reporting: " + dead + (dead_count > 12 ? ", ..." : "")});
  for (const auto& f : v.failing) {
    std::string text = std::string(refresh::dataset_name(f.dataset)) + " failing";
    text += f.state->last_success
                ? " (last success " + util::format_iso8601_utc(*f.state->last_success) + ")"
                : " (never succeeded)";
    if (!f.state->last_error.empty()) text += ": " + f.state->last_error;
    out.push_back({"bad", text});
  }
  return out;
}

struct Field {
  std::string_view name;
  std::string value;
};

std::vector<Field> fields(const refresh::Snapshot& snap, const SystemView& v) {
  return {{"power", format_power(v.power_w)},
          {"age", format_age(v.data_age)},
          {"reporting", std::to_string(v.reporting) + " of " + std::to_string(v.panels.size())},
          {"generation", std::to_string(snap.generation)},
          {"built", snap.generation ? util::format_iso8601_utc(snap.built_at) : "never"}};
}

void field_span(std::string& out, const std::vector<Field>& fs, std::string_view name) {
  for (const auto& f : fs) {
    if (f.name != name) continue;
    out += R"(<b data-field=")";
    out += name;
    out += R"(">)";
    append_html(out, f.value);
    out += "</b>";
  }
}

void draw_svg(std::string& out, const SystemView& v, const std::vector<Placed>& placed) {
  Box all;
  double unit = 40;  // a typical panel height: sizes labels and margins
  {
    std::vector<double> hs;
    hs.reserve(placed.size());
    for (const auto& p : placed) hs.push_back(p.h);
    if (auto m = median_of(hs)) unit = *m;
  }
  const double pad = 0.08 * unit, label = 0.16 * unit;
  std::vector<Box> string_boxes(v.groups.size());
  for (std::size_t gi = 0; gi < v.groups.size(); ++gi) {
    for (auto i : v.groups[gi].panels) string_boxes[gi].add(placed[i]);
    string_boxes[gi] = string_boxes[gi].padded(pad, pad, pad, pad);
    all.add(string_boxes[gi].padded(0, label * 1.3, 0, 0));
  }
  // Inverters: the strings that share an inverter label, in order of first appearance.
  std::vector<std::pair<std::string, Box>> inverters;
  for (std::size_t gi = 0; gi < v.groups.size(); ++gi) {
    const auto& name = v.groups[gi].inverter;
    if (name.empty()) continue;
    auto it = std::find_if(inverters.begin(), inverters.end(),
                           [&](const auto& x) { return x.first == name; });
    if (it == inverters.end()) it = inverters.insert(inverters.end(), {name, Box{}});
    it->second.add(string_boxes[gi]);
  }
  // An inverter's box takes in its strings' labels; its own label sits inside, at the right
  // of the first string label's line, so stacked inverters do not collide.
  for (auto& [name, box] : inverters) {
    box = box.padded(pad / 2, label * 1.3 + pad / 2, pad / 2, pad / 2);
    all.add(box);
  }
  for (const auto* o : v.segments) {
    all.add(*o->ui->x1, *o->ui->y1);
    all.add(*o->ui->x2, *o->ui->y2);
  }
  if (all.empty()) all = {0, 0, 100, 60};
  const Box view = all.padded(unit * 0.2, unit * 0.2, unit * 0.2, unit * 0.2);
  // Scaled to fit the page, but a panel never drawn taller than about 110 px.
  const double natural_width = (view.x1 - view.x0) * 110 / unit;
  out += R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox=")" + num(view.x0) + " " +
         num(view.y0) + " " + num(view.x1 - view.x0) + " " + num(view.y1 - view.y0) +
         R"(" style="max-width:)" + num(natural_width, 0) +
         R"(px" role="img" aria-label="Panel map">)";
  const std::string fs = num(label);
  for (const auto& [name, box] : inverters) {
    out += R"(<g class="inverter" data-inverter=")";
    append_html(out, name);
    out += R"("><rect class="inverter-outline" x=")" + num(box.x0) + R"(" y=")" + num(box.y0) +
           R"(" width=")" + num(box.x1 - box.x0) + R"(" height=")" + num(box.y1 - box.y0) +
           R"(" rx=")" + num(pad) + R"("/><text class="group-label" text-anchor="end" x=")" +
           num(box.x1 - pad) + R"(" y=")" + num(box.y0 + label * 1.1) + R"(" font-size=")" + fs +
           R"(">)";
    append_html(out, name);
    out += "</text></g>";
  }
  for (std::size_t gi = 0; gi < v.groups.size(); ++gi) {
    const auto& g = v.groups[gi];
    const auto& box = string_boxes[gi];
    out += R"(<g class="string" data-string=")";
    append_html(out, g.string);
    out += R"("><rect class="string-outline" x=")" + num(box.x0) + R"(" y=")" + num(box.y0) +
           R"(" width=")" + num(box.x1 - box.x0) + R"(" height=")" + num(box.y1 - box.y0) +
           R"(" rx=")" + num(pad) + R"("/><text class="group-label" x=")" + num(box.x0) +
           R"(" y=")" + num(box.y0 - label * 0.3) + R"(" font-size=")" + fs + R"(">)";
    append_html(out, g.string.empty() ? "(no string)" : g.string);
    if (!g.mppt.empty()) append_html(out, " \u00b7 " + g.mppt);
    out += "</text></g>";
  }
  for (const auto* o : v.segments)
    out += R"(<line class="segment" x1=")" + num(*o->ui->x1) + R"(" y1=")" + num(*o->ui->y1) +
           R"(" x2=")" + num(*o->ui->x2) + R"(" y2=")" + num(*o->ui->y2) + R"("/>)";
  for (std::size_t i = 0; i < v.panels.size(); ++i) {
    const auto& pv = v.panels[i];
    const auto& p = *pv.panel;
    const auto& pl = placed[i];
    const auto state = state_name(pv.state);
    out += R"(<g class="panel s-)";
    out += state;
    out += pv.stale ? " stale" : "";
    out += R"(" tabindex="0" data-object-id=")" + std::to_string(p.object_id) + R"(" data-state=")";
    out += state;
    out += R"(" data-label=")";
    append_html(out, p.label);
    out += R"(" data-string=")";
    append_html(out, p.string);
    out += R"(" data-inverter=")";
    append_html(out, p.inverter);
    out += R"(")";
    if (pv.power_w) out += R"( data-pin=")" + format_number(pv.power_w, 1) + R"(")";
    out += R"( data-sample=")" + (pv.sample ? util::format_iso8601_utc(*pv.sample) : "") + R"(")";
    out += R"( data-source=")";
    out += refresh::reading_source_name(p.source);
    out += R"(")";
    out += R"( transform="translate()" + num(pl.cx) + " " + num(pl.cy) + ")";
    if (pl.rotation != 0) out += " rotate(" + num(pl.rotation) + ")";
    out += R"(">)";
    const double x = -pl.w / 2, y = -pl.h / 2;
    const double bar = bar_fraction(v, pv) * (pl.h - 4);
    out += R"(<rect class="pb" x=")" + num(x) + R"(" y=")" + num(y) + R"(" width=")" + num(pl.w) +
           R"(" height=")" + num(pl.h) + R"(" rx=")" + num(pl.w * 0.06) + R"("/>)";
    out += R"(<rect class="bar" x=")" + num(x + 2) + R"(" y=")" + num(y + pl.h - 2 - bar) +
           R"(" width=")" + num(std::max(0.0, pl.w - 4)) + R"(" height=")" + num(bar) + R"("/>)";
    out += R"(<text font-size=")" + num(std::min(pl.w, pl.h) * 0.28) + R"(">)";
    append_html(out, p.label);
    out += "</text><title>";
    append_html(out, tip(v, pv));
    out += "</title></g>";
  }
  out += "</svg>";
}

}  // namespace

std::optional<std::string> panel_map_html(const refresh::Snapshot& snap, std::int64_t system_id,
                                          Timestamp now, const MapOptions& options) {
  const auto* e = find_system(snap, system_id);
  if (!e) return std::nullopt;
  const auto v = view_system(*e, now, options.thresholds);
  const auto placed = place(v);
  const auto fs = fields(snap, v);
  const std::string id = std::to_string(system_id);
  std::string out;
  out.reserve(4096 + v.panels.size() * 1200);
  out += R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
         R"(<meta name="viewport" content="width=device-width,initial-scale=1"><title>)";
  append_html(out, display_name(*e));
  out +=
      " \u2014 panel map</title><link rel=\"stylesheet\" href=\"../static/pages.css\">"
      R"(<script defer src="../static/map.js"></script></head><body>)";
  out += "<header><h1>";
  append_html(out, display_name(*e));
  out += R"(</h1><span class="muted">system )" + id;
  const auto& s = e->system;
  if (!s.city.empty() || !s.country.empty()) {
    out += " \u00b7 ";
    append_html(out, s.city + (s.city.empty() || s.country.empty() ? "" : ", ") + s.country);
  }
  if (!s.timezone.empty()) {
    out += " \u00b7 ";
    append_html(out, s.timezone);
  }
  out += R"(</span><nav><a href="../">all systems</a><a href="../api/systems/)" + id +
         R"(">JSON</a></nav></header><main>)";
  out += R"(<div class="cards"><div class="card"><span>power now</span>)";
  field_span(out, fs, "power");
  out += R"(</div><div class="card"><span>panels reporting</span>)";
  field_span(out, fs, "reporting");
  out += R"(</div><div class="card"><span>newest reading</span>)";
  field_span(out, fs, "age");
  out += R"(</div><div class="card"><span>rated</span><b>)" + format_power(s.power_rating_w) +
         R"(</b></div><div class="card"><span>snapshot</span>)";
  field_span(out, fs, "generation");
  out += R"(<span data-field="refresh">)";
  append_html(out, "built " + fs.back().value);
  out += "</span></div></div>";
  out += R"(<div id="banners">)";
  for (const auto& b : banners(v, now)) {
    out += R"(<p class="banner )" + b.level + R"(">)";
    append_html(out, b.text);
    out += "</p>";
  }
  out += "</div>";
  out += R"(<div id="map" data-api="../api/systems/)" + id + R"(" data-refresh=")" +
         std::to_string(refresh_seconds(v, options)) + R"(" data-generation=")" +
         std::to_string(snap.generation) + R"(" data-layout=")" +
         (v.positioned ? "positions" : "grid") + R"(">)";
  if (!v.positioned && !v.panels.empty())
    out += R"(<p class="muted">The objects carry no positions: panels in rows by string.</p>)";
  draw_svg(out, v, placed);
  out += R"(<div id="tip" hidden></div></div>)";
  out += R"(<ul class="legend">)";
  for (auto st : kAllStates) {
    out += R"(<li><i class="swatch-)";
    out += state_name(st);
    out += R"("></i>)";
    out += state_name(st);
    out += ": ";
    append_html(out, state_description(st));
    out += "</li>";
  }
  out += R"(<li class="stale"><i></i>faded: reading older than )" +
         format_age(options.thresholds.stale_after) +
         "</li><li>light bar: output as a share of the panel's rating</li></ul>";
  out += R"(<h2>Panels</h2><table id="panels"><thead><tr><th>panel</th><th>string</th>)"
         R"(<th>inverter</th><th>state</th><th class="n">Pin W</th><th class="n">of median</th>)"
         R"(<th class="n">of rating</th><th class="n">Vin V</th><th class="n">Iin A</th>)"
         "<th class=\"n\">RSSI</th><th class=\"n\">Temp \u00b0C</th><th>sample (UTC)</th>"
         R"(<th class="n">age</th><th>source</th></tr></thead><tbody>)";
  for (const auto& pv : v.panels) {
    out += R"(<tr data-row-id=")" + std::to_string(pv.panel->object_id) + R"(" data-state=")";
    out += state_name(pv.state);
    out += R"("><td>)";
    append_html(out, pv.panel->label);
    out += "</td><td>";
    append_html(out, pv.panel->string);
    out += "</td><td>";
    append_html(out, pv.panel->inverter);
    out += "</td>";
    const auto cs = cells(pv);
    for (std::size_t k = 0; k < cs.size(); ++k) {
      out += k == 0 ? R"(<td class="st">)" : (k == 8 ? "<td>" : R"(<td class="n">)");
      append_html(out, cs[k]);
      out += "</td>";
    }
    out += "</tr>";
  }
  out += R"(</tbody></table></main><footer class="muted">)";
  append_html(out, options.version);
  out +=
      " \u00b7 drawn from the exporter's snapshot; this page never calls Tigo.</footer>"
      "</body></html>\n";
  return out;
}

std::optional<std::string> panel_map_json(const refresh::Snapshot& snap, std::int64_t system_id,
                                          Timestamp now, const MapOptions& options) {
  const auto* e = find_system(snap, system_id);
  if (!e) return std::nullopt;
  const auto v = view_system(*e, now, options.thresholds);
  std::string out;
  out.reserve(1024 + v.panels.size() * 600);
  out += R"({"system_id":)" + std::to_string(system_id) + R"(,"name":)";
  append_json_string(out, e->system.name);
  out += R"(,"generation":)" + std::to_string(snap.generation) + R"(,"built_at":)";
  append_json_string(out, snap.generation ? util::format_iso8601_utc(snap.built_at) : "");
  out += R"(,"pv_off":)" + std::string(v.pv_off() ? "true" : "false");
  out += R"(,"stale":)" + std::string(v.stale ? "true" : "false");
  out += R"(,"refresh":)" + std::to_string(refresh_seconds(v, options));
  out += R"(,"fields":{)";
  bool first = true;
  for (const auto& f : fields(snap, v)) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, f.name);
    out += ':';
    append_json_string(out, f.value);
  }
  out += R"(},"banners":[)";
  first = true;
  for (const auto& b : banners(v, now)) {
    if (!first) out += ',';
    first = false;
    out += R"({"level":)";
    append_json_string(out, b.level);
    out += R"(,"text":)";
    append_json_string(out, b.text);
    out += '}';
  }
  out += R"(],"panels":[)";
  first = true;
  for (const auto& pv : v.panels) {
    if (!first) out += ',';
    first = false;
    out += R"({"id":)" + std::to_string(pv.panel->object_id) + R"(,"label":)";
    append_json_string(out, pv.panel->label);
    out += R"(,"state":")";
    out += state_name(pv.state);
    out += R"(","stale":)" + std::string(pv.stale ? "true" : "false");
    out += R"(,"source":")";
    out += refresh::reading_source_name(pv.panel->source);
    out += R"(","age_seconds":)" + (pv.age ? std::to_string(pv.age->count()) : std::string("null"));
    out += R"(,"pin":)" + (pv.power_w ? format_number(pv.power_w, 1) : std::string("null"));
    out += R"(,"ratio":)" + (pv.ratio ? format_number(pv.ratio, 3) : std::string("null"));
    out += R"(,"bar":)" + num(bar_fraction(v, pv), 3) + R"(,"sample":)";
    append_json_string(out, pv.sample ? util::format_iso8601_utc(*pv.sample) : "");
    out += R"(,"tip":)";
    append_json_string(out, tip(v, pv));
    out += R"(,"cells":[)";
    const auto cs = cells(pv);
    for (std::size_t k = 0; k < cs.size(); ++k) {
      if (k) out += ',';
      append_json_string(out, cs[k]);
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

}  // namespace pages
