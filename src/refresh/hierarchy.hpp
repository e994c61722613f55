// objects/system + objects/types + systems/layout -> the labelled panels and objects of a system.
// Each panel's inverter/MPPT/string labels come from walking its ancestors in the objects tree;
// the layout adds MPPTs (absent from the tree), serials and panel types, and stands in for the
// tree when only it is known. Missing levels give empty labels.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "refresh/snapshot.hpp"
#include "tigo/model.hpp"

namespace refresh {

struct Hierarchy {
  std::vector<ObjectInfo> objects;  // the tree in answer order, types named
  std::vector<Panel> panels;        // labels filled, no readings
  // Objects data/combined is asked about: the system, inverters and strings.
  std::vector<ObjectInfo> combined_objects;
};

// Type names by id from objects/types, with the known ids as fallback.
std::string object_type_name(std::int64_t type_id,
                             const std::map<std::int64_t, std::string>& types);

Hierarchy resolve_hierarchy(const std::vector<tigo::Object>* objects,
                            const std::map<std::int64_t, std::string>& types,
                            const tigo::Layout* layout);

}  // namespace refresh
