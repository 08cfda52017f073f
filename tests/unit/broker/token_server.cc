#include "tests/unit/broker/token_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kars::broker::testing {
namespace {

EVP_PKEY* NewKey() { return EVP_EC_gen("P-256"); }

X509* NewCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "CA:FALSE");
    add(NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    add(NID_ext_key_usage, "serverAuth");
  }
  X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

bool ReadRequest(SSL* ssl, TokenRequest* req) {
  std::string data;
  char buf[4096];
  std::size_t header_end = std::string::npos;
  std::size_t content_length = 0;
  while (true) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::vector<std::string> lines = absl::StrSplit(data.substr(0, header_end), "\r\n");
      std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
      if (first.size() >= 2) req->target = first[1];
      for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
        std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
        if (name == "content-length") (void)absl::SimpleAtoi(value, &content_length);
        if (name == "authorization") req->authorization = value;
      }
    }
    if (data.size() >= header_end + 4 + content_length) {
      req->body = data.substr(header_end + 4, content_length);
      return true;
    }
  }
}

}  // namespace

struct TokenServer::Impl {
  SSL_CTX* ctx = nullptr;
  int listen_fd = -1;
  std::thread acceptor;
  kars::Mutex mu;
  std::vector<std::thread> workers;
};

TokenServer::TokenServer(Handler handler) : impl_(new Impl), handler_(std::move(handler)) {
  EVP_PKEY* ca_key = NewKey();
  X509* ca = NewCert(ca_key, "kars test CA", nullptr, nullptr, true);
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, "localhost", ca, ca_key, false);
  char tmpl[] = "/tmp/kars-test-ca-XXXXXX";
  const int fd = mkstemp(tmpl);
  ca_file_ = tmpl;
  FILE* f = fdopen(fd, "w");
  PEM_write_X509(f, ca);
  fclose(f);
  impl_->ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(impl_->ctx, cert);
  SSL_CTX_use_PrivateKey(impl_->ctx, key);
  X509_free(cert);
  X509_free(ca);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);

  impl_->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(impl_->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the OS chooses
  if (bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(impl_->listen_fd, 256) != 0) {
    throw std::runtime_error("token server: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  impl_->acceptor = std::thread([this] {
    while (!stop_.HasBeenNotified()) {
      pollfd p{impl_->listen_fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int conn = accept4(impl_->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      kars::MutexLock lock(&impl_->mu);
      impl_->workers.emplace_back([this, conn] { Serve(conn); });
    }
  });
}

void TokenServer::Serve(int fd) {
  SSL* ssl = SSL_new(impl_->ctx);
  SSL_set_fd(ssl, fd);
  TokenRequest req;
  if (SSL_accept(ssl) == 1 && ReadRequest(ssl, &req)) {
    ++calls_;
    {
      kars::MutexLock lock(&mu_);
      requests_.push_back(req);
    }
    TokenResponse resp = handler_(req);
    if (resp.delay > absl::ZeroDuration()) stop_.WaitForNotificationWithTimeout(resp.delay);
    if (!stop_.HasBeenNotified()) {
      const std::string out = absl::StrCat("HTTP/1.1 ", resp.status, " X\r\nContent-Type: application/json\r\n",
                                           "Content-Length: ", resp.body.size(),
                                           "\r\nConnection: close\r\n\r\n", resp.body);
      SSL_write(ssl, out.data(), static_cast<int>(out.size()));
      SSL_shutdown(ssl);
    }
  }
  SSL_free(ssl);
  close(fd);
}

TokenServer::~TokenServer() {
  stop_.Notify();
  impl_->acceptor.join();
  std::vector<std::thread> workers;
  {
    kars::MutexLock lock(&impl_->mu);
    workers.swap(impl_->workers);
  }
  for (auto& t : workers) t.join();
  close(impl_->listen_fd);
  SSL_CTX_free(impl_->ctx);
  unlink(ca_file_.c_str());
}

std::string TokenServer::url(const std::string& path) const {
  return absl::StrCat("https://127.0.0.1:", port_, path);
}

std::vector<TokenRequest> TokenServer::requests() const {
  kars::MutexLock lock(&mu_);
  return requests_;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/kars-broker-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  const std::string p = absl::StrCat(path_, "/", name);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  return p;
}

}  // namespace kars::broker::testing
