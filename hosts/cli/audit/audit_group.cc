// `kars audit`: keys, inspection, proofs and verification of audit logs.
#include <cstdio>
#include <cstring>

#include "hosts/cli/audit/commands.h"
#include "hosts/cli/registry.h"

namespace kars::cli::audit {
namespace {

struct Command {
  const char* name;
  const char* usage;
  int (*run)(int, char**);
};

const Command kCommands[] = {
    {"keygen", "keygen --name NAME --out PREFIX [--witness]  writes PREFIX.key (0600) and PREFIX.pub", Keygen},
    {"append", "append DIR --key PRIV [--segment-size B] JSON...  appends AuditRecord JSON ('-': lines of stdin)", Append},
    {"show", "show DIR [--from N] [--limit K] [--json]", Show},
    {"checkpoint", "checkpoint DIR [--key PRIV]            latest checkpoint; with a key, sign one now", Checkpoint},
    {"prove", "prove DIR INDEX [--size N] [--record-out F] [--checkpoint-out F] [--format text|rfc6962|tlog-proof]", Prove},
    {"consistency", "consistency DIR OLD NEW [--format text|rfc6962]  consistency proof between two sizes", Consistency},
    {"retain", "retain DIR --key PRIV --before INDEX   drop whole segments of older records", Retain},
    {"verify", "verify DIR --key PUB [--checkpoint F]  recompute and check the whole log", Verify},
    {"verify-proof", "verify-proof --key PUB [CHECKPOINT] PROOF RECORD  (any proof format; tlog-proof carries its checkpoint)", VerifyProof},
    {"verify-consistency", "verify-consistency --key PUB OLD_CHECKPOINT NEW_CHECKPOINT PROOF", VerifyConsistency},
    {"cosign", "cosign --key WITNESS_PRIV --log-key PUB --state FILE CHECKPOINT [PROOF]", Cosign},
    {"verify-cosignature", "verify-cosignature --witness-key PUB CHECKPOINT  check a C2SP cosignature/v1", VerifyCosignature},
};

void Usage(FILE* out) {
  std::fprintf(out, "usage: kars audit <command> [args...]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %s\n", c.usage);
  std::fprintf(out, "\nexit codes: 0 valid, 1 tampered or invalid, 2 usage or I/O error\n");
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return kExitUsage;
  }
  if (std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0) {
    Usage(stdout);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) return c.run(argc, argv);
  }
  std::fprintf(stderr, "kars: unknown audit command '%s'\n", argv[1]);
  Usage(stderr);
  return kExitUsage;
}

}  // namespace
}  // namespace kars::cli::audit

KARS_CLI_GROUP(kAuditGroup, "audit", "tamper-evident audit log: keys, proofs, verification",
               kars::cli::audit::Main);
