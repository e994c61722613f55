// A throwaway PKI for TLS tests, made by the `openssl` command into a temp folder (removed with
// it): a CA, server and client certificates with SANs, another CA and its client. Header-only:
// unit and e2e tests both use it.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace testing {

inline void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A throwaway PKI: every certificate an EC P-256 key, valid two days, made when first named
// (ca, rogue-ca; server and rotated for 127.0.0.1; client, intruder and rogue for clients).
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/tigo_pki_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    crt("server");  // what every test serves; its config names the files by relative path
  }
  ~Pki() { std::filesystem::remove_all(dir_); }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  const std::string& dir() const { return dir_; }
  std::string crt(const std::string& name) const { return make(name) + ".crt"; }
  std::string key(const std::string& name) const { return make(name) + ".key"; }

 private:
  std::string make(const std::string& name) const {
    const std::string base = dir_ + "/" + name;
    if (std::filesystem::exists(base + ".crt")) return base;
    if (name == "ca" || name == "rogue-ca") {
      ca(name);
    } else if (name == "client") {
      leaf(name, "ca",
           "subjectAltName=DNS:prometheus.example,URI:spiffe://cluster/ns/monitoring/prometheus");
    } else if (name == "intruder") {
      leaf(name, "ca", "subjectAltName=DNS:intruder.example");
    } else if (name == "rogue") {
      leaf(name, "rogue-ca", "subjectAltName=DNS:prometheus.example");
    } else {
      leaf(name, "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    }
    return base;
  }

  static constexpr const char* kNewKey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

  void run(const std::string& cmd) const {
    INFO(cmd);
    REQUIRE(std::system((cmd + " >" + dir_ + "/openssl.log 2>&1").c_str()) == 0);
  }
  void ca(const std::string& name) const {
    run(std::string("openssl req -x509 ") + kNewKey + " -days 2 -subj /CN=" + name +
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign" +
        " -keyout " + dir_ + "/" + name + ".key -out " + dir_ + "/" + name + ".crt");
  }
  void leaf(const std::string& name, const std::string& issuer, const std::string& san) const {
    make(issuer);
    write(dir_ + "/" + name + ".ext", san + "\nextendedKeyUsage=serverAuth,clientAuth\n");
    const std::string base = dir_ + "/" + name, ca = dir_ + "/" + issuer;
    run(std::string("openssl req ") + kNewKey + " -subj /CN=" + name + " -keyout " + base +
        ".key -out " + base + ".csr");
    run("openssl x509 -req -days 2 -in " + base + ".csr -CA " + ca + ".crt -CAkey " + ca +
        ".key -CAcreateserial -extfile " + base + ".ext -out " + base + ".crt");
  }

  std::string dir_;
};

}  // namespace testing
