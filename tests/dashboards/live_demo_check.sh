#!/usr/bin/env bash
# promql_check.py against the live exporter: `tigo_exporter --demo` (embedded tigo_sim) on a free
# loopback port, scraped by a real Prometheus with the rules. Exits 77 (skipped) when the exporter
# is not built. TIGO_DASH_REQUIRE says what must return data: core (default: every core panel,
# recording rule and dashboard variable; the demo fleet always has a system in daylight), or none
# (errors only).
# Usage: live_demo_check.sh TIGO_EXPORTER_BINARY
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:?exporter binary}"
if [ ! -x "$bin" ]; then
  echo "live_demo_check: $bin not built (cmake --build): skipped"
  exit 77
fi
py="$(command -v /usr/bin/python3 || command -v python3)"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$bin" --demo --web.listen-address "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^tigo_system_info' && break
  sleep 0.2
done
"$py" "$here/promql_check.py" --target "127.0.0.1:$port" --require "${TIGO_DASH_REQUIRE:-core}"
