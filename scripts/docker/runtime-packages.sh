#!/usr/bin/env bash
# Prints, one a line, the Debian packages owning the shared libraries that the given binaries load
# (ldd), so the runtime image installs those and nothing else. Fails if a library has no owner.
set -euo pipefail
ldd "$@" | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  owner=""
  # Debian 12 is usr-merged: dpkg may know a library by its /lib or its /usr/lib path.
  for candidate in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
    if owner=$(dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$owner" ]; then
      break
    fi
  done
  if [ -z "$owner" ]; then
    echo "runtime-packages: no Debian package owns $lib" >&2
    exit 1
  fi
  echo "$owner"
done | sort -u
