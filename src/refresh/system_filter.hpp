// Which systems of the account this process exports: --tigo.systems and --shard.index/count.
// Shared by the refresher and the backfill so both select the same systems.
#pragma once

#include <cstdint>
#include <vector>

namespace refresh {

struct SystemFilter {
  std::vector<std::int64_t> only;  // empty: all
  int shard_index = 0;             // keep systems with system_id % count == index
  int shard_count = 1;

  bool wanted(std::int64_t system_id) const;
};

}  // namespace refresh
