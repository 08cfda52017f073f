// Compilation of principal selectors, limits and domain lists.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libkars/policy/compiler_internal.h"

namespace kars::policy {

namespace pb = google::protobuf;

uint64_t Fnv1a(absl::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

absl::Status CompilePrincipal(const LoadedDocument& d, const v1::PrincipalSelector& s,
                              PrincipalMatcher* out) {
  struct Field {
    const pb::RepeatedPtrField<std::string>* values;
    NameMatcher* matcher;
  } fields[] = {{&s.agents(), &out->agents},
                {&s.sandboxes(), &out->sandboxes},
                {&s.namespaces(), &out->namespaces}};
  for (int f = 0; f < 3; ++f) {
    for (int i = 0; i < fields[f].values->size(); ++i) {
      absl::Status st = fields[f].matcher->Add((*fields[f].values)[i]);
      if (!st.ok()) return d.Error(&s, f + 1, i, kErrPattern, st.message());
    }
  }
  for (const auto& [k, v] : s.labels()) out->labels.emplace_back(k, v);
  std::sort(out->labels.begin(), out->labels.end());
  return absl::OkStatus();
}

absl::Status AddDomain(absl::string_view domain, DomainTable* out) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  char lower[256];
  if (domain.size() > 253) return ValidateDomain(domain);  // names the length problem
  for (size_t i = 0; i < domain.size(); ++i) lower[i] = absl::ascii_tolower(domain[i]);
  const absl::string_view name(lower, domain.size());
  absl::Status s = ValidateDomain(name);
  if (!s.ok()) return s;
  out->Insert(name);
  return absl::OkStatus();
}

absl::Status LoadDomainFeed(const PolicySource& source, DomainTable* out) {
  const absl::string_view text = source.text;
  // Feeds average well over 16 bytes a line; reserving up front avoids rehashing 1M entries.
  out->reserve(out->size() + text.size() / 24, text.size());
  int line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == absl::string_view::npos) nl = text.size();
    absl::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    // hosts-file format: "0.0.0.0 domain"
    if (size_t space = line.find_first_of(" \t"); space != absl::string_view::npos) {
      line = absl::StripLeadingAsciiWhitespace(line.substr(space));
    }
    absl::Status s = AddDomain(line, out);
    if (!s.ok()) return SourceError(source.name, {line_no, 1}, kErrPattern, s.message());
  }
  return absl::OkStatus();
}

