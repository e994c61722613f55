// Wires Config -> Client -> backfill::run, with a summary line and the exit code.
#include <atomic>
#include <cstdio>
#include <thread>

#include "app/app.hpp"
#include "app/client_options.hpp"
#include "backfill/backfill.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"

namespace app {
namespace {

// Every HTTP request the client makes (logins and retries included), for the summary line.
struct RequestCounter : tigo::CallObserver {
  std::atomic<std::uint64_t> requests{0}, rate_limited{0};
  void on_call(std::string_view, std::string_view code, double) override {
    ++requests;
    if (code == "429") ++rate_limited;
  }
  void on_login(bool, std::optional<tigo::Timestamp>) override {}
  void on_rate_limit(std::optional<double>, std::optional<double>, std::optional<double>) override {
  }
};

}  // namespace

int run_backfill(const config::Config& cfg) {
  util::log::configure(cfg.log_level, cfg.log_format);
  const auto& b = *cfg.backfill;
  static RequestCounter counter;  // outlives the client and the signal thread
  auto options = client_options(cfg);
  options.observer = &counter;
  auto client = tigo::Client::create(options);
  if (!client) {
    std::fprintf(stderr, "tigo_exporter: --tigo.api-url: %s\n", client.error().message.c_str());
    return 2;
  }

  // SIGINT/SIGTERM stop the run: calls are abandoned and the temp output removed.
  std::stop_source stop;
  std::thread([stop]() mutable {
    util::wait_for_termination_signal();
    stop.request_stop();
  }).detach();

  backfill::Options o;
  static_cast<config::BackfillConfig&>(o) = b;
  o.systems = {cfg.systems, cfg.shard_index, cfg.shard_count};
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = backfill::run(**client, o, stop.get_token());
  (*client)->logout();
  if (out.setup_error) {
    std::fprintf(stderr, "tigo_exporter: backfill --output: %s\n", out.error.c_str());
    return 2;
  }

  std::size_t failed = 0, rows = 0;
  for (const auto& s : out.systems) {
    failed += s.ok ? 0 : 1;
    rows += s.rows;
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  util::log::write(out.all_ok() ? util::log::Level::info : util::log::Level::error,
                   out.written ? "backfill finished" : "backfill wrote nothing",
                   {{"systems", std::to_string(out.systems.size())},
                    {"failed", std::to_string(failed)},
                    {"requests", std::to_string(counter.requests.load())},
                    {"rate_limited", std::to_string(counter.rate_limited.load())},
                    {"rows", std::to_string(rows)},
                    {"samples", std::to_string(out.samples)},
                    {"bytes", std::to_string(out.bytes)},
                    {"output", out.written ? b.output : ""},
                    {"seconds", std::to_string(seconds.count())},
                    {"err", out.error}});
  return out.all_ok() ? 0 : 1;
}

}  // namespace app
