// Every typed call of the client against a tiny in-process server answering the fixtures in the
// recorded answers' shapes (tests/data) and documented bodies on 127.0.0.1, plus the odd answers:
// malformed, truncated, 5xx, 429, large.
#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "tigo/client.hpp"
#include "util/time.hpp"

using namespace std::chrono;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TIGO_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kPassword = "s3cret-pw";

struct Reply {
  Reply(int s, std::string b, std::string ct = "application/json", httplib::Headers h = {})
      : status(s), body(std::move(b)), content_type(std::move(ct)), headers(std::move(h)) {}
  int status;
  std::string body;
  std::string content_type;
  httplib::Headers headers;
};
using Route = std::function<Reply(const httplib::Request&)>;

// A fake Tigo: routes by path under /api/v3/, records every request.
class FakeTigo {
 public:
  FakeTigo() {
    server_.set_keep_alive_timeout(1);
    server_.Get(R"(/api/v3/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string path = req.matches[1];
      const int now = ++in_flight_;
      for (int seen = max_in_flight_.load(); now > seen;) {
        if (max_in_flight_.compare_exchange_weak(seen, now)) break;
      }
      Route route;
      {
        std::lock_guard lock(m_);
        requests_.push_back(req);
        auto it = routes_.find(path);
        if (it != routes_.end()) route = it->second;
      }
      Reply r = route ? route(req) : Reply{404, R"({"name":"Not Found","status":404})"};
      if (path != "users/login" && req.get_header_value("Authorization").rfind("Bearer ", 0) != 0)
        r = Reply{401, R"({"name":"Unauthorized","message":"no token","status":401})"};
      res.status = r.status;
      for (auto& h : r.headers) res.set_header(h.first, h.second);
      res.set_content(r.body, r.content_type);
      --in_flight_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds{1});
    route("users/login", [this](const httplib::Request& req) {
      const auto auth = req.get_header_value("Authorization");
      if (auth != httplib::make_basic_authentication_header("demo", kPassword).second)
        return Reply{401, R"({"name":"Unauthorized","message":"bad credentials","status":401})"};
      const auto expires = floor<seconds>(system_clock::now()) + hours{24};
      return Reply{200,
                   R"({"user":{"user_id":7,"auth":"tok-)" + std::to_string(++logins_) +
                       R"(","expires":")" + util::format_iso8601_utc(expires) +
                       R"(","user_type":"Installer","refresh_token":"r","user_agreement":true}})"};
    });
  }
  ~FakeTigo() {
    server_.stop();
    thread_.join();
  }

  void route(const std::string& path, Route r) {
    std::lock_guard lock(m_);
    routes_[path] = std::move(r);
  }
  void reply(const std::string& path, Reply r) {
    route(path, [r](const httplib::Request&) { return r; });
  }
  std::vector<httplib::Request> requests(const std::string& path) {
    std::lock_guard lock(m_);
    std::vector<httplib::Request> out;
    for (auto& r : requests_) {
      if (r.path == "/api/v3/" + path) out.push_back(r);
    }
    return out;
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/v3/"; }
  int max_in_flight() const { return max_in_flight_; }
  int logins() const { return logins_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex m_;
  std::map<std::string, Route> routes_;
  std::vector<httplib::Request> requests_;
  std::atomic<int> in_flight_{0}, max_in_flight_{0}, logins_{0};
};

struct Anomalies : tigo::CallObserver {
  std::mutex m;
  std::map<std::string, std::uint64_t> counts;  // "endpoint kind" -> count
  std::vector<std::string> codes;
  void on_call(std::string_view e, std::string_view code, double) override {
    std::lock_guard lock(m);
    codes.push_back(std::string(e) + " " + std::string(code));
  }
  void on_login(bool, std::optional<tigo::Timestamp>) override {}
  void on_rate_limit(std::optional<double>, std::optional<double>, std::optional<double>) override {
  }
  void on_csv_anomaly(std::string_view e, std::string_view kind, std::uint64_t n) override {
    std::lock_guard lock(m);
    counts[std::string(e) + " " + std::string(kind)] += n;
  }
};

std::unique_ptr<tigo::Client> make_client(FakeTigo& tigo, tigo::CallObserver* observer = nullptr,
                                          int concurrency = 4) {
  tigo::ClientOptions o;
  o.base_url = tigo.base_url();
  o.credentials = {"demo", kPassword, ""};
  o.timeout = seconds{5};
  o.observer = observer;
  o.concurrency = concurrency;
  o.rate_limit = 100'000;
  return tigo::Client::create(o).value();
}

tigo::LocalTime lt(int y, unsigned mo, unsigned d, int h, int mi) {
  return tigo::LocalTime{date::local_days{date::year{y} / mo / d}.time_since_epoch()} + hours{h} +
         minutes{mi};
}

}  // namespace

