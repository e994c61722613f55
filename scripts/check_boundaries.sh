#!/usr/bin/env bash
# Include boundaries between the modules of src/: every `#include "module/..."` of a file under
# src/<module>/ must name a module that <module> may depend on. Fails (exit 1) naming file:line
# and the rule for each forbidden include. The build enforces the same edges (each module's
# library sees only the headers of the libraries it links, src/CMakeLists.txt); this check also
# catches the header-only includes a link would not notice, and runs without a build.
# Usage: scripts/check_boundaries.sh [SRC_DIR]   (default: this repository's src/)
set -euo pipefail

# The data flow: Config -> tigo client -> refresh -> snapshot -> metrics -> web, the simulator
# a world of its own on the shared sun geometry; app wires everything (and alone starts the
# simulator, for --demo). Files directly in src/ (main.cpp) count as app. refresh and backfill
# see config for the one home of the defaults (config::RefreshSettings, BackfillConfig). pages,
# like metrics, draws the snapshot and never reaches the client: a page view never calls Tigo.
# local reads the bus's outside input (taptap's lines) and knows nothing of the cloud, the
# snapshot or HTTP: only util.
# module   may include                                                  but never
RULES='
util       util
sun        util sun
sim        util sun sim
config     util config
tigo       util tigo
local      util local
refresh    util sun config tigo refresh
metrics    util tigo refresh metrics                                    tigo/client.hpp
web        util web
pages      util tigo refresh pages                                      tigo/client.hpp
backfill   util config tigo refresh metrics backfill
app        util sun tigo config refresh metrics web pages backfill local sim app
'

src="${1:-$(cd "$(dirname "$0")/.." && pwd)/src}"
[[ -d $src ]] || { echo "check_boundaries: no such directory: $src" >&2; exit 2; }
shown=$(basename "$src")  # messages name files as src/refresh/x.cpp

declare -A allowed never
while read -r module deps; do
  [[ -n $module ]] || continue
  allowed[$module]=""
  never[$module]=""
  for dep in $deps; do
    if [[ $dep == */* ]]; then never[$module]+=" $dep"; else allowed[$module]+=" $dep"; fi
  done
done <<<"$RULES"
is_module() { [[ -v "allowed[$1]" ]]; }

include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">]'
violations=0

# A folder without a row would be a blind spot: an error.
while IFS= read -r -d '' dir; do
  if ! is_module "${dir##*/}"; then
    echo "$shown/${dir##*/}: folder '${dir##*/}' has no row in the RULES table of $0" >&2
    violations=$((violations + 1))
  fi
done < <(find "$src" -mindepth 1 -maxdepth 1 -type d -print0)

# One pass over every include line of every source file: "path:line:text".
while IFS= read -r hit; do
  rel=${hit#"$src"/}
  file=${rel%%:*}
  rest=${rel#*:}
  line=${rest%%:*}
  text=${rest#*:}
  module=${file%%/*}
  [[ $file == */* ]] || module=app
  is_module "$module" || continue  # reported above
  [[ $text =~ $include_re ]] || continue
  header=${BASH_REMATCH[1]}
  target=${header%%/*}
  [[ $header == */* ]] && is_module "$target" || continue  # a system or generated header
  if [[ " ${allowed[$module]} " != *" $target "* ]]; then
    echo "$shown/$file:$line: $module may not include $header ($module may include:${allowed[$module]})"
    violations=$((violations + 1))
  elif [[ " ${never[$module]} " == *" $header "* ]]; then
    echo "$shown/$file:$line: $module may not include $header (never:${never[$module]})"
    violations=$((violations + 1))
  fi
done < <(grep -rnE --include='*.cpp' --include='*.hpp' --include='*.h' --include='*.cc' \
           '^[[:space:]]*#[[:space:]]*include' "$src" | sort -t: -k1,1 -k2,2n)

if ((violations > 0)); then
  echo "check_boundaries: $violations violation(s); the rules are the table at the top of $0" >&2
  exit 1
fi
echo "check_boundaries: every include of $src within its module's boundary"
