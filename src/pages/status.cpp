#include "pages/status.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "pages/escape.hpp"
#include "util/ascii.hpp"
#include "util/time.hpp"

namespace pages {
namespace {

std::vector<std::string> words(std::string_view q) {
  std::vector<std::string> out;
  std::string w;
  for (char c : q) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!w.empty()) out.push_back(util::ascii_lower(w));
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(util::ascii_lower(w));
  return out;
}

std::string place_of(const tigo::System& s) {
  std::string out = s.city;
  if (!s.state.empty()) out += (out.empty() ? "" : ", ") + s.state;
  if (!s.country.empty()) out += (out.empty() ? "" : ", ") + s.country;
  return out;
}

bool matches(const refresh::SystemEntry& e, const std::vector<std::string>& ws) {
  const std::string text =
      util::ascii_lower(std::to_string(e.system.system_id) + " " + e.system.name + " " +
                        place_of(e.system) + " " + e.system.external_id);
  return std::all_of(ws.begin(), ws.end(),
                     [&](const std::string& w) { return text.find(w) != std::string::npos; });
}

// At most `max` bytes, cut on a UTF-8 character boundary.
std::string clip(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "\u2026";
}

// A site-relative link from "/" (the exporter may sit behind a path prefix).
std::string relative(const std::string& path) {
  return "." + (path.empty() || path.front() != '/' ? "/" + path : path);
}

std::string card(std::string_view title, const std::string& value, const std::string& note = {}) {
  std::string out = R"(<div class="card"><span>)";
  out += title;
  out += "</span><b>";
  append_html(out, value);
  out += "</b>";
  if (!note.empty()) {
    out += "<span>";
    append_html(out, note);
    out += "</span>";
  }
  out += "</div>";
  return out;
}

struct Row {
  const refresh::SystemEntry* entry;
  SystemView view;
  int rank;  // 0 failing, 1 needs a look (dead panels, PV-Off, stale), 2 fine
};

// The fleet at a glance (every system), and the rows the search keeps, worst first.
struct Overview {
  std::vector<Row> rows;
  std::size_t panels = 0, reporting = 0, failing_systems = 0;
  std::optional<double> power_w;
  std::vector<std::chrono::seconds> lags;  // ascending
};

int rank_of(const SystemView& v) {
  const bool dead = v.reporting < v.panels.size() && v.newest_sample;
  return !v.failing.empty() ? 0 : (dead || v.pv_off() || v.gateway_silent) ? 1 : 2;
}

Overview overview(const refresh::Snapshot& snap, Timestamp now, const StatusOptions& o) {
  const auto ws = words(o.query);
  Overview f;
  f.rows.reserve(snap.systems.size());
  for (const auto& e : snap.systems) {
    auto v = view_system(e, now, o.thresholds);
    f.panels += v.panels.size();
    f.reporting += v.reporting;
    if (v.power_w) f.power_w = f.power_w.value_or(0) + *v.power_w;
    if (v.data_age) f.lags.push_back(*v.data_age);
    if (!v.failing.empty()) ++f.failing_systems;
    if (!matches(e, ws)) continue;
    const int rank = rank_of(v);
    f.rows.push_back({&e, std::move(v), rank});
  }
  std::stable_sort(f.rows.begin(), f.rows.end(),
                   [](const Row& a, const Row& b) { return a.rank < b.rank; });
  std::sort(f.lags.begin(), f.lags.end());
  return f;
}

void append_header(std::string& out, const StatusOptions& o) {
  out += R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
         R"(<meta name="viewport" content="width=device-width,initial-scale=1">)"
         R"(<title>Tigo Exporter</title><link rel="stylesheet" href="./static/pages.css">)"
         R"(<script defer src="./static/status.js"></script></head><body><header>)"
         R"(<h1>Tigo Exporter</h1><span class="muted">)";
  append_html(out, o.version);
  out += R"(</span><nav><a href=")";
  append_html(out, relative(o.telemetry_path));
  out += R"(">Metrics</a><a href="./-/healthy">Health</a><a href="./-/ready">Readiness</a>)"
         "</nav></header><main>";
}

