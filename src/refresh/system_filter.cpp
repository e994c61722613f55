#include "refresh/system_filter.hpp"

#include <algorithm>

namespace refresh {

bool SystemFilter::wanted(std::int64_t id) const {
  if (shard_count > 1 && id % shard_count != shard_index) return false;
  return only.empty() || std::find(only.begin(), only.end(), id) != only.end();
}

}  // namespace refresh
