#include "app/app.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "app/client_options.hpp"
#include "build_revision.hpp"
#include "metrics/collector.hpp"
#include "metrics/self_metrics.hpp"
#include "pages/router.hpp"
#include "refresh/refresher.hpp"
#include "sim/clock.hpp"
#include "sim/demo.hpp"
#include "sim/fleet.hpp"
#include "sim/server.hpp"
#include "tigo/client.hpp"
#include "util/duration.hpp"
#include "util/gzip.hpp"
#include "util/listen_address.hpp"
#include "util/log.hpp"
#include "util/shared_slot.hpp"
#include "util/signals.hpp"
#include "util/time.hpp"
#include "web/server.hpp"

namespace app {
namespace {

std::string compiler_name() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

// Only the gzip is kept (the text is ~12x its size); plain scrapes inflate it as they are sent.
struct RenderedFleet {
  std::string gzip;
  std::size_t text_size = 0;
};

std::shared_ptr<const RenderedFleet> render(const refresh::Snapshot& snap) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto out = std::make_shared<RenderedFleet>();
  std::string text;
  metrics::render_fleet(snap, text);
  const auto t1 = clock::now();
  out->gzip = util::gzip_compress_parallel(text, 2);
  out->text_size = text.size();
  const auto t2 = clock::now();
  const auto ms = [](clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  util::log::debug("fleet rendered", {{"generation", std::to_string(snap.generation)},
                                      {"bytes", std::to_string(out->text_size)},
                                      {"gzip_bytes", std::to_string(out->gzip.size())},
                                      {"render_ms", ms(t1 - t0)},
                                      {"gzip_ms", ms(t2 - t1)}});
  return out;
}

// SIGHUP: --web.config.file is read again (a bad file keeps the one in use), and so are the
// password and token files (the client logs what changed, never the secret).
void reload(const config::Config& cfg, web::Server& server, tigo::Client& client) {
  util::log::info("reload requested", {{"web_config_file", cfg.web_config_file},
                                       {"password_file", cfg.password_file},
                                       {"token_file", cfg.token_file}});
  client.reload_credentials();
  if (cfg.web_config_file.empty()) return;
  auto loaded = web::load_web_config(cfg.web_config_file);
  if (!loaded) {
    util::log::error("web config not reloaded: the one in use is kept",
                     {{"err", loaded.error().message}});
    return;
  }
  const bool same_tls = server.update_web_config(*loaded);
  util::log::info("web config reloaded",
                  {{"basic_auth_users", std::to_string(loaded->basic_auth_users.size())},
                   {"tls", same_tls ? "unchanged" : "changed: applies at the next start"}});
}

// One line about the API session for the status page: "Login (password): ok at ..., token
// expires ...", or the last failure and, after a refusal, the next attempt. Never a secret.
std::string login_line(const tigo::LoginState& login) {
  std::string line = "Login (" + login.mode + "): ";
  if (!login.last_attempt) {
    line += login.mode == "token" ? "pre-issued token in use" : "not yet";
  } else if (login.last_ok) {
    line += "ok at " + util::format_iso8601_utc(*login.last_attempt);
  } else {
    line += "failed at " + util::format_iso8601_utc(*login.last_attempt) + ": " + login.last_error;
  }
  if (login.token_expires)
    line += ", token expires " + util::format_iso8601_utc(*login.token_expires);
  if (login.next_attempt)
    line += ", next attempt not before " + util::format_iso8601_utc(*login.next_attempt);
  return line + ".";
}

// A stop is bounded: requests in flight are aborted and the logout has its own deadline, but a
// connect to an address that never answers cannot be interrupted, nor can a peer that holds the
// web server. Once armed, the process exits after `limit` whatever is still running.
class StopDeadline {
 public:
  explicit StopDeadline(std::chrono::milliseconds limit) : limit_(limit) {}
  void arm() {
    thread_ = std::jthread([limit = limit_](std::stop_token done) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, done, limit, [] { return false; });
      if (done.stop_requested()) return;
      util::log::warn("stop not finished in time: exiting without waiting further",
                      {{"limit", util::format_duration(limit)}});
      std::fflush(nullptr);
      std::_Exit(0);
    });
  }

 private:
  std::chrono::milliseconds limit_;
  std::jthread thread_;  // joined (and disarmed) when the stop finished in time
};

}  // namespace

