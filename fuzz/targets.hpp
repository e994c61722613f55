// The fuzz targets: each feeds one input to the product's own parsing functions (never a copy)
// and checks what must hold of the result. libfuzzer_main.cpp makes a libFuzzer program of one;
// tests/fuzz/regression_test.cpp replays the seeds and every input that ever crashed through all.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fuzz {

struct Target {
  std::string_view name;  // fuzz_<name>, corpus/<name>/, tests/fuzz/regressions/<name>/
  void (*run)(std::string_view input);
};

std::span<const Target> targets();
const Target* find_target(std::string_view name);

// A property of the result that does not hold: thrown, so that libFuzzer reports the input as a
// crash (an uncaught exception aborts) and the regression test names the property.
struct Violation : std::logic_error {
  using std::logic_error::logic_error;
};

inline void require(bool holds, const std::string& what) {
  if (!holds) throw Violation(what);
}

void run_json(std::string_view input);
void run_csv(std::string_view input);
void run_web_config(std::string_view input);
void run_basic_auth(std::string_view input);
void run_duration(std::string_view input);
void run_time(std::string_view input);
void run_url(std::string_view input);
void run_listen_address(std::string_view input);
void run_sim_query(std::string_view input);
void run_http_request(std::string_view input);
void run_state_file(std::string_view input);
void run_rate_headers(std::string_view input);
void run_taptap_event(std::string_view input);
void run_mapping_file(std::string_view input);
void run_local_state(std::string_view input);
void run_cca_parse(std::string_view input);

}  // namespace fuzz