namespace {

absl::Status ParseKeyField(absl::string_view text, KeyField* out) {
  static constexpr std::pair<absl::string_view, KeyField::Field> kFields[] = {
      {"agent", KeyField::kAgent},       {"sandbox", KeyField::kSandbox},
      {"namespace", KeyField::kNamespace}, {"model", KeyField::kModel},
      {"provider", KeyField::kProvider}, {"tool", KeyField::kTool},
      {"server", KeyField::kServer},     {"host", KeyField::kHost},
      {"peer", KeyField::kPeer}};
  if (absl::ConsumePrefix(&text, "label:")) {
    if (text.empty()) return absl::InvalidArgumentError("key 'label:' needs a label name");
    out->field = KeyField::kLabel;
    out->label = std::string(text.data(), text.size());
    return absl::OkStatus();
  }
  for (const auto& [name, field] : kFields) {
    if (text == name) {
      out->field = field;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown key field '", text,
      "' (agent, sandbox, namespace, label:NAME, model, provider, tool, server, host, peer)"));
}

absl::Status CompileLimit(const LoadedDocument& d, const v1::Limit& l,
                          const absl::flat_hash_map<std::string, uint32_t>& rule_ids, Limit* out) {
  using L = v1::Limit;
  out->id = l.id();
  out->id_hash = Fnv1a(l.id());
  int types = l.has_rate() + l.has_concurrency() + l.has_budget() + l.has_caps();
  if (types != 1) {
    return d.Error(&l, -1, -1, types == 0 ? kErrMissing : kErrConflict,
                   absl::StrCat("limit '", l.id(), "' must set exactly one of rate, concurrency, "
                                "budget, caps (found ", types, ")"));
  }
  for (int i = 0; i < l.kinds_size(); ++i) {
    Kind kind;
    if (!ParseKind(l.kinds(i), &kind)) {
      return d.Error(&l, L::kKindsFieldNumber, i, kErrValue,
                     absl::StrCat("unknown request kind '", l.kinds(i), "'"));
    }
    out->kinds_mask |= 1u << static_cast<int>(kind);
  }
  if (out->kinds_mask == 0) out->kinds_mask = (1u << kKindCount) - 1;
  absl::Status s = CompilePrincipal(d, l.principal(), &out->principal);
  if (!s.ok()) return s;
  for (int i = 0; i < l.rules_size(); ++i) {
    auto it = rule_ids.find(l.rules(i));
    if (it == rule_ids.end()) {
      return d.Error(&l, L::kRulesFieldNumber, i, kErrValue,
                     absl::StrCat("limit '", l.id(), "' names unknown rule '", l.rules(i), "'"));
    }
    out->rules.push_back(it->second);
  }
  std::sort(out->rules.begin(), out->rules.end());
  for (int i = 0; i < l.key_size(); ++i) {
    KeyField& k = out->key.emplace_back();
    s = ParseKeyField(l.key(i), &k);
    if (!s.ok()) return d.Error(&l, L::kKeyFieldNumber, i, kErrValue, s.message());
  }
  constexpr uint32_t kInferenceOnly = 1u << static_cast<int>(Kind::kInference);
  if (l.has_rate()) {
    out->type = Limit::kRate;
    out->per_second = l.rate().per_second();
    out->burst = l.rate().burst();
    if (!(out->per_second > 0) || out->burst == 0) {
      return d.Error(&l.rate(), -1, -1, kErrValue,
                     absl::StrCat("limit '", l.id(), "': rate needs perSecond > 0 and burst >= 1"));
    }
  } else if (l.has_concurrency()) {
    out->type = Limit::kConcurrency;
    out->max_in_flight = l.concurrency().max_in_flight();
    if (out->max_in_flight == 0) {
      return d.Error(&l.concurrency(), -1, -1, kErrValue,
                     absl::StrCat("limit '", l.id(), "': maxInFlight must be >= 1"));
    }
  } else if (l.has_budget() || l.has_caps()) {
    if (l.kinds_size() > 0 && out->kinds_mask != kInferenceOnly) {
      return d.Error(&l, L::kKindsFieldNumber, -1, kErrConflict,
                     absl::StrCat("limit '", l.id(), "': budgets and caps apply to inference only"));
    }
    out->kinds_mask = kInferenceOnly;
    if (l.has_caps()) {
      out->type = Limit::kCaps;
      out->max_output_tokens = l.caps().max_output_tokens();
      out->max_prompt_tokens = l.caps().max_prompt_tokens();
      if (out->max_output_tokens == 0 && out->max_prompt_tokens == 0) {
        return d.Error(&l.caps(), -1, -1, kErrMissing,
                       absl::StrCat("limit '", l.id(), "': caps need maxOutputTokens or maxPromptTokens"));
      }
      return absl::OkStatus();
    }
    const auto& b = l.budget();
    out->type = Limit::kBudget;
    out->amount = b.amount();
    if (b.unit() == "tokens" || b.unit().empty()) {
      out->cost = false;
    } else if (b.unit() == "cost") {
      out->cost = true;
    } else {
      return d.Error(&b, 1, -1, kErrValue, absl::StrCat("budget unit must be tokens or cost, not '", b.unit(), "'"));
    }
    static constexpr std::pair<absl::string_view, Window> kWindows[] = {
        {"minute", Window::kMinute}, {"hour", Window::kHour}, {"day", Window::kDay},
        {"month", Window::kMonth}, {"rolling", Window::kRolling}};
    bool found = false;
    for (const auto& [name, w] : kWindows) {
      if (b.window() == name) {
        out->window = w;
        found = true;
      }
    }
    if (!found) {
      return d.Error(&b, 2, -1, b.window().empty() ? kErrMissing : kErrValue,
                     absl::StrCat("limit '", l.id(), "': budget window must be minute, hour, day, "
                                  "month or rolling"));
    }
    constexpr int kRollingField = v1::Budget::kRollingSecondsFieldNumber;
    if (out->window == Window::kRolling) {
      // Up to ten years; the slot arithmetic stays far from overflow.
      constexpr uint64_t kMaxRollingSeconds = 10ull * 366 * 86400;
      if (b.rolling_seconds() == 0) {
        return d.Error(&b, 2, -1, kErrMissing,
                       absl::StrCat("limit '", l.id(), "': a rolling window needs rollingSeconds"));
      }
      if (b.rolling_seconds() > kMaxRollingSeconds) {
        return d.Error(&b, kRollingField, -1, kErrValue,
                       absl::StrCat("limit '", l.id(), "': rollingSeconds must be at most ",
                                    kMaxRollingSeconds));
      }
      const int64_t window_ns = static_cast<int64_t>(b.rolling_seconds()) * 1000000000;
      out->rolling_slot_ns = (window_ns + kRollingSlots - 2) / (kRollingSlots - 1);
      // A redefined window starts new counters (its slots would not line up with the old ones).
      out->id_hash = Fnv1a(absl::StrCat("rolling:", b.rolling_seconds()), out->id_hash);
    } else if (b.rolling_seconds() != 0) {
      return d.Error(&b, kRollingField, -1, kErrConflict,
                     absl::StrCat("limit '", l.id(), "': rollingSeconds only applies to window: rolling"));
    }
    if (out->amount == 0) {
      return d.Error(&b, 3, -1, kErrValue, absl::StrCat("limit '", l.id(), "': budget amount must be >= 1"));
    }
    if (out->cost && b.prices().empty()) {
      return d.Error(&b, -1, -1, kErrMissing,
                     absl::StrCat("limit '", l.id(), "': a cost budget needs a prices table"));
    }
    if (!out->cost && !b.prices().empty()) {
      return d.Error(&b, 4, -1, kErrConflict,
                     absl::StrCat("limit '", l.id(), "': prices only apply to cost budgets"));
    }
    for (const auto& [model, price] : b.prices()) {
      out->prices[model] = {price.prompt_per_1k(), price.output_per_1k()};
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CompileLimits(const std::vector<std::unique_ptr<LoadedDocument>>& docs,
                           const absl::flat_hash_map<std::string, uint32_t>& rule_ids,
                           PolicySet* set) {
  absl::flat_hash_map<std::string, std::string> seen;  // limit id -> document
  for (const auto& d : docs) {
    for (const v1::Limit& l : d->doc.spec().limits()) {
      if (l.id().empty()) return d->Error(&l, -1, -1, kErrMissing, "a limit needs an id");
      auto [it, inserted] = seen.emplace(l.id(), d->doc.metadata().name());
      if (!inserted) {
        return d->Error(&l, v1::Limit::kIdFieldNumber, -1, kErrDuplicate,
                        absl::StrCat("limit id '", l.id(), "' is already used in document '",
                                     it->second, "'"));
      }
      absl::Status s = CompileLimit(*d, l, rule_ids, &set->limits.emplace_back());
      if (!s.ok()) return s;
    }
  }
  // Counters are applied in a fixed order (by id) so that order of documents never matters.
  std::sort(set->limits.begin(), set->limits.end(),
            [](const Limit& a, const Limit& b) { return a.id < b.id; });
  return absl::OkStatus();
}

}  // namespace kars::policy
