#include "sim/cca.hpp"

#include <date/tz.h>
#include <httplib.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "sim/json_writer.hpp"
#include "util/base64.hpp"
#include "util/listen_address.hpp"

namespace sim {
namespace {

using std::chrono::sys_seconds;

constexpr const char* kJson = "application/json";

std::string local_date_text(date::local_days day) { return date::format("%F", day); }

// "2026-04-08 10:47:00.000": the device's wall clock, no offset.
std::string local_stamp(const date::time_zone* zone, sys_seconds t) {
  return date::format("%F %T", zone->to_local(t)) + ".000";
}

void node(std::string& out, std::string_view id, int type, std::string_view label,
          const std::vector<std::string>& children, bool& first) {
  if (!first) out += ',';
  first = false;
  out += "{\"id\":";
  json::append_string(out, id);
  out += ",\"type\":";
  json::append_int(out, type);
  out += ",\"label\":";
  json::append_string(out, label);
  out += ",\"children\":[";
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, children[i]);
  }
  out += "]}";
}

// The value a panel's cell shows for one series.
std::int64_t cca_value(const Sample& x, std::string_view series) {
  if (series == "vin") return x.dv;  // tenths of a volt
  if (series == "rssi") return x.rssi;
  return std::llround(static_cast<double>(x.mw) / 1000.0);  // W
}

// "2026-04-08" -> that calendar day; nullopt for anything else.
std::optional<date::local_days> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  const auto number = [&](std::size_t at, std::size_t len, auto& out) {
    const auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + at + len, out);
    return ec == std::errc{} && ptr == text.data() + at + len;
  };
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d)) return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{m}, date::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return date::local_days{ymd};
}

}  // namespace

std::string cca_config_json(const SystemContext& c) {
  const auto& t = c.topo;
  std::string out = "[";
  bool first = true;
  std::vector<std::string> top;
  if (t.has_inverters) {
    for (const auto& inv : t.inverters) top.push_back(std::to_string(inv.object_id));
  } else {
    for (const auto& st : t.strings) top.push_back(std::to_string(st.object_id));
  }
  node(out, std::to_string(c.spec.system_id), 1, c.spec.name, top, first);
  auto strings_of = [&](int inverter) {
    std::vector<std::string> ids;
    for (const auto& st : t.strings)
      if (st.inverter_index == inverter) ids.push_back(std::to_string(st.object_id));
    return ids;
  };
  for (std::size_t i = 0; i < t.inverters.size(); ++i)
    node(out, std::to_string(t.inverters[i].object_id), 4, t.inverters[i].label,
         strings_of(static_cast<int>(i)), first);
  for (const auto& st : t.strings) {
    std::vector<std::string> labels;
    labels.reserve(static_cast<std::size_t>(st.panel_count));
    for (int p = 0; p < st.panel_count; ++p)
      labels.push_back(
          t.panels[static_cast<std::size_t>(st.first_panel) + static_cast<std::size_t>(p)].label);
    node(out, std::to_string(st.object_id), 3, string_label(st), labels, first);
  }
  out += ']';
  return out;
}

std::string cca_jsconfig_json(const SystemContext& c, sys_seconds now) {
  std::string out = "{\"sDate\":";
  json::append_string(out, local_date_text(date::floor<date::days>(c.zone->to_local(now))));
  out += '}';
  return out;
}

std::string cca_data_json(const PowerModel& model, const SystemContext& c, date::local_days day,
                          std::string_view temp, sys_seconds now) {
  const auto from = midnight_in(c.spec.timezone, day);
  const auto to = midnight_in(c.spec.timezone, day + date::days{1});
  std::string out = "{\"lastData\":";
  json::append_string(out, local_stamp(c.zone, std::min(now, to - std::chrono::seconds{1})));
  out += ",\"dataset\":[";
  const bool known = temp == "pin" || temp == "vin" || temp == "rssi" || temp == "iin" ||
                     temp == "tmod" || temp == "tcell" || temp == "tamb" || temp == "power";
  if (known) {
    // Minutes measured so far (the last whole one), in segments: a new one whenever the panels
    // reporting change (a dead optimizer leaves the order) or after a gap without data.
    const auto last = std::chrono::floor<std::chrono::minutes>(now) - std::chrono::minutes{1};
    std::vector<Sample> samples;
    std::vector<int> order;  // the open segment's panels; empty: none open
    bool first_segment = true, first_row = true;
    auto close_segment = [&] {
      if (order.empty()) return;
      out += "]}";
      order.clear();
    };
    for (auto t = from; t < to && t <= last; t += std::chrono::minutes{1}) {
      model.minute(c, t, samples);
      std::vector<int> present;
      for (std::size_t i = 0; i < samples.size(); ++i)
        if (samples[i].present) present.push_back(static_cast<int>(i));
      if (present != order) close_segment();
      if (present.empty()) continue;
      if (order.empty()) {
        order = present;
        if (!first_segment) out += ',';
        first_segment = false;
        first_row = true;
        out += "{\"order\":[";
        for (std::size_t k = 0; k < order.size(); ++k) {
          if (k) out += ',';
          json::append_string(out, c.topo.panels[static_cast<std::size_t>(order[k])].label);
        }
        out += "],\"data\":[";
      }
      if (!first_row) out += ',';
      first_row = false;
      out += "{\"t\":";
      json::append_string(out, date::format("%R", c.zone->to_local(t)));
      out += ",\"d\":[";
      for (std::size_t k = 0; k < order.size(); ++k) {
        if (k) out += ',';
        json::append_int(out, cca_value(samples[static_cast<std::size_t>(order[k])],
                                        temp == "vin" || temp == "rssi" ? temp : "pin"));
      }
      out += "]}";
    }
    close_segment();
  }
  out += "]}";
  return out;
}

