#include "libkars/broker/config.h"

#include <algorithm>
#include <filesystem>
#include <initializer_list>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libkars/base/secure_zero.h"
#include "libkars/broker/oauth_source.h"
#include "yaml-cpp/yaml.h"

namespace kars::broker {
namespace {

// Every lookup goes through Fields, which knows where it is ("grants[1] (id 'x')") so every
// error names the entry and the field.
class Fields {
 public:
  Fields(const YAML::Node& node, std::string where) : node_(node), where_(std::move(where)) {}

  absl::Status Err(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(where_, ": ", what));
  }
  const std::string& where() const { return where_; }

  absl::Status Only(std::initializer_list<const char*> allowed) const {
    if (!node_.IsMap()) return Err("expected a mapping");
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) return Err("keys must be strings");
      const std::string& key = kv.first.Scalar();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) return Err(absl::StrCat("unknown field '", key, "'"));
    }
    return absl::OkStatus();
  }
  bool Has(const char* key) const { return node_[key] && !node_[key].IsNull(); }
  YAML::Node Get(const char* key) const { return node_[key]; }

  absl::Status Str(const char* key, std::string* out, bool required) const {
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return required ? Err(absl::StrCat("missing '", key, "'")) : absl::OkStatus();
    if (!v.IsScalar()) return Err(absl::StrCat("'", key, "' must be a string"));
    *out = v.Scalar();
    if (required && out->empty()) return Err(absl::StrCat("'", key, "' must not be empty"));
    return absl::OkStatus();
  }
  absl::Status Int(const char* key, int64_t* out, int64_t lo, int64_t hi) const {
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return absl::OkStatus();
    int64_t n = 0;
    if (!v.IsScalar() || !absl::SimpleAtoi(v.Scalar(), &n) || n < lo || n > hi) {
      return Err(absl::StrCat("'", key, "' must be an integer in [", lo, ", ", hi, "]"));
    }
    *out = n;
    return absl::OkStatus();
  }
  absl::Status Bool(const char* key, bool* out) const {
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return absl::OkStatus();
    if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
      return Err(absl::StrCat("'", key, "' must be true or false"));
    }
    *out = v.Scalar() == "true";
    return absl::OkStatus();
  }
  absl::Status List(const char* key, std::vector<std::string>* out) const {
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return absl::OkStatus();
    if (v.IsScalar()) {
      out->push_back(v.Scalar());
      return absl::OkStatus();
    }
    if (!v.IsSequence()) return Err(absl::StrCat("'", key, "' must be a list of strings"));
    for (const auto& item : v) {
      if (!item.IsScalar()) return Err(absl::StrCat("'", key, "' must be a list of strings"));
      out->push_back(item.Scalar());
    }
    return absl::OkStatus();
  }

 private:
  YAML::Node node_;
  std::string where_;
};

#define KARS_TRY(expr)                      \
  do {                                      \
    if (absl::Status _s = (expr); !_s.ok()) \
      return _s;                            \
  } while (0)

// A secret that configures a source (an OAuth client secret): never inline, always a reference.
absl::StatusOr<SecretPtr> SecretRef(const Fields& f, const char* key) {
  if (!f.Has(key)) return SecretPtr();
  YAML::Node ref = f.Get(key);
  if (!ref.IsMap()) return f.Err(absl::StrCat("'", key, "' must be {file: PATH} or {env: NAME}"));
  Fields r(ref, absl::StrCat(f.where(), ".", key));
  KARS_TRY(r.Only({"file", "env"}));
  std::string file, env;
  KARS_TRY(r.Str("file", &file, false));
  KARS_TRY(r.Str("env", &env, false));
  if (file.empty() == env.empty()) return r.Err("exactly one of 'file' or 'env'");
  std::unique_ptr<Source> s;
  if (!file.empty()) {
    FileSourceOptions o;
    o.path = file;
    s = NewFileSource(o);
  } else {
    s = NewEnvSource(env);
  }
  auto token = s->Fetch();
  if (!token.ok()) return r.Err(token.status().message());
  return token->value;
}

