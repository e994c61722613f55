#include "refresh/system_filter.hpp"

#include <algorithm>

namespace refresh {

bool SystemFilter::wanted(std::int64_t id) const {
  if (shard_count > 1 && id % shard_count != shard_index) return false;
  return only.empty() || std::find(only.begin(), only.end(), id) != only.end();
}

std::vector<std::int64_t> SystemFilter::unlisted(const std::vector<std::int64_t>& listed) const {
  std::vector<std::int64_t> out;
  for (auto id : only)
    if (wanted(id) && std::find(listed.begin(), listed.end(), id) == listed.end())
      out.push_back(id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace refresh
