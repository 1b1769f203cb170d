#!/usr/bin/env bash
# Issue 16's fixes, planted back one at a time: with scripts/plant-issue16.patch applied, each
# planted bug is switched on at run time by FERRITE_PLANT=<id> (see `ferrite::plant`), so one
# build runs every plant alone against the tests that guard its item, and the same binaries
# without the variable run the fixed code (the baseline, which must pass).
#
#   git apply scripts/plant-issue16.patch
#   scripts/plant-issue16.sh            # every plant; or name some: scripts/plant-issue16.sh 5a 8b
#   git apply -R scripts/plant-issue16.patch
#
# Logs go to $PLANT_LOGS (default /tmp/plant16); the summary lists each run's exit status and
# the failing tests or sweep cases. Every run is limited to 8 GiB of address space, so that a
# planted allocation that the machine could nearly satisfy aborts instead of swapping.
set -u
cd "$(dirname "$0")/.."
logs=${PLANT_LOGS:-/tmp/plant16}
mkdir -p "$logs"
ulimit -v 8388608

# plant id -> test invocations (cargo test arguments; `;` separates invocations)
declare -A runs=(
  [base]="--test bad_inputs; --test checkpoints; --test data bomb; --test model plot; --test training nan_loss hundredfold metrics; --test device devices_compare"
  [1]="--test bad_inputs"
  [1e]="--test bad_inputs"
  [2]="--test bad_inputs"
  [3a]="--test data bomb"
  [3b]="--test data bomb"
  [4a]="--test bad_inputs"
  [4c]="--test bad_inputs"
  [4d]="--test bad_inputs"
  [5a]="--test checkpoints; --test bad_inputs"
  [5b]="--test checkpoints; --test bad_inputs"
  [6]="--test model plot"
  [7a]="--test bad_inputs"
  [7b]="--test bad_inputs"
  [7c]="--test training nan_loss; --test bad_inputs"
  [7d]="--test training hundredfold"
  [7e]="--test bad_inputs"
  [7f]="--test bad_inputs"
  [7e,7f]="--test bad_inputs"
  [8a]="--test checkpoints"
  [8b]="--test checkpoints"
  [8c]="--test checkpoints; --test bad_inputs"
  [8d]="--test checkpoints"
  [9a]="--test bad_inputs"
  [9b]="--test bad_inputs; --test device devices_compare"
  [9c]="--test training metrics"
  [9d]="--test bad_inputs"
  [9e]="--test bad_inputs"
  [9f]="--test bad_inputs"
  [9g]="--test bad_inputs"
  [9h]="--test bad_inputs"
  [9i]="--test bad_inputs"
  [9k]="--test bad_inputs"
  [9l]="--test bad_inputs"
  [9m]="--test bad_inputs"
  [9n]="--test bad_inputs"
)
order=(base 1 1e 2 3a 3b 4a 4c 4d 5a 5b 6 7a 7b 7c 7d 7e 7f 7e,7f 8a 8b 8c 8d 9a 9b 9c 9d 9e 9f 9g 9h 9i 9k 9l 9m 9n)
[ $# -gt 0 ] && order=("$@")

for id in "${order[@]}"; do
  IFS=';' read -ra invocations <<< "${runs[$id]}"
  for inv in "${invocations[@]}"; do
    read -ra words <<< "$inv"
    test=${words[1]}
    filters=("${words[@]:2}")
    log="$logs/$id-$test.log"
    plant=$id
    [ "$id" = base ] && plant=
    start=$(date +%s)
    # A harness-less test takes no filter; libtest takes one (several: the first is used by
    # libtest-mimic's harnesses too, so they run one at a time).
    if [ ${#filters[@]} -eq 0 ]; then filters=(""); fi
    : > "$log"
    status=0
    for f in "${filters[@]}"; do
      FERRITE_PLANT=$plant timeout 900 nice -n 19 cargo test -q --test "$test" -- $f >> "$log" 2>&1 || status=$?
    done
    took=$(( $(date +%s) - start ))
    failed=$(grep -E '^(    [a-z_]|[a-zA-Z].*: (expected|panicked|exit status|signal)|.*memory allocation of|.*panicked at|test result|bad-input sweep)' "$log" | grep -v '^test result: ok' | head -n 12)
    printf '=== plant %-6s %-12s %-22s status %-4s %4ss\n%s\n' "$id" "$test" "${filters[*]}" "$status" "$took" "$failed"
  done
done
