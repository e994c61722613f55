#include "sim/data_csv.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "util/time.hpp"

namespace sim {
namespace {

using std::chrono::ceil;
using std::chrono::floor;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr std::int64_t kEmpty = std::numeric_limits<std::int64_t>::min();

sys_seconds local_to_sys(const date::time_zone* zone, date::local_seconds l) {
  const auto info = zone->get_info(l);
  if (info.result == date::local_info::nonexistent) return floor<seconds>(info.second.begin);
  return zone->to_sys(l, date::choose::earliest);
}

int decimals(Param p, AggregateLevel level) {
  switch (p) {
    case Param::Pin:
      return level == AggregateLevel::Day ? 2 : 3;
    case Param::Vin:
    case Param::Temp:
      return 1;
    case Param::Iin:
      return 2;
    case Param::Rssi:
      return 0;
  }
  return 0;
}

std::int64_t sample_value(const Sample& x, Param p) {
  switch (p) {
    case Param::Pin:
      return x.mw;
    case Param::Vin:
      return x.dv;
    case Param::Iin:
      return x.ca;
    case Param::Rssi:
      return x.rssi;
    case Param::Temp:
      return std::llround(x.temp_c * 10);
  }
  return 0;
}

// The gateway's own column: the sum (Pin) or the mean (the rest) of its reporting panels.
std::int64_t gateway_value(const std::vector<Sample>& samples, Param p) {
  std::int64_t sum = 0, n = 0;
  for (const auto& x : samples) {
    if (!x.present) continue;
    sum += sample_value(x, p);
    ++n;
  }
  if (n == 0) return kEmpty;
  if (p == Param::Pin) return sum;
  return static_cast<std::int64_t>(std::llround(static_cast<double>(sum) / static_cast<double>(n)));
}

struct Column {
  int panel = -1;  // a panel's column
  bool gateway = false;
  std::string header;
};

void append_row(std::string& out, const std::string& stamp, const std::int64_t* cells,
                std::size_t n, const std::vector<char>& keep, int dec) {
  out += stamp;
  for (std::size_t j = 0; j < n; ++j) {
    if (!keep[j]) continue;
    out += ',';
    if (cells[j] != kEmpty) append_scaled(out, cells[j], dec);
  }
  out += '\n';
}

}  // namespace

void append_scaled(std::string& out, std::int64_t value, int decimals) {
  if (value < 0) {
    out += '-';
    value = -value;
  }
  std::int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  out += std::to_string(value / scale);
  std::int64_t frac = value % scale;
  if (frac == 0) return;
  int digits = decimals;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  const std::string f = std::to_string(frac);
  out += '.';
  out.append(static_cast<std::size_t>(digits) - f.size(), '0');
  out += f;
}

std::optional<sys_seconds> parse_site_time(std::string_view text, const date::time_zone* zone) {
  const auto abs = util::parse_iso8601(text);
  if (!abs) return std::nullopt;
  const auto t = text.find_first_of("T ");
  if (t != std::string_view::npos &&
      text.substr(t + 1).find_first_of("Zz+-") != std::string_view::npos)
    return abs;
  return local_to_sys(zone, date::local_seconds{abs->time_since_epoch()});
}

std::string local_stamp(const date::time_zone* zone, sys_seconds t, int millis) {
  const auto local = zone->to_local(t);
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> tod{local - day};
  char buf[40];
  if (millis >= 0) {
    std::snprintf(buf, sizeof buf, "%04d/%02u/%02u %02d:%02d:%02d.%03d",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                  static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                  millis);
  } else {
    std::snprintf(buf, sizeof buf, "%04d/%02u/%02u %02d:%02d:%02d", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()));
  }
  return buf;
}

std::optional<Param> parse_param(std::string_view s) {
  if (s == "Pin") return Param::Pin;
  if (s == "Vin") return Param::Vin;
  if (s == "Iin") return Param::Iin;
  if (s == "RSSI") return Param::Rssi;
  if (s == "Temp") return Param::Temp;
  return std::nullopt;
}

const char* param_name(Param p) {
  switch (p) {
    case Param::Pin:
      return "Pin";
    case Param::Vin:
      return "Vin";
    case Param::Iin:
      return "Iin";
    case Param::Rssi:
      return "RSSI";
    case Param::Temp:
      return "Temp";
  }
  return "";
}

