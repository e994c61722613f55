// The local web API of one system's Cloud Connect Advanced (`tigo_sim --cca-listen`): the CGI
// endpoints public clients read on the LAN (PyTigo's TigoCCAClient, tigosolar-local), with the
// same model as the cloud but without upload lag: the CCA has each minute as it is measured.
//
//   /cgi-bin/summary_config   flat node list: the system (type 1), inverters (4), strings (3)
//                             whose children are panel labels
//   /cgi-bin/summary_jsconfig {"sDate": device-local date}
//   /cgi-bin/summary_data     ?date=YYYY-MM-DD&temp=pin|vin|rssi: the day's minutes in
//                             device-local time without offset, in dataset segments
//   /cgi-bin/summary_energy   [[date, Wh], ...] for the last 12 days, today included
//
// Basic auth as user "Tigo" when a password is set; `locked` answers 401 to everything, as
// firmware 4.0.4 and later do to the local user. See docs/SIMULATOR.md, "The CCA's local API".
#pragma once

#include <date/date.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "util/result.hpp"

namespace httplib {
class Server;
}

namespace sim {

inline constexpr const char* kCcaUser = "Tigo";
inline constexpr int kCcaEnergyDays = 12;

struct CcaOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  std::int64_t system_id = 1001;
  std::optional<std::string> password;  // basic auth as kCcaUser; none: no auth asked
  bool locked = false;                  // 401 to every request, whatever the credentials
};

// The bodies, pure functions of the model and the time.
std::string cca_config_json(const SystemContext& c);
std::string cca_jsconfig_json(const SystemContext& c, std::chrono::sys_seconds now);
// `temp`: pin (W), vin (0.1 V), rssi; iin, tmod, tcell, tamb and power answer as pin (what a real
// device was seen to do); anything else an empty dataset list.
std::string cca_data_json(const PowerModel& model, const SystemContext& c, date::local_days day,
                          std::string_view temp, std::chrono::sys_seconds now);
std::string cca_energy_json(const PowerModel& model, const SystemContext& c,
                            std::chrono::sys_seconds now);

class CcaServer {
 public:
  // Throws std::invalid_argument when options.system_id is not in the fleet.
  CcaServer(const Fleet& fleet, const Clock& clock, CcaOptions options);
  ~CcaServer();
  CcaServer(const CcaServer&) = delete;
  CcaServer& operator=(const CcaServer&) = delete;

  util::Result<int> bind();  // returns the bound port
  void start();              // bind() must have succeeded
  void stop();
  std::string base_url() const;  // http://HOST:PORT

 private:
  void routes();

  const Clock& clock_;
  PowerModel model_;
  SystemContext context_;
  CcaOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> stop_requested_{false}, run_entered_{false}, run_returned_{false};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace sim
