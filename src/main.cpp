// tigo_exporter: flags -> App, until SIGTERM/SIGINT (or the backfill subcommand, to its end).
#include <cstdio>

#include "app/app.hpp"
#include "build_revision.hpp"
#include "config/config.hpp"
#include "util/signals.hpp"

int main(int argc, char** argv) {
  util::block_termination_signals();
  const auto outcome =
      config::parse(argc, argv, "tigo_exporter " TIGO_VERSION " (revision " TIGO_REVISION ")");
  if (!outcome.config) {
    std::FILE* stream = outcome.exit_code == 0 ? stdout : stderr;
    std::fputs(outcome.output.c_str(), stream);
    if (!outcome.output.empty() && outcome.output.back() != '\n') std::fputc('\n', stream);
    return outcome.exit_code;
  }
  if (outcome.config->backfill) return app::run_backfill(*outcome.config);
  return app::run(*outcome.config);
}
