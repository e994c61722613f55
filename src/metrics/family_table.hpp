// Every metric family the exporter serves, in one table: /metrics (the collector and the
// self-metrics), the backfill and docs/METRICS.md (tigo_metrics_doc prints its table) read their
// names, types, units and HELP texts here, so live and backfilled series are described alike.
// The panel value families come from tigo::kPanelParams.
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>

#include "metrics/exposition.hpp"
#include "tigo/panel_param.hpp"

namespace metrics {

enum class MetricType { gauge, counter, histogram };

constexpr std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::gauge:
      return "gauge";
    case MetricType::counter:
      return "counter";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

// The section of the reference a family is listed in.
enum class Scope { exporter, system, object, gateway, local };

struct FamilySpec {
  std::string_view name;
  MetricType type;
  std::string_view unit;     // base unit the name ends in ("watts"); empty for none
  std::string_view help;     // HELP line: one line, no backslash
  std::string_view labels;   // label names, ", " separated
  std::string_view source;   // endpoint and field (or what else) the value comes from
  std::string_view meaning;  // the reference's sentence beyond the HELP line; may be empty
  // Empty: served whenever the exporter has the data (the demo serves it). Otherwise when its
  // series are absent ("until ...", "on systems ..."), which the demo may show.
  std::string_view absent;
  Scope scope;
  bool backfilled = false;          // also written by `tigo_exporter backfill`
  std::string_view api_param = {};  // data/aggregate param= of a panel value family
};

// A family's metadata lines, as the exposition writes them in either format.
constexpr FamilyHeader header_of(const FamilySpec& f) {
  return {f.name, type_name(f.type), f.unit, f.help};
}

inline constexpr std::string_view kPanelLabels =
    "system_id, object_id, inverter, mppt, string, panel";
inline constexpr std::string_view kObjectLabels = "system_id, object_id, object_type, label";

// Served only when a local source is configured (--local.*): none of these series otherwise.
inline constexpr std::string_view kLocalOnlyAbsent = "without a local source (--local.*)";
inline constexpr std::string_view kBusOnlyAbsent =
    "while the panel's reading is not the bus's (no local bus, the node not heard for "
    "--local.stale-after, or a newer cloud minute)";
inline constexpr std::string_view kPanelEnergyAbsent =
    "until the panel has a power minute or a bus reading of the site-local today";

// When minute readings (panels, objects) are absent by the staleness rule, beyond its general
// case (a dataset unconfirmed for longer than its limit, docs/METRICS.md "Staleness").
inline constexpr std::string_view kGatewaySilentAbsent =
    "while the system's gateway has not checked in for an hour (or the staleness limit, if longer)";

// A panel value family, from its row of tigo::kPanelParams.
constexpr FamilySpec panel_value_family(tigo::PanelParam p) {
  const auto& s = tigo::spec(p);
  return {s.family,
          MetricType::gauge,
          s.unit,
          s.help,
          kPanelLabels,
          "data/aggregate level=min",
          "Live: the newest non-empty minute of the panel's column; backfill: every minute.",
          s.optional ? "on systems that do not answer this param, and while the system's gateway "
                       "has not checked in for an hour (or the staleness limit, if longer)"
                     : kGatewaySilentAbsent,
          Scope::object,
          true,
          s.api_name};
}

// clang-format off
inline constexpr FamilySpec kFamilies[] = {
    // The exporter and the account.
    {"tigo_exporter_build_info", MetricType::gauge, "",
     "Version, revision and compiler of this exporter, value 1.",
     "version, revision, compiler", "the build", "", "", Scope::exporter},
    {"tigo_exporter_web_auth_failures_total", MetricType::counter, "",
     "Requests to the exporter's web endpoints refused by basic auth, by reason.",
     "reason", "--web.config.file basic_auth_users",
     "`reason` is `missing` (no credentials) or `invalid` (wrong user, password or header), both present from the start; always 0 without basic auth.",
     "", Scope::exporter},
    {"tigo_user_info", MetricType::gauge, "",
     "The account the exporter logs in as, value 1 (users/get; no e-mail, login or address).",
     "user_id, user_type, company", "users/get", "", "", Scope::exporter},
    {"tigo_api_requests_total", MetricType::counter, "",
     "Calls made to the Tigo API by endpoint and HTTP status (error: transport failure).",
     "endpoint, code", "every call the client makes",
     "`code` is the HTTP status, or `error` when no answer came.", "", Scope::exporter},
    {"tigo_api_request_duration_seconds", MetricType::histogram, "seconds",
     "Duration of calls to the Tigo API by endpoint.",
     "endpoint", "every call the client makes", "", "", Scope::exporter},
    {"tigo_api_rate_limit_limit", MetricType::gauge, "",
     "Requests allowed per rate-limit window, last X-Rate-Limit-Limit seen.",
     "", "X-Rate-Limit-Limit header", "0 until an answer carried the header.", "", Scope::exporter},
    {"tigo_api_rate_limit_remaining", MetricType::gauge, "",
     "Requests left in the window, last X-Rate-Limit-Remaining seen.",
     "", "X-Rate-Limit-Remaining header", "", "", Scope::exporter},
    {"tigo_api_rate_limit_reset_seconds", MetricType::gauge, "seconds",
     "Seconds until the rate-limit window resets, last X-Rate-Limit-Reset seen.",
     "", "X-Rate-Limit-Reset header", "", "", Scope::exporter},
    {"tigo_api_logins_total", MetricType::counter, "",
     "Logins to the Tigo API (users/login) by result.",
     "result", "users/login", "`result` is `success` or `failure`, both present from the start.", "",
     Scope::exporter},
    {"tigo_api_token_expiry_timestamp_seconds", MetricType::gauge, "seconds",
     "Expiry of the current API token, Unix time (users/login expires).",
     "", "users/login `expires`", "0 until a login succeeded (and with a pre-issued token).", "",
     Scope::exporter},
    {"tigo_api_csv_anomalies_total", MetricType::counter, "",
     "Odd CSV answers of data/aggregate and data/combined by endpoint and kind (header_only, future_row, bad_row, unknown_column).",
     "endpoint, kind", "data/aggregate, data/combined",
     "Every endpoint and kind is present from the start, at 0 until seen.", "", Scope::exporter},
    {"tigo_refresh_interval_seconds", MetricType::gauge, "seconds",
     "The effective refresh interval the scheduler is holding per dataset.",
     "dataset", "the scheduler",
     "Longer than the flag's interval when the rate limit cannot carry the fleet.", "",
     Scope::exporter},
    {"tigo_systems", MetricType::gauge, "",
     "Systems in the snapshot, after filter and shard.", "", "systems list", "", "", Scope::exporter},
    {"tigo_panels", MetricType::gauge, "",
     "Panels in the snapshot.", "", "objects/system, systems/layout", "", "", Scope::exporter},

    // Per system.
    {"tigo_system_info", MetricType::gauge, "",
     "Descriptive labels of a system, value 1 (systems list and systems/view).",
     "system_id, name, external_id, city, state, country, timezone", "systems list", "", "",
     Scope::system},
    {"tigo_system_location_latitude_degrees", MetricType::gauge, "degrees",
     "Latitude of the system (systems list).", "system_id", "systems list `latitude`", "",
     "on systems without a location", Scope::system},
    {"tigo_system_location_longitude_degrees", MetricType::gauge, "degrees",
     "Longitude of the system (systems list).", "system_id", "systems list `longitude`", "",
     "on systems without a location", Scope::system},
    {"tigo_system_power_rating_watts", MetricType::gauge, "watts",
     "Max DC power rating of the system (systems list).", "system_id",
     "systems list `power_rating`", "", "", Scope::system},
    {"tigo_system_turn_on_timestamp_seconds", MetricType::gauge, "seconds",
     "Planned turn-on date of the system as a Unix time (systems list).", "system_id",
     "systems list `turn_on_date`", "", "", Scope::system},
    {"tigo_system_dc_power_watts", MetricType::gauge, "watts",
     "DC power of the system (live: data/summary last_power_dc; backfill: data/combined level=minute).",
     "system_id", "data/summary `last_power_dc`", "",
     "while the summary's `updated_on` is over an hour old (or the staleness limit, if longer): a gateway that stopped checking in",
     Scope::system, true},
    {"tigo_system_dc_energy_joules_total", MetricType::counter, "joules",
     "Lifetime DC energy of the system (data/summary lifetime_energy_dc).", "system_id",
     "data/summary `lifetime_energy_dc` x 3600", "", "", Scope::system},
    {"tigo_system_dc_energy_today_joules", MetricType::gauge, "joules",
     "DC energy of the system since site-local midnight (live: data/summary daily_energy_dc; backfill: data/combined level=hour).",
     "system_id", "data/summary `daily_energy_dc` x 3600",
     "The backfill stamps it at the end of each hour.",
     "when the summary's `updated_on` is of an earlier site-local day", Scope::system, true},
    {"tigo_system_dc_energy_year_joules", MetricType::gauge, "joules",
     "DC energy of the system this year to date (data/summary ytd_energy_dc).", "system_id",
     "data/summary `ytd_energy_dc` x 3600", "",
     "when the summary's `updated_on` is of an earlier site-local year", Scope::system},
    {"tigo_system_summary_updated_timestamp_seconds", MetricType::gauge, "seconds",
     "When Tigo last updated the system's summary, Unix time (data/summary updated_on).",
     "system_id", "data/summary `updated_on`", "", "", Scope::system},
    {"tigo_system_alerts", MetricType::gauge, "",
     "Tigo alerts generated inside the alerts window, per alert code (alerts/system).",
     "system_id, unique_id, title", "alerts/system, alerts/types",
     "Counted over `--alerts.window`; every code alerts/types lists is present, at 0 when none fell in the window.",
     "", Scope::system},
    {"tigo_system_alert_last_timestamp_seconds", MetricType::gauge, "seconds",
     "When the newest alert of a code was generated, Unix time (alerts/system).",
     "system_id, unique_id", "alerts/system `generated`", "",
     "until an alert of the code was generated inside `--alerts.window`", Scope::system},
    {"tigo_refresh_success", MetricType::gauge, "",
     "Whether the last refresh of a system's dataset succeeded (1) or failed (0).",
     "system_id, dataset", "the refresher",
     "A dataset that was never tried has no series: 0 means a failure, never \"not yet\".",
     "", Scope::system},
    {"tigo_refresh_last_success_timestamp_seconds", MetricType::gauge, "seconds",
     "When a system's dataset was last refreshed successfully, Unix time.",
     "system_id, dataset", "the refresher", "", "", Scope::system},

    // Per object of a system's hierarchy: panels, strings, inverters, the system object.
    {"tigo_object_info", MetricType::gauge, "",
     "An object of a system's hierarchy, value 1 (objects/system and objects/types).",
     "system_id, object_id, parent_id, object_type, label, datasource",
     "objects/system, objects/types", "", "", Scope::object},
    {"tigo_panel_info", MetricType::gauge, "",
     "A panel's serial and type, value 1 (systems/layout).",
     "system_id, object_id, panel, serial, panel_type", "systems/layout", "", "", Scope::object},
    panel_value_family(tigo::PanelParam::power),
    panel_value_family(tigo::PanelParam::voltage),
    panel_value_family(tigo::PanelParam::current),
    panel_value_family(tigo::PanelParam::rssi),
    panel_value_family(tigo::PanelParam::temperature),
    {"tigo_panel_reporting", MetricType::gauge, "",
     "1 if the panel has a reading in the newest minute its gateway delivered, else 0.",
     kPanelLabels, "data/aggregate param=Pin",
     "0 on a panel whose siblings reported and it did not (a dead optimizer), and on every panel whose readings the exporter cannot confirm (an outage, a gateway that stopped checking in: see Staleness). Through the night it keeps the answer of the day's last readings.",
     "", Scope::object},
    {"tigo_panel_sample_timestamp_seconds", MetricType::gauge, "seconds",
     "The minute the panel's newest power reading belongs to, Unix time.",
     kPanelLabels, "data/aggregate param=Pin",
     "Power's age: samples in /metrics carry no timestamp. Panel power follows each gateway batch; "
     "voltage, current, RSSI and temperature come less often (tigo_panel_details_sample_timestamp_seconds).",
     kGatewaySilentAbsent, Scope::object},
    {"tigo_panel_details_sample_timestamp_seconds", MetricType::gauge, "seconds",
     "The minute the panel's newest voltage, current, RSSI or temperature reading belongs to, Unix time.",
     kPanelLabels, "data/aggregate param=Vin,Iin,RSSI,Temp",
     "Their age: fetched less often than power when the budget is short (up to 2 h), so a dashboard "
     "can tell an old voltage from a current one.",
     kGatewaySilentAbsent, Scope::object},
    {"tigo_panel_energy_today_joules", MetricType::gauge, "joules",
     "Panel energy since site-local midnight, integrated from its minute power (cloud) or its local bus readings, whichever covers more of the day.",
     kPanelLabels, "data/aggregate param=Pin minutes (W/60 Wh each); the local bus: voltage_in x current over time",
     "Each cloud minute counts once; bus readings add trapezoids, a gap over 150 s adds nothing (the node was silent). It counts from the exporter's first fetch (2 h back at the start) or bus reading of the day, so it can fall short of Tigo's own totals; bus integrals are kept across restarts with --storage.path. Meant to find the panel that underperforms over a day.",
     kPanelEnergyAbsent, Scope::object},
    {"tigo_panel_output_voltage_volts", MetricType::gauge, "volts",
     "Panel optimizer output voltage, as the local bus reports it (taptap voltage_out).",
     kPanelLabels, "the local bus: taptap power reports `voltage_out`",
     "The cloud does not serve it: it comes with the bus's reading of the panel.", kBusOnlyAbsent,
     Scope::object},
    {"tigo_panel_duty_cycle_ratio", MetricType::gauge, "ratio",
     "Panel optimizer DC-DC duty cycle, 0 to 1, as the local bus reports it (taptap dc_dc_duty_cycle).",
     kPanelLabels, "the local bus: taptap power reports `dc_dc_duty_cycle`",
     "1 passes the panel through; lower values buck a panel that is shaded or weaker than its string.",
     kBusOnlyAbsent, Scope::object},
    {"tigo_panel_source_info", MetricType::gauge, "",
     "Where the panel's served readings come from (cloud, bus or cca), value 1.",
     "system_id, object_id, inverter, mppt, string, panel, source", "the fusion of local sources",
     "One series per panel. `bus` while its optimizer is heard on the local bus (taptap) and that reading is newer than the cloud's minute; `cca` for the CCA's local minutes; else `cloud`.",
     kLocalOnlyAbsent, Scope::object},
    {"tigo_object_power_watts", MetricType::gauge, "watts",
     "Power of a system, inverter or string object (data/combined level=minute).",
     kObjectLabels, "data/combined level=minute", "", kGatewaySilentAbsent, Scope::object, true},
    {"tigo_object_energy_today_joules", MetricType::gauge, "joules",
     "Energy of a system, inverter or string object since site-local midnight (live: data/combined level=day; backfill: level=hour).",
     kObjectLabels, "data/combined level=day x 3600",
     "The backfill stamps it at the end of each hour.",
     "until data/combined has a row of today (site-local), and while the system's gateway has not checked in for an hour (or the staleness limit, if longer)",
     Scope::object, true},

    // Per gateway (Cloud Connect), from sources/system.
    {"tigo_gateway_info", MetricType::gauge, "",
     "A gateway (CCA) of a system, value 1 (sources/system).",
     "system_id, source_id, name, serial, sw_version, timezone", "sources/system", "", "",
     Scope::gateway},
    {"tigo_gateway_last_checkin_timestamp_seconds", MetricType::gauge, "seconds",
     "When the gateway last checked in, Unix time (sources/system last_checkin).",
     "system_id, source_id", "sources/system `last_checkin`", "", "", Scope::gateway},
    {"tigo_gateway_reporting_gateways", MetricType::gauge, "",
     "Gateways reporting behind this source (sources/system gateway_count).",
     "system_id, source_id", "sources/system `gateway_count`", "", "", Scope::gateway},
    {"tigo_gateway_control_state", MetricType::gauge, "",
     "The gateway's PV-Off control state, 1 on the current state (sources/system).",
     "system_id, source_id, state", "sources/system `control_state`",
     "One series per gateway, labelled with the state Tigo reports (`on`, `off`, ...).", "",
     Scope::gateway},
    {"tigo_gateway_data_last_minute_timestamp_seconds", MetricType::gauge, "seconds",
     "Newest minute of data the gateway delivered per data set, Unix time (sets last_min).",
     "system_id, source_id, set", "sources/system `sets[].last_min`", "", "", Scope::gateway},
    {"tigo_gateway_data_last_day_timestamp_seconds", MetricType::gauge, "seconds",
     "Newest day of data the gateway delivered per data set, Unix time (sets last_day).",
     "system_id, source_id, set", "sources/system `sets[].last_day`", "", "", Scope::gateway},

    // Per local source (--local.*): the taptap bus reader, the CCA's local API.
    {"tigo_local_source_connected", MetricType::gauge, "",
     "1 while the local source is connected (the taptap command running, the socket open, the CCA answering), else 0.",
     "source, kind", "the local source", "`kind` is `bus` or `cca`.", kLocalOnlyAbsent,
     Scope::local},
    {"tigo_local_events_total", MetricType::counter, "",
     "Events read from the local source, by type (power_report, infrastructure_report, or an unknown type's name).",
     "source, type", "the local source",
     "power_report and infrastructure_report are present from the start; unknown types (at most 16 names, then `other`) as they come.",
     kLocalOnlyAbsent, Scope::local},
    {"tigo_local_lines_dropped_total", MetricType::counter, "",
     "Lines of the local source that were dropped, by reason (malformed, oversized, partial).",
     "source, reason", "the local source",
     "`partial` is a line cut off by an exit or a disconnect; each reason is present from the start.",
     kLocalOnlyAbsent, Scope::local},
    {"tigo_local_source_restarts_total", MetricType::counter, "",
     "Times the local source ended and was started again: the command exited or was restarted, the connection was lost, a CCA poll failed.",
     "source", "the local source", "", kLocalOnlyAbsent, Scope::local},
    {"tigo_local_node_id_changes_total", MetricType::counter, "",
     "Bus node ids that came to name another optimizer (learned from infrastructure reports).",
     "source", "the local bus", "", kLocalOnlyAbsent, Scope::local},
    {"tigo_local_last_event_timestamp_seconds", MetricType::gauge, "seconds",
     "When the local source's newest event was received, Unix time.",
     "source", "the local source", "", "until the source's first event", Scope::local},
    {"tigo_local_nodes_heard", MetricType::gauge, "",
     "Optimizers with a reading from the local source in the last minute.",
     "source", "the local source", "", kLocalOnlyAbsent, Scope::local},
    {"tigo_local_nodes_matched", MetricType::gauge, "",
     "Optimizers of the local source tied to a panel (by the cloud's serials or the mapping file).",
     "source", "the fusion of local sources", "", kLocalOnlyAbsent, Scope::local},
    {"tigo_local_nodes_unmatched", MetricType::gauge, "",
     "Optimizers of the local source tied to no panel, served under the bus's names in system 0.",
     "source", "the fusion of local sources",
     "Until an infrastructure report (mostly after dusk) gives their addresses, or the mapping file names them.",
     kLocalOnlyAbsent, Scope::local},
};
// clang-format on

inline constexpr std::size_t kFamilyCount = std::size(kFamilies);

// Announced only when a local source is configured (--local.*).
constexpr bool needs_local_source(const FamilySpec& f) {
  return f.scope == Scope::local || f.absent == kLocalOnlyAbsent || f.absent == kBusOnlyAbsent;
}

// The row of `name`; a name not in the table does not compile.
consteval const FamilySpec& family_spec(std::string_view name) {
  for (const auto& f : kFamilies)
    if (f.name == name) return f;
  throw "metrics::family_spec: no such family in kFamilies";
}

// The row of `name` at run time, or null.
constexpr const FamilySpec* find_family(std::string_view name) {
  for (const auto& f : kFamilies)
    if (f.name == name) return &f;
  return nullptr;
}

namespace detail {
consteval bool name_ends_in_unit(std::string_view name, std::string_view unit) {
  if (name.ends_with("_total")) name.remove_suffix(6);
  return name.ends_with(unit) && name.size() > unit.size() &&
         name[name.size() - unit.size() - 1] == '_';
}

consteval bool family_table_consistent() {
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    const auto& f = kFamilies[i];
    if (!f.name.starts_with("tigo_")) return false;
    if ((f.type == MetricType::counter) != f.name.ends_with("_total")) return false;
    if (!f.unit.empty() && !name_ends_in_unit(f.name, f.unit)) return false;
    if (f.help.empty() || f.help.find('\\') != std::string_view::npos ||
        f.help.find('\n') != std::string_view::npos)
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (kFamilies[j].name == f.name) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::family_table_consistent(),
              "kFamilies: tigo_ names, once each, _total exactly on counters, plain HELP");

}  // namespace metrics
