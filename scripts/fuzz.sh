#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, Debian's clang) of every parser: builds the targets of fuzz/
# with ASan+UBSan into BUILD_DIR (default build-fuzz/), then runs each for SECONDS, JOBS at a time,
# from its seeds (fuzz/corpus/<target>/, plus the recorded answers of tests/data/ for json and
# csv). New inputs that found coverage collect in BUILD_DIR/fuzz-out/<target>/corpus/ (kept
# between runs); a failure leaves its input in BUILD_DIR/fuzz-out/<target>/crash-* (or leak-*,
# timeout-*, oom-*): fix the bug and keep the input as tests/fuzz/regressions/<target>/<name>,
# which the unit suite replays. Exits 1 when any target failed. fuzz/README.md has the rest.
#
# Usage: scripts/fuzz.sh [SECONDS per target, default 60] [TARGET...]   (default: every target)
# Env:   BUILD_DIR, BUILD_TYPE (default Debug), JOBS (default: the number of cores),
#        FUZZ_NO_BUILD=1 (use what is built)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
seconds="${1:-60}"
shift || true
build="${BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-$(nproc)}"

# A target is a folder of seeds; fuzz/CMakeLists.txt builds a program fuzz_<name> for each.
if (($# > 0)); then targets=("$@"); else mapfile -t targets < <(ls fuzz/corpus); fi

if [[ ${FUZZ_NO_BUILD:-0} != 1 ]]; then
  # Debug as CI's tree (build-asan/), where the fuzzed modules get -O1 (fuzz/CMakeLists.txt).
  BUILD_DIR="$build" BUILD_TYPE="${BUILD_TYPE:-Debug}" BUILD_TARGET=fuzz_targets \
    bash scripts/build.sh -DCMAKE_CXX_COMPILER=clang++ -DTIGO_SANITIZE=ON -DTIGO_FUZZ=ON
fi

out="$build/fuzz-out"
run_one() {
  local target=$1 dir="$out/$1"
  local program="$build/fuzz/fuzz_$target"
  local seeds=("$repo/fuzz/corpus/$target")
  [[ $target == json || $target == csv ]] && seeds+=("$repo/tests/data")
  mkdir -p "$dir/corpus"
  rm -f "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: unbounded memory is a finding too.
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$program" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" "${seeds[@]}" >"$dir/log" 2>&1; then
    echo "$target: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" |
      grep -o '[0-9]*$') runs, $(grep -m1 -o 'stat::peak_rss_mb: *[0-9]*' "$dir/log" |
      grep -o '[0-9]*$') MB peak, $(grep -o 'cov: [0-9]*' "$dir/log" | tail -1), corpus $(ls "$dir/corpus" | wc -l)"
  else
    echo "$target: FAILED (log $dir/log), input: $(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | head -1)"
    grep -m1 -B2 -A20 -E 'ERROR: |runtime error|what\(\)' "$dir/log" | head -40
    return 1
  fi
}
export -f run_one
export build out repo seconds

started=$(date +%s)
echo "fuzz: ${#targets[@]} target(s), ${seconds}s each, $jobs at a time"
status=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' || status=1
echo "fuzz: done in $(($(date +%s) - started))s"
exit $status