// A directory of files, one key per file: one spec that the broker expands into a file source
// "<id>/<file name>" per key and keeps following.
absl::StatusOr<SourceSpec> DirectorySource(const YAML::Node& node, const std::string& where0) {
  SourceSpec spec;
  {
    Fields f(node, where0);
    KARS_TRY(f.Str("id", &spec.id, true));
  }
  Fields f(node, absl::StrCat(where0, " (id '", spec.id, "')"));
  KARS_TRY(f.Only({"id", "type", "path", "check_interval_ms"}));
  KARS_TRY(f.Str("path", &spec.directory, true));
  int64_t check_ms = 1000;
  KARS_TRY(f.Int("check_interval_ms", &check_ms, 0, 3600000));
  spec.check_interval = absl::Milliseconds(check_ms);
  return spec;
}

bool IsDirectory(const YAML::Node& node) {
  return node.IsMap() && node["type"] && node["type"].IsScalar() && node["type"].Scalar() == "directory";
}

absl::StatusOr<SourceSpec> SourceFrom(const YAML::Node& node, const std::string& where0) {
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat(where0, ": expected a mapping"));
  SourceSpec spec;
  std::string type;
  {
    Fields f(node, where0);
    KARS_TRY(f.Str("id", &spec.id, true));
  }
  Fields f(node, absl::StrCat(where0, " (id '", spec.id, "')"));
  KARS_TRY(f.Str("type", &type, true));
  int64_t refresh_ahead_s = 60, timeout_ms = 10000;
  KARS_TRY(f.Int("refresh_ahead_s", &refresh_ahead_s, 0, 86400));
  KARS_TRY(f.Int("timeout_ms", &timeout_ms, 1, 600000));
  spec.options.refresh_ahead = absl::Seconds(refresh_ahead_s);
  if (type == "file") {
    KARS_TRY(f.Only({"id", "type", "path", "dir", "key", "check_interval_ms", "refresh_ahead_s"}));
    FileSourceOptions o;
    std::string dir, key;
    KARS_TRY(f.Str("path", &o.path, false));
    KARS_TRY(f.Str("dir", &dir, false));
    KARS_TRY(f.Str("key", &key, false));
    if (!dir.empty() || !key.empty()) {
      if (!o.path.empty() || dir.empty() || key.empty()) {
        return f.Err("give either 'path', or 'dir' and 'key'");
      }
      if (key.find('/') != std::string::npos || key == "." || key == "..") {
        return f.Err("'key' must be a file name inside 'dir'");
      }
      o.path = absl::StrCat(dir, "/", key);
    }
    if (o.path.empty()) return f.Err("missing 'path'");
    int64_t check_ms = 1000;
    KARS_TRY(f.Int("check_interval_ms", &check_ms, 0, 3600000));
    o.check_interval = absl::Milliseconds(check_ms);
    spec.source = NewFileSource(std::move(o));
  } else if (type == "env") {
    KARS_TRY(f.Only({"id", "type", "name"}));
    std::string name;
    KARS_TRY(f.Str("name", &name, true));
    spec.source = NewEnvSource(name);
  } else if (type == "exec") {
    KARS_TRY(f.Only({"id", "type", "command", "timeout_ms", "refresh_ahead_s"}));
    ExecSourceOptions o;
    KARS_TRY(f.List("command", &o.argv));
    if (o.argv.empty() || o.argv[0].empty()) return f.Err("missing 'command'");
    o.timeout = absl::Milliseconds(timeout_ms);
    spec.source = NewExecSource(std::move(o));
  } else if (type == "oauth_client_credentials" || type == "oauth_token_exchange") {
    const bool exchange = type == "oauth_token_exchange";
    KARS_TRY(f.Only({"id", "type", "token_url", "ca_file", "timeout_ms", "refresh_ahead_s",
                     "client_id", "client_secret", "client_auth", "scope", "audience", "resource",
                     "subject_token_file", "subject_token_type", "requested_token_type"}));
    OAuthOptions o;
    KARS_TRY(f.Str("token_url", &o.token_url, true));
    KARS_TRY(f.Str("ca_file", &o.ca_file, false));
    KARS_TRY(f.Str("client_id", &o.client_id, !exchange));
    KARS_TRY(f.Str("scope", &o.scope, false));
    KARS_TRY(f.Str("audience", &o.audience, false));
    KARS_TRY(f.Str("resource", &o.resource, false));
    std::string auth = "basic";
    KARS_TRY(f.Str("client_auth", &auth, false));
    if (auth != "basic" && auth != "post") return f.Err("'client_auth' must be basic or post");
    o.basic_auth = auth == "basic";
    o.timeout = absl::Milliseconds(timeout_ms);
    auto secret = SecretRef(f, "client_secret");
    if (!secret.ok()) return secret.status();
    o.client_secret = *secret;
    if (exchange) {
      KARS_TRY(f.Str("subject_token_file", &o.subject_token_file, true));
      KARS_TRY(f.Str("subject_token_type", &o.subject_token_type, false));
      KARS_TRY(f.Str("requested_token_type", &o.requested_token_type, false));
    } else if (o.client_secret == nullptr) {
      return f.Err("missing 'client_secret'");
    }
    auto s = exchange ? NewTokenExchangeSource(std::move(o)) : NewClientCredentialsSource(std::move(o));
    if (!s.ok()) return f.Err(s.status().message());
    spec.source = *std::move(s);
  } else {
    return f.Err(absl::StrCat("unknown type '", type,
                              "' (file, env, exec, oauth_client_credentials, oauth_token_exchange)"));
  }
  return spec;
}

