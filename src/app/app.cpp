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
#include "fusion/live.hpp"
#include "fusion/local_state.hpp"
#include "fusion/mapping.hpp"
#include "metrics/collector.hpp"
#include "metrics/self_metrics.hpp"
#include "pages/router.hpp"
#include "refresh/refresher.hpp"
#include "sim/bus.hpp"
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

// How often --web.config.file and the files it names are read for changes.
constexpr std::chrono::seconds kWebConfigPoll{3};

std::string compiler_name() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

// Both formats' gzip members, made once per snapshot (metrics::CachedFleet); plain scrapes inflate
// them as they are sent.
std::shared_ptr<const metrics::CachedFleet> render(const refresh::Snapshot& snap) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto out = metrics::cache_fleet(snap, 2);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0);
  util::log::debug("fleet rendered", {{"generation", std::to_string(snap.generation)},
                                      {"bytes", std::to_string(out->text_size)},
                                      {"gzip_bytes", std::to_string(out->gzip_size)},
                                      {"render_gzip_ms", std::to_string(ms.count())}});
  return out;
}

// SIGHUP: the password and token files are read again (the client logs what changed, never the
// secret), and so is --web.config.file (which is also followed by itself; a bad file keeps the
// one in use).
void reload(const config::Config& cfg, web::WebConfigWatcher& web_watcher,
            const web::WebConfigWatcher::Apply& apply, tigo::Client* client) {
  util::log::info("reload requested", {{"web_config_file", cfg.web_config_file},
                                       {"password_file", cfg.password_file},
                                       {"token_file", cfg.token_file}});
  if (client != nullptr) client->reload_credentials();
  if (!cfg.web_config_file.empty()) web_watcher.check(true, apply);
}

