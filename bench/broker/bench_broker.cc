// Broker benchmarks: header injection latency, outbound scan throughput (Hyperscan leak index
// vs. a naive memmem loop per encoded form, on 1 KiB and 64 KiB bodies, with 10 / 1,000 /
// 10,000 held secrets, every encoding on), the whole ScanOutbound (both layers), and the
// streaming redactor.
#include <benchmark/benchmark.h>
#include <string.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kars/broker.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/encodings.h"
#include "libkars/broker/leak_index.h"
#include "libkars/broker/redactor.h"

namespace kb = kars::broker;

namespace {

std::vector<std::string> RandomSecrets(int n) {
  std::mt19937_64 rng(42);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s = "tok_";
    const int len = 28 + static_cast<int>(rng() % 20);
    for (int j = 0; j < len; ++j) s.push_back(alphabet[rng() % 64]);
    out.push_back(s);
  }
  return out;
}

// Text shaped like a chat request: words, punctuation, JSON. Contains no held value.
std::string CleanBody(std::size_t size) {
  std::mt19937_64 rng(7);
  static const char* words[] = {"the", "model", "response", "{\"role\":", "\"user\"", "content", "agent",
                                "tool_call", "token", "12345", "data:", "\\n", "https://example.com/x"};
  std::string out;
  while (out.size() < size) {
    out += words[rng() % (sizeof words / sizeof *words)];
    out += ' ';
  }
  out.resize(size);
  return out;
}

struct Corpus {
  std::vector<std::string> secrets;
  std::shared_ptr<const kb::LeakIndex> index;
  std::vector<std::string> forms;  // for the naive baseline
};

const Corpus& CorpusOf(int n) {
  static std::map<int, std::unique_ptr<Corpus>> cache;
  auto& c = cache[n];
  if (!c) {
    c = std::make_unique<Corpus>();
    c->secrets = RandomSecrets(n);
    std::vector<kb::HeldValue> held;
    for (int i = 0; i < n; ++i) {
      held.push_back({absl::StrCat("cred-", i), *kb::Secret::Create(c->secrets[i])});
      for (auto& f : kb::EncodedForms(c->secrets[i], kb::LeakIndex::kMinFormLength)) c->forms.push_back(f.bytes);
    }
    c->index = *kb::LeakIndex::Build(held);
  }
  return *c;
}

