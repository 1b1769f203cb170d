#!/usr/bin/env bash
# Builds ferrite's GPU check kit on a machine with Rust: the release test binaries, examples
# and binaries, stripped, in target/gpu-kit/ with run.sh beside them. Copy that folder to a
# GPU machine (x86-64, NVIDIA driver; no Rust, no network needed) and run `bash run.sh` there.
# See docs/gpu-verification.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=target/gpu-kit
rm -rf "$kit"
mkdir -p "$kit/tests" "$kit/bin"

# Executables from cargo's JSON messages: "<kind> <name> <path>" per line.
executables() {
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["kind"][0], m["target"]["name"], m["executable"])
'
}

# Left out: ptx and sass check the PTX with the CUDA tools and run in CI; train_cli and
# bench_cli run programs by their path on this machine (run.sh runs the programs itself);
# emulator, kernels_* and wgmma launch kernels on the CPU emulator only, so a GPU machine
# would repeat CI's run of them (and the kit must fit the 64 MiB the device tool carries).
cargo test --release --no-run --message-format=json 2>/dev/null | executables |
  while read -r kind name path; do
    case "$name" in ptx | sass | train_cli | bench_cli | emulator | kernels_* | wgmma) continue ;; esac
    if [ "$kind" = test ]; then cp "$path" "$kit/tests/$name"; fi
  done
cargo build --release --examples --bins --message-format=json 2>/dev/null | executables |
  while read -r kind name path; do
    case "$kind" in bin|example) cp "$path" "$kit/bin/$name" ;; esac
  done
strip "$kit"/tests/* "$kit"/bin/* 2>/dev/null || true
cp scripts/gpu-kit/run.sh scripts/bench_baselines.py "$kit/"
git rev-parse --short HEAD > "$kit/COMMIT" 2>/dev/null || echo unknown > "$kit/COMMIT"

size=$(du -sm "$kit" | cut -f1)
echo "GPU kit in $kit: $(ls "$kit/tests" | wc -l) test suites, $(ls "$kit/bin" | wc -l) programs, ${size} MiB"
if [ "$size" -gt 60 ]; then
  echo "error: the kit is ${size} MiB; it must stay under 64 MiB to be carried" >&2
  exit 1
fi
