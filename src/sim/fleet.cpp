#include "sim/fleet.hpp"

#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

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
  bool global;  // one of the default fleet's places around the globe
};

// Real places. The global ones are ordered by longitude, so systems picked along the golden-ratio
// sequence of longitudes are spread around the globe and some are in daylight at any hour; the
// others give a fleet placed in a few zones (--zones, --region) real towns to spread over.
constexpr City kCities[] = {
    {"Honolulu", "HI", "United States", "US", "Pacific/Honolulu", 21.31, -157.86, true},
    {"Anchorage", "AK", "United States", "US", "America/Anchorage", 61.22, -149.90, true},
    {"Los Angeles", "CA", "United States", "US", "America/Los_Angeles", 34.05, -118.24, true},
    {"Phoenix", "AZ", "United States", "US", "America/Phoenix", 33.45, -112.07, true},
    {"Denver", "CO", "United States", "US", "America/Denver", 39.74, -104.99, true},
    {"Mexico City", "CDMX", "Mexico", "MX", "America/Mexico_City", 19.43, -99.13, true},
    {"Austin", "TX", "United States", "US", "America/Chicago", 30.27, -97.74, true},
    {"New York", "NY", "United States", "US", "America/New_York", 40.71, -74.01, true},
    {"Santiago", "RM", "Chile", "CL", "America/Santiago", -33.45, -70.67, true},
    {"Sao Paulo", "SP", "Brazil", "BR", "America/Sao_Paulo", -23.55, -46.63, true},
    {"Lisbon", "Lisboa", "Portugal", "PT", "Europe/Lisbon", 38.72, -9.14, true},
    {"Madrid", "Madrid", "Spain", "ES", "Europe/Madrid", 40.42, -3.70, true},
    {"London", "England", "United Kingdom", "GB", "Europe/London", 51.51, -0.13, true},
    {"Berlin", "Berlin", "Germany", "DE", "Europe/Berlin", 52.52, 13.40, true},
    {"Cape Town", "WC", "South Africa", "ZA", "Africa/Johannesburg", -33.92, 18.42, true},
    {"Athens", "Attica", "Greece", "GR", "Europe/Athens", 37.98, 23.73, true},
    {"Nairobi", "Nairobi", "Kenya", "KE", "Africa/Nairobi", -1.29, 36.82, true},
    {"Dubai", "Dubai", "United Arab Emirates", "AE", "Asia/Dubai", 25.20, 55.27, true},
    {"Mumbai", "MH", "India", "IN", "Asia/Kolkata", 19.08, 72.88, true},
    {"Bangkok", "Bangkok", "Thailand", "TH", "Asia/Bangkok", 13.76, 100.50, true},
    {"Perth", "WA", "Australia", "AU", "Australia/Perth", -31.95, 115.86, true},
    {"Tokyo", "Tokyo", "Japan", "JP", "Asia/Tokyo", 35.68, 139.69, true},
    {"Sydney", "NSW", "Australia", "AU", "Australia/Sydney", -33.87, 151.21, true},
    {"Auckland", "Auckland", "New Zealand", "NZ", "Pacific/Auckland", -36.85, 174.76, true},

    {"San Francisco", "CA", "United States", "US", "America/Los_Angeles", 37.77, -122.42, false},
    {"San Diego", "CA", "United States", "US", "America/Los_Angeles", 32.72, -117.16, false},
    {"Sacramento", "CA", "United States", "US", "America/Los_Angeles", 38.58, -121.49, false},
    {"Fresno", "CA", "United States", "US", "America/Los_Angeles", 36.74, -119.79, false},
    {"Bakersfield", "CA", "United States", "US", "America/Los_Angeles", 35.37, -119.02, false},
    {"Seattle", "WA", "United States", "US", "America/Los_Angeles", 47.61, -122.33, false},
    {"Portland", "OR", "United States", "US", "America/Los_Angeles", 45.52, -122.68, false},
    {"Las Vegas", "NV", "United States", "US", "America/Los_Angeles", 36.17, -115.14, false},
    {"Reno", "NV", "United States", "US", "America/Los_Angeles", 39.53, -119.81, false},
    {"Tucson", "AZ", "United States", "US", "America/Phoenix", 32.22, -110.97, false},
    {"Mesa", "AZ", "United States", "US", "America/Phoenix", 33.42, -111.83, false},
    {"Flagstaff", "AZ", "United States", "US", "America/Phoenix", 35.20, -111.65, false},
    {"Salt Lake City", "UT", "United States", "US", "America/Denver", 40.76, -111.89, false},
    {"Albuquerque", "NM", "United States", "US", "America/Denver", 35.08, -106.65, false},
    {"Santa Fe", "NM", "United States", "US", "America/Denver", 35.69, -105.94, false},
    {"Colorado Springs", "CO", "United States", "US", "America/Denver", 38.83, -104.82, false},
    {"El Paso", "TX", "United States", "US", "America/Denver", 31.76, -106.49, false},
    {"Cheyenne", "WY", "United States", "US", "America/Denver", 41.14, -104.82, false},
    {"Billings", "MT", "United States", "US", "America/Denver", 45.78, -108.50, false},
    {"Chicago", "IL", "United States", "US", "America/Chicago", 41.88, -87.63, false},
    {"Houston", "TX", "United States", "US", "America/Chicago", 29.76, -95.37, false},
    {"Dallas", "TX", "United States", "US", "America/Chicago", 32.78, -96.80, false},
    {"San Antonio", "TX", "United States", "US", "America/Chicago", 29.42, -98.49, false},
    {"Minneapolis", "MN", "United States", "US", "America/Chicago", 44.98, -93.27, false},
    {"Kansas City", "MO", "United States", "US", "America/Chicago", 39.10, -94.58, false},
    {"New Orleans", "LA", "United States", "US", "America/Chicago", 29.95, -90.07, false},
    {"Boston", "MA", "United States", "US", "America/New_York", 42.36, -71.06, false},
    {"Philadelphia", "PA", "United States", "US", "America/New_York", 39.95, -75.17, false},
    {"Washington", "DC", "United States", "US", "America/New_York", 38.91, -77.04, false},
    {"Raleigh", "NC", "United States", "US", "America/New_York", 35.78, -78.64, false},
    {"Charlotte", "NC", "United States", "US", "America/New_York", 35.23, -80.84, false},
    {"Atlanta", "GA", "United States", "US", "America/New_York", 33.75, -84.39, false},
    {"Miami", "FL", "United States", "US", "America/New_York", 25.76, -80.19, false},
    {"Porto", "Porto", "Portugal", "PT", "Europe/Lisbon", 41.15, -8.61, false},
    {"Seville", "Andalusia", "Spain", "ES", "Europe/Madrid", 37.39, -5.98, false},
    {"Valencia", "Valencia", "Spain", "ES", "Europe/Madrid", 39.47, -0.38, false},
    {"Barcelona", "Catalonia", "Spain", "ES", "Europe/Madrid", 41.39, 2.17, false},
    {"Manchester", "England", "United Kingdom", "GB", "Europe/London", 53.48, -2.24, false},
    {"Bristol", "England", "United Kingdom", "GB", "Europe/London", 51.45, -2.59, false},
    {"Paris", "IDF", "France", "FR", "Europe/Paris", 48.86, 2.35, false},
    {"Lyon", "ARA", "France", "FR", "Europe/Paris", 45.76, 4.84, false},
    {"Marseille", "PACA", "France", "FR", "Europe/Paris", 43.30, 5.37, false},
    {"Amsterdam", "NH", "Netherlands", "NL", "Europe/Amsterdam", 52.37, 4.90, false},
    {"Freiburg", "BW", "Germany", "DE", "Europe/Berlin", 47.99, 7.84, false},
    {"Munich", "BY", "Germany", "DE", "Europe/Berlin", 48.14, 11.58, false},
    {"Hamburg", "HH", "Germany", "DE", "Europe/Berlin", 53.55, 9.99, false},
    {"Zurich", "ZH", "Switzerland", "CH", "Europe/Zurich", 47.38, 8.54, false},
    {"Milan", "Lombardy", "Italy", "IT", "Europe/Rome", 45.46, 9.19, false},
    {"Rome", "Lazio", "Italy", "IT", "Europe/Rome", 41.90, 12.50, false},
    {"Vienna", "Vienna", "Austria", "AT", "Europe/Vienna", 48.21, 16.37, false},
    {"Bunbury", "WA", "Australia", "AU", "Australia/Perth", -33.33, 115.64, false},
    {"Darwin", "NT", "Australia", "AU", "Australia/Darwin", -12.46, 130.84, false},
    {"Adelaide", "SA", "Australia", "AU", "Australia/Adelaide", -34.93, 138.60, false},
    {"Brisbane", "QLD", "Australia", "AU", "Australia/Brisbane", -27.47, 153.03, false},
    {"Newcastle", "NSW", "Australia", "AU", "Australia/Sydney", -32.93, 151.78, false},
    {"Canberra", "ACT", "Australia", "AU", "Australia/Sydney", -35.28, 149.13, false},
    {"Melbourne", "VIC", "Australia", "AU", "Australia/Melbourne", -37.81, 144.96, false},
    {"Hobart", "TAS", "Australia", "AU", "Australia/Hobart", -42.88, 147.33, false},
};

