// Flags, environment and secret files -> a validated Config (CLI.md is the contract).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/log.hpp"

namespace config {

struct Config {
  std::string listen_address = ":9980";
  std::string telemetry_path = "/metrics";
  std::string api_url = "https://api2.tigoenergy.com/api/v3/";
  std::string username;
  std::string password;  // secret: read from a file or TIGO_PASSWORD, never printed
  std::string token;     // secret: read from --tigo.token-file
  std::string ca_file;
  bool insecure_http = false;
  std::chrono::milliseconds timeout{30'000};
  std::vector<std::int64_t> systems;  // empty: all
  std::chrono::milliseconds summary_interval{300'000};
  std::chrono::milliseconds layout_interval{6 * 3'600'000};
  std::chrono::milliseconds max_staleness{3'600'000};
  util::log::Level log_level = util::log::Level::info;
  util::log::Format log_format = util::log::Format::logfmt;
  bool demo = false;
};

struct ParseOutcome {
  std::optional<Config> config;  // set when the program should run
  int exit_code = 0;             // otherwise: 0 after --help/--version, 2 on bad input
  std::string output;            // what to print (stdout when exit_code is 0, else stderr)
};

ParseOutcome parse(int argc, const char* const* argv, const std::string& version_line);

}  // namespace config
