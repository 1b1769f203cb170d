#!/usr/bin/env bash
# Prepares a fresh machine for ferrite; safe to run again. Installs:
#  - the nightly pinned in rust-toolchain.toml (machines with RUSTUP_AUTO_INSTALL=0 need this);
#  - the standard library's own dependencies, which the GPU kernel build (-Zbuild-std=core)
#    resolves offline from cargo's cache, since build.rs never downloads;
#  - ptxas (CUDA 12.9) and cuobjdump + nvdisasm (CUDA 13) from PyPI into .tools/, for the tests that
#    assemble and disassemble the PTX.
# No CUDA toolkit or driver is needed to build; a driver is needed only to run on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain install
cargo fetch --manifest-path "$(rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.toml"

ptxas=.tools/cuda/nvidia/cuda_nvcc/bin/ptxas
if [ ! -x "$ptxas" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target .tools/cuda nvidia-cuda-nvcc-cu12==12.9.86
fi
# cuobjdump -sass runs nvdisasm from its own folder: both wheels go into the same target.
cuobjdump=.tools/cuda13/nvidia/cu13/bin/cuobjdump
if [ ! -x "$cuobjdump" ] || [ ! -x "${cuobjdump%/*}/nvdisasm" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --upgrade --target .tools/cuda13 \
    nvidia-cuda-cuobjdump==13.5.37 nvidia-cuda-nvdisasm==13.5.37
fi
"$ptxas" --version | tail -n 2
"$cuobjdump" --version | tail -n 2
"${cuobjdump%/*}/nvdisasm" --version | tail -n 2