struct Region {
  const char* name;
  std::vector<std::string_view> zones;
};

// Named regions of --region: the zones of a fleet an installer of that region would have.
const std::vector<Region>& regions() {
  static const std::vector<Region> table{
      {"us-west", {"America/Los_Angeles", "America/Phoenix", "America/Denver"}},
      {"us-central", {"America/Chicago"}},
      {"us-east", {"America/New_York"}},
      {"us",
       {"America/Los_Angeles", "America/Phoenix", "America/Denver", "America/Chicago",
        "America/New_York"}},
      {"europe",
       {"Europe/Lisbon", "Europe/London", "Europe/Madrid", "Europe/Paris", "Europe/Amsterdam",
        "Europe/Berlin", "Europe/Zurich", "Europe/Rome", "Europe/Vienna", "Europe/Athens"}},
      {"australia",
       {"Australia/Perth", "Australia/Darwin", "Australia/Adelaide", "Australia/Brisbane",
        "Australia/Sydney", "Australia/Melbourne", "Australia/Hobart"}},
  };
  return table;
}

bool has_cities(std::string_view zone) {
  return std::any_of(std::begin(kCities), std::end(kCities),
                     [&](const City& c) { return zone == c.timezone; });
}

const char* const kKinds[] = {"Residence", "Farm", "Warehouse", "School", "Carport", "Winery"};
const char* const kStreets[] = {"Sunny Lane", "Main Street",  "Solar Way",
                                "Ridge Road", "Harbor Drive", "Oak Avenue"};

