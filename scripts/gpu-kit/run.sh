#!/usr/bin/env bash
# Runs ferrite's GPU check kit on a GPU machine, most important evidence first:
#   device     the GPU and driver (nvidia-smi), then ferrite's first module load and launch;
#   tests      every GPU case of every device-parametrised suite, one at a time, with
#              synchronous launches so a fault names its kernel; a fault that loses the device
#              ends that process, and the cases it kept from running are rerun in a fresh one;
#   bench      the benchmark on the GPU, cuBLAS in the same run, then PyTorch and CuPy;
#   programs   the examples and the train program;
#   sanitizer  compute-sanitizer memcheck (with leak checking) and racecheck on the kernel
#              path cases, last, skipped where the tool or the runtime refuses.
# Usage: bash run.sh [OUTPUT_DIR [STEP...]]   (OUTPUT_DIR default: $OUT if set, else ./gpu-run)
# Writes at most 8 files to OUTPUT_DIR, each under 16 MiB, whatever happens: summary.md (the
# compact report: device, every step, which kernels were proven on the GPU and which failed,
# the benchmark table), kernels.md (per kernel: the GPU cases that ran it), full.log,
# bench.json, bench.md, merged.json, sanitizer.log.
# KIT_SECONDS (default 390) bounds the whole run: each step gets at most its own limit and
# what is left, so one hung kernel costs one step and the summary is complete in time.
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-./gpu-run}}
shift || true
all="device tests bench programs sanitizer"
steps=${*:-$all}
for s in $steps; do
  [[ " $all " == *" $s "* ]] || { echo "run.sh: unknown step '$s' (steps: $all)" >&2; exit 2; }
done
deadline=$((SECONDS + ${KIT_SECONDS:-390}))
mkdir -p "$out"
out=$(cd "$out" && pwd)
summary="$out/summary.md"
full="$out/full.log"
rm -f "$out"/{summary.md,kernels.md,full.log,bench.json,bench.md,merged.json,sanitizer.log}
: >"$summary"
: >"$full"
work=$(mktemp -d)
klog="$work/kernels.log"
: >"$klog"

say() { echo "$@" | tee -a "$summary"; }
section() { printf '\n===== %s =====\n' "$*" >>"$full"; }
wants() { [[ " $steps " == *" $1 "* ]]; }

