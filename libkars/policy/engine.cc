// Engine state: the set in force, reservations (reserve before, settle after) and limits.
#include "libkars/policy/engine.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libkars/base/openssl.h"
#include "libkars/policy/compiler_internal.h"

namespace kars::policy {

Engine::Engine(EngineOptions options)
    : clock_(options.clock != nullptr          ? options.clock
             : options.shared_clock != nullptr ? options.shared_clock.get()
                                               : SystemClock::Get()),
      options_(options),
      counters_(options.counters != nullptr ? options.counters
                                            : std::make_shared<MemoryCounterStore>()),
      approvals_(clock_, options.approval_ttl_ns),
      set_(std::make_shared<PolicySet>()) {
  current_.store(set_.get(), std::memory_order_release);
  MutexLock lock(&res_mu_);
  reservations_.reserve(1024);
}

absl::Status Engine::Load(const std::vector<PolicySource>& sources) {
  auto compiled = CompilePolicySet(sources);
  if (!compiled.ok()) return compiled.status();
  Install(*std::move(compiled));
  return absl::OkStatus();
}

void Engine::Install(std::shared_ptr<const PolicySet> set) {
  MutexLock lock(&set_mu_);
  current_.store(set.get(), std::memory_order_release);
  set_.swap(set);
  // The old set is released outside decisions' reach; in-flight decisions hold their own copy.
}

std::shared_ptr<const PolicySet> Engine::Current() const {
  ReaderMutexLock lock(&set_mu_);
  return set_;
}

int64_t Engine::WindowStart(Window window, int64_t now_ns) {
  int64_t s = now_ns / 1000000000;
  if (now_ns < 0 && now_ns % 1000000000 != 0) --s;
  auto floor_to = [s](int64_t unit) { return s - ((s % unit) + unit) % unit; };
  switch (window) {
    case Window::kMinute: return floor_to(60);
    case Window::kHour: return floor_to(3600);
    case Window::kDay: return floor_to(86400);
    case Window::kRolling: return s;  // not a calendar window; see RollingSlot
    case Window::kMonth: {
      const absl::CivilSecond epoch(1970, 1, 1, 0, 0, 0);
      const absl::CivilMonth month(epoch + s);
      return absl::CivilSecond(month) - epoch;
    }
  }
  return s;
}

int64_t Engine::RollingSlot(const Limit& limit, int64_t now_ns) {
  const int64_t n = limit.rolling_slot_ns;
  return now_ns >= 0 ? now_ns / n : -((-now_ns + n - 1) / n);
}

uint64_t Engine::BudgetUsed(const Limit& limit, const v1::Request& request) {
  const int64_t now = clock_->NowNanos();
  const uint64_t key = CounterKey(limit, request);
  if (limit.window == Window::kRolling) {
    return counters_->UsedRolling(key, RollingSlot(limit, now), kRollingSlots);
  }
  return counters_->Used(key, WindowStart(limit.window, now));
}

uint64_t Engine::CounterKey(const Limit& limit, const v1::Request& r) {
  uint64_t h = limit.id_hash;
  const auto& p = r.principal();
  for (const KeyField& k : limit.key) {
    absl::string_view v;
    switch (k.field) {
      case KeyField::kAgent: v = p.agent(); break;
      case KeyField::kSandbox: v = p.sandbox(); break;
      case KeyField::kNamespace: v = p.namespace_(); break;
      case KeyField::kLabel: {
        auto it = p.labels().find(k.label);
        if (it != p.labels().end()) v = it->second;
        break;
      }
      case KeyField::kModel: v = r.inference().model(); break;
      case KeyField::kProvider: v = r.inference().provider(); break;
      case KeyField::kTool: v = r.has_mcp() ? r.mcp().tool() : r.tool().name(); break;
      case KeyField::kServer: v = r.mcp().server(); break;
      case KeyField::kHost: v = r.egress().host(); break;
      case KeyField::kPeer: v = r.has_mesh() ? r.mesh().peer() : r.a2a().peer(); break;
    }
    h = Fnv1a(v, h);
    h = Fnv1a(absl::string_view("\0", 1), h);  // separator: ("ab","c") != ("a","bc")
  }
  return h;
}

std::string Engine::RequestDigest(const v1::Request& request) {
  v1::Request copy = request;
  copy.clear_approval_ticket();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  unsigned char md[32];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), len));
}

namespace {
// Token counts come from callers: a sum that wraps would let a huge request through a budget.
uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
}  // namespace

uint64_t CostOf(const Limit::Price& price, uint64_t prompt_tokens, uint64_t output_tokens) {
  auto part = [](uint64_t tokens, uint64_t per_1k) {
    unsigned __int128 v = static_cast<unsigned __int128>(tokens) * per_1k;
    v = (v + 999) / 1000;
    return v > UINT64_MAX / 2 ? UINT64_MAX / 2 : static_cast<uint64_t>(v);
  };
  return part(prompt_tokens, price.prompt_per_1k) + part(output_tokens, price.output_per_1k);
}

