#include "libkars/mesh/relay_tls.h"

#include <grpcpp/security/credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"

namespace kars::mesh {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Bio ReadOnly(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of `pem`, counting how many it holds; null when none parses.
Cert FirstCertificate(const std::string& pem, int* count) {
  Bio bio = ReadOnly(pem);
  Cert first;
  *count = 0;
  while (bio != nullptr) {
    Cert c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (c == nullptr) break;
    if (first == nullptr) first = std::move(c);
    ++*count;
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  return first;
}

}  // namespace

RelayTls::~RelayTls() { SecureZero(private_key_pem); }

absl::Status ValidateRelayTls(const RelayTls& tls) {
  if (!tls.enabled) return absl::OkStatus();
  int count = 0;
  if (!tls.root_certs_pem.empty() && FirstCertificate(tls.root_certs_pem, &count) == nullptr) {
    return absl::InvalidArgumentError(
        "relay TLS: the CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  if (tls.cert_chain_pem.empty() != tls.private_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "relay TLS: a client certificate and its private key go together");
  }
  if (tls.cert_chain_pem.empty()) return absl::OkStatus();
  Cert leaf = FirstCertificate(tls.cert_chain_pem, &count);
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(
        "relay TLS: the client certificate chain holds no PEM certificate");
  }
  Bio bio = ReadOnly(tls.private_key_pem);
  Key key(bio == nullptr ? nullptr
                         : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "relay TLS: the client private key is not an unencrypted PEM private key");
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "relay TLS: the client private key does not belong to the client certificate");
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> RelayChannelCredentials(const RelayTls& tls,
                                                                  grpc::ChannelArguments* args) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.root_certs_pem;
  options.pem_cert_chain = tls.cert_chain_pem;
  options.pem_private_key = tls.private_key_pem;
  auto creds = grpc::SslCredentials(options);
  SecureZero(options.pem_private_key);  // gRPC keeps its own copy for the channel's life
  if (!tls.server_name.empty()) args->SetSslTargetNameOverride(tls.server_name);
  return creds;
}

}  // namespace kars::mesh
