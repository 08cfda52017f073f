// Hyperscan's memory in locked, dump-excluded pages. The leak index's compiled database embeds
// every held value (and its encodings) as literals, and a scratch or stream may hold fragments
// of scanned data, so every block Hyperscan allocates is its own mapping: mlock'd (failure, e.g.
// RLIMIT_MEMLOCK, is tolerated as it is for Secret), MADV_DONTDUMP, and wiped before unmapping.
//
// Hyperscan's allocator hooks are process-global, so this is a process-wide choice, made once:
//  - installed by a static initialiser when libkars is loaded (before the host's threads, in
//    the usual case) and again, idempotently under std::call_once, before the broker's first
//    Hyperscan call, so no Hyperscan call of ours can race with the install;
//  - it serves every Hyperscan user in the process (which only gains the same protection);
//  - a block it did not allocate (made with the default allocator before the install) is handed
//    to free(), Hyperscan's default, so databases and scratch made earlier are still freed
//    correctly;
//  - pages are not MADV_DONTFORK: a forked child that scans with an inherited database works;
//  - a host must not install its own Hyperscan allocators after loading libkars (blocks of one
//    allocator would be freed by the other; Hyperscan cannot report the current allocator).
// Not covered: Hyperscan's compiler builds the database from C++ heap structures (operator new)
// that it frees without wiping; the broker wipes its own copies of the literals.
// Thread-safety: thread-safe.
#ifndef KARS_BROKER_HS_ALLOCATOR_H_
#define KARS_BROKER_HS_ALLOCATOR_H_

#include <cstddef>

namespace kars::broker {

// Idempotent; cheap after the first call.
void InstallLockedHyperscanAllocators();

// True when `p` points into a block these allocators handed out (for tests and diagnostics).
bool IsLockedHyperscanBlock(const void* p);

}  // namespace kars::broker

#endif  // KARS_BROKER_HS_ALLOCATOR_H_