void Engine::ApplyLimits(const PolicySet& set, const v1::Request& r, Kind kind, Decision* out) {
  if (set.limits.empty()) return;
  const int64_t now = clock_->NowNanos();
  Reservation res;
  auto fail = [&](const char* reason) {
    Release(res, false, 0, 0);
    out->effect = Effect::kDeny;
    out->reason = reason;
  };
  const uint64_t prompt = r.inference().estimated_prompt_tokens();
  const uint64_t output = r.inference().max_output_tokens();
  for (const Limit& limit : set.limits) {
    if ((limit.kinds_mask & (1u << static_cast<int>(kind))) == 0) continue;
    if (!limit.principal.Matches(r.principal())) continue;
    if (!limit.rules.empty()) {
      bool selected = false;
      for (uint32_t i = 0; i < out->rule_count && !selected; ++i) {
        selected = std::binary_search(limit.rules.begin(), limit.rules.end(), out->rules[i]);
      }
      if (!selected) continue;
    }
    switch (limit.type) {
      case Limit::kCaps:
        if ((limit.max_output_tokens != 0 && output > limit.max_output_tokens) ||
            (limit.max_prompt_tokens != 0 && prompt > limit.max_prompt_tokens)) {
          return fail("limit.cap");
        }
        break;
      case Limit::kRate: {
        int64_t retry_ns = 0;
        if (!counters_->TakeToken(CounterKey(limit, r), limit.per_second, limit.burst, now, &retry_ns)) {
          out->retry_after_ms = (retry_ns + 999999) / 1000000;
          return fail("limit.rate");
        }
        break;
      }
      case Limit::kConcurrency: {
        if (res.count == Reservation::kMaxItems) return fail("limit.too_many");
        uint64_t key = CounterKey(limit, r);
        if (!counters_->Enter(key, limit.max_in_flight)) return fail("limit.concurrency");
        res.items[res.count++] = Item{Limit::kConcurrency, false, key, 0, 0, {}, 0};
        break;
      }
      case Limit::kBudget: {
        if (res.count == Reservation::kMaxItems) return fail("limit.too_many");
        Limit::Price price;
        if (limit.cost) {
          auto it = limit.prices.find(r.inference().model());
          if (it == limit.prices.end()) return fail("limit.no_price");
          price = it->second;
        }
        uint64_t amount = limit.cost ? CostOf(price, prompt, output) : SaturatingAdd(prompt, output);
        uint64_t key = CounterKey(limit, r);
        if (limit.window == Window::kRolling) {
          int64_t charged = 0;
          if (!counters_->ReserveRolling(key, RollingSlot(limit, now), kRollingSlots, limit.amount,
                                         amount, &charged)) {
            return fail("limit.budget");
          }
          res.items[res.count++] =
              Item{Limit::kBudget, limit.cost, key, charged, amount, price, kRollingSlots};
          break;
        }
        int64_t window = WindowStart(limit.window, now);
        if (!counters_->Reserve(key, window, limit.amount, amount)) return fail("limit.budget");
        res.items[res.count++] = Item{Limit::kBudget, limit.cost, key, window, amount, price, 0};
        break;
      }
    }
  }
  if (res.count == 0) return;
  res.expires_ns = now + options_.reservation_timeout_ns;
  MutexLock lock(&res_mu_);
  uint64_t id = next_reservation_++;
  reservations_.emplace(id, res);
  expiry_.emplace_back(res.expires_ns, id);
  live_reservations_.fetch_add(1, std::memory_order_relaxed);
  out->reservation = id;
}

void Engine::Release(const Reservation& r, bool settle, uint64_t prompt_tokens,
                     uint64_t output_tokens) {
  for (int i = 0; i < r.count; ++i) {
    const Item& item = r.items[i];
    if (item.type == Limit::kConcurrency) {
      counters_->Leave(item.key);
    } else if (item.type == Limit::kBudget) {
      uint64_t actual = 0;
      if (settle) {
        actual = item.cost ? CostOf(item.price, prompt_tokens, output_tokens)
                           : SaturatingAdd(prompt_tokens, output_tokens);
      }
      if (item.slots != 0) {
        counters_->AdjustRolling(item.key, item.window_start, item.slots, item.reserved, actual);
      } else {
        counters_->Adjust(item.key, item.window_start, item.reserved, actual);
      }
    }
  }
}

void Engine::ExpireDueReservations() {
  const int64_t now = clock_->NowNanos();
  MutexLock lock(&res_mu_);
  while (!expiry_.empty() && expiry_.front().first <= now) {
    auto it = reservations_.find(expiry_.front().second);
    expiry_.pop_front();
    if (it == reservations_.end()) continue;  // settled in time
    // Charged in full: budgets keep the reserved amount; only concurrency slots are returned.
    for (int i = 0; i < it->second.count; ++i) {
      if (it->second.items[i].type == Limit::kConcurrency) counters_->Leave(it->second.items[i].key);
    }
    reservations_.erase(it);
    live_reservations_.fetch_sub(1, std::memory_order_relaxed);
  }
}

absl::Status Engine::Settle(uint64_t reservation, uint64_t prompt_tokens, uint64_t output_tokens) {
  ExpireReservations();
  Reservation r;
  {
    MutexLock lock(&res_mu_);
    auto it = reservations_.find(reservation);
    if (it == reservations_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "reservation ", reservation, " is unknown, already settled, or expired (charged in full)"));
    }
    r = it->second;
    reservations_.erase(it);
    live_reservations_.fetch_sub(1, std::memory_order_relaxed);
  }
  Release(r, true, prompt_tokens, output_tokens);
  return absl::OkStatus();
}

}  // namespace kars::policy
