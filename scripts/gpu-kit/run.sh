#!/usr/bin/env bash
# Runs ferrite's GPU check kit on a GPU machine: every test suite, one suite under
# compute-sanitizer (memcheck), the examples and programs, then the benchmark with the
# PyTorch/CuPy/NumPy baselines; prints a summary table.
# Usage: bash run.sh [OUTPUT_DIR [STEP...]]   (OUTPUT_DIR default: $OUT if set, else ./gpu-run)
# STEPs: tests, memcheck, programs, bench (default: all four, in that order; wgmma_routing
# first among the tests, as the one that matters most on Hopper).
# Writes OUTPUT_DIR/summary.md (the table), OUTPUT_DIR/full.log (everything printed),
# OUTPUT_DIR/bench.json, OUTPUT_DIR/bench.md and OUTPUT_DIR/merged.json (the benchmark table
# with baselines, as markdown and JSON).
# KIT_SECONDS (default 570) bounds the whole run: each step gets at most its own limit and
# what is left, so a hung kernel costs one step, and the summary is complete before a caller
# with a 10-minute limit (this workplace's device tool) stops the run.
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-./gpu-run}}
shift || true
steps=${*:-tests memcheck programs bench}
for s in $steps; do
  case "$s" in tests | memcheck | programs | bench) ;;
  *) echo "run.sh: unknown step '$s' (steps: tests memcheck programs bench)" >&2; exit 2 ;;
  esac
done
deadline=$((SECONDS + ${KIT_SECONDS:-570}))
mkdir -p "$out"
summary="$out/summary.md"
full="$out/full.log"
: >"$summary"
: >"$full"

say() { echo "$@" | tee -a "$summary"; }
section() { printf '\n===== %s =====\n' "$*" >>"$full"; }
wants() { [[ " $steps " == *" $1 "* ]]; }

failures=0
# Runs "$@" with at most $1 seconds (and no more than is left before the deadline); sets rc.
# A step that cannot start for lack of time, or is stopped by it, counts as failing.
bounded() {
  local limit=$1 left=$((deadline - SECONDS))
  shift
  if [ "$left" -lt 20 ]; then
    rc=skipped
    echo "skipped: out of time" >>"$full"
    failures=$((failures + 1))
    return
  fi
  # The kill grace (5 s) fits in what is kept back, so the deadline holds.
  [ "$left" -lt "$limit" ] && limit=$((left - 10))
  timeout -k 5 "$limit" "$@"
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "stopped after ${limit} s" >>"$full"; fi
  [ "$rc" -ne 0 ] && failures=$((failures + 1))
}

gpu=$(nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
say "# ferrite GPU check"
say ""
say "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "- commit: $(cat "$kit/COMMIT" 2>/dev/null || echo unknown)"
say "- GPU (name, driver, compute capability, memory): ${gpu:-none found by nvidia-smi}"
if command -v nvcc >/dev/null; then tools=$(nvcc --version | tail -n 1); else tools="nvcc not found"; fi
say "- CUDA tools: $tools"
say "- steps: $steps (exit 124, or 137 if it ignored the stop: ended by its time limit)"
# With a GPU present, GPU cases must run: a case that cannot open the GPU fails instead of
# being reported as ignored.
[ -n "$gpu" ] && export FERRITE_REQUIRE_GPU=1
say ""
say "| step | passed | failed | ignored | exit |"
say "|---|---|---|---|---|"

if wants tests; then
  ran=" "
  for t in "$kit/tests/wgmma_routing" "$kit"/tests/*; do
    name=$(basename "$t")
    # wgmma_routing first (if the kit has it), then the rest, each once.
    [ -e "$t" ] && [[ "$ran" != *" $name "* ]] || continue
    ran="$ran$name "
    section "test suite $name"
    bounded 150 "$t" >>"$full" 2>&1
    counts=$(sed -n "/^===== test suite $name =====$/,\$p" "$full" | grep -E '^test result:' |
      sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/' |
      awk '{p += $1; f += $2; i += $3} END {print p + 0, f + 0, i + 0}')
    read -r p f i <<<"$counts"
    say "| $name | $p | $f | $i | $rc |"
  done
fi

if wants memcheck; then
  if command -v compute-sanitizer >/dev/null; then
    section "compute-sanitizer memcheck: arrays gpu::"
    bounded 180 compute-sanitizer --tool memcheck --error-exitcode 99 "$kit/tests/arrays" gpu:: >>"$full" 2>&1
    errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$full" | tail -n 1)
    say "| memcheck (arrays gpu::) | ${errors:-no summary} | | | $rc |"
  else
    say "| memcheck | compute-sanitizer not found | | | - |"
  fi
fi

if wants programs; then
  for b in "$kit"/bin/*; do
    name=$(basename "$b")
    case "$name" in bench) continue ;; esac # the benchmark is its own step
    section "program $name"
    bounded 120 "$b" >>"$full" 2>&1
    say "| program $name | | | | $rc |"
  done
fi

# cuBLAS (the matmul baseline) is loaded at run time: add the CUDA toolkit's or PyTorch's copy.
for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia.cublas, os; print(os.path.dirname(nvidia.cublas.__file__) + "/lib")' 2>/dev/null); do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
if wants bench; then
  rm -f "$out/bench.json" "$out/bench.md" "$out/merged.json" # never report an earlier run's numbers
fi
if wants bench && [ ! -x "$kit/bin/bench" ]; then
  failures=$((failures + 1))
  say "| benchmark | not in the kit | | | - |"
elif wants bench; then
  section "benchmark"
  numpy=()
  python3 -c 'import numpy' 2>/dev/null && numpy=(--numpy "$kit/bench_baselines.py")
  bounded 300 "$kit/bin/bench" "${numpy[@]}" --json "$out/bench.json" >>"$full" 2>&1
  say "| benchmark | | | | $rc |"
  if [ "$rc" = 0 ] && [ -f "$out/bench.json" ] && python3 -c 'import numpy' 2>/dev/null; then
    bounded 240 python3 "$kit/bench_baselines.py" "$out/bench.json" --json "$out/merged.json" >"$out/bench.md" 2>>"$full"
    say "| baselines (NumPy, PyTorch, CuPy) | | | | $rc |"
  fi
fi

say ""
say "$failures failing step(s) in $SECONDS s; full output in full.log"
exit $((failures > 0))
