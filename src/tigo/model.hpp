// Plain data as the Tigo API v3 describes it, in the API's units (Wh, W); no behaviour.
// Every optional field of the document is std::optional or an empty string: the real API sends
// null for many of them. Times are UTC (std::chrono::sys_seconds), parsed from ISO 8601 with
// its offset; a bare date ("2017-01-01") is midnight UTC of that date.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tigo {

using Timestamp = std::chrono::sys_seconds;

// users/login. `token` and `refresh_token` are secrets: never logged or exported.
struct Login {
  std::int64_t user_id = 0;
  std::string token;  // secret: never logged
  std::optional<Timestamp> expires;
  std::string user_type;
  std::string refresh_token;  // secret; unused by this client
  std::optional<bool> user_agreement;
};

// users/get. Only what an exporter may show: login, names, e-mail and address are personal
// data and deliberately not kept.
struct User {
  std::int64_t user_id = 0;
  std::string user_type;  // "Basic", "Installer", "Partner"
  std::string company;
};

// systems (list) and systems/view.
struct System {
  std::int64_t system_id = 0;
  std::string name;
  std::string external_id;
  std::string street;
  std::string city;
  std::string state;
  std::string zip;
  std::string country;
  std::string timezone;  // IANA
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<double> power_rating_w;
  std::optional<Timestamp> turn_on_date;
  std::optional<Timestamp> created;
  std::string status;  // undocumented ("Active"), empty when absent
};

// Yii2 REST paging envelope `_meta` of list endpoints.
struct PageMeta {
  std::int64_t total_count = 0;
  std::int64_t page_count = 1;
  std::int64_t current_page = 1;
  std::int64_t per_page = 0;
};

struct SystemsPage {
  std::vector<System> systems;
  std::optional<PageMeta> meta;
};

// systems/layout: inverters -> MPPTs -> strings -> panels. Ids are 0 and strings empty where
// the answer has none; `object_id` links to objects/system.
struct LayoutPanel {
  std::int64_t panel_id = 0;
  std::int64_t object_id = 0;
  std::int64_t source_id = 0;
  std::int64_t panel_type_id = 0;
  std::string label;        // "A1"
  std::string short_label;  // "1" (a number in the answer)
  std::string serial;
  std::string type;  // optimizer / panel type, "TS4-A-O-700W"
};

struct LayoutString {
  std::int64_t string_id = 0;
  std::int64_t object_id = 0;
  std::string label;
  std::string short_label;
  std::vector<LayoutPanel> panels;
};

struct LayoutMppt {
  std::int64_t mppt_id = 0;
  std::int64_t object_id = 0;
  std::string label;
  std::vector<LayoutString> strings;
};

struct LayoutInverter {
  std::int64_t inverter_id = 0;
  std::int64_t inverter_type_id = 0;
  std::int64_t object_id = 0;
  std::int64_t source_id = 0;
  std::string label;
  std::string serial;  // `inverter_serial` in the document, `serial` in live answers
  std::vector<LayoutMppt> mppts;
};

struct Layout {
  std::int64_t system_id = 0;
  std::vector<LayoutInverter> inverters;
};

// objects/system `ui`: where Tigo's app draws the object, in its canvas units. X/Y place it;
// MP is the rated power in W (the system's total on the root); OP is the orientation (1 portrait,
// 0 landscape); X1/Y1/X2/Y2 a line segment (string wiring); R a rotation in degrees and Z a zoom.
// Every field is optional: absent, null or not a number is left empty.
struct ObjectUi {
  std::optional<double> x, y, mp, op, x1, y1, x2, y2, rotation, zoom;
};

// objects/system, flattened in answer order. parent_id is -1 on the root.
struct Object {
  std::int64_t id = 0;
  std::int64_t parent_id = -1;
  std::int64_t object_type_id = 0;
  std::string label;
  std::string datasource;              // "04C05B800ACE.panels.A1"; empty when null
  std::vector<std::int64_t> children;  // in the answer's order
  std::optional<ObjectUi> ui;          // absent when the answer has no `ui` object
};

// Object type ids seen on the real API (objects/types names them).
namespace object_type {
inline constexpr std::int64_t kSystem = 1;
inline constexpr std::int64_t kPanel = 2;
inline constexpr std::int64_t kString = 3;
inline constexpr std::int64_t kInverter = 4;
inline constexpr std::int64_t kGateway = 44;  // CCA
}  // namespace object_type

// objects/types
struct ObjectType {
  std::int64_t object_type_id = 0;
  std::string label;  // "System", "Panel", ...
};

// sources/system `sets[]`: the newest minute and day of data per data set.
struct SourceSet {
  std::string name;  // `set_name` ("panels_avg"), or `key`/`name` where that is sent instead
  std::optional<Timestamp> last_min;
  std::optional<Timestamp> last_day;
  std::optional<Timestamp> last_raw;
};

// sources/system: a gateway (CCA).
struct Source {
  std::int64_t source_id = 0;
  std::int64_t system_id = 0;
  std::int64_t object_id = 0;
  std::string name;
  std::string serial;  // MAC
  std::string sw_version;
  std::string timezone;
  std::string control_state;  // PV-Off state, "on"/"off"; a number in the document becomes text
  std::optional<std::int64_t> gateway_count;
  std::optional<Timestamp> last_checkin;
  std::optional<Timestamp> created_on;
  std::vector<SourceSet> sets;
};

// alerts/system
struct Alert {
  std::int64_t alert_id = 0;
  std::int64_t system_id = 0;
  std::int64_t unique_id = 0;  // alert code, matches AlertType::unique_id
  std::string title;
  std::string message;
  std::string description;
  std::optional<Timestamp> generated;
  std::optional<Timestamp> added;
  std::optional<bool> archived;  // undocumented; a bool, 0/1, or a time (= archived)
};

struct AlertsPage {
  std::vector<Alert> alerts;
  std::optional<PageMeta> meta;
};

// alerts/types
struct AlertType {
  std::int64_t alert_type_id = 0;
  std::int64_t unique_id = 0;
  std::string title;
  std::string description;
};

// data/summary
struct Summary {
  std::optional<double> lifetime_energy_wh;
  std::optional<double> ytd_energy_wh;
  std::optional<double> daily_energy_wh;
  std::optional<double> last_power_w;
  std::optional<Timestamp> updated_on;
};

// The document's error body: {"name","message","code","status"}.
struct ApiError {
  std::string name;
  std::string message;
  std::int64_t code = 0;
  std::int64_t status = 0;
};

}  // namespace tigo
