#include "sim/alerts.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>

namespace sim {
namespace {

using std::chrono::sys_seconds;

const std::vector<AlertType>& types() {
  static const std::vector<AlertType> k = {
      {24, 300, "Tigo Alert: Low Power Production on PV Module",
       "<p>Your Tigo system has detected a PV module with low energy production.</p>"},
      {25, 301, "Tigo Alert: Low Power Production on PV String",
       "<p>Your Tigo system has detected a string of PV modules with low energy production.</p>"},
      {12, 106, "Tigo Alert: String Shutdown",
       "<p>Your Tigo system has detected a string of PV modules that has shutdown.</p>"},
      {31, 210, "Tigo Alert: Module Not Reporting",
       "<p>A TS4 optimizer of your system has stopped reporting data.</p>"},
      {8, 102, "Tigo Alert: Cloud Connect Not Reporting",
       "<p>Your Tigo Cloud Connect has not checked in with the Tigo servers.</p>"},
      {42, 420, "Tigo Alert: PV-Off Activated &mdash; System Shutdown",
       "<p>PV-Off has been activated: your modules are shut down.</p>"},
      {47, 1000, "Tigo Alert: Tigo EI Inverter Fault",
       "<p>Your Tigo EI inverter reported a fault.</p>"},
  };
  return k;
}

const AlertType& by_unique(int unique_id) {
  for (const auto& t : types())
    if (t.unique_id == unique_id) return t;
  return types().front();
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

// Plane irradiance, W/m2, at which the optimizers are awake and reporting, and the mean over the
// hours a rule checks that makes a day sunny enough to judge production.
constexpr double kLightWM2 = 20;
constexpr double kSunnyWM2 = 200;

std::string wall(const date::time_zone* zone, sys_seconds t) {
  return date::format("%Y-%m-%d %H:%M", date::floor<std::chrono::minutes>(zone->to_local(t)));
}

}  // namespace

const std::vector<AlertType>& alert_types() { return types(); }

std::string alert_title(const AlertType& type, std::string_view language) {
  const std::string lang = upper(language);
  struct Tr {
    int unique_id;
    const char* lang;
    const char* title;
  };
  static const Tr kTr[] = {
      {300, "DE", "Tigo Alarm: Geringe Leistung eines PV-Moduls"},
      {301, "DE", "Tigo Alarm: Geringe Leistung eines PV-Strings"},
      {106, "DE", "Tigo Alarm: String abgeschaltet"},
      {210, "DE", "Tigo Alarm: Modul meldet keine Daten"},
      {102, "DE", "Tigo Alarm: Cloud Connect meldet sich nicht"},
      {420, "DE", "Tigo Alarm: PV-Off aktiviert &mdash; Anlage abgeschaltet"},
      {300, "ES", "Alerta Tigo: Baja producción en módulo FV"},
      {301, "ES", "Alerta Tigo: Baja producción en string FV"},
      {210, "ES", "Alerta Tigo: Módulo sin reportar"},
      {102, "ES", "Alerta Tigo: Cloud Connect sin reportar"},
      {420, "ES", "Alerta Tigo: PV-Off activado &mdash; Sistema apagado"},
      {300, "FR", "Alerte Tigo : Faible production d'un module PV"},
      {301, "FR", "Alerte Tigo : Faible production d'une chaîne PV"},
      {210, "FR", "Alerte Tigo : Module sans données"},
      {102, "FR", "Alerte Tigo : Cloud Connect hors ligne"},
      {420, "FR", "Alerte Tigo : PV-Off activé &mdash; Système arrêté"},
  };
  for (const auto& tr : kTr)
    if (tr.unique_id == type.unique_id && lang == tr.lang) return tr.title;
  return type.title;
}

std::vector<Alert> system_alerts(const SystemContext& c, sys_seconds now, sys_seconds since) {
  std::vector<Alert> out;
  const auto& f = c.fault;
  if (!f.active(now)) return out;
  const auto& s = c.spec;
  const std::int64_t id_base = 70'000'000 + s.system_id * 10'000;
  // n: the alert's place in the system's own sequence (its id), stable whatever the window.
  auto add = [&](std::int64_t n, int unique_id, sys_seconds generated, std::string message) {
    Alert a;
    a.alert_id = id_base + n;
    a.generated = generated;
    a.added = generated +
              std::chrono::seconds{
                  45 + static_cast<int>(mix(s.seed ^ static_cast<std::uint64_t>(n - 1)) % 60)};
    a.type = &by_unique(unique_id);
    a.message = std::move(message);
    if (a.added <= now && a.added >= since) out.push_back(std::move(a));
  };
  auto poa = [&](sys_seconds t) { return plane_irradiance_w_m2(s, t); };
  // Mean solar time `hour` of the UTC day `day` (hours past 24 fall on the next UTC day).
  auto solar = [&](date::sys_days day, double hour) {
    return sys_seconds{day} +
           std::chrono::seconds{static_cast<std::int64_t>(hour * 3600 - s.longitude * 240.0)};
  };
  auto sunny = [&](date::sys_days day, std::initializer_list<double> hours) {
    double sum = 0;
    for (double h : hours) sum += poa(solar(day, h));
    return sum / static_cast<double>(hours.size()) >= kSunnyWM2;
  };
  // The first grid point from `from` on where the panels have light (and still have an hour
  // later, when `for_an_hour`), within a month.
  auto first_light = [&](sys_seconds from, bool for_an_hour) -> std::optional<sys_seconds> {
    auto t = std::chrono::ceil<std::chrono::minutes>(from);
    for (int i = 0; i < 30 * 144; ++i, t += std::chrono::minutes{10}) {
      if (poa(t) >= kLightWM2 && (!for_an_hour || poa(t + std::chrono::hours{1}) >= kLightWM2))
        return t;
    }
    return std::nullopt;
  };
  const auto& topo = c.topo;
  const auto first_day = std::chrono::floor<date::days>(f.onset);
  switch (f.kind) {
    case FaultKind::ShadedPanel: {
      // Each afternoon the shadow fell on a lit panel (the sun on the plane through its
      // 14:30-17:30 solar window), assessed when the shadow leaves, at 17:30 solar time, or at
      // dusk when the light goes first.
      const auto& label = topo.panels[static_cast<std::size_t>(f.panel)].label;
      auto day = std::max(first_day, std::chrono::floor<date::days>(since) - date::days{2});
      // Ids stay within the system's 10,000 (27 years of afternoons).
      for (; solar(day, 17.5) <= now && day - first_day < date::days{9990}; day += date::days{1}) {
        if (solar(day, 14.5) < f.onset || !sunny(day, {15.0, 15.5, 16.0, 16.5, 17.0})) continue;
        auto at = solar(day, 15.0);  // or at dusk, when that comes first
        while (at < solar(day, 17.5) && poa(at) >= kLightWM2) at += std::chrono::minutes{10};
        at = std::min(at, solar(day, 17.5));
        add(1 + (day - first_day).count(), 300, at,
            "Panel ID: \n- Panel " + label + " (" + wall(c.zone, at) + ")");
      }
      break;
    }
    case FaultKind::DeadOptimizer:
      // Noticed after an hour of light in which its neighbours report and it does not.
      if (const auto t = first_light(f.onset, true)) {
        const auto at = *t + std::chrono::hours{1};
        add(1, 210, at,
            "Panel ID: \n- Panel " + topo.panels[static_cast<std::size_t>(f.panel)].label + " (" +
                wall(c.zone, at) + ")");
      }
      break;
    case FaultKind::WeakString:
      // Low production is judged on a day's production: at 16:00 solar time of the first sunny
      // day (10:00-14:00 solar) on which the string was weak from the morning on.
      for (auto day = first_day; day < first_day + date::days{400}; day += date::days{1}) {
        if (solar(day, 10.0) < f.onset || !sunny(day, {10.0, 11.0, 12.0, 13.0, 14.0})) continue;
        const auto at = solar(day, 16.0);
        add(1, 301, at,
            "String ID: \n- String " + topo.strings[static_cast<std::size_t>(f.string)].letter +
                " (" + wall(c.zone, at) + ")");
        break;
      }
      break;
    case FaultKind::GatewayStall:
      // The cloud misses its check-ins at any hour.
      add(1, 102, f.onset + std::chrono::hours{1},
          "Cloud Connect " + topo.gateway.mac + " last checked in " + wall(c.zone, f.onset));
      break;
    case FaultKind::PvOff:
      // The optimizers report their shutdown state once they have light: at once by day, at
      // dawn when it was engaged at night.
      if (const auto t =
              poa(f.onset) >= kLightWM2 ? std::optional{f.onset} : first_light(f.onset, false)) {
        add(1, 420, *t, "PV-Off activated (" + wall(c.zone, *t) + ")");
        add(2, 106, *t + std::chrono::minutes{5},
            "String ID: \n- all strings (" + wall(c.zone, *t) + ")");
      }
      break;
    case FaultKind::None:
      break;
  }
  return out;
}

}  // namespace sim
