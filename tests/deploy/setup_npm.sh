#!/usr/bin/env bash
# Installs the npm packages of tests/deploy/package-lock.json into DEST with `npm ci`; skipped
# when DEST already holds exactly that lock file's install.
# Usage: setup_npm.sh PACKAGE_DIR DEST
set -euo pipefail
pkg=${1:?usage: setup_npm.sh PACKAGE_DIR DEST}
dest=${2:?usage: setup_npm.sh PACKAGE_DIR DEST}
for tool in node npm; do
  command -v $tool >/dev/null || { echo "$tool missing: bash scripts/setup.sh installs nodejs and npm" >&2; exit 1; }
done
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || { echo "node $(node --version) is too old: 18 or later needed" >&2; exit 1; }
mkdir -p "$dest"
stamp=$(cat "$pkg/package.json" "$pkg/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$stamp" ] && [ -d "$dest/node_modules" ]; then
  echo "npm packages already installed in $dest"
  exit 0
fi
cp "$pkg/package.json" "$pkg/package-lock.json" "$dest/"
cd "$dest"
rm -f .installed
npm ci --no-audit --no-fund --loglevel=error
echo "$stamp" > .installed
echo "installed $(ls node_modules | wc -l) npm packages with node $(node --version)"