TEST_CASE("every JSON endpoint with answers in the recorded shapes", "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.reply("users/get", {200, fixture("user.json")});
  tigo.reply("systems", {200, fixture("systems.json")});
  tigo.reply("systems/view", {200, R"({"system":{"system_id":580317,"name":"Cedar Hollow Barn",
      "latitude":"39.52","timezone":"America/Denver","power_rating":8400}})"});
  tigo.reply("systems/layout", {200, fixture("layout.json")});
  tigo.reply("objects/system", {200, fixture("objects.json")});
  tigo.reply("objects/types", {200, fixture("object_types.json")});
  tigo.reply("sources/system", {200, fixture("sources.json")});
  tigo.reply("data/summary", {200, fixture("summary.json")});
  tigo.reply("alerts/types", {200, fixture("alert_types.json")});
  auto c = make_client(tigo);

  auto user = c->user();
  REQUIRE(user.ok());
  CHECK(user->company == "Cedar Hollow Energy Co-op");
  CHECK(tigo.requests("users/get").at(0).get_param_value("id") == "7");  // from the login
  auto systems = c->systems();
  REQUIRE(systems.ok());
  CHECK(systems->at(0).latitude == Approx(39.52));
  auto view = c->system(580317);
  REQUIRE(view.ok());
  CHECK(view->timezone == "America/Denver");
  CHECK(tigo.requests("systems/view").at(0).get_param_value("id") == "580317");
  auto layout = c->layout(580317);
  REQUIRE(layout.ok());
  CHECK(layout->inverters.at(0).mppts.at(0).strings.at(0).panels.at(0).serial == "OPT-B3-7731");
  CHECK(tigo.requests("systems/layout").at(0).get_param_value("id") == "580317");
  auto objects = c->objects(580317);
  REQUIRE(objects.ok());
  CHECK(objects->size() == 2);
  CHECK(tigo.requests("objects/system").at(0).get_param_value("system_id") == "580317");
  auto types = c->object_types();
  REQUIRE(types.ok());
  CHECK(types->at(1).label == "Panel");
  auto sources = c->sources(580317);
  REQUIRE(sources.ok());
  CHECK(sources->at(0).sets.at(0).name == "panels_avg");
  auto summary = c->summary(580317);
  REQUIRE(summary.ok());
  CHECK(summary->lifetime_energy_wh == Approx(18234567.89));
  auto alert_types = c->alert_types("DE");
  REQUIRE(alert_types.ok());
  CHECK(alert_types->at(0).unique_id == 102);
  CHECK(tigo.requests("alerts/types").at(0).get_param_value("language") == "DE");
  CHECK(tigo.logins() == 1);
  // Every call carried the bearer token.
  for (auto& r : tigo.requests("objects/types"))
    CHECK(r.get_header_value("Authorization") == "Bearer tok-1");
}

