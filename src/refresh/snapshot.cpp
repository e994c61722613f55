#include "refresh/snapshot.hpp"

namespace refresh {

std::string_view dataset_name(Dataset d) {
  switch (d) {
    case Dataset::system:
      return "system";
    case Dataset::objects:
      return "objects";
    case Dataset::layout:
      return "layout";
    case Dataset::sources:
      return "sources";
    case Dataset::summary:
      return "summary";
    case Dataset::panels:
      return "panels";
    case Dataset::panel_details:
      return "panel_details";
    case Dataset::combined:
      return "combined";
    case Dataset::alerts:
      return "alerts";
  }
  return "unknown";
}

std::string_view reading_source_name(ReadingSource s) {
  switch (s) {
    case ReadingSource::cloud:
      return "cloud";
    case ReadingSource::bus:
      return "bus";
    case ReadingSource::cca:
      return "cca";
  }
  return "cloud";
}

}  // namespace refresh