constexpr std::int64_t kFirstSystemId = 1001;

const City& nearest_city(double longitude) {
  const City* best = &kCities[0];
  double best_d = 1e9;
  for (const auto& c : kCities) {
    if (!c.global) continue;
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

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {
  for (std::size_t i = 0; i < std::size(kCities); ++i)
    if (std::find(options_.zones.begin(), options_.zones.end(), kCities[i].timezone) !=
        options_.zones.end())
      places_.push_back(i);
  for (const auto& zone : options_.zones)
    if (!has_cities(zone)) throw std::invalid_argument("no simulated towns in " + zone);
}

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

  // Golden-ratio sequence, offset by the seed: of longitudes around the globe, or of the towns
  // in the chosen zones.
  const double offset = unit(mix(options_.seed));
  const double frac = std::fmod(offset + static_cast<double>(index) * 0.6180339887498949, 1.0);
  const City& city =
      places_.empty() ? nearest_city(frac * 360.0 - 180.0)
                      : kCities[places_[std::min(
                            places_.size() - 1,
                            static_cast<std::size_t>(frac * static_cast<double>(places_.size())))]];
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
  s.config_updated =
      std::chrono::sys_seconds{s.turn_on} + std::chrono::days{1} +
      std::chrono::seconds{static_cast<std::int64_t>(mix(h + 13) % (730ULL * 86400))};
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
  for (const auto& c : kCities)
    if (std::find(out.begin(), out.end(), c.timezone) == out.end()) out.emplace_back(c.timezone);
  return out;
}

util::Result<std::vector<std::string>> placement_zones(std::string_view zones,
                                                       std::string_view region) {
  std::vector<std::string> out;
  auto add = [&](std::string_view zone) {
    if (std::find(out.begin(), out.end(), zone) == out.end()) out.emplace_back(zone);
  };
  if (!region.empty()) {
    const auto& all = regions();
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Region& r) { return region == r.name; });
    if (it == all.end())
      return util::make_error("--region: unknown region \"" + std::string(region) + "\" (" +
                              region_names() + ")");
    for (const auto zone : it->zones) add(zone);
  }
  for (std::size_t pos = 0; pos <= zones.size() && !zones.empty();) {
    const auto comma = std::min(zones.find(',', pos), zones.size());
    const auto zone = zones.substr(pos, comma - pos);
    pos = comma + 1;
    if (zone.empty()) continue;
    if (!has_cities(zone)) {
      bool iana = true;
      try {
        (void)date::locate_zone(zone);
      } catch (const std::exception&) {
        iana = false;
      }
      return util::make_error("--zones: " +
                              (iana ? "no simulated towns in \"" + std::string(zone) + "\""
                                    : "\"" + std::string(zone) + "\" is not an IANA time zone") +
                              " (tigo_sim --list-zones lists the zones it has towns in)");
    }
    add(zone);
  }
  return out;
}

// Appends `item` to a `sep`-separated list (appends, not "sep" + std::string: GCC 12 at -O3 warns
// a false -Wrestrict on operator+(const char*, string&&)).
static void append_listed(std::string& list, std::string_view sep, std::string_view item) {
  if (!list.empty()) list.append(sep);
  list.append(item);
}

std::string region_names() {
  std::string out;
  for (const auto& r : regions()) append_listed(out, ", ", r.name);
  return out;
}

std::string zones_listing() {
  std::string out;
  for (const auto& zone : Fleet::time_zones()) {
    std::string towns, in;
    for (const auto& c : kCities)
      if (zone == c.timezone) append_listed(towns, ", ", c.name);
    for (const auto& r : regions())
      if (std::find(r.zones.begin(), r.zones.end(), zone) != r.zones.end())
        append_listed(in, " ", r.name);
    out.append(zone).append(": ").append(towns);
    if (!in.empty()) out.append(" [").append(in).append("]");
    out.append("\n");
  }
  return out;
}

}  // namespace sim