int run(const config::Config& cfg) {
  // Bad web settings fail with one line before anything starts (config checked the syntax).
  const auto listen = util::parse_listen_address(cfg.listen_address);
  if (!listen) {
    std::fprintf(stderr, "tigo_exporter: --web.listen-address: %s\n",
                 listen.error().message.c_str());
    return 2;
  }
  web::WebConfig web_config;
  if (!cfg.web_config_file.empty()) {
    auto loaded = web::load_web_config(cfg.web_config_file);
    if (!loaded) {
      std::fprintf(stderr, "tigo_exporter: --web.config.file: %s\n",
                   loaded.error().message.c_str());
      return 2;
    }
    web_config = std::move(*loaded);
  }
  util::log::configure(cfg.log_level, cfg.log_format);
  const std::string version = TIGO_VERSION;
  util::log::info("starting tigo_exporter", {{"version", version}, {"revision", TIGO_REVISION}});

  // After SIGTERM or SIGINT the process is gone within 5 s (Docker's grace period is 10 s).
  StopDeadline stop_deadline(std::chrono::milliseconds{4'500});

  // --demo: the simulator runs in this process on a loopback port; everything else is as usual.
  std::unique_ptr<sim::Fleet> demo_fleet;
  std::unique_ptr<sim::Clock> demo_clock;
  std::unique_ptr<sim::Server> demo_server;
  tigo::ClientOptions client_options = app::client_options(cfg);
  if (cfg.demo) {
    demo_fleet = std::make_unique<sim::Fleet>(sim::demo_fleet_options());
    demo_clock = std::make_unique<sim::Clock>();
    sim::ServerOptions sim_options;
    sim_options.host = "127.0.0.1";
    sim_options.port = 0;
    sim_options.rate_limit = 1000;
    demo_server = std::make_unique<sim::Server>(*demo_fleet, *demo_clock, sim_options);
    if (auto bound = demo_server->bind(); !bound) {
      util::log::error("cannot start the demo simulator", {{"err", bound.error().message}});
      return 1;
    }
    demo_server->start();
    client_options.base_url = demo_server->base_url();
    client_options.credentials = {"demo", "demo", ""};
    client_options.password_file.clear();
    client_options.token_file.clear();
    util::log::info("demo simulator running", {{"api_url", client_options.base_url},
                                               {"systems", std::to_string(demo_fleet->size())}});
  }

  metrics::SelfMetrics self({version, TIGO_REVISION, compiler_name()});
  client_options.observer = &self;
  auto created = tigo::Client::create(client_options);
  if (!created) {
    util::log::error("bad API configuration", {{"err", created.error().message}});
    return 2;
  }
  // Shared with the refresher; declared after the demo simulator, so its keep-alive connections
  // are closed before the simulator stops.
  std::shared_ptr<tigo::Client> client = std::move(*created);

  // The fleet's families are rendered and gzipped once per snapshot, on the refresher's thread;
  // scrapes send the cached bytes and only serialize the small self-metrics.
  util::SharedSlot<RenderedFleet> fleet{std::make_shared<const RenderedFleet>()};
  refresh::RefresherOptions refresh_options;
  static_cast<config::RefreshSettings&>(refresh_options) = cfg;
  refresh_options.workers = cfg.concurrency;
  refresh_options.systems = {cfg.systems, cfg.shard_index, cfg.shard_count};
  if (!cfg.storage_path.empty()) {
    // The state file (a restart serves at once and skips the hierarchy): a directory that cannot
    // hold it is a setup error, said before anything runs.
    if (auto dir = refresh::prepare_state_dir(cfg.storage_path); !dir) {
      std::fprintf(stderr, "tigo_exporter: --storage.path: %s\n", dir.error().message.c_str());
      return 2;
    }
    refresh_options.state_path =
        cfg.storage_path + "/" + refresh::state_file_name(refresh_options.systems);
    refresh_options.state_identity =
        cfg.demo ? refresh::state_identity("demo", "demo", "")
                 : refresh::state_identity(cfg.api_url, cfg.username, cfg.token);
  }
  refresh::Refresher refresher(client, refresh_options,
                               [&fleet](const std::shared_ptr<const refresh::Snapshot>& snap) {
                                 fleet.store(render(*snap));
                               });

  web::Handlers handlers;
  handlers.metrics = [&](bool gzip) {
    const auto cached = fleet.load();
    web::Payload p{{}, gzip};
    p.pieces.push_back(
        {std::shared_ptr<const std::string>(cached, &cached->gzip), true, cached->text_size});
    const std::string own = self.render();
    if (gzip)
      p.pieces.push_back(
          {std::make_shared<const std::string>(util::gzip_compress(own)), true, own.size()});
    else
      p.pieces.push_back({std::make_shared<const std::string>(own)});
    return p;
  };
  handlers.ready = [&] { return refresher.snapshot()->ready; };
  pages::Site site;
  site.telemetry_path = cfg.telemetry_path;
  site.version = "tigo_exporter " + version + " (revision " TIGO_REVISION ")";
  handlers.page = [&](const web::PageRequest& req) {
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    pages::Site with_session = site;  // per request: the session changes, the rest does not
    with_session.session = login_line(client->login_state());
    auto a = pages::serve(*refresher.snapshot(), now, {req.path, req.query}, with_session);
    return web::PageAnswer{a.status, std::move(a.content_type), std::move(a.body),
                           std::move(a.cache_control)};
  };
  const bool tls = web_config.tls.has_value();
  web::Server server({*listen, cfg.telemetry_path, std::move(web_config)}, handlers);
  auto port = server.bind();
  if (!port) {
    util::log::error("cannot serve", {{"err", port.error().message}});
    return 1;
  }
  const std::string shown_host =
      listen->host.empty() || listen->host == "0.0.0.0" || listen->host == "::" ? "localhost"
                                                                                : listen->host;
  util::log::info("listening",
                  {{"address", util::host_port(listen->host, *port)},
                   {"url", std::string(tls ? "https://" : "http://") +
                               util::host_port(shown_host, *port) + cfg.telemetry_path}});

  refresher.start();
  std::thread http_thread([&server] { server.run(); });
  int sig = util::wait_for_signal();
  for (; sig == SIGHUP; sig = util::wait_for_signal()) reload(cfg, server, *client);
  util::log::info("shutting down", {{"signal", std::to_string(sig)}});
  stop_deadline.arm();
  server.stop();
  http_thread.join();
  refresher.stop();  // aborts the requests in flight, then a logout within 2 s
  // The demo simulator stops in its destructor, after the refresher's: by then the client's
  // keep-alive connections are closed, so its workers need not wait them out (5 s).
  return 0;
}

}  // namespace app
