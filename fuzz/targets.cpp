#include "targets.hpp"

#include <algorithm>
#include <iterator>

namespace fuzz {
namespace {

constexpr Target kTargets[] = {
    {"json", run_json},
    {"csv", run_csv},
    {"web_config", run_web_config},
    {"basic_auth", run_basic_auth},
    {"duration", run_duration},
    {"time", run_time},
    {"url", run_url},
    {"listen_address", run_listen_address},
    {"sim_query", run_sim_query},
    {"http_request", run_http_request},
    {"state_file", run_state_file},
    {"rate_headers", run_rate_headers},
    {"taptap_event", run_taptap_event},
    {"mapping_file", run_mapping_file},
    {"local_state", run_local_state},
    {"cca_parse", run_cca_parse},
};

}  // namespace

std::span<const Target> targets() { return kTargets; }

const Target* find_target(std::string_view name) {
  const auto* it = std::find_if(std::begin(kTargets), std::end(kTargets),
                                [&](const Target& t) { return t.name == name; });
  return it == std::end(kTargets) ? nullptr : it;
}

}  // namespace fuzz