std::string cca_energy_json(const PowerModel& model, const SystemContext& c, sys_seconds now) {
  std::vector<int> all(c.topo.panels.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const auto today = date::floor<date::days>(c.zone->to_local(now));
  std::string out = "[";
  for (int back = kCcaEnergyDays - 1; back >= 0; --back) {
    const auto day = today - date::days{back};
    const auto from = midnight_in(c.spec.timezone, day);
    const auto to = std::min(now, midnight_in(c.spec.timezone, day + date::days{1}));
    if (back != kCcaEnergyDays - 1) out += ',';
    out += '[';
    json::append_string(out, local_date_text(day));
    out += ',';
    json::append_int(out, std::llround(model.energy_between(c, all, from, to)));
    out += ']';
  }
  out += ']';
  return out;
}

CcaServer::CcaServer(const Fleet& fleet, const Clock& clock, CcaOptions options)
    : clock_(clock),
      model_(fleet),
      options_(std::move(options)),
      http_(std::make_unique<httplib::Server>()) {
  const auto index = fleet.index_of(options_.system_id);
  if (!index)
    throw std::invalid_argument("system " + std::to_string(options_.system_id) +
                                " is not in the fleet");
  context_ = make_context(fleet, fleet.system(*index));
  http_->set_socket_options(util::set_exclusive_listen_options);
  routes();
}

CcaServer::~CcaServer() { stop(); }

util::Result<int> CcaServer::bind() {
  int port = options_.port;
  errno = 0;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
  } else if (!http_->bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port <= 0)
    return util::make_error("cannot listen on " + util::host_port(options_.host, options_.port) +
                            ": " + util::bind_failure_reason(options_.host, errno));
  port_ = port;
  return port;
}

void CcaServer::start() {
  thread_ = std::thread([this] {
    run_entered_ = true;
    if (!stop_requested_) http_->listen_after_bind();
    run_returned_ = true;
  });
}

void CcaServer::stop() {
  stop_requested_ = true;
  // As sim::Server::stop: httplib's stop() does nothing until its accept loop runs.
  while (run_entered_ && !run_returned_ && !http_->is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string CcaServer::base_url() const {
  return "http://" + util::host_port(options_.host, port_);
}

void CcaServer::routes() {
  // Every request passes the lock and the password first, as the device's web server does.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    using Outcome = httplib::Server::HandlerResponse;
    bool allowed = !options_.locked;
    if (allowed && options_.password) {
      const auto creds = util::parse_basic_auth(req.get_header_value("Authorization"));
      allowed = creds && creds->first == kCcaUser && creds->second == *options_.password;
    }
    if (allowed) return Outcome::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"Tigo\"");
    res.set_content(
        "<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1>"
        "</body></html>\n",
        "text/html");
    return Outcome::Handled;
  });
  http_->Get("/cgi-bin/summary_config", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(cca_config_json(context_), kJson);
  });
  http_->Get("/cgi-bin/summary_jsconfig", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(cca_jsconfig_json(context_, clock_.now()), kJson);
  });
  http_->Get("/cgi-bin/summary_data", [this](const httplib::Request& req, httplib::Response& res) {
    const auto now = clock_.now();
    auto day = date::floor<date::days>(context_.zone->to_local(now));
    if (req.has_param("date")) {
      const auto parsed = parse_date(req.get_param_value("date"));
      if (!parsed) {
        res.status = 400;
        res.set_content("bad date: YYYY-MM-DD expected\n", "text/plain");
        return;
      }
      day = *parsed;
    }
    const std::string temp = req.has_param("temp") ? req.get_param_value("temp") : "pin";
    res.set_content(cca_data_json(model_, context_, day, temp, now), kJson);
  });
  http_->Get("/cgi-bin/summary_energy", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(cca_energy_json(model_, context_, clock_.now()), kJson);
  });
}

}  // namespace sim
