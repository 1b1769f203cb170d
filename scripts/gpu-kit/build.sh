#!/usr/bin/env bash
# Builds ferrite's GPU check kit on a machine with Rust, into target/gpu-kit/: run.sh, the
# baselines script, the kernel entry lists of each PTX variant, the commit, and payload.tar.xz
# holding the release binaries (stripped) and NVIDIA's compute-sanitizer (from PyPI, CUDA 13.0
# to match a CUDA 13.0 driver). Carry the folder to a GPU machine (x86-64, NVIDIA driver; no
# Rust, no network needed) and run `bash run.sh OUT_DIR` there. See docs/gpu-verification.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=target/gpu-kit
stage=target/gpu-kit-stage
rm -rf "$kit" "$stage"
mkdir -p "$kit" "$stage/tests" "$stage/bin"

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

# The device-parametrised suites (harness = false in Cargo.toml): their `gpu::` trials are the
# GPU cases. The other suites run on the CPU and the emulator only, which CI already does.
suites=$(python3 -c '
import tomllib
with open("Cargo.toml", "rb") as f:
    print(" ".join(t["name"] for t in tomllib.load(f).get("test", []) if t.get("harness") is False))
')
cargo test --release --no-run --message-format=json 2>/dev/null | executables |
  while read -r kind name path; do
    if [ "$kind" = test ] && [[ " $suites " == *" $name "* ]]; then cp "$path" "$stage/tests/$name"; fi
  done
cargo build --release --examples --bins --message-format=json 2>/dev/null | executables |
  while read -r kind name path; do
    case "$kind" in bin | example) cp "$path" "$stage/bin/$name" ;; esac
  done
strip "$stage"/tests/* "$stage"/bin/* 2>/dev/null || true
for s in $suites; do
  [ -x "$stage/tests/$s" ] || { echo "error: suite $s was not built" >&2; exit 1; }
done

# Every entry of every PTX variant, for the kit's list of kernels proven on hardware.
out_dir=$(ls -td target/release/build/ferrite-*/out 2>/dev/null | while read -r d; do
  [ -f "$d/kernels-sm_90a.ptx" ] && { echo "$d"; break; }; done)
[ -n "$out_dir" ] || { echo "error: no PTX under target/release/build/ferrite-*/out" >&2; exit 1; }
for ptx in "$out_dir"/kernels-*.ptx; do
  arch=$(basename "$ptx" .ptx | sed 's/^kernels-//')
  sed -n 's/^[[:space:]]*\.visible \.entry \([A-Za-z0-9_]*\).*/\1/p' "$ptx" | sort >"$kit/entries-$arch.txt"
done

# compute-sanitizer (memcheck with leak checking, racecheck), which a machine with CUDA from
# pip wheels lacks: the CUDA 13.0 wheel, cached in target/.
wheel_dir=target/gpu-kit-wheels
sanitizer=nvidia-cuda-sanitizer-api==13.0.85
if ! ls "$wheel_dir"/nvidia_cuda_sanitizer_api-13.0.85-*.whl >/dev/null 2>&1; then
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$wheel_dir" "$sanitizer" ||
    echo "warning: could not download $sanitizer; the kit's sanitizer step will say it is missing" >&2
fi
if whl=$(ls "$wheel_dir"/nvidia_cuda_sanitizer_api-13.0.85-*.whl 2>/dev/null | head -n 1); then
  # The wheel's bin/ (the tool and its collection library, which it loads from beside itself)
  # and lib/ (the injection libraries); a file in both is kept once, with a link.
  python3 - "$whl" "$stage/sanitizer" <<'EOF'
import sys, zipfile, os
whl, dest = sys.argv[1], sys.argv[2]
kept = {}
with zipfile.ZipFile(whl) as z:
    for info in sorted(z.infolist(), key=lambda i: i.filename):
        name = info.filename
        for part in ("bin/", "lib/"):
            prefix = "nvidia/cu13/" + part
            if name.startswith(prefix) and not name.endswith("/"):
                break
        else:
            continue
        path = os.path.join(dest, part, name[len(prefix):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = z.read(info)
        base = os.path.basename(path)
        if base in kept and kept[base][1] == data:
            os.symlink(os.path.relpath(kept[base][0], os.path.dirname(path)), path)
            continue
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755 if part == "bin/" else 0o644)
        kept[base] = (path, data)
EOF
  [ -x "$stage/sanitizer/bin/compute-sanitizer" ] || { echo "error: no compute-sanitizer in $whl" >&2; exit 1; }
fi

tar -C "$stage" -cf - . | xz -T0 -6 >"$kit/payload.tar.xz"
cp scripts/gpu-kit/run.sh scripts/bench_baselines.py "$kit/"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit plus uncommitted changes"
echo "$commit" >"$kit/COMMIT"
rm -rf "$stage"

size=$(du -sm "$kit" | cut -f1)
echo "GPU kit in $kit: suites $suites; $(xz -dc "$kit/payload.tar.xz" | tar -tf - | grep -c '^./bin/.') programs; sanitizer: $([ -n "${whl:-}" ] && echo yes || echo no); ${size} MiB"
if [ "$size" -gt 60 ]; then
  echo "error: the kit is ${size} MiB; it must stay under 60 MiB to be carried" >&2
  exit 1
fi