TEST_CASE("alerts/system follows pages and passes the window", "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.route("alerts/system", [](const httplib::Request& req) {
    const auto page = req.get_param_value("page");
    const std::string meta =
        R"(,"_meta":{"totalCount":3,"pageCount":2,"currentPage":)" + page + R"(,"perPage":2}})";
    if (page == "1")
      return Reply{
          200,
          R"({"alerts":[{"alert_id":1,"unique_id":106},{"alert_id":2,"unique_id":300}])" + meta};
    return Reply{
        200,
        R"({"alerts":[{"alert_id":3,"unique_id":106,"generated":"2026-03-01T10:00:00-08:00"}])" +
            meta};
  });
  auto c = make_client(tigo);
  tigo::AlertsQuery q;
  q.system_id = 9;
  q.start_added = util::parse_iso8601("2026-03-01T00:00:00Z");
  auto alerts = c->alerts(q);
  REQUIRE(alerts.ok());
  REQUIRE(alerts->size() == 3);
  CHECK(alerts->at(2).alert_id == 3);
  CHECK(alerts->at(2).generated == util::parse_iso8601("2026-03-01T18:00:00Z"));
  auto reqs = tigo.requests("alerts/system");
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].get_param_value("system_id") == "9");
  CHECK(reqs[0].get_param_value("start_added") == "2026-03-01T00:00:00+00:00");
  CHECK_FALSE(reqs[0].has_param("end_added"));
  CHECK(reqs[1].get_param_value("page") == "2");

  // The live probe's empty answer: pageCount 0 stops at once.
  tigo.reply("alerts/system", {200, fixture("alerts_empty_page.json")});
  auto none = c->alerts(q);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(tigo.requests("alerts/system").size() == 3);
}

TEST_CASE("data/aggregate: query, newest value per column, anomalies reported",
          "[tigo][client][endpoints]") {
  FakeTigo tigo;
  // Rows in UTC as the system's zone; one an hour ahead of now (future), one garbage.
  const auto now = floor<minutes>(system_clock::now());
  const auto ahead = util::format_iso8601_utc(now + hours{1});
  const auto past = util::format_iso8601_utc(now - minutes{3});
  auto csv_time = [](std::string iso) {
    std::string t = iso.substr(0, 19);
    t[4] = t[7] = '/';
    t[10] = ' ';
    return t;
  };
  tigo.reply("data/aggregate", {200,
                                "Datetime,101,102,555\r\n" + csv_time(past) + ",301.5,,1\r\n" +
                                    csv_time(ahead) + ",999,999,999\r\nthis is not a row\r\n",
                                "text/csv"});
  Anomalies obs;
  auto c = make_client(tigo, &obs);
  tigo::AggregateQuery q;
  q.system_id = 42;
  q.start = lt(2026, 3, 1, 6, 0);
  q.end = lt(2026, 3, 1, 8, 30);
  q.param = tigo::PanelParam::voltage;
  q.object_ids = {101, 102};
  q.sensors = false;
  q.zone = *tigo::find_zone("UTC");
  auto t = c->aggregate(q);
  REQUIRE(t.ok());
  CHECK(t->column("101")->newest->value == Approx(301.5));
  CHECK_FALSE(t->column("102")->newest.has_value());
  CHECK(t->anomalies.future_row == 1);
  CHECK(t->anomalies.bad_row == 1);
  CHECK(t->anomalies.unknown_column == 1);
  CHECK(obs.counts["data/aggregate future_row"] == 1);
  CHECK(obs.counts["data/aggregate bad_row"] == 1);
  CHECK(obs.counts["data/aggregate unknown_column"] == 1);
  CHECK(obs.counts.count("data/aggregate header_only") == 0);
  const auto r = tigo.requests("data/aggregate").at(0);
  CHECK(r.get_param_value("system_id") == "42");
  CHECK(r.get_param_value("start") == "2026-03-01T06:00:00");
  CHECK(r.get_param_value("end") == "2026-03-01T08:30:00");
  CHECK(r.get_param_value("level") == "min");
  CHECK(r.get_param_value("param") == "Vin");
  CHECK(r.get_param_value("header") == "id");
  CHECK(r.get_param_value("object_ids") == "101,102");
  CHECK(r.get_param_value("sensors") == "false");

  tigo.reply("data/aggregate", {200, "Datetime\n", "text/csv"});
  auto empty = c->aggregate(q);
  REQUIRE(empty.ok());
  CHECK(empty->columns.empty());
  CHECK(obs.counts["data/aggregate header_only"] == 1);
}

