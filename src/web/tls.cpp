#include "web/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "web/web_config.hpp"

namespace web {
namespace {

struct OpenSslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
  void operator()(STACK_OF(X509_NAME) * p) const { sk_X509_NAME_pop_free(p, X509_NAME_free); }
};
template <class T>
using Owned = std::unique_ptr<T, OpenSslFree>;

static_assert(static_cast<int>(TlsVersion::tls10) == TLS1_VERSION);
static_assert(static_cast<int>(TlsVersion::tls11) == TLS1_1_VERSION);
static_assert(static_cast<int>(TlsVersion::tls12) == TLS1_2_VERSION);
static_assert(static_cast<int>(TlsVersion::tls13) == TLS1_3_VERSION);

// The cipher suites the toolkit accepts (Go's tls.CipherSuites() by their Go names) with
// OpenSSL's names. As in Go, the list configures TLS 1.2 and below: TLS 1.3 suites are
// accepted and leave TLS 1.3 as it is.
struct Cipher {
  std::string_view go;
  std::string_view openssl;  // empty for TLS 1.3 suites
};
constexpr Cipher kCiphers[] = {
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
};

// The toolkit's curve names (Go's tls.CurveID) with OpenSSL's group names.
struct Curve {
  std::string_view go;
  std::string_view openssl;
};
constexpr Curve kCurves[] = {
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};

// OpenSSL's reason for the last failure, its error queue emptied.
std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// Never prompts on a terminal for an encrypted key: it fails instead.
int no_password(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

util::Result<std::string> read_pem(const std::string& inline_pem, const std::string& file,
                                   std::string_view field) {
  if (file.empty()) return inline_pem;
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return util::make_error("failed to read " + std::string(field) + " (" + file +
                            "): " + (errno != 0 ? std::strerror(errno) : "cannot open"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Owned<BIO> memory_bio(const std::string& data) {
  return Owned<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Every certificate of a PEM text, in order.
std::vector<Owned<X509>> certificates(const std::string& pem) {
  std::vector<Owned<X509>> out;
  const auto bio = memory_bio(pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the end of the text reads as "no start line"
  return out;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4) inet_ntop(AF_INET, data, buf, sizeof buf);
  if (len == 16) inet_ntop(AF_INET6, data, buf, sizeof buf);
  return buf;
}

// Whether one of the certificate's SANs (DNS, e-mail, IP, URI) is exactly one of `allowed`, as
// the toolkit's VerifyPeerCertificate.
bool san_allowed(X509* cert, const std::vector<std::string>& allowed) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (n->type == GEN_DNS || n->type == GEN_EMAIL || n->type == GEN_URI) {
      const ASN1_IA5STRING* s = n->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_IPADD) {
      value = ip_text(n->d.iPAddress);
    } else {
      continue;
    }
    found = std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

}  // namespace

bool known_cipher_suite(std::string_view go_name) {
  return std::any_of(std::begin(kCiphers), std::end(kCiphers),
                     [&](const Cipher& k) { return k.go == go_name; });
}

bool known_curve(std::string_view go_name) {
  return std::any_of(std::begin(kCurves), std::end(kCurves),
                     [&](const Curve& k) { return k.go == go_name; });
}

// Everything a handshake needs, loaded once per config; never changed after make_tls_settings.
class TlsSettings {
 public:
  Owned<X509> cert;
  Owned<EVP_PKEY> key;
  Owned<STACK_OF(X509)> chain;
  Owned<X509_STORE> verify_store;       // set when client certificates are verified
  Owned<STACK_OF(X509_NAME)> ca_names;  // the client CAs' subjects, sent with the request
  int verify_mode = SSL_VERIFY_NONE;
  bool verify_chain = false;  // false: any client certificate (Request/RequireAny)
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string cipher_list;  // OpenSSL's names; empty: OpenSSL's defaults
  std::string groups;       // empty: OpenSSL's defaults
  bool server_preference = true;
  std::vector<std::string> allowed_sans;

  bool apply(SSL* ssl) const {
    if (SSL_use_cert_and_key(ssl, cert.get(), key.get(), chain.get(), 1) != 1) return false;
    if (SSL_set_min_proto_version(ssl, min_version) != 1 ||
        SSL_set_max_proto_version(ssl, max_version) != 1)
      return false;
    SSL_set_verify(ssl, verify_mode, nullptr);
    if (verify_store && SSL_set1_verify_cert_store(ssl, verify_store.get()) != 1) return false;
    if (ca_names) SSL_set_client_CA_list(ssl, SSL_dup_CA_list(ca_names.get()));
    if (!cipher_list.empty() && SSL_set_cipher_list(ssl, cipher_list.c_str()) != 1) return false;
    if (!groups.empty() && SSL_set1_groups_list(ssl, groups.c_str()) != 1) return false;
    if (server_preference)
      SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
    else
      SSL_clear_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
    return true;
  }
};

util::Result<std::shared_ptr<const TlsSettings>> make_tls_settings(const TlsConfig& c) {
  ERR_clear_error();
  auto s = std::make_shared<TlsSettings>();

  const auto cert_pem = read_pem(c.cert, c.cert_file, "cert_file");
  if (!cert_pem) return cert_pem.error();
  const auto key_pem = read_pem(c.key, c.key_file, "key_file");
  if (!key_pem) return key_pem.error();
  auto certs = certificates(*cert_pem);
  if (certs.empty())
    return util::make_error("failed to load X509KeyPair: no PEM certificate in " +
                            std::string(c.cert_file.empty() ? "cert" : "cert_file"));
  s->cert = std::move(certs.front());
  s->chain.reset(sk_X509_new_null());
  for (std::size_t i = 1; i < certs.size(); ++i)
    if (sk_X509_push(s->chain.get(), certs[i].get()) > 0)
      (void)certs[i].release();  // the stack owns it now
  {
    const auto bio = memory_bio(*key_pem);
    s->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    ERR_clear_error();
  }
  if (!s->key)
    return util::make_error("failed to load X509KeyPair: no PEM private key in " +
                            std::string(c.key_file.empty() ? "key" : "key_file") +
                            " (or the key is encrypted)");
  if (X509_check_private_key(s->cert.get(), s->key.get()) != 1) {
    ERR_clear_error();
    return util::make_error("failed to load X509KeyPair: private key does not match public key");
  }

  switch (c.client_auth) {
    case ClientAuth::no_client_cert:
      s->verify_mode = SSL_VERIFY_NONE;
      break;
    case ClientAuth::request_client_cert:
      s->verify_mode = SSL_VERIFY_PEER;
      break;
    case ClientAuth::require_any_client_cert:
      s->verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
    case ClientAuth::verify_client_cert_if_given:
      s->verify_mode = SSL_VERIFY_PEER;
      s->verify_chain = true;
      break;
    case ClientAuth::require_and_verify_client_cert:
      s->verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      s->verify_chain = true;
      break;
  }
  if (!c.client_ca.empty() || !c.client_ca_file.empty()) {
    const auto ca_pem = read_pem(c.client_ca, c.client_ca_file, "client_ca_file");
    if (!ca_pem) return ca_pem.error();
    auto cas = certificates(*ca_pem);
    if (cas.empty())
      return util::make_error((c.client_ca_file.empty()
                                   ? std::string("client_ca")
                                   : "client_ca_file (" + c.client_ca_file + ")") +
                              " holds no PEM certificate");
    s->verify_store.reset(X509_STORE_new());
    s->ca_names.reset(sk_X509_NAME_new_null());
    for (const auto& ca : cas) {
      X509_STORE_add_cert(s->verify_store.get(), ca.get());
      if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get())))
        if (sk_X509_NAME_push(s->ca_names.get(), name) <= 0) X509_NAME_free(name);
    }
    ERR_clear_error();
  } else if (s->verify_chain) {
    // Go verifies against the system's roots when no client CA is given.
    s->verify_store.reset(X509_STORE_new());
    X509_STORE_set_default_paths(s->verify_store.get());
    ERR_clear_error();
  }
  s->allowed_sans = c.client_allowed_sans;

  s->min_version = static_cast<int>(c.min_version);
  s->max_version = static_cast<int>(c.max_version);
  s->server_preference = c.prefer_server_cipher_suites;
  for (const auto& name : c.cipher_suites) {
    const auto* it = std::find_if(std::begin(kCiphers), std::end(kCiphers),
                                  [&](const Cipher& k) { return k.go == name; });
    if (it == std::end(kCiphers)) return util::make_error("unknown cipher: " + name);
    if (it->openssl.empty()) continue;
    if (!s->cipher_list.empty()) s->cipher_list += ':';
    s->cipher_list += it->openssl;
  }
  for (const auto& name : c.curve_preferences) {
    const auto* it = std::find_if(std::begin(kCurves), std::end(kCurves),
                                  [&](const Curve& k) { return k.go == name; });
    if (it == std::end(kCurves)) return util::make_error("unknown curve: " + name);
    if (!s->groups.empty()) s->groups += ':';
    s->groups += it->openssl;
  }

  // Everything applied once to a throwaway connection: a setting OpenSSL refuses fails here,
  // at load, never in a handshake.
  const Owned<SSL_CTX> probe_ctx(SSL_CTX_new(TLS_server_method()));
  SSL* probe = probe_ctx ? SSL_new(probe_ctx.get()) : nullptr;
  const bool applied = probe != nullptr && s->apply(probe);
  SSL_free(probe);
  if (!applied) return util::make_error("OpenSSL refuses tls_server_config: " + openssl_reason());
  return std::shared_ptr<const TlsSettings>(std::move(s));
}

std::string certificate_subject(const TlsSettings& settings) {
  const Owned<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(settings.cert.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

// --- the listener -------------------------------------------------------------------------------

namespace {

using HeldSettings = std::shared_ptr<const TlsSettings>;

void free_held(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
               void* /*argp*/) {
  delete static_cast<HeldSettings*>(ptr);
}

// Each connection holds the settings its handshake started with, until the SSL is freed.
int held_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_held);
  return index;
}

const TlsSettings* held_by(const SSL* ssl) {
  const auto* held = static_cast<const HeldSettings*>(SSL_get_ex_data(ssl, held_index()));
  return held != nullptr ? held->get() : nullptr;
}

// Called before version, cipher and certificate are chosen: the place to apply them.
int on_client_hello(SSL* ssl, int* alert, void* arg) {
  if (held_by(ssl) != nullptr) return SSL_CLIENT_HELLO_SUCCESS;  // the retry after a HRR
  auto settings = static_cast<const TlsContext*>(arg)->current();
  auto* held = new HeldSettings(std::move(settings));
  if (!*held || SSL_set_ex_data(ssl, held_index(), held) != 1) {
    delete held;
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (!(*held)->apply(ssl)) {
    ERR_clear_error();
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Replaces OpenSSL's chain verification of a client certificate: the chain is verified only for
// the Verify* policies (Request/RequireAny take any certificate, as in Go), then the SANs are
// matched against client_allowed_sans.
int verify_client(X509_STORE_CTX* store, void* /*arg*/) {
  const auto* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const TlsSettings* s = ssl != nullptr ? held_by(ssl) : nullptr;
  if (s == nullptr) return 0;
  if (s->verify_chain) {
    if (X509_verify_cert(store) <= 0) return 0;
  } else {
    X509_STORE_CTX_set_error(store, X509_V_OK);
  }
  if (!s->allowed_sans.empty() && !san_allowed(X509_STORE_CTX_get0_cert(store), s->allowed_sans)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

}  // namespace

TlsContext::TlsContext(std::shared_ptr<const TlsSettings> settings)
    : settings_(std::move(settings)) {}

bool TlsContext::setup(SSL_CTX& ctx) {
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(&ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(&ctx, 0);
  SSL_CTX_set_client_hello_cb(&ctx, on_client_hello, this);
  SSL_CTX_set_cert_verify_callback(&ctx, verify_client, nullptr);
  return held_index() >= 0 && current() != nullptr;
}

void TlsContext::update(std::shared_ptr<const TlsSettings> settings) {
  std::lock_guard lock(mutex_);
  settings_.swap(settings);
}

std::shared_ptr<const TlsSettings> TlsContext::current() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

}  // namespace web
