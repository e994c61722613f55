#include "metrics/families.hpp"

#include "metrics/exposition.hpp"

namespace metrics {

std::string system_labels(std::int64_t system_id) {
  return LabelBlock().add("system_id", std::to_string(system_id)).str();
}

std::string panel_labels(std::string_view system_labels, const refresh::Panel& p) {
  return std::string(system_labels) + "," +
         LabelBlock()
             .add("object_id", std::to_string(p.object_id))
             .add("inverter", p.inverter)
             .add("mppt", p.mppt)
             .add("string", p.string)
             .add("panel", p.label)
             .str();
}

std::string object_labels(std::string_view system_labels, std::int64_t object_id,
                          std::string_view object_type, std::string_view label) {
  return std::string(system_labels) + "," +
         LabelBlock()
             .add("object_id", std::to_string(object_id))
             .add("object_type", object_type)
             .add("label", label)
             .str();
}

}  // namespace metrics
