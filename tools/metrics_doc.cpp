// Prints the family tables of docs/METRICS.md from the exporter's family table;
// scripts/gen_docs.sh writes them into the file, and a test fails when the file differs.
#include <iostream>

#include "metrics/reference.hpp"

int main() {
  std::cout << metrics::families_markdown();
  return 0;
}