# Every file in OUTPUT_DIR under 16 MiB, however much a step printed.
cap() {
  local f limit=$((15 * 1024 * 1024)) half=$((7 * 1024 * 1024))
  for f in "$out"/*; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt "$limit" ] || continue
    { head -c "$half" "$f"; printf '\n\n[... %s truncated to its first and last 7 MiB ...]\n\n' "$(basename "$f")"; tail -c "$half" "$f"; } >"$f.cut"
    mv "$f.cut" "$f"
  done
}
finish() {
  cap
  rm -rf "$work"
}
trap finish EXIT

failures=0
# Runs "$@" with at most $1 seconds (and no more than is left before the deadline); sets rc.
# A step that cannot start for lack of time, or is stopped by it, counts as failing.
bounded() {
  local limit=$1 left=$((deadline - SECONDS))
  shift
  if [ "$left" -lt 15 ]; then
    rc=skipped
    echo "skipped: out of time" >>"$full"
    failures=$((failures + 1))
    return
  fi
  [ "$left" -lt "$limit" ] && limit=$((left - 8))
  timeout -k 5 "$limit" "$@"
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "stopped after ${limit} s" >>"$full"; fi
  [ "$rc" -ne 0 ] && failures=$((failures + 1))
}

say "# ferrite GPU check"
say ""
say "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "- commit: $(cat "$kit/COMMIT" 2>/dev/null || echo unknown)"
gpu=$(nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
say "- GPU (name, driver, compute capability, memory): ${gpu:-none found by nvidia-smi}"
say "- steps: $steps (exit 124, or 137 if it ignored the stop: ended by its time limit)"
# With a GPU present, GPU cases must run: a case that cannot open the GPU fails instead of
# being reported as ignored.
[ -n "$gpu" ] && export FERRITE_REQUIRE_GPU=1

section "unpacking the kit"
if ! xz -dc "$kit/payload.tar.xz" | tar -C "$work" -xf - >>"$full" 2>&1; then
  say ""
  say "The kit's payload could not be unpacked (see full.log)."
  exit 1
fi

# cuBLAS (the matmul baseline) and the CUDA libraries come from the toolkit or from NVIDIA's
# wheels (CUDA 13: nvidia/cu13/lib; CUDA 12: nvidia/cublas/lib); ferrite also searches these
# itself, and says what it tried.
libs=$(python3 -c '
import importlib.util, os
seen = []
for mod in ("nvidia", "nvidia.cu13", "nvidia.cublas"):
    try:
        spec = importlib.util.find_spec(mod)
    except Exception:
        continue
    for root in (spec.submodule_search_locations or []) if spec else []:
        for sub in ("lib", "cu13/lib", "cublas/lib"):
            d = os.path.join(root, sub)
            if os.path.isdir(d) and d not in seen:
                seen.append(d)
print(":".join(seen))
' 2>/dev/null)
for d in /usr/local/cuda/lib64 ${libs//:/ }; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >>"$full"

say ""
say "| step | passed | failed | not run (device lost) | ignored | exit |"
say "|---|---|---|---|---|---|"

arch=""
if wants device; then
  section "device: nvidia-smi"
  nvidia-smi >>"$full" 2>&1
  section "device: ferrite's first module load and launch (examples/cupy_sqrt)"
  bounded 60 "$work/bin/cupy_sqrt" >"$work/device.txt" 2>&1
  cat "$work/device.txt" >>"$full"
  described=$(head -n 1 "$work/device.txt")
  arch=$(grep -o 'sm_[0-9]*a\? PTX' "$work/device.txt" | head -n 1 | cut -d' ' -f1)
  say "| device: $described | | | | | $rc |"
fi

# One suite's GPU cases: `gpu::` trials, one thread, synchronous launches. Counts come from
# libtest's result lines; trials a lost device kept from running go to a fresh process, up to
# three times.
suite_gpu_cases() {
  local t=$1 name=$2 attempt=0 only="" lost="$work/lost-$name.txt" p=0 f=0 i=0 n=0 total_rc=0
  while :; do
    : >"$lost"
    section "GPU cases of $name${only:+ (rerun $attempt: the trials a lost device did not run)}"
    local from=$(($(wc -l <"$full") + 1))
    bounded 120 env FERRITE_CUDA_SYNC=1 FERRITE_KERNEL_LOG="$klog" FERRITE_LOST_TRIALS="$lost" \
      ${only:+"FERRITE_ONLY_TRIALS=$only"} "$t" gpu:: --test-threads=1 >>"$full" 2>&1
    [ "$rc" != 0 ] && total_rc=$rc
    read -r dp df di <<<"$(tail -n +"$from" "$full" | grep -E '^test result:' |
      sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/' | awk '{p+=$1; f+=$2; i+=$3} END {print p+0, f+0, i+0}')"
    local nl
    nl=$(grep -c . "$lost" 2>/dev/null || true)
    p=$((p + dp)); i=$((i + di)); f=$((f + df - nl)); n=$nl
    [ "$nl" -gt 0 ] && [ "$attempt" -lt 3 ] || break
    attempt=$((attempt + 1))
    only="$work/only-$name-$attempt.txt"
    cp "$lost" "$only"
  done
  say "| $name | $p | $f | $n | $i | $total_rc |"
  [ "$i" -gt 0 ] && grep -m1 '^SKIPPED' "$full" | sed 's/^SKIPPED [0-9]* gpu tests: //' >"$work/skipped.txt"
}

if wants tests; then
  for t in "$work"/tests/kernel_paths "$work"/tests/wgmma_routing "$work"/tests/*; do
    name=$(basename "$t")
    # kernel_paths (every kernel) and wgmma_routing (Hopper's wgmma) first, then the rest, once each.
    [ -x "$t" ] && [[ " ${ran:-} " != *" $name "* ]] || continue
    ran="${ran:-} $name"
    suite_gpu_cases "$t" "$name"
  done
  # Kernels proven on the GPU: launched by a passing case and by no failing one.
  entries="$kit/entries-${arch:-sm_90a}.txt"
  awk -F'\t' -v entries="$entries" -v kmd="$out/kernels.md" '
    BEGIN { while ((getline e < entries) > 0) { want[e] = 1; order[++n] = e } }
    { split($4, ks, ","); for (j in ks) { if (ks[j] == "") continue; split(ks[j], kc, ":"); k = kc[1]
        if ($3 == "pass") { pass[k]++; passcases[k] = passcases[k] " " $1 "::" $2 } else { fail[k]++; failcases[k] = failcases[k] " " $1 "::" $2 } } }
    END {
      print "# Kernels on the GPU\n\n| kernel | passing cases | failing cases | verdict |\n|---|---|---|---|" > kmd
      for (j = 1; j <= n; j++) { k = order[j]
        v = (fail[k] > 0) ? "FAILED" : ((pass[k] > 0) ? "proven" : "not reached")
        if (v == "proven") proven++; else if (v == "FAILED") { failed++; fl = fl " " k } else { unreached++; ul = ul " " k }
        printf "| `%s` | %d | %d | %s |\n", k, pass[k], fail[k], v > kmd
        if (fail[k] > 0) print "  - failing cases of " k ":" failcases[k] > kmd ".details" }
      printf "%d proven, %d failed%s, %d not reached%s (of %d entries in %s)\n", proven, failed, (fl ? " (" substr(fl, 2) ")" : ""), unreached, (ul ? " (" substr(ul, 2) ")" : ""), n, entries
    }' "$klog" >"$work/kernels.txt" 2>>"$full"
  [ -f "$out/kernels.md.details" ] && { printf '\n' >>"$out/kernels.md"; cat "$out/kernels.md.details" >>"$out/kernels.md"; rm -f "$out/kernels.md.details"; }
  kernels_line=$(sed "s|$kit/||" "$work/kernels.txt")
fi

if wants bench && [ -z "$gpu" ]; then
  say "| benchmark: skipped, no GPU (the CPU rows are measured on the development machines) | | | | | - |"
elif wants bench; then
  section "benchmark (GPU rows, cuBLAS in the same run)"
  bounded 150 "$work/bin/bench" --device cuda --json "$out/bench.json" >"$work/bench-table.md" 2>>"$full"
  cat "$work/bench-table.md" >>"$full"
  say "| benchmark | | | | | $rc |"
  if [ -s "$out/bench.json" ]; then
    section "baselines: PyTorch and CuPy on the same shapes"
    bounded 90 python3 "$kit/bench_baselines.py" "$out/bench.json" --json "$out/merged.json" >"$out/bench.md" 2>>"$full"
    say "| baselines (PyTorch, CuPy) | | | | | $rc |"
  fi
fi

if wants programs; then
  for b in "$work"/bin/*; do
    name=$(basename "$b")
    case "$name" in bench) continue ;; esac # the benchmark is its own step
    section "program $name"
    bounded 90 "$b" >>"$full" 2>&1
    say "| program $name | | | | | $rc |"
  done
fi

if wants sanitizer; then
  san="$work/sanitizer/bin/compute-sanitizer"
  if [ -z "$gpu" ]; then
    say "| sanitizer: skipped, no GPU | | | | | - |"
  elif [ ! -x "$san" ]; then
    say "| sanitizer | not in the kit | | | | - |"
  else
    for tool in "memcheck --leak-check full" "racecheck --racecheck-report hazard"; do
      section "compute-sanitizer --tool $tool: kernel_paths gpu::"
      log="$out/sanitizer.log"
      echo "===== compute-sanitizer --tool $tool =====" >>"$log"
      # shellcheck disable=SC2086
      bounded 90 env FERRITE_CUDA_SYNC=1 "$san" --tool $tool --error-exitcode 99 "$work/tests/kernel_paths" gpu:: \
        --test-threads=1 >>"$log" 2>&1
      errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$log" | tail -n 1)
      refused=$(grep -Em1 '========= (Error|Unable)|not supported|permission' "$log" | cut -c1-160 | tr '|' '/')
      if [ -z "$errors" ] && [ -n "$refused" ] && [ "$rc" != 99 ]; then
        # The tool could not instrument the process (a sandboxed GPU, a driver it does not
        # support): no finding about ferrite either way.
        [ "$rc" != 0 ] && [ "$rc" != skipped ] && failures=$((failures - 1))
        say "| sanitizer ${tool%% *}: did not run ($refused) | | | | | skipped |"
      else
        say "| sanitizer ${tool%% *} (kernel_paths gpu::) | ${errors:-no summary} | | | | $rc |"
      fi
    done
  fi
fi

say ""
if [ -s "$work/skipped.txt" ]; then
  say "GPU cases were skipped (reported as ignored, never as passed): $(cat "$work/skipped.txt")"
  say ""
fi
if [ -n "${kernels_line:-}" ]; then
  say "## Kernels on the GPU"
  say ""
  say "$kernels_line (per kernel: kernels.md)"
  say ""
fi
if [ -s "$work/bench-table.md" ]; then
  say "## Benchmark"
  say ""
  cat "$work/bench-table.md" >>"$summary"
  echo "(benchmark table in summary.md and bench.json)"
  say ""
fi
say "$failures failing step(s) in $SECONDS s; everything printed is in full.log"
exit $((failures > 0))