std::string aggregate_csv(const PowerModel& model, const SystemContext& c, const AggregateQuery& q,
                          const DataAvailability& a, sys_seconds now, const Quirks& quirks) {
  const auto& topo = c.topo;
  const std::uint64_t sh = c.spec.seed;
  if (q.param == Param::Temp && !c.has_temp) return "Datetime\n";
  // Known live anomaly: a short window answers nothing while a wider one has rows.
  if (quirks.header_only && mix(sh ^ 0x4E4FULL) % 8 == 0 && q.end - q.start < minutes{20})
    return "Datetime\n";

  std::vector<Column> cols;
  const std::string suffix = std::string("_") + param_name(q.param);
  auto panel_column = [&](int i) {
    Column col;
    col.panel = i;
    col.header = q.header_key ? topo.datasource(i) + suffix
                              : std::to_string(topo.panels[static_cast<std::size_t>(i)].object_id);
    return col;
  };
  auto gateway_column = [&] {
    Column col;
    col.gateway = true;
    col.header =
        q.header_key ? topo.gateway.mac + ".cca" + suffix : std::to_string(topo.gateway.object_id);
    return col;
  };
  if (q.has_object_ids) {
    for (const auto id : q.object_ids) {
      const auto sel = topo.select(id);
      if (sel.type == ObjectType::Panel) {
        cols.push_back(panel_column(sel.panels.front()));
      } else if (sel.type == ObjectType::Cca) {
        cols.push_back(gateway_column());
      } else {
        Column col;  // an object without data of its own: an empty column
        col.header = std::to_string(id) + (q.header_key ? suffix : "");
        cols.push_back(col);
      }
    }
  } else {
    for (int i = 0; i < static_cast<int>(topo.panels.size()); ++i) cols.push_back(panel_column(i));
    if (q.sensors) cols.push_back(gateway_column());
  }
  const bool has_gateway =
      std::any_of(cols.begin(), cols.end(), [](const Column& col) { return col.gateway; });
  const std::size_t n = cols.size();
  const int dec = decimals(q.param, q.level);

  std::vector<sys_seconds> times;
  std::vector<std::int64_t> cells;
  std::vector<char> has_value(n, 0);
  std::vector<Sample> samples;

  if (q.level == AggregateLevel::Minute) {
    const auto newest = has_gateway ? std::max(a.last_min, a.sensor_last) : a.last_min;
    const auto first = ceil<minutes>(q.start);
    const auto last = std::min(sys_seconds{floor<minutes>(q.end)}, newest);
    const auto batch = static_cast<std::uint64_t>(a.last_min.time_since_epoch().count() / 60);
    std::vector<std::int64_t> row(n);
    for (sys_seconds m = first; m <= last; m += minutes{1}) {
      model.minute(c, m, samples);
      bool any = false;
      for (std::size_t j = 0; j < n; ++j) {
        std::int64_t v = kEmpty;
        const auto& col = cols[j];
        if (col.panel >= 0) {
          // Uneven rows: each panel's newest minutes reach the cloud with some lag.
          const auto lag =
              quirks.uneven_rows
                  ? minutes{static_cast<int>(
                        mix(sh ^ (static_cast<std::uint64_t>(col.panel) * 7919) ^ batch) % 3)}
                  : minutes{0};
          const auto& x = samples[static_cast<std::size_t>(col.panel)];
          if (m <= a.last_min - lag && x.present) v = sample_value(x, q.param);
        } else if (col.gateway && m <= a.sensor_last) {
          v = gateway_value(samples, q.param);
        }
        row[j] = v;
        if (v != kEmpty) {
          any = true;
          has_value[j] = 1;
        }
      }
      if (!any) continue;
      times.push_back(m);
      cells.insert(cells.end(), row.begin(), row.end());
    }
  } else {
    const auto first_day = date::floor<date::days>(c.zone->to_local(q.start));
    const auto last_day = date::floor<date::days>(c.zone->to_local(std::min(q.end, a.last_min)));
    std::vector<double> wh;
    std::vector<std::int64_t> sum(n), count(n), row(n);
    for (auto d = first_day; d <= last_day; d += date::days{1}) {
      const auto ds = local_to_sys(c.zone, date::local_seconds{d.time_since_epoch()});
      const auto de =
          local_to_sys(c.zone, date::local_seconds{(d + date::days{1}).time_since_epoch()});
      const auto we = std::min(de, a.last_min + minutes{1});
      if (we <= ds) continue;
      std::vector<char> present(c.panels.size(), 0);
      std::vector<std::int64_t> psum(c.panels.size(), 0), pcount(c.panels.size(), 0);
      const auto step = PowerModel::kEnergyStep;
      // Pin needs only the energies; presence follows from daylight and the dead optimizer.
      const bool daylight = q.param == Param::Pin && model.panel_energies(c, ds, we, wh);
      if (q.param == Param::Pin) {
        for (std::size_t i = 0; i < present.size(); ++i)
          present[i] = static_cast<char>(daylight && !(c.fault.kind == FaultKind::DeadOptimizer &&
                                                       static_cast<int>(i) == c.fault.panel &&
                                                       c.fault.active(ds)));
      }
      for (auto k = ceil<seconds>(ds) +
                    seconds{(step.count() - ds.time_since_epoch().count() % step.count()) %
                            step.count()};
           q.param != Param::Pin && k < we; k += step) {
        model.minute(c, k, samples);
        for (std::size_t i = 0; i < samples.size(); ++i) {
          const auto& x = samples[i];
          if (!x.present) continue;
          present[i] = 1;
          const bool counts = q.param == Param::Rssi || q.param == Param::Temp || x.mw > 0;
          if (!counts) continue;
          psum[i] += sample_value(x, q.param);
          ++pcount[i];
        }
      }
      auto panel_value = [&](std::size_t i) -> std::int64_t {
        if (!present[i]) return kEmpty;
        if (q.param == Param::Pin) return std::llround(wh[i] * 100);
        if (pcount[i] == 0) return 0;
        return std::llround(static_cast<double>(psum[i]) / static_cast<double>(pcount[i]));
      };
      bool any = false;
      for (std::size_t j = 0; j < n; ++j) {
        std::int64_t v = kEmpty;
        if (cols[j].panel >= 0) {
          v = panel_value(static_cast<std::size_t>(cols[j].panel));
        } else if (cols[j].gateway) {
          std::int64_t s = 0, cnt = 0;
          for (std::size_t i = 0; i < c.panels.size(); ++i) {
            const auto pv = panel_value(i);
            if (pv == kEmpty) continue;
            s += pv;
            ++cnt;
          }
          if (cnt > 0) v = q.param == Param::Pin ? s : s / cnt;
        }
        row[j] = v;
        if (v != kEmpty) {
          any = true;
          has_value[j] = 1;
        }
      }
      if (!any) continue;
      times.push_back(ds);
      cells.insert(cells.end(), row.begin(), row.end());
    }
  }

  // Without object_ids only columns with data appear ("header can change in this format").
  std::vector<char> keep(n, 1);
  if (!q.has_object_ids) keep = has_value;
  std::string out = "Datetime";
  for (std::size_t j = 0; j < n; ++j) {
    if (!keep[j]) continue;
    out += ',';
    out += cols[j].header;
  }
  out += '\n';
  if (std::none_of(keep.begin(), keep.end(), [](char k) { return k != 0; })) return out;
  out.reserve(out.size() + times.size() * (22 + n * 7));
  const bool millis_system = quirks.millis && mix(sh ^ 0x3111ULL) % 2 == 0;
  for (std::size_t r = 0; r < times.size(); ++r) {
    int ms = -1;
    const auto mh = mix(sh ^ static_cast<std::uint64_t>(times[r].time_since_epoch().count()));
    if (q.level == AggregateLevel::Minute && millis_system && mh % 5 == 0)
      ms = static_cast<int>((mh >> 8) % 4) * 250;
    append_row(out, local_stamp(c.zone, times[r], ms), &cells[r * n], n, keep, dec);
  }
  // Rows a few minutes ahead of now, repeating the newest values (a gateway clock running fast).
  if (quirks.future_rows && q.level == AggregateLevel::Minute && !times.empty() &&
      mix(sh ^ 0xF7ULL) % 3 == 0 && q.end >= now - minutes{1} && !a.stalled) {
    const auto fh = mix(sh ^ static_cast<std::uint64_t>(now.time_since_epoch().count() / 600));
    const int rows = 1 + static_cast<int>(fh % 2);
    for (int k = 0; k < rows; ++k) {
      const auto at = floor<minutes>(now) + minutes{2 + static_cast<int>((fh >> 4) % 4) + k};
      append_row(out, local_stamp(c.zone, at), &cells[(times.size() - 1) * n], n, keep, dec);
    }
  }
  return out;
}

