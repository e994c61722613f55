#!/usr/bin/env bash
# Test names ctest would mishandle: catch_discover_tests splits a name at ';' (each half then
# matches no test case, and a run of no test cases passes), and a name beginning with '-' is
# handed to Catch2 as an option. Fails (exit 1) naming each one.
# Usage: scripts/check_test_names.sh CATCH2_BINARY...
set -euo pipefail
bad=0
for bin in "$@"; do
  while IFS= read -r name; do
    if [[ $name == *";"* || $name == -* ]]; then
      echo "$(basename "$bin"): test name with ';' or a leading '-': $name"
      bad=$((bad + 1))
    fi
  done < <("$bin" --list-test-names-only)
done
((bad == 0))
