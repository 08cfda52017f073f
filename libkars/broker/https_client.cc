#include "libkars/broker/https_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"

namespace kars::broker {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxBody = 1 << 20;

}  // namespace

absl::StatusOr<HttpsUrl> ParseHttpsUrl(absl::string_view url) {
  if (!absl::StartsWithIgnoreCase(url, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("token URL must start with https://: ", url));
  }
  absl::string_view rest = url.substr(8);
  const std::size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  HttpsUrl out;
  out.target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("token URL must not carry user info");
  }
  const std::size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos && authority.find(']') == absl::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
    int port = 0;
    if (!absl::SimpleAtoi(out.port, &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("token URL has a bad port: ", url));
    }
  } else {
    out.host = std::string(authority);
    out.port = "443";
  }
  if (out.host.empty()) return absl::InvalidArgumentError(absl::StrCat("token URL has no host: ", url));
  return out;
}

absl::StatusOr<HttpsResponse> HttpsPost(const HttpsRequest& req) {
  const std::string where = absl::StrCat(req.url.host, ":", req.url.port);
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (req.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(req.ca_file, ec);
  }
  if (ec) {
    return MakeStatus(KARS_E_IO, absl::StrCat("token endpoint ", where, ": cannot load CA ",
                                              req.ca_file.empty() ? "(system)" : req.ca_file,
                                              ": ", ec.message()));
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  SSL* ssl = stream.native_handle();
  // The certificate must name the host: an IP address in its SAN, or a DNS name (sent as SNI).
  boost::system::error_code not_ip;
  asio::ip::make_address(req.url.host, not_ip);
  if (!not_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), req.url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, req.url.host.c_str());
    SSL_set1_host(ssl, req.url.host.c_str());
  }

  http::request<http::string_body> request(http::verb::post, req.url.target, 11);
  request.set(http::field::host, req.url.host);
  request.set(http::field::content_type, "application/x-www-form-urlencoded");
  request.set(http::field::accept, "application/json");
  for (const auto& [name, value] : req.headers) request.set(name, value);
  request.body() = req.body;
  request.prepare_payload();

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  std::string failed_step;
  boost::system::error_code failure;
  auto fail = [&](const char* step, boost::system::error_code e) {
    if (!failure) {
      failure = e;
      failed_step = step;
    }
  };
  const auto timeout = std::chrono::microseconds(absl::ToInt64Microseconds(req.timeout));
  tcp::resolver resolver(io);
  resolver.async_resolve(req.url.host, req.url.port, [&](auto e, tcp::resolver::results_type r) {
    if (e) return fail("resolve", e);
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).async_connect(r, [&](auto e2, auto) {
      if (e2) return fail("connect", e2);
      stream.async_handshake(asio::ssl::stream_base::client, [&](auto e3) {
        if (e3) return fail("TLS handshake", e3);
        http::async_write(stream, request, [&](auto e4, std::size_t) {
          if (e4) return fail("write", e4);
          http::async_read(stream, buffer, parser, [&](auto e5, std::size_t) {
            if (e5) return fail("read", e5);
          });
        });
      });
    });
  });
  io.run();
  SecureZero(request.body());
  if (failure) {
    const bool timed_out = failure == beast::error::timeout;
    return MakeStatus(KARS_E_UNAVAILABLE,
                      absl::StrCat("token endpoint ", where, ": ", failed_step, " failed: ",
                                   timed_out ? absl::StrCat("timed out after ",
                                                            absl::FormatDuration(req.timeout))
                                             : failure.message()));
  }
  HttpsResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace kars::broker