void BM_ScanLeakIndex(benchmark::State& state) {
  const Corpus& c = CorpusOf(static_cast<int>(state.range(1)));
  const std::string body = CleanBody(static_cast<std::size_t>(state.range(0)));
  kb::LeakMatch m;
  for (auto _ : state) {
    auto found = c.index->FindFirst(body, &m);
    benchmark::DoNotOptimize(found);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.counters["patterns"] = static_cast<double>(c.index->pattern_count());
}

void BM_ScanNaiveMemmem(benchmark::State& state) {
  const Corpus& c = CorpusOf(static_cast<int>(state.range(1)));
  const std::string body = CleanBody(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    bool hit = false;
    for (const auto& f : c.forms) {
      if (memmem(body.data(), body.size(), f.data(), f.size()) != nullptr) {
        hit = true;
        break;
      }
    }
    benchmark::DoNotOptimize(hit);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.counters["patterns"] = static_cast<double>(c.forms.size());
}

void ScanArgs(benchmark::internal::Benchmark* b) {
  for (int n : {10, 1000, 10000}) {
    for (int size : {1024, 65536}) b->Args({size, n});
  }
}
BENCHMARK(BM_ScanLeakIndex)->Apply(ScanArgs);
BENCHMARK(BM_ScanNaiveMemmem)->Apply(ScanArgs);

std::unique_ptr<kb::Broker> BrokerWith(int n) {
  const auto secrets = RandomSecrets(n);
  std::string config = "sources:\n";
  for (int i = 0; i < n; ++i) {
    const std::string var = absl::StrCat("KARS_BENCH_SECRET_", i);
    setenv(var.c_str(), secrets[i].c_str(), 1);
    absl::StrAppend(&config, "  - {id: cred-", i, ", type: env, name: ", var, "}\n");
  }
  absl::StrAppend(&config,
                  "grants:\n  - id: model\n    principals: ['agent-*']\n"
                  "    destination: {host: api.model.example, path_prefix: /v1/, methods: [POST]}\n"
                  "    credential: cred-0\n    inject: {header: Authorization, format: 'Bearer {value}'}\n");
  auto b = kb::Broker::FromConfig(config);
  if (!b.ok()) std::abort();
  return *std::move(b);
}

// Both layers (held values and token shapes) over URL, headers and body, as a host calls it.
void BM_ScanOutbound(benchmark::State& state) {
  static std::map<int, std::unique_ptr<kb::Broker>> brokers;
  auto& b = brokers[static_cast<int>(state.range(1))];
  if (!b) b = BrokerWith(static_cast<int>(state.range(1)));
  const std::string body = CleanBody(static_cast<std::size_t>(state.range(0)));
  const std::vector<kb::Header> headers = {{"Content-Type", "application/json"}, {"Accept", "*/*"}};
  for (auto _ : state) {
    auto v = b->ScanOutbound("https://api.model.example/v1/chat/completions", headers, body);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ScanOutbound)->Args({1024, 1000})->Args({65536, 1000})->Args({65536, 10000});

const std::vector<kb::Header>& AgentHeaders() {
  static const std::vector<kb::Header> headers = {{"Content-Type", "application/json"},
                                                  {"Authorization", "Bearer agent-made-up"},
                                                  {"Accept", "*/*"}};
  return headers;
}
constexpr const char* kInjectUrl = "https://api.model.example/v1/chat/completions";

// A fresh Injection per call (the result's strings and vectors allocated each time).
void BM_Inject(benchmark::State& state) {
  static auto b = BrokerWith(10);
  for (auto _ : state) {
    auto inj = b->Inject("agent-1", "POST", kInjectUrl, AgentHeaders());
    benchmark::DoNotOptimize(inj);
  }
}
BENCHMARK(BM_Inject);

// One Injection per thread refilled in place and headers passed as views: no heap allocation.
void BM_InjectReuse(benchmark::State& state) {
  static auto b = BrokerWith(10);
  std::vector<kb::HeaderView> views;
  for (const auto& h : AgentHeaders()) views.emplace_back(h.first, h.second);
  kb::Injection inj;
  for (auto _ : state) {
    auto s = b->Inject("agent-1", "POST", kInjectUrl, views, &inj);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(inj.set_headers[0].second.data());
  }
}
BENCHMARK(BM_InjectReuse)->Threads(1)->Threads(2);

// The C ABI as a host calls it: kars_broker_inject (a new injection, freed) and
// kars_broker_inject_into (one injection reused).
kars_broker* CBroker() {
  static kars_broker* b = [] {
    const auto secrets = RandomSecrets(10);
    std::string config = "sources:\n";
    for (int i = 0; i < 10; ++i) {
      const std::string var = absl::StrCat("KARS_BENCH_SECRET_", i);
      setenv(var.c_str(), secrets[i].c_str(), 1);
      absl::StrAppend(&config, "  - {id: cred-", i, ", type: env, name: ", var, "}\n");
    }
    absl::StrAppend(&config,
                    "grants:\n  - id: model\n    principals: ['agent-*']\n"
                    "    destination: {host: api.model.example, path_prefix: /v1/, methods: [POST]}\n"
                    "    credential: cred-0\n    inject: {header: Authorization, format: 'Bearer {value}'}\n");
    kars_broker* out = nullptr;
    if (kars_broker_new_from_config(&out, config.data(), config.size(), nullptr) != KARS_OK) std::abort();
    return out;
  }();
  return b;
}

std::vector<kars_header> CHeaders() {
  std::vector<kars_header> out;
  for (const auto& h : AgentHeaders()) out.push_back({h.first.data(), h.first.size(), h.second.data(), h.second.size()});
  return out;
}

void BM_InjectCapi(benchmark::State& state) {
  kars_broker* b = CBroker();
  const auto headers = CHeaders();
  const std::size_t url_len = strlen(kInjectUrl);
  for (auto _ : state) {
    kars_broker_injection* inj = nullptr;
    if (kars_broker_inject(&inj, b, "agent-1", 7, "POST", 4, kInjectUrl, url_len, headers.data(), headers.size(),
                           nullptr) != KARS_OK) {
      std::abort();
    }
    benchmark::DoNotOptimize(kars_broker_injection_allowed(inj));
    kars_broker_injection_free(inj);
  }
}
BENCHMARK(BM_InjectCapi);

void BM_InjectCapiInto(benchmark::State& state) {
  kars_broker* b = CBroker();
  const auto headers = CHeaders();
  const std::size_t url_len = strlen(kInjectUrl);
  kars_broker_injection* inj = nullptr;
  if (kars_broker_injection_new(&inj, nullptr) != KARS_OK) std::abort();
  for (auto _ : state) {
    if (kars_broker_inject_into(inj, b, "agent-1", 7, "POST", 4, kInjectUrl, url_len, headers.data(),
                                headers.size(), nullptr) != KARS_OK) {
      std::abort();
    }
    benchmark::DoNotOptimize(kars_broker_injection_allowed(inj));
  }
  kars_broker_injection_free(inj);
}
BENCHMARK(BM_InjectCapiInto);

void BM_Redactor(benchmark::State& state) {
  const Corpus& c = CorpusOf(static_cast<int>(state.range(1)));
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  // A response stream with a held value every 16 KiB.
  std::string stream = CleanBody(1 << 20);
  for (std::size_t at = 8192; at + 64 < stream.size(); at += 16384) stream.replace(at, c.secrets[0].size(), c.secrets[0]);
  std::string out;
  out.reserve(stream.size() + 4096);
  for (auto _ : state) {
    kb::Redactor r(c.index);
    out.clear();
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      (void)r.Feed(absl::string_view(stream).substr(i, chunk), &out);
    }
    (void)r.Finish(&out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
}
BENCHMARK(BM_Redactor)->Args({4096, 1000})->Args({65536, 1000})->Args({65536, 10000});

}  // namespace

BENCHMARK_MAIN();
