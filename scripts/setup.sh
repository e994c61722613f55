#!/usr/bin/env bash
# Installs every Debian 12 package the build, the demo and the tests need: the union of the lists
# in scripts/packages/*.txt (one package a line, # comments). Idempotent: when everything is
# already installed it only checks (about a second).
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t packages < <(cat packages/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

# A package counts as present when an installed package provides it (e.g. a nodejs build that
# bundles npm and conflicts with Debian's npm package).
provided=$(dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null | sed -n 's/^installed //p' |
  tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u || true)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    grep -qxF "$p" <<<"$provided" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
