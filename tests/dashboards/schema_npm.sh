#!/usr/bin/env bash
# Regenerates Grafana's dashboard JSON schema from npm @grafana/schema (ts-json-schema-generator),
# checks the vendored copy (grafana-dashboard.schema.json) is that schema, and validates every
# dashboard with ajv. Exits 77 (CTest: skipped) when npm is not installed.
# Usage: schema_npm.sh WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dash="$here/../../dashboards"
work="${1:?work dir}"
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "schema_npm: npm/node not installed (apt-get install nodejs npm): skipped"
  exit 77
fi
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/validate.js" "$work/"
cd "$work"
# npm ci only when the lock changed since the last install here.
if ! cmp -s package-lock.json node_modules/.tigo-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.tigo-lock
fi
types=node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts
npx --no-install ts-json-schema-generator --path "$types" --type Dashboard --no-type-check \
  --additional-properties -o dashboard.schema.json
if ! cmp -s dashboard.schema.json "$here/grafana-dashboard.schema.json"; then
  echo "schema_npm: tests/dashboards/grafana-dashboard.schema.json differs from the schema of the pinned"
  echo "@grafana/schema; copy $work/dashboard.schema.json over it."
  exit 1
fi
node validate.js dashboard.schema.json "$dash"/*.json
