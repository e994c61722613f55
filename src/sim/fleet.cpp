#include "sim/fleet.hpp"

#include <algorithm>
#include <cmath>

namespace sim {
namespace {

struct City {
  const char* name;
  const char* state;
  const char* country;
  const char* country_code;
  const char* timezone;
  double latitude;
  double longitude;
};

// Real places ordered by longitude, so systems picked along the golden-ratio sequence of
// longitudes are spread around the globe and some are in daylight at any hour.
constexpr City kCities[] = {
    {"Honolulu", "HI", "United States", "US", "Pacific/Honolulu", 21.31, -157.86},
    {"Anchorage", "AK", "United States", "US", "America/Anchorage", 61.22, -149.90},
    {"Los Angeles", "CA", "United States", "US", "America/Los_Angeles", 34.05, -118.24},
    {"Phoenix", "AZ", "United States", "US", "America/Phoenix", 33.45, -112.07},
    {"Denver", "CO", "United States", "US", "America/Denver", 39.74, -104.99},
    {"Mexico City", "CDMX", "Mexico", "MX", "America/Mexico_City", 19.43, -99.13},
    {"Austin", "TX", "United States", "US", "America/Chicago", 30.27, -97.74},
    {"New York", "NY", "United States", "US", "America/New_York", 40.71, -74.01},
    {"Santiago", "RM", "Chile", "CL", "America/Santiago", -33.45, -70.67},
    {"Sao Paulo", "SP", "Brazil", "BR", "America/Sao_Paulo", -23.55, -46.63},
    {"Lisbon", "Lisboa", "Portugal", "PT", "Europe/Lisbon", 38.72, -9.14},
    {"Madrid", "Madrid", "Spain", "ES", "Europe/Madrid", 40.42, -3.70},
    {"London", "England", "United Kingdom", "GB", "Europe/London", 51.51, -0.13},
    {"Berlin", "Berlin", "Germany", "DE", "Europe/Berlin", 52.52, 13.40},
    {"Cape Town", "WC", "South Africa", "ZA", "Africa/Johannesburg", -33.92, 18.42},
    {"Athens", "Attica", "Greece", "GR", "Europe/Athens", 37.98, 23.73},
    {"Nairobi", "Nairobi", "Kenya", "KE", "Africa/Nairobi", -1.29, 36.82},
    {"Dubai", "Dubai", "United Arab Emirates", "AE", "Asia/Dubai", 25.20, 55.27},
    {"Mumbai", "MH", "India", "IN", "Asia/Kolkata", 19.08, 72.88},
    {"Bangkok", "Bangkok", "Thailand", "TH", "Asia/Bangkok", 13.76, 100.50},
    {"Perth", "WA", "Australia", "AU", "Australia/Perth", -31.95, 115.86},
    {"Tokyo", "Tokyo", "Japan", "JP", "Asia/Tokyo", 35.68, 139.69},
    {"Sydney", "NSW", "Australia", "AU", "Australia/Sydney", -33.87, 151.21},
    {"Auckland", "Auckland", "New Zealand", "NZ", "Pacific/Auckland", -36.85, 174.76},
};

const char* const kKinds[] = {"Residence", "Farm", "Warehouse", "School", "Carport", "Winery"};
const char* const kStreets[] = {"Sunny Lane", "Main Street",  "Solar Way",
                                "Ridge Road", "Harbor Drive", "Oak Avenue"};

constexpr std::int64_t kFirstSystemId = 1001;

const City& nearest_city(double longitude) {
  const City* best = &kCities[0];
  double best_d = 1e9;
  for (const auto& c : kCities) {
    double d = std::fabs(c.longitude - longitude);
    d = std::min(d, 360.0 - d);
    if (d < best_d) {
      best_d = d;
      best = &c;
    }
  }
  return *best;
}

}  // namespace

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

Fleet::Fleet(FleetOptions options) : options_(options) {}

std::optional<std::size_t> Fleet::index_of(std::int64_t system_id) const {
  const std::int64_t i = system_id - kFirstSystemId;
  if (i < 0 || i >= options_.systems) return std::nullopt;
  return static_cast<std::size_t>(i);
}

SystemSpec Fleet::system(std::size_t index) const {
  SystemSpec s;
  s.index = index;
  s.system_id = kFirstSystemId + static_cast<std::int64_t>(index);
  s.seed = mix(options_.seed * 0x100000001B3ULL + index);
  const std::uint64_t h = s.seed;

  // Golden-ratio sequence of longitudes, offset by the seed.
  const double offset = unit(mix(options_.seed));
  const double frac = std::fmod(offset + static_cast<double>(index) * 0.6180339887498949, 1.0);
  const City& city = nearest_city(frac * 360.0 - 180.0);
  s.city = city.name;
  s.state = city.state;
  s.country = city.country;
  s.country_code = city.country_code;
  s.timezone = city.timezone;
  // Within ~30 km of the city, so systems of one city differ a little.
  s.latitude = std::round((city.latitude + (unit(mix(h + 1)) - 0.5) * 0.5) * 1e6) / 1e6;
  s.longitude = std::round((city.longitude + (unit(mix(h + 2)) - 0.5) * 0.5) * 1e6) / 1e6;

  const char* kind = kKinds[mix(h + 3) % std::size(kKinds)];
  s.name = std::string(city.name) + " " + kind + " " + std::to_string(s.system_id);
  // Some names carry what label escaping must survive: quotes, backslash, UTF-8.
  if (index % 7 == 3) s.name = std::string("M\xC3\xBCller's \"Sonnen\\Dach\" ") + city.name;
  s.external_id = "EXT-" + std::to_string(s.system_id);
  s.street =
      std::to_string(1 + mix(h + 4) % 9000) + " " + kStreets[mix(h + 5) % std::size(kStreets)];
  s.zip = std::to_string(10000 + mix(h + 6) % 89999);

  const double abs_lat = std::fabs(s.latitude);
  s.plane.tilt_deg =
      std::clamp(std::round(abs_lat * 0.8 + (unit(mix(h + 7)) - 0.5) * 10), 5.0, 40.0);
  // Face the equator, give or take 30 degrees.
  const double equator = s.latitude >= 0 ? 180.0 : 0.0;
  s.plane.azimuth_deg = std::fmod(equator + (unit(mix(h + 8)) - 0.5) * 60.0 + 360.0, 360.0);

  s.panels = options_.panels_per_system;
  s.panel_rated_w = 300.0 + 5.0 * static_cast<double>(mix(h + 9) % 31);  // 300..450 W
  s.panel_vmp_v = 30.0 + 0.5 * static_cast<double>(mix(h + 10) % 21);    // 30..40 V

  // Turned on between mid 2021 and the start of 2024, created a month before.
  const auto epoch = std::chrono::sys_days{std::chrono::year{2024} / 1 / 1};
  s.turn_on = epoch - std::chrono::days{static_cast<int>(mix(h + 11) % 900)};
  s.created = std::chrono::sys_seconds{s.turn_on - std::chrono::days{30}} +
              std::chrono::seconds{static_cast<int>(mix(h + 12) % 86400)};
  // Reconfigured (a panel swapped, a label renamed) up to two years after turn-on.
  s.config_updated = std::chrono::sys_seconds{s.turn_on} + std::chrono::days{1} +
                     std::chrono::seconds{static_cast<std::int64_t>(mix(h + 13) % (730 * 86400))};
  return s;
}

pv::PanelSpec Fleet::panel(const SystemSpec& system, int panel_index) const {
  const std::uint64_t h =
      mix(system.seed ^ (0xA5A5A5A5ULL + static_cast<std::uint64_t>(panel_index)));
  // A few percent of manufacturing spread.
  const double spread = 0.97 + 0.06 * unit(h);
  // Voltage spreads too (+-1.5 %); the power does not depend on it (the model is linear in
  // current and voltage scales cancel), so system energy stays rating x reference panel.
  const double vmp = system.panel_vmp_v * (0.985 + 0.03 * unit(mix(h + 1)));
  return pv::PanelSpec{system.panel_rated_w, vmp, spread};
}

double Fleet::effective_rating_w(const SystemSpec& system) const {
  double sum = 0;
  for (int i = 0; i < system.panels; ++i) {
    const auto p = panel(system, i);
    sum += p.rated_w * p.efficiency_factor;
  }
  return sum;
}

std::vector<std::string> Fleet::time_zones() {
  std::vector<std::string> out;
  for (const auto& c : kCities) out.emplace_back(c.timezone);
  return out;
}

}  // namespace sim
