#!/usr/bin/env python3
"""Prints kars-vs-peer ratios: reads a peer's output lines ("<peer> allow: median cpu N ns/...")
on stdin and runs kars's BM_Peer_Decide (same rule set, same requests) from the bench build."""
import json
import re
import subprocess
import sys

build, peer = sys.argv[1], sys.argv[2]
peer_ns = {}
for line in sys.stdin:
    sys.stdout.write(line)
    m = re.match(r"\S+ (allow|deny): median cpu (\d+) ns", line)
    if m:
        peer_ns[m.group(1)] = float(m.group(2))
bench = f"{build}/bench/policy/bench_policy"
try:
    out = subprocess.run([bench, "--benchmark_filter=BM_Peer_Decide", "--benchmark_repetitions=5",
                          "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
except (OSError, subprocess.CalledProcessError) as e:
    sys.exit(f"ratio: cannot run {bench} (build it with `make bench`): {e}")
kars_ns = {}
for b in json.loads(out)["benchmarks"]:
    if b.get("aggregate_name") == "median":
        kars_ns["deny" if "deny:1" in b["name"] else "allow"] = b["cpu_time"]
for label in ("allow", "deny"):
    if label in peer_ns and label in kars_ns:
        print(f"kars {label}: median cpu {kars_ns[label]:.1f} ns/decision → "
              f"{peer_ns[label] / kars_ns[label]:.0f}x faster than {peer}")