void append_cards(std::string& out, const refresh::Snapshot& snap, const Overview& f,
                  const StatusOptions& o) {
  out += R"(<div class="cards">)";
  out += card("systems", std::to_string(snap.systems.size()),
              f.failing_systems ? std::to_string(f.failing_systems) + " with failing data" : "");
  out += card("panels reporting", std::to_string(f.reporting) + " of " + std::to_string(f.panels));
  out += card("power now", format_power(f.power_w));
  out += card("data lag", f.lags.empty() ? "-" : format_age(f.lags[f.lags.size() / 2]) + " median",
              f.lags.empty() ? "" : "worst " + format_age(f.lags.back()));
  out +=
      card("snapshot", std::to_string(snap.generation),
           (snap.generation ? "built " + util::format_iso8601_utc(snap.built_at) : "never built") +
               (snap.ready ? ", ready" : ", not ready yet"));
  if (snap.user) out += card("account", snap.user->user_type, snap.user->company);
  out += "</div>";
  if (!o.session.empty()) {
    out += R"(<p id="session" class="muted">)";
    append_html(out, o.session);
    out += "</p>";
  }
}

// What the budget buys: the interval each dataset is refreshed at now, and the fleet's warnings.
void append_intervals(std::string& out, const refresh::Snapshot& snap) {
  out += R"(<h2>Refresh intervals</h2><p class="intervals" id="intervals">)";
  bool any_interval = false;
  for (auto d : refresh::kAllDatasets) {
    const auto& iv = snap.intervals[static_cast<std::size_t>(d)];
    if (!iv) continue;
    any_interval = true;
    out += "<span>";
    out += refresh::dataset_name(d);
    out += " every " +
           format_age(std::chrono::seconds{static_cast<std::int64_t>(std::llround(*iv))}) +
           "</span>";
  }
  if (!any_interval) out += R"(<span class="muted">not planned yet</span>)";
  out += "</p>";
  if (!snap.budget_plan.empty()) {
    out += R"(<p id="budget-plan" class="muted">)";
    append_html(out, snap.budget_plan);
    out += "</p>";
  }
  if (snap.beyond_budget)
    out += R"(<p class="banner warn">The fleet needs more requests than the rate budget allows: )"
           "intervals are stretched beyond the configured ones.</p>";
  if (!snap.unlisted_systems.empty()) {
    out += R"(<p class="banner warn">Not in the account's systems list:)";
    for (auto id : snap.unlisted_systems) out += " " + std::to_string(id);
    out += "</p>";
  }
}

// The local sources (--local.*): their health, so a silent bus is seen before a stale panel.
void append_local_sources(std::string& out, const refresh::Snapshot& snap, Timestamp now) {
  if (snap.local_sources.empty()) return;
  out += R"(<h2>Local sources</h2><table id="local-sources"><thead><tr><th>source</th>)"
         R"(<th>kind</th><th>state</th><th class="n">events</th><th class="n">dropped</th>)"
         R"(<th class="n">heard (1 min)</th><th class="n">matched</th><th class="n">unmatched</th>)"
         R"(<th class="n">last event</th><th>last refusal</th></tr></thead><tbody>)";
  for (const auto& s : snap.local_sources) {
    std::uint64_t events = 0, dropped = 0;
    for (const auto& [type, n] : s.events) events += n;
    for (const auto& [reason, n] : s.dropped) dropped += n;
    out += s.connected ? "<tr><td>" : R"(<tr class="failing"><td>)";
    append_html(out, s.name);
    out += "</td><td>";
    append_html(out, s.kind);
    out += std::string("</td><td>") + (s.connected ? "connected" : "not connected") +
           R"(</td><td class="n">)" + std::to_string(events) + R"(</td><td class="n">)" +
           std::to_string(dropped) + R"(</td><td class="n">)" + std::to_string(s.nodes_heard) +
           R"(</td><td class="n">)" + std::to_string(s.nodes_matched) + R"(</td><td class="n">)" +
           std::to_string(s.nodes_unmatched) + R"(</td><td class="n">)";
    if (s.last_event)
      out += format_age(std::chrono::duration_cast<std::chrono::seconds>(
                 now - std::chrono::floor<std::chrono::seconds>(*s.last_event))) +
             " ago";
    else
      out += "never";
    out += R"(</td><td class="err">)";
    append_html(out, clip(s.last_error, 200));
    out += "</td></tr>";
  }
  out += "</tbody></table>";
}

// A plain GET form, filtered live by status.js.
void append_search(std::string& out, const StatusOptions& o, std::size_t shown,
                   std::size_t systems) {
  out += R"(<form method="get" action="./" role="search"><input type="search" id="q" )"
         R"(name="q" placeholder="Filter systems: id, name, place" value=")";
  append_html(out, o.query);
  out += R"("> <button>Filter</button> <span class="muted"><span id="shown">)" +
         std::to_string(shown) + "</span> of " + std::to_string(systems) + " systems</span></form>";
}

