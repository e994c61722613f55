#include "refresh/hierarchy.hpp"

#include <unordered_map>

namespace refresh {
namespace {

// Where a panel sits in systems/layout.
struct LayoutPlace {
  const tigo::LayoutInverter* inverter = nullptr;
  const tigo::LayoutMppt* mppt = nullptr;
  const tigo::LayoutString* string = nullptr;
  const tigo::LayoutPanel* panel = nullptr;
};

std::vector<LayoutPlace> layout_places(const tigo::Layout& layout) {
  std::vector<LayoutPlace> out;
  for (const auto& inv : layout.inverters)
    for (const auto& mppt : inv.mppts)
      for (const auto& str : mppt.strings)
        for (const auto& p : str.panels) out.push_back({&inv, &mppt, &str, &p});
  return out;
}

}  // namespace

std::string object_type_name(std::int64_t type_id,
                             const std::map<std::int64_t, std::string>& types) {
  if (auto it = types.find(type_id); it != types.end() && !it->second.empty()) return it->second;
  switch (type_id) {
    case tigo::object_type::kSystem:
      return "System";
    case tigo::object_type::kPanel:
      return "Panel";
    case tigo::object_type::kString:
      return "String";
    case tigo::object_type::kInverter:
      return "Inverter";
    case tigo::object_type::kGateway:
      return "CCA";
    default:
      return "Type " + std::to_string(type_id);
  }
}

Hierarchy resolve_hierarchy(const std::vector<tigo::Object>* objects,
                            const std::map<std::int64_t, std::string>& types,
                            const tigo::Layout* layout) {
  Hierarchy h;
  const auto places = layout ? layout_places(*layout) : std::vector<LayoutPlace>{};
  std::unordered_map<std::int64_t, const LayoutPlace*> place_by_object;
  std::unordered_map<std::string, const LayoutPlace*> place_by_label;
  for (const auto& p : places) {
    if (p.panel->object_id > 0) place_by_object[p.panel->object_id] = &p;
    place_by_label.emplace(p.panel->label, &p);  // first wins if labels repeat
  }

  auto fill_from_layout = [](Panel& panel, const LayoutPlace& place) {
    panel.serial = place.panel->serial;
    panel.panel_type = place.panel->type;
    panel.mppt = place.mppt->label;
    if (panel.inverter.empty()) panel.inverter = place.inverter->label;
    if (panel.string.empty()) panel.string = place.string->label;
  };

  if (objects && !objects->empty()) {
    std::unordered_map<std::int64_t, const tigo::Object*> by_id;
    for (const auto& o : *objects) by_id[o.id] = &o;
    for (const auto& o : *objects) {
      ObjectInfo info{o.id,    o.parent_id,  object_type_name(o.object_type_id, types),
                      o.label, o.datasource, o.ui};
      if (o.object_type_id == tigo::object_type::kSystem ||
          o.object_type_id == tigo::object_type::kInverter ||
          o.object_type_id == tigo::object_type::kString)
        h.combined_objects.push_back(info);
      h.objects.push_back(std::move(info));
      if (o.object_type_id != tigo::object_type::kPanel) continue;
      Panel panel;
      panel.object_id = o.id;
      panel.label = o.label;
      panel.datasource = o.datasource;
      // Nearest string and inverter ancestors; a cycle or a dangling parent ends the walk.
      std::size_t guard = 0;
      for (auto it = by_id.find(o.parent_id); it != by_id.end() && guard++ < by_id.size();
           it = by_id.find(it->second->parent_id)) {
        const auto* a = it->second;
        if (a->object_type_id == tigo::object_type::kString && panel.string.empty())
          panel.string = a->label;
        if (a->object_type_id == tigo::object_type::kInverter && panel.inverter.empty())
          panel.inverter = a->label;
      }
      const LayoutPlace* place = nullptr;
      if (auto it = place_by_object.find(o.id); it != place_by_object.end()) {
        place = it->second;
      } else if (auto jt = place_by_label.find(o.label); jt != place_by_label.end()) {
        place = jt->second;
      }
      if (place) fill_from_layout(panel, *place);
      h.panels.push_back(std::move(panel));
    }
    return h;
  }

  // No objects tree: the layout alone, panels known by their layout object ids.
  for (const auto& p : places) {
    if (p.panel->object_id <= 0) continue;
    Panel panel;
    panel.object_id = p.panel->object_id;
    panel.label = p.panel->label;
    fill_from_layout(panel, p);
    h.panels.push_back(std::move(panel));
  }
  return h;
}

}  // namespace refresh