absl::StatusOr<Grant> GrantFrom(const YAML::Node& node, const std::string& where0) {
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat(where0, ": expected a mapping"));
  Grant g;
  {
    Fields f(node, where0);
    KARS_TRY(f.Str("id", &g.id, true));
  }
  Fields f(node, absl::StrCat(where0, " (id '", g.id, "')"));
  KARS_TRY(f.Only({"id", "principals", "destination", "credential", "inject", "allow_query",
                   "pass_through", "lease_ttl_s"}));
  KARS_TRY(f.List("principals", &g.principals));
  if (!f.Has("destination")) return f.Err("missing 'destination'");
  Fields d(f.Get("destination"), absl::StrCat(f.where(), ".destination"));
  KARS_TRY(d.Only({"scheme", "host", "port", "path_prefix", "methods"}));
  KARS_TRY(d.Str("scheme", &g.scheme, false));
  g.scheme = absl::AsciiStrToLower(g.scheme);
  KARS_TRY(d.Str("host", &g.host, true));
  g.host = absl::AsciiStrToLower(g.host);
  int64_t port = 0;
  KARS_TRY(d.Int("port", &port, 1, 65535));
  g.port = static_cast<int>(port);
  KARS_TRY(d.Str("path_prefix", &g.path_prefix, false));
  if (g.path_prefix.empty()) g.path_prefix = "/";
  KARS_TRY(d.List("methods", &g.methods));
  KARS_TRY(f.Str("credential", &g.credential, false));
  KARS_TRY(f.Bool("allow_query", &g.allow_query));
  KARS_TRY(f.List("pass_through", &g.pass_through));
  int64_t ttl = 300;
  KARS_TRY(f.Int("lease_ttl_s", &ttl, 1, 86400 * 30));
  g.lease_ttl = absl::Seconds(ttl);
  if (f.Has("inject")) {
    Fields i(f.Get("inject"), absl::StrCat(f.where(), ".inject"));
    KARS_TRY(i.Only({"header", "format", "basic", "query"}));
    KARS_TRY(i.Str("format", &g.format, false));
    if (i.Has("basic")) {
      if (i.Has("header") || i.Has("query") || i.Has("format")) {
        return i.Err("'basic' excludes 'header', 'query' and 'format'");
      }
      Fields b(i.Get("basic"), absl::StrCat(i.where(), ".basic"));
      KARS_TRY(b.Only({"username", "password"}));
      KARS_TRY(b.Str("username", &g.username_credential, true));
      KARS_TRY(b.Str("password", &g.password_credential, true));
      g.kind = InjectionKind::kBasic;
      g.header = "Authorization";
    } else if (i.Has("query")) {
      if (i.Has("header")) return i.Err("'query' excludes 'header'");
      KARS_TRY(i.Str("query", &g.query_param, true));
      g.kind = InjectionKind::kQuery;
      if (!i.Has("format")) g.format = "{value}";
    } else {
      KARS_TRY(i.Str("header", &g.header, false));
      if (g.header.empty()) g.header = "Authorization";
    }
  }
  KARS_TRY(ValidateGrant(g));
  return g;
}

