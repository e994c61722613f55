#!/usr/bin/env bash
# Proves that the boundary check can fail: on a copy of src/ with one forbidden include planted
# per case, it must exit non-zero and name the file, the line and the rule.
# Usage: check_boundaries_selftest.sh CHECK_SCRIPT SRC_DIR
set -euo pipefail
check=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# plant FILE INCLUDE EXPECTED: appends `#include "INCLUDE"` to a fresh copy's FILE, runs the
# check, and wants exit 1 and EXPECTED in its output.
plant() {
  local file=$1 include=$2 expected=$3
  rm -rf "$work/src"
  cp -r "$src" "$work/src"
  printf '#include "%s"\n' "$include" >>"$work/src/$file"
  local line
  line=$(wc -l <"$work/src/$file")
  local out rc=0
  out=$(bash "$check" "$work/src" 2>&1) || rc=$?
  if [[ $rc -ne 1 || $out != *"src/$file:$line: $expected"* ]]; then
    echo "FAIL: $include in $file: exit $rc, wanted 1 and \"src/$file:$line: $expected\"; got:"
    echo "$out"
    failures=$((failures + 1))
  else
    echo "ok: $include in $file -> $(grep -F "src/$file:$line" <<<"$out")"
  fi
}

plant refresh/refresher.cpp sim/model.hpp "refresh may not include sim/model.hpp"
plant metrics/collector.cpp sim/solar.hpp "metrics may not include sim/solar.hpp"
plant metrics/self_metrics.hpp tigo/client.hpp "metrics may not include tigo/client.hpp"
plant tigo/client.cpp refresh/snapshot.hpp "tigo may not include refresh/snapshot.hpp"
plant tigo/csv.hpp metrics/families.hpp "tigo may not include metrics/families.hpp"
plant web/server.cpp tigo/model.hpp "web may not include tigo/model.hpp"
plant sun/position.cpp sim/solar.hpp "sun may not include sim/solar.hpp"
plant util/log.cpp config/config.hpp "util may not include config/config.hpp"
plant local/bus_state.cpp refresh/snapshot.hpp "local may not include refresh/snapshot.hpp"

# A folder the table does not know is an error too, not a blind spot.
rm -rf "$work/src"
cp -r "$src" "$work/src"
mkdir "$work/src/newmodule"
echo '#include "util/log.hpp"' >"$work/src/newmodule/x.cpp"
rc=0
out=$(bash "$check" "$work/src" 2>&1) || rc=$?
if [[ $rc -ne 1 || $out != *"src/newmodule: folder 'newmodule' has no row"* ]]; then
  echo "FAIL: unknown folder: exit $rc; got:"
  echo "$out"
  failures=$((failures + 1))
else
  echo "ok: unknown folder newmodule -> reported"
fi

((failures == 0)) || { echo "$failures case(s) failed"; exit 1; }
echo "every planted violation caught"