std::optional<CombinedLevel> parse_combined_level(std::string_view s) {
  if (s == "minute" || s == "mi") return CombinedLevel::Minute;
  if (s == "hour" || s == "h") return CombinedLevel::Hour;
  if (s == "day" || s == "d") return CombinedLevel::Day;
  if (s == "month" || s == "m") return CombinedLevel::Month;
  if (s == "year" || s == "y") return CombinedLevel::Year;
  return std::nullopt;
}

std::chrono::seconds combined_range_limit(CombinedLevel level) {
  switch (level) {
    case CombinedLevel::Minute:
      return hours{24} + minutes{1};
    case CombinedLevel::Hour:
      return hours{24 * 367};  // a year of hours: the document's own example asks for one
    case CombinedLevel::Day:
      return hours{24 * 366};
    case CombinedLevel::Month:
      return hours{24 * 366 * 2};
    case CombinedLevel::Year:
      return hours{24 * 366 * 5};
  }
  return hours{24};
}

std::string combined_csv(const PowerModel& model, const SystemContext& c, const CombinedQuery& q,
                         const DataAvailability& a) {
  const auto& topo = c.topo;
  std::vector<std::vector<int>> selections;
  std::string out = "DATETIME";
  for (const auto id : q.object_ids) {
    selections.push_back(topo.select(id).panels);
    out += ',';
    out += std::to_string(id);
  }
  out += '\n';
  const std::size_t n = selections.size();
  if (q.level == CombinedLevel::Minute) {
    std::vector<Sample> samples;
    const auto last = std::min(sys_seconds{floor<minutes>(q.end)}, a.last_min);
    // No rows before turn-on: a system not installed yet has no data, not zeros.
    for (sys_seconds m =
             std::max(sys_seconds{ceil<minutes>(q.start)}, sys_seconds{ceil<minutes>(c.turn_on)});
         m <= last; m += minutes{1}) {
      model.minute(c, m, samples);
      out += local_stamp(c.zone, m, 0);
      for (std::size_t j = 0; j < n; ++j) {
        std::int64_t mw = 0;
        for (int i : selections[j]) mw += samples[static_cast<std::size_t>(i)].mw;
        out += ',';
        append_scaled(out, mw, 3);
      }
      out += '\n';
    }
    return out;
  }
  // Buckets on the site's wall clock; above hour from 00:00:00 of the start's day.
  auto bucket_start = [&](sys_seconds t) {
    const auto local = c.zone->to_local(t);
    const auto day = date::floor<date::days>(local);
    const date::year_month_day ymd{day};
    switch (q.level) {
      case CombinedLevel::Hour:
        return date::local_seconds{date::floor<hours>(local)};
      case CombinedLevel::Day:
        return date::local_seconds{day};
      case CombinedLevel::Month:
        return date::local_seconds{date::local_days{ymd.year() / ymd.month() / 1}};
      case CombinedLevel::Year:
      case CombinedLevel::Minute:
        break;
    }
    return date::local_seconds{date::local_days{ymd.year() / 1 / 1}};
  };
  auto next_bucket = [&](date::local_seconds b) {
    const auto day = date::floor<date::days>(b);
    const date::year_month_day ymd{day};
    switch (q.level) {
      case CombinedLevel::Hour:
        return b + hours{1};
      case CombinedLevel::Day:
        return date::local_seconds{day + date::days{1}};
      case CombinedLevel::Month:
        return date::local_seconds{
            date::local_days{(ymd.year() / ymd.month() + date::months{1}) / 1}};
      case CombinedLevel::Year:
      case CombinedLevel::Minute:
        break;
    }
    return date::local_seconds{date::local_days{(ymd.year() + date::years{1}) / 1 / 1}};
  };
  const auto limit = a.last_min + minutes{1};
  for (auto b = bucket_start(q.start);; b = next_bucket(b)) {
    const auto from = local_to_sys(c.zone, b);
    if (from > q.end || from >= limit) break;
    const auto to = std::min(local_to_sys(c.zone, next_bucket(b)), limit);
    if (to <= from) continue;       // a wall-clock hour that DST skipped
    if (to <= c.turn_on) continue;  // not installed yet: no row
    out += local_stamp(c.zone, from, 0);
    for (std::size_t j = 0; j < n; ++j) {
      out += ',';
      append_scaled(out, std::llround(model.energy_between(c, selections[j], from, to) * 100), 2);
    }
    out += '\n';
  }
  return out;
}

}  // namespace sim