absl::StatusOr<YAML::Node> Load(absl::string_view text) {
  try {
    return YAML::Load(std::string(text.data(), text.size()));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: not valid YAML/JSON: line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
}

template <class F>
auto Guarded(F&& f) -> decltype(f()) {
  // yaml-cpp throws on conversions deep inside; none may escape as anything but a config error.
  try {
    return f();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.msg));
  }
}

}  // namespace

absl::StatusOr<BrokerConfig> ParseConfig(absl::string_view text) {
  return Guarded([&]() -> absl::StatusOr<BrokerConfig> {
    auto root = Load(text);
    if (!root.ok()) return root.status();
    BrokerConfig config;
    if (root->IsNull()) return config;
    Fields top(*root, "config");
    KARS_TRY(top.Only({"settings", "sources", "grants"}));
    if (top.Has("settings")) {
      Fields s(top.Get("settings"), "settings");
      KARS_TRY(s.Only({"token_patterns", "max_leases"}));
      KARS_TRY(s.Bool("token_patterns", &config.settings.token_patterns));
      int64_t max = static_cast<int64_t>(config.settings.max_leases);
      KARS_TRY(s.Int("max_leases", &max, 1, 100000000));
      config.settings.max_leases = static_cast<std::size_t>(max);
    }
    for (const char* section : {"sources", "grants"}) {
      YAML::Node list = top.Get(section);
      if (!list || list.IsNull()) continue;
      if (!list.IsSequence()) return top.Err(absl::StrCat("'", section, "' must be a list"));
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = absl::StrCat(section, "[", i, "]");
        if (section[0] == 's') {
          auto spec = IsDirectory(list[i]) ? DirectorySource(list[i], where) : SourceFrom(list[i], where);
          if (!spec.ok()) return spec.status();
          for (const auto& other : config.sources) {
            if (other.id == spec->id) {
              return absl::InvalidArgumentError(absl::StrCat(where, ": duplicate source id '", spec->id, "'"));
            }
          }
          config.sources.push_back(*std::move(spec));
        } else {
          auto grant = GrantFrom(list[i], where);
          if (!grant.ok()) return grant.status();
          for (const auto& other : config.grants) {
            if (other.id == grant->id) {
              return absl::InvalidArgumentError(absl::StrCat(where, ": duplicate grant id '", grant->id, "'"));
            }
          }
          config.grants.push_back(*std::move(grant));
        }
      }
    }
    return config;
  });
}

absl::StatusOr<SourceSpec> ParseSource(absl::string_view text) {
  return Guarded([&]() -> absl::StatusOr<SourceSpec> {
    auto root = Load(text);
    if (!root.ok()) return root.status();
    return IsDirectory(*root) ? DirectorySource(*root, "source") : SourceFrom(*root, "source");
  });
}

absl::StatusOr<std::vector<SourceSpec>> ParseSources(absl::string_view text) {
  return Guarded([&]() -> absl::StatusOr<std::vector<SourceSpec>> {
    auto spec = ParseSource(text);
    if (!spec.ok()) return spec.status();
    std::vector<SourceSpec> out;
    out.push_back(*std::move(spec));
    return out;
  });
}

absl::StatusOr<std::vector<std::string>> ListDirectoryKeys(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code ec2;
    if (name.empty() || name[0] == '.' || !std::filesystem::is_regular_file(entry.path(), ec2)) continue;
    names.push_back(name);
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot list directory ", dir, ": ", ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<Grant> ParseGrant(absl::string_view text) {
  return Guarded([&]() -> absl::StatusOr<Grant> {
    auto root = Load(text);
    if (!root.ok()) return root.status();
    return GrantFrom(*root, "grant");
  });
}

}  // namespace kars::broker