// Failing datasets first, with their last error, at most o.failing_rows of them.
void append_failing(std::string& out, const std::vector<Row>& rows, const StatusOptions& o) {
  std::size_t failing_total = 0;
  for (const auto& r : rows) failing_total += r.view.failing.size();
  if (!failing_total) return;
  out += "<h2>Failing datasets (" + std::to_string(failing_total) +
         R"()</h2><table id="failing"><thead><tr><th>system</th><th>dataset</th>)"
         "<th>last success</th><th>last error</th></tr></thead><tbody>";
  std::size_t listed = 0;
  for (const auto& r : rows) {
    for (const auto& f : r.view.failing) {
      if (listed++ >= o.failing_rows) break;
      const std::string id = std::to_string(r.entry->system.system_id);
      out += R"(<tr class="failing"><td><a href="systems/)" + id + R"(">)" + id + "</a></td><td>";
      out += refresh::dataset_name(f.dataset);
      out += "</td><td>" +
             (f.state->last_success ? util::format_iso8601_utc(*f.state->last_success)
                                    : std::string("never")) +
             R"(</td><td class="err">)";
      append_html(out, clip(f.state->last_error, 300));
      out += "</td></tr>";
    }
  }
  out += "</tbody></table>";
  if (failing_total > o.failing_rows)
    out += R"(<p class="muted">)" + std::to_string(failing_total - o.failing_rows) +
           " more not listed: narrow the list with the search box.</p>";
}

// A system's state column in words: "ok", or what is wrong, worst first.
std::string state_words(const SystemView& v, Timestamp now) {
  std::string state;
  if (!v.failing.empty()) {
    state = "failing:";
    for (const auto& f : v.failing) state += " " + std::string(refresh::dataset_name(f.dataset));
  }
  auto add = [&](const std::string& s) { state += (state.empty() ? "" : "; ") + s; };
  if (v.pv_off()) add("PV-Off");
  if (v.newest_sample && v.reporting < v.panels.size())
    add(std::to_string(v.panels.size() - v.reporting) + " not reporting");
  // Old data from a gateway that still checks in is night or held-back uploads; from a
  // silent one it is an outage.
  if (v.gateway_silent)
    add("gateway silent " +
        format_age(std::chrono::duration_cast<std::chrono::seconds>(now - *v.last_checkin)));
  if (v.stale) add(v.gateway_silent ? "stale" : "no new readings");
  if (!v.newest_sample && v.failing.empty() && !v.gateway_silent) add("no readings yet");
  if (state.empty()) state = "ok";
  return state;
}

void append_system_row(std::string& out, const Row& r, Timestamp now) {
  const auto& e = *r.entry;
  const auto& v = r.view;
  const std::string id = std::to_string(e.system.system_id);
  out += r.rank == 0 ? R"(<tr class="failing">)" : "<tr>";
  out += R"(<td class="n">)" + id + R"(</td><td><a href="systems/)" + id + R"(">)";
  append_html(out, e.system.name.empty() ? "system " + id : e.system.name);
  out += "</a></td><td>";
  append_html(out, place_of(e.system));
  out += R"(</td><td class="n">)" + std::to_string(v.reporting) + "/" +
         std::to_string(v.panels.size()) + R"(</td><td class="n">)" + format_power(v.power_w) +
         R"(</td><td class="n">)" + format_age(v.data_age) + "</td><td>";
  append_html(out, state_words(v, now));
  out += R"(</td><td class="n">)" + (v.live ? std::to_string(v.live) : std::string("-")) +
         "</td></tr>";
}

// One compact row per system.
void append_systems(std::string& out, const std::vector<Row>& rows, Timestamp now) {
  out += R"(<h2>Systems</h2><table id="systems"><thead><tr><th class="n">id</th><th>name</th>)"
         R"(<th>place</th><th class="n">panels</th><th class="n">power</th>)"
         R"(<th class="n">newest reading</th><th>state</th>)"
         R"(<th class="n" title="panels whose reading is a local source's">live</th>)"
         R"(</tr></thead><tbody>)";
  for (const auto& r : rows) append_system_row(out, r, now);
  out += "</tbody></table>";
}

}  // namespace

std::string status_html(const refresh::Snapshot& snap, Timestamp now, const StatusOptions& o) {
  const auto f = overview(snap, now, o);
  std::string out;
  out.reserve(8192 + f.rows.size() * 200);
  append_header(out, o);
  append_cards(out, snap, f, o);
  append_intervals(out, snap);
  append_local_sources(out, snap, now);
  append_search(out, o, f.rows.size(), snap.systems.size());
  append_failing(out, f.rows, o);
  append_systems(out, f.rows, now);
  out += R"(</main><footer class="muted">Pages are drawn from the exporter's )"
         "snapshot; none calls Tigo.</footer></body></html>\n";
  return out;
}

}  // namespace pages