TEST_CASE("data/combined: level minute, DATETIME header, the document's rows",
          "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.reply("data/combined", {200,
                               "DATETIME, 1,2\n2016/08/16 08:00:00.000,1170, 35\n2016/08/16 "
                               "08:01:00.000,1175, 36\n2016/08/16 08:03:00.000,1216,50\n",
                               "text/csv"});
  Anomalies obs;
  auto c = make_client(tigo, &obs);
  tigo::CombinedQuery q;
  q.system_id = 1;
  q.start = lt(2016, 8, 16, 8, 0);
  q.end = lt(2016, 8, 16, 8, 3);
  q.object_ids = {1, 2};
  auto t = c->combined(q);
  REQUIRE(t.ok());
  CHECK(t->column("1")->newest->value == Approx(1216));
  CHECK(t->column("2")->newest->time == lt(2016, 8, 16, 8, 3));
  CHECK(obs.counts.empty());
  const auto r = tigo.requests("data/combined").at(0);
  CHECK(r.get_param_value("level") == "minute");
  CHECK(r.get_param_value("object_ids") == "1,2");
}

TEST_CASE("odd answers become typed errors, never crashes", "[tigo][client][endpoints]") {
  FakeTigo tigo;
  Anomalies obs;
  auto c = make_client(tigo, &obs);
  const std::string layout = fixture("layout.json");

  tigo.reply("systems/layout", {200, layout.substr(0, layout.size() / 2)});
  auto truncated = c->layout(1);
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().kind == tigo::ErrorKind::parse);
  CHECK(truncated.error().message.rfind("systems/layout: invalid JSON", 0) == 0);

  tigo.reply("objects/system", {200, "<html><body>Bad gateway</body></html>", "text/html"});
  auto html = c->objects(1);
  REQUIRE_FALSE(html.ok());
  CHECK(html.error().kind == tigo::ErrorKind::parse);

  tigo.reply("data/aggregate", {200, R"({"name":"Bad Request","status":400})"});
  auto json_for_csv = c->aggregate({});
  REQUIRE_FALSE(json_for_csv.ok());
  CHECK(json_for_csv.error().kind == tigo::ErrorKind::parse);

  tigo.reply("data/summary", {503, "<html>Service Unavailable</html>", "text/html"});
  auto unavailable = c->summary(1);
  REQUIRE_FALSE(unavailable.ok());
  CHECK(unavailable.error().kind == tigo::ErrorKind::http_status);
  CHECK(unavailable.error().status == 503);
  CHECK(unavailable.error().message == "data/summary: HTTP 503: <html>Service Unavailable</html>");
  CHECK(c->governor().state().consecutive_failures == 1);

  tigo.reply(
      "sources/system",
      {400,
       R"({"name":"Bad Request","message":"Missing required parameters: system_id","code":0,"status":400})"});
  auto bad = c->sources(1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "sources/system: HTTP 400: Missing required parameters: system_id");
  CHECK(bad.error().endpoint == "sources/system");

  for (const auto* e : {&truncated.error(), &html.error(), &unavailable.error(), &bad.error()}) {
    CHECK(e->message.find(kPassword) == std::string::npos);
    CHECK(e->message.find("tok-1") == std::string::npos);
  }
}

