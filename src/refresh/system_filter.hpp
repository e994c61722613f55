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
  // The ids of `only` this shard would export that `listed` lacks (an operator's typo, or a
  // system the account cannot see), ascending.
  std::vector<std::int64_t> unlisted(const std::vector<std::int64_t>& listed) const;
};

}  // namespace refresh
