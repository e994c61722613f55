#include "sim/alerts.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cctype>

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

std::vector<Alert> system_alerts(const SystemContext& c, sys_seconds now) {
  std::vector<Alert> out;
  const auto& f = c.fault;
  if (!f.active(now)) return out;
  const std::int64_t id_base = 70'000'000 + c.spec.system_id * 10'000;
  auto add = [&](int unique_id, sys_seconds generated, std::string message) {
    Alert a;
    a.alert_id = id_base + static_cast<std::int64_t>(out.size()) + 1;
    a.generated = generated;
    a.added =
        generated +
        std::chrono::seconds{
            45 + static_cast<int>(mix(c.spec.seed ^ static_cast<std::uint64_t>(out.size())) % 60)};
    a.type = &by_unique(unique_id);
    a.message = std::move(message);
    if (a.added <= now) out.push_back(std::move(a));
  };
  const auto& topo = c.topo;
  switch (f.kind) {
    case FaultKind::ShadedPanel: {
      const auto& label = topo.panels[static_cast<std::size_t>(f.panel)].label;
      // Every afternoon shadow from the onset on: 15:00 local solar time, the shadow's middle.
      const double lon_s = c.spec.longitude * 240.0;
      auto day = std::chrono::floor<date::days>(f.onset);
      for (int i = 0; i < 2000; ++i, day += date::days{1}) {
        const auto at =
            sys_seconds{day} + std::chrono::seconds{static_cast<std::int64_t>(15 * 3600 - lon_s)};
        if (at < f.onset) continue;
        if (at > now) break;
        add(300, at, "Panel ID: \n- Panel " + label + " (" + wall(c.zone, at) + ")");
      }
      break;
    }
    case FaultKind::DeadOptimizer:
      add(210, f.onset,
          "Panel ID: \n- Panel " + topo.panels[static_cast<std::size_t>(f.panel)].label + " (" +
              wall(c.zone, f.onset) + ")");
      break;
    case FaultKind::WeakString:
      add(301, f.onset,
          "String ID: \n- String " + topo.strings[static_cast<std::size_t>(f.string)].letter +
              " (" + wall(c.zone, f.onset) + ")");
      break;
    case FaultKind::GatewayStall:
      add(102, f.onset + std::chrono::hours{1},
          "Cloud Connect " + topo.gateway.mac + " last checked in " + wall(c.zone, f.onset));
      break;
    case FaultKind::PvOff:
      add(420, f.onset, "PV-Off activated (" + wall(c.zone, f.onset) + ")");
      add(106, f.onset + std::chrono::minutes{5},
          "String ID: \n- all strings (" + wall(c.zone, f.onset) + ")");
      break;
    case FaultKind::None:
      break;
  }
  return out;
}

}  // namespace sim
