#include "hosts/relay/tls.h"

#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

namespace kars::relay {

namespace {

bool ReadPem(const std::string& path, const char* what, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  *out = text.str();
  if (!in || out->find("-----BEGIN ") == std::string::npos) {
    *error = std::string("cannot read ") + what + " " + path + " (a PEM file is expected)";
    return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TlsFiles& files,
                                                              std::string* error) {
  if (files.cert.empty() && files.key.empty()) {
    if (!files.client_ca.empty()) {
      *error = "--tls-client-ca needs --tls-cert and --tls-key (client certificates need TLS)";
      return nullptr;
    }
    return grpc::InsecureServerCredentials();
  }
  if (files.cert.empty() || files.key.empty()) {
    *error = "--tls-cert and --tls-key go together";
    return nullptr;
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  if (!ReadPem(files.cert, "--tls-cert", &pair.cert_chain, error) ||
      !ReadPem(files.key, "--tls-key", &pair.private_key, error)) {
    return nullptr;
  }
  grpc::SslServerCredentialsOptions options(
      files.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!files.client_ca.empty() &&
      !ReadPem(files.client_ca, "--tls-client-ca", &options.pem_root_certs, error)) {
    return nullptr;
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

}  // namespace kars::relay