TEST_CASE("429 is rate_limited with the wait, and the governor holds back",
          "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.reply("objects/types", {429,
                               R"({"name":"Too Many Requests","status":429})",
                               "application/json",
                               {{"Retry-After", "7"},
                                {"X-Rate-Limit-Limit", "100"},
                                {"X-Rate-Limit-Remaining", "0"},
                                {"X-Rate-Limit-Reset", "7"}}});
  auto c = make_client(tigo);
  auto r = c->object_types();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::rate_limited);
  CHECK(r.error().retry_after == seconds{7});
  CHECK(c->governor().wait_time() > seconds{6});
  CHECK(c->governor().state().rate_limited == 1);
  // A cancelled caller gives up instead of waiting the 7 s.
  std::stop_source stop;
  stop.request_stop();
  auto held = c->object_types(stop.get_token());
  REQUIRE_FALSE(held.ok());
  CHECK(held.error().kind == tigo::ErrorKind::cancelled);
  CHECK(tigo.requests("objects/types").size() == 1);
}

TEST_CASE("429 with rate headers beyond reason waits an hour at most, garbage is ignored",
          "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.reply("objects/types", {429,
                               R"({"name":"Too Many Requests","status":429})",
                               "application/json",
                               {{"Retry-After", "1e300"},
                                {"X-Rate-Limit-Limit", "inf"},
                                {"X-Rate-Limit-Remaining", "-3"},
                                {"X-Rate-Limit-Reset", "nan"}}});
  auto c = make_client(tigo);
  auto huge = c->object_types();
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().kind == tigo::ErrorKind::rate_limited);
  CHECK(huge.error().retry_after == tigo::kMaxHeaderWait);
  CHECK(c->governor().wait_time() <= tigo::kMaxHeaderWait);
  CHECK(c->governor().wait_time() > tigo::kMaxHeaderWait - minutes{1});
  const auto s = c->governor().state();
  CHECK(s.header_limit == tigo::kMaxHeaderCount);
  CHECK_FALSE(s.header_remaining.has_value());
  CHECK_FALSE(s.header_reset_seconds.has_value());
  CHECK(s.cap_per_minute == 100'000.0);  // make_client's, below the bounded header limit

  FakeTigo other;
  other.reply("systems/layout", {429,
                                 R"({"name":"Too Many Requests","status":429})",
                                 "application/json",
                                 {{"Retry-After", "soon"}, {"X-Rate-Limit-Reset", " 9 "}}});
  auto garbage = make_client(other)->layout(1);
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().kind == tigo::ErrorKind::rate_limited);
  CHECK(garbage.error().retry_after == seconds{9});  // the reset, as Retry-After is no wait
}

TEST_CASE("bad credentials are unauthorized and say nothing secret", "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo::ClientOptions o;
  o.base_url = tigo.base_url();
  o.credentials = {"demo", "wrong-pw-123", ""};
  auto c = tigo::Client::create(o).value();
  auto r = c->systems();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::unauthorized);
  CHECK(r.error().endpoint == "users/login");
  CHECK(r.error().message == "users/login: HTTP 401: bad credentials");
}

TEST_CASE("answers larger than the cap are refused", "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.reply("objects/types", {200, R"({"object_types":[)" + std::string(100'000, ' ') + "]}"});
  tigo::ClientOptions o;
  o.base_url = tigo.base_url();
  o.credentials = {"demo", kPassword, ""};
  o.max_body_bytes = 10'000;
  auto c = tigo::Client::create(o).value();
  auto r = c->object_types();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  CHECK(r.error().message == "objects/types: answer larger than 10000 bytes");
}

TEST_CASE("at most `concurrency` requests are in flight, whatever the threads",
          "[tigo][client][endpoints]") {
  FakeTigo tigo;
  tigo.route("data/summary", [](const httplib::Request&) {
    std::this_thread::sleep_for(milliseconds{40});
    return Reply{200, R"({"summary":{"last_power_dc":5}})"};
  });
  auto c = make_client(tigo, nullptr, 3);
  std::atomic<int> ok{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 10; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 3; ++i) {
          if (auto s = c->summary(1); s.ok() && s->last_power_w == 5) ++ok;
        }
      });
    }
  }
  CHECK(ok == 30);
  CHECK(tigo.max_in_flight() == 3);
  CHECK(tigo.logins() == 1);
}
