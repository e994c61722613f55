// The family table (family_table.hpp) as the markdown tables of docs/METRICS.md, one per scope.
// tigo_metrics_doc prints it; scripts/gen_docs.sh puts it between the file's markers.
#pragma once

#include <string>

namespace metrics {

std::string families_markdown();

}  // namespace metrics
