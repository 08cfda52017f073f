#include "libkars/broker/oauth_source.h"

#include <openssl/evp.h>

#include "absl/strings/numbers.h"
#include "libkars/base/sync.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"
#include "libkars/broker/https_client.h"
#include "libkars/broker/source.h"
#include "yaml-cpp/yaml.h"

namespace kars::broker {
namespace {

absl::StatusOr<SecretPtr> ReadSubjectToken(const std::string& path) {
  FileSourceOptions o;
  o.path = path;
  auto token = NewFileSource(o)->Fetch();
  if (!token.ok()) return token.status();
  return token->value;
}

bool SafeErrorCode(absl::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

class OAuthSource final : public Source {
 public:
  OAuthSource(OAuthOptions o, HttpsUrl url, bool exchange)
      : o_(std::move(o)), url_(std::move(url)), exchange_(exchange) {}
  const char* kind() const override {
    return exchange_ ? "oauth_token_exchange" : "oauth_client_credentials";
  }

  absl::StatusOr<Token> Fetch() override {
    HttpsRequest req;
    req.url = url_;
    req.ca_file = o_.ca_file;
    req.timeout = o_.timeout;
    std::string& body = req.body;
    if (exchange_) {
      auto subject = ReadSubjectToken(o_.subject_token_file);
      if (!subject.ok()) return Prefix(subject.status());
      {
        kars::MutexLock lock(&mu_);
        subject_ = *subject;
      }
      absl::StrAppend(&body, "grant_type=", FormEncode("urn:ietf:params:oauth:grant-type:token-exchange"),
                      "&subject_token=", FormEncode((*subject)->Reveal()),
                      "&subject_token_type=", FormEncode(o_.subject_token_type));
      if (!o_.requested_token_type.empty()) {
        absl::StrAppend(&body, "&requested_token_type=", FormEncode(o_.requested_token_type));
      }
    } else {
      body = "grant_type=client_credentials";
    }
    if (!o_.scope.empty()) absl::StrAppend(&body, "&scope=", FormEncode(o_.scope));
    if (!o_.audience.empty()) absl::StrAppend(&body, "&audience=", FormEncode(o_.audience));
    if (!o_.resource.empty()) absl::StrAppend(&body, "&resource=", FormEncode(o_.resource));
    if (!o_.client_id.empty()) {
      if (o_.basic_auth && o_.client_secret != nullptr) {
        // RFC 6749 §2.3.1: both parts form-encoded, then base64 of "id:secret".
        std::string pair = absl::StrCat(FormEncode(o_.client_id), ":",
                                        FormEncode(o_.client_secret->Reveal()));
        std::string b64(4 * ((pair.size() + 2) / 3) + 1, '\0');
        b64.resize(static_cast<std::size_t>(
            EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                            reinterpret_cast<const unsigned char*>(pair.data()),
                            static_cast<int>(pair.size()))));
        SecureZero(pair);
        req.headers.emplace_back("Authorization", absl::StrCat("Basic ", b64));
        SecureZero(b64);
      } else {
        absl::StrAppend(&body, "&client_id=", FormEncode(o_.client_id));
        if (o_.client_secret != nullptr) {
          absl::StrAppend(&body, "&client_secret=", FormEncode(o_.client_secret->Reveal()));
        }
      }
    }
    auto resp = HttpsPost(req);
    SecureZero(body);
    for (auto& h : req.headers) SecureZero(h.second);
    if (!resp.ok()) return Prefix(resp.status());
    auto token = ParseTokenResponse(resp->status, resp->body, absl::Now());
    SecureZero(resp->body);
    if (!token.ok()) return Prefix(token.status());
    return token;
  }

  std::vector<std::pair<std::string, SecretPtr>> AuxiliarySecrets() const override {
    std::vector<std::pair<std::string, SecretPtr>> out;
    if (o_.client_secret != nullptr) out.emplace_back("client_secret", o_.client_secret);
    kars::MutexLock lock(&mu_);
    if (subject_ != nullptr) out.emplace_back("subject_token", subject_);
    return out;
  }

 private:
  absl::Status Prefix(const absl::Status& s) const {
    return MakeStatus(ToCStatus(s), absl::StrCat(kind(), " source: ", s.message()));
  }

  OAuthOptions o_;
  HttpsUrl url_;
  bool exchange_;
  mutable kars::Mutex mu_;
  SecretPtr subject_ ABSL_GUARDED_BY(mu_);  // the last workload token exchanged
};

}  // namespace

std::string FormEncode(absl::string_view value) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

absl::StatusOr<Token> ParseTokenResponse(int http_status, std::string& body, absl::Time now) {
  YAML::Node root;
  bool parsed = true;
  try {
    root = YAML::Load(body);
  } catch (const YAML::Exception&) {
    parsed = false;  // the parser's message would quote the body
  }
  if (http_status < 200 || http_status > 299) {
    std::string code;
    if (parsed && root.IsMap() && root["error"] && root["error"].IsScalar() &&
        SafeErrorCode(root["error"].Scalar())) {
      code = absl::StrCat(" (", root["error"].Scalar(), ")");
    }
    const kars_status kind = http_status >= 500 ? KARS_E_UNAVAILABLE : KARS_E_DENIED;
    return MakeStatus(kind, absl::StrCat("token endpoint returned HTTP ", http_status, code));
  }
  if (!parsed || !root.IsMap()) {
    return MakeStatus(KARS_E_UNAVAILABLE, "token endpoint returned a body that is not a JSON object");
  }
  const YAML::Node access = root["access_token"];
  if (!access || !access.IsScalar() || access.Scalar().empty()) {
    return MakeStatus(KARS_E_UNAVAILABLE, "token endpoint response has no access_token");
  }
  Token token;
  auto secret = Secret::Create(access.Scalar());
  SecureZero(const_cast<std::string&>(access.Scalar()));
  if (!secret.ok()) return secret.status();
  token.value = *std::move(secret);
  const YAML::Node expires_in = root["expires_in"];
  if (expires_in && !expires_in.IsNull()) {
    double seconds = 0;
    if (!expires_in.IsScalar() || !absl::SimpleAtod(expires_in.Scalar(), &seconds) ||
        !(seconds > 0 && seconds < 1e9)) {
      return MakeStatus(KARS_E_UNAVAILABLE, "token endpoint response has an invalid expires_in");
    }
    token.expires_at = now + absl::Seconds(seconds);
  }
  return token;
}

absl::StatusOr<std::unique_ptr<Source>> NewClientCredentialsSource(OAuthOptions options) {
  auto url = ParseHttpsUrl(options.token_url);
  if (!url.ok()) return url.status();
  if (options.client_id.empty()) {
    return absl::InvalidArgumentError("oauth_client_credentials source needs client_id");
  }
  return std::unique_ptr<Source>(new OAuthSource(std::move(options), *std::move(url), false));
}

absl::StatusOr<std::unique_ptr<Source>> NewTokenExchangeSource(OAuthOptions options) {
  auto url = ParseHttpsUrl(options.token_url);
  if (!url.ok()) return url.status();
  if (options.subject_token_file.empty()) {
    return absl::InvalidArgumentError("oauth_token_exchange source needs subject_token_file");
  }
  return std::unique_ptr<Source>(new OAuthSource(std::move(options), *std::move(url), true));
}

}  // namespace kars::broker
