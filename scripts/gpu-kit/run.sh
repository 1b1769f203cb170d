#!/usr/bin/env bash
# Runs ferrite's GPU check kit on a GPU machine: every test suite, one suite under
# compute-sanitizer (memcheck), the examples and programs, then the benchmark with the
# PyTorch/CuPy/NumPy baselines; prints a summary table.
# Usage: bash run.sh [OUTPUT_DIR]   (default: $OUT if set, else ./gpu-run)
# Writes OUTPUT_DIR/summary.md (the table), OUTPUT_DIR/full.log (everything printed),
# OUTPUT_DIR/bench.json and OUTPUT_DIR/bench.md (the benchmark table with baselines).
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-./gpu-run}}
mkdir -p "$out"
summary="$out/summary.md"
full="$out/full.log"
: >"$summary"
: >"$full"

say() { echo "$@" | tee -a "$summary"; }
section() { printf '\n===== %s =====\n' "$*" >>"$full"; }

gpu=$(nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
say "# ferrite GPU check"
say ""
say "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "- commit: $(cat "$kit/COMMIT" 2>/dev/null || echo unknown)"
say "- GPU (name, driver, compute capability, memory): ${gpu:-none found by nvidia-smi}"
if command -v nvcc >/dev/null; then tools=$(nvcc --version | tail -n 1); else tools="nvcc not found"; fi
say "- CUDA tools: $tools"
# With a GPU present, GPU cases must run: a case that cannot open the GPU fails instead of
# being reported as ignored.
[ -n "$gpu" ] && export FERRITE_REQUIRE_GPU=1
say ""
say "| suite | passed | failed | ignored | exit |"
say "|---|---|---|---|---|"

failures=0
for t in "$kit"/tests/*; do
  name=$(basename "$t")
  section "test suite $name"
  "$t" >>"$full" 2>&1
  rc=$?
  counts=$(sed -n "/^===== test suite $name =====$/,\$p" "$full" | grep -E '^test result:' |
    sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/' |
    awk '{p += $1; f += $2; i += $3} END {print p + 0, f + 0, i + 0}')
  read -r p f i <<<"$counts"
  [ "$rc" -ne 0 ] && failures=$((failures + 1))
  say "| $name | $p | $f | $i | $rc |"
done

if command -v compute-sanitizer >/dev/null; then
  section "compute-sanitizer memcheck: arrays gpu::"
  compute-sanitizer --tool memcheck --error-exitcode 99 "$kit/tests/arrays" gpu:: >>"$full" 2>&1
  rc=$?
  errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$full" | tail -n 1)
  [ "$rc" -ne 0 ] && failures=$((failures + 1))
  say "| memcheck (arrays gpu::) | ${errors:-no summary} | | | $rc |"
else
  say "| memcheck | compute-sanitizer not found | | | - |"
fi

for b in "$kit"/bin/*; do
  name=$(basename "$b")
  case "$name" in bench) continue ;; esac # the benchmark runs last, below
  section "program $name"
  timeout 600 "$b" >>"$full" 2>&1
  rc=$?
  [ "$rc" -ne 0 ] && failures=$((failures + 1))
  say "| program $name | | | | $rc |"
done

# cuBLAS (the matmul baseline) is loaded at run time: add the CUDA toolkit's or PyTorch's copy.
for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia.cublas, os; print(os.path.dirname(nvidia.cublas.__file__) + "/lib")' 2>/dev/null); do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
if [ -x "$kit/bin/bench" ]; then
  section "benchmark"
  numpy=(); python3 -c 'import numpy' 2>/dev/null && numpy=(--numpy "$kit/bench_baselines.py")
  timeout 900 "$kit/bin/bench" "${numpy[@]}" --json "$out/bench.json" >>"$full" 2>&1
  rc=$?
  [ "$rc" -ne 0 ] && failures=$((failures + 1))
  say "| benchmark | | | | $rc |"
  if [ -f "$out/bench.json" ] && python3 -c 'import numpy' 2>/dev/null; then
    timeout 900 python3 "$kit/bench_baselines.py" "$out/bench.json" >"$out/bench.md" 2>>"$full"
    say "| baselines (NumPy, PyTorch, CuPy) | | | | $? |"
  fi
fi

say ""
say "$failures failing step(s); full output in full.log"
exit $((failures > 0))