// /metrics: the cached fleet in the negotiated format, then the self-metrics (serialized per
// scrape: they change between scrapes), then OpenMetrics' `# EOF`.
web::Payload metrics_payload(const std::shared_ptr<const metrics::CachedFleet>& fleet,
                             const metrics::SelfMetrics& self, bool gzip, web::Format format) {
  const bool om = web::is_openmetrics(format);
  web::Payload p{{}, gzip};
  const auto add = [&](const metrics::GzipPiece& piece) {
    if (piece.plain_size > 0)
      p.pieces.push_back(
          {std::shared_ptr<const std::string>(fleet, &piece.bytes), true, piece.plain_size});
  };
  for (const auto& family : fleet->families) {
    add(om ? family.openmetrics_header : family.text_header);
    for (const auto& piece : family.samples) add(piece);
  }
  std::string own = self.render(om ? metrics::Format::openmetrics : metrics::Format::text);
  if (om) own += metrics::kOpenMetricsEof;
  if (gzip)
    p.pieces.push_back(
        {std::make_shared<const std::string>(util::gzip_compress(own)), true, own.size()});
  else
    p.pieces.push_back({std::make_shared<const std::string>(std::move(own))});
  return p;
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

// The taptap sources of the flags, each as the local module reads it.
std::vector<local::SourceSpec> bus_specs(const config::LocalConfig& local) {
  std::vector<local::SourceSpec> specs;
  if (!local.taptap_command.empty())
    specs.push_back(local::SourceSpec::command(local.taptap_command));
  for (const auto& a : local.taptap_addresses) {
    switch (a.kind) {
      case config::BusAddress::Kind::tcp:
        specs.push_back(local::SourceSpec::tcp(a.host, a.port));
        break;
      case config::BusAddress::Kind::unix_socket:
        specs.push_back(local::SourceSpec::unix_socket(a.path));
        break;
      case config::BusAddress::Kind::stdin_fd:
        specs.push_back(local::SourceSpec::stdin_fd());
        break;
    }
  }
  return specs;
}

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
  web::WebConfigWatcher web_watcher(cfg.web_config_file);
  if (!cfg.web_config_file.empty()) {
    auto loaded = web_watcher.load();
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

  // --debug.time: a simulated instant is the exporter's now (and the demo simulator's).
  std::shared_ptr<const sim::Clock> sim_clock;
  if (cfg.debug_time)
    sim_clock = std::make_shared<const sim::Clock>(cfg.debug_time, cfg.debug_speed);
  // After SIGTERM or SIGINT the process is gone within 5 s (Docker's grace period is 10 s).
  StopDeadline stop_deadline(std::chrono::milliseconds{4'500});

  // --demo: the simulator runs in this process on a loopback port; everything else is as usual.
  std::unique_ptr<sim::Fleet> demo_fleet;
  std::shared_ptr<const sim::Clock> demo_clock;
  std::unique_ptr<sim::Server> demo_server;
  tigo::ClientOptions client_options = app::client_options(cfg);
  if (cfg.demo) {
    demo_fleet = std::make_unique<sim::Fleet>(sim::demo_fleet_options());
    demo_clock = sim_clock ? sim_clock : std::make_shared<const sim::Clock>();
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

  // --demo: the simulator's bus too, so the demo shows local readings fused with the cloud's.
  config::LocalConfig local_config = cfg.local;
  std::unique_ptr<sim::Bus> demo_bus;
  if (cfg.demo) {
    sim::BusOptions bus_options;
    bus_options.host = "127.0.0.1";
    bus_options.port = 0;
    demo_bus = std::make_unique<sim::Bus>(*demo_fleet, *demo_clock, bus_options);
    const auto bus_port = demo_bus->bind();
    if (!bus_port) {
      util::log::error("cannot start the demo bus", {{"err", bus_port.error().message}});
      return 1;
    }
    demo_bus->start();
    local_config.taptap_addresses.push_back(
        {config::BusAddress::Kind::tcp, "127.0.0.1", *bus_port, ""});
    util::log::info("demo bus running", {{"address", demo_bus->address()}});
  }

  metrics::SelfMetrics self({version, TIGO_REVISION, compiler_name()});
  client_options.observer = &self;
  if (sim_clock) client_options.utc_now = [sim_clock] { return sim_clock->now(); };
  // Shared with the refresher; declared after the demo simulator, so its keep-alive connections
  // are closed before the simulator stops. None when the local sources are served alone.
  std::shared_ptr<tigo::Client> client;
  if (cfg.cloud || cfg.demo) {
    auto created = tigo::Client::create(client_options);
    if (!created) {
      util::log::error("bad API configuration", {{"err", created.error().message}});
      return 2;
    }
    client = std::move(*created);
  }

  // The fleet's families are rendered and gzipped once per snapshot, on the refresher's thread
  // (or the fusing thread's, with local sources); scrapes send the cached bytes and only
  // serialize the small self-metrics.
  util::SharedSlot<metrics::CachedFleet> fleet{std::make_shared<const metrics::CachedFleet>()};
  const auto publish = [&fleet](const std::shared_ptr<const refresh::Snapshot>& snap) {
    fleet.store(render(*snap));
  };

  // The local sources: their readings fused into every snapshot served.
  std::unique_ptr<fusion::LiveFusion> live;
  if (local_config.any()) {
    fusion::FuseOptions fuse;
    fuse.stale_after = std::chrono::duration_cast<std::chrono::seconds>(local_config.stale_after);
    fuse.local_only = !cfg.cloud && !cfg.demo;
    if (!local_config.mapping_file.empty()) {
      auto mapping = fusion::load_mapping(local_config.mapping_file);
      if (!mapping) {
        std::fprintf(stderr, "tigo_exporter: --local.mapping-file: %s\n",
                     mapping.error().message.c_str());
        return 2;
      }
      fuse.mapping = std::move(*mapping);
    }
    local::SourceOptions source_options;
    source_options.silence_restart = local_config.silence_restart;
    fusion::LiveOptions live_options;
    if (sim_clock) live_options.wall_clock = [sim_clock] { return sim_clock->now(); };
    if (!cfg.storage_path.empty()) {
      if (auto dir = refresh::prepare_state_dir(cfg.storage_path); !dir) {
        std::fprintf(stderr, "tigo_exporter: --storage.path: %s\n", dir.error().message.c_str());
        return 2;
      }
      live_options.state_path = cfg.storage_path + "/" + std::string(fusion::kLocalStateFileName);
    }
    std::vector<fusion::CcaSpec> ccas;
    if (!local_config.cca_host.empty()) {
      fusion::CcaSpec cca;
      cca.options.host = local_config.cca_host;
      cca.options.port = local_config.cca_port;
      cca.options.password = local_config.cca_password;
      cca.options.zone = local_config.cca_timezone;
      cca.options.interval = local_config.cca_interval;
      cca.system_id = local_config.cca_system;
      ccas.push_back(std::move(cca));
    }
    live = std::make_unique<fusion::LiveFusion>(std::move(fuse), bus_specs(local_config),
                                                source_options, live_options, publish,
                                                std::move(ccas));
  }

  refresh::RefresherOptions refresh_options;
  static_cast<config::RefreshSettings&>(refresh_options) = cfg;
  refresh_options.workers = cfg.concurrency;
  refresh_options.systems = {cfg.systems, cfg.shard_index, cfg.shard_count};
  if (sim_clock) refresh_options.clock = [sim_clock] { return sim_clock->now(); };
  if (!cfg.storage_path.empty() && client) {
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
  std::unique_ptr<refresh::Refresher> refresher;
  if (client) {
    refresher = std::make_unique<refresh::Refresher>(
        client, refresh_options,
        [&publish, &live](const std::shared_ptr<const refresh::Snapshot>& snap) {
          if (live)
            live->set_cloud(snap);
          else
            publish(snap);
        });
  }
  // What scrapes, readiness and pages read: the fused snapshot, else the cloud's.
  const auto current = [&]() -> std::shared_ptr<const refresh::Snapshot> {
    if (live) return live->snapshot();
    return refresher->snapshot();
  };

  web::Handlers handlers;
  handlers.metrics = [&](bool gzip, web::Format format) {
    return metrics_payload(fleet.load(), self, gzip, format);
  };
  handlers.ready = [&] { return current()->ready; };
  pages::Site site;
  site.telemetry_path = cfg.telemetry_path;
  site.version = "tigo_exporter " + version + " (revision " TIGO_REVISION ")";
  handlers.page = [&](const web::PageRequest& req) {
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    pages::Site with_session = site;  // per request: the session changes, the rest does not
    with_session.session =
        client ? login_line(client->login_state()) : "No cloud account: local sources only.";
    auto a = pages::serve(*current(), now, {req.path, req.query}, with_session);
    return web::PageAnswer{a.status, std::move(a.content_type), std::move(a.body),
                           std::move(a.cache_control)};
  };
  const bool tls = web_config.tls.has_value();
  web::ServerOptions server_options;
  server_options.listen = *listen;
  server_options.telemetry_path = cfg.telemetry_path;
  server_options.web = std::move(web_config);
  server_options.on_auth_failure = [&self](std::string_view reason) {
    self.on_web_auth_failure(reason);
  };
  web::Server server(std::move(server_options), handlers);
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

  if (live) live->start();
  if (refresher) refresher->start();
  std::thread http_thread([&server] { server.run(); });
  // --web.config.file is followed (certificates rotate without a restart) and read again on
  // SIGHUP; a bad file keeps the one in use.
  const web::WebConfigWatcher::Apply apply = [&server](const web::WebConfig& next) {
    return server.update_web_config(next);
  };
  if (!cfg.web_config_file.empty()) web_watcher.start(kWebConfigPoll, apply);
  int sig = util::wait_for_signal();
  for (; sig == SIGHUP; sig = util::wait_for_signal())
    reload(cfg, web_watcher, apply, client.get());
  util::log::info("shutting down", {{"signal", std::to_string(sig)}});
  stop_deadline.arm();
  web_watcher.stop();
  server.stop();
  http_thread.join();
  if (live) live->stop();            // the sources stopped, the local state file written
  if (refresher) refresher->stop();  // aborts the requests in flight, then a logout within 2 s
  // The demo simulator stops in its destructor, after the refresher's: by then the client's
  // keep-alive connections are closed, so its workers need not wait them out (5 s).
  return 0;
}

}  // namespace app
