// One libFuzzer program per target: TIGO_FUZZ_TARGET names it (fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "targets.hpp"

namespace {

const fuzz::Target& the_target() {
  static const fuzz::Target* target = fuzz::find_target(TIGO_FUZZ_TARGET);
  if (target == nullptr) {
    std::fprintf(stderr, "fuzz: no target named %s in fuzz/targets.cpp\n", TIGO_FUZZ_TARGET);
    std::abort();
  }
  return *target;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  the_target().run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
