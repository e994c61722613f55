#!/usr/bin/env bash
# Builds tools/chart-render offline in GOPATH mode against Debian's Go packages
# (golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v2/v3-dev).
# Usage: setup_renderer.sh SOURCE_DIR OUTPUT_BINARY
set -euo pipefail
src=${1:?usage: setup_renderer.sh SOURCE_DIR OUTPUT_BINARY}
out=${2:?usage: setup_renderer.sh SOURCE_DIR OUTPUT_BINARY}
command -v go >/dev/null || { echo "go missing: bash scripts/setup.sh installs golang-go" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] ||
  { echo "sprig missing: bash scripts/setup.sh installs golang-github-masterminds-sprig-dev" >&2; exit 1; }
work=$(dirname "$out")
mkdir -p "$work"
cd "$src/tools/chart-render"
test -z "$(gofmt -l .)" || { echo "gofmt: tools/chart-render needs formatting: $(gofmt -l .)" >&2; exit 1; }
export GO111MODULE=off GOFLAGS= GOPATH="$work/gopath:/usr/share/gocode" GOCACHE="$work/gocache"
go vet .
go build -o "$out" .
echo "built $out ($(go version))"
