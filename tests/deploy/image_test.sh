#!/usr/bin/env bash
# Builds the Dockerfile with podman (no Docker engine or registry here: the Debian 12 base image
# is made with debootstrap and imported), runs the image in demo mode the way the chart runs it
# (read-only root, no capabilities, non-root) and scrapes /metrics from the host.
# Usage: image_test.sh SOURCE_DIR. Env: TIGO_IMAGE_CACHE (base rootfs cache dir),
# TIGO_IMAGE_REBUILD_BASE=1 (make the base again).
set -euo pipefail
src=$(cd "${1:?usage: image_test.sh SOURCE_DIR}" && pwd)
cache=${TIGO_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tigo_exporter}
image=localhost/tigo-exporter:test
started=$(date +%s)
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }
step() { echo "== $* ($(( $(date +%s) - started ))s)"; }

for tool in podman runc debootstrap curl; do
  command -v "$tool" >/dev/null || { echo "image test: $tool missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
done

# ---- base image: debootstrap once, keep the tarball, import when podman lacks it ----------------
base_tar=$cache/debian-bookworm-minbase.tar
if [ "${TIGO_IMAGE_REBUILD_BASE:-0}" = 1 ]; then
  rm -f "$base_tar"
  podman rmi -f docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm \
    localhost/bookworm-base >/dev/null 2>&1 || true
fi
if ! podman image exists docker.io/library/debian:bookworm-slim ||
   ! podman image exists docker.io/library/debian:bookworm; then
  if [ ! -s "$base_tar" ]; then
    step "debootstrap bookworm minbase into $cache"
    mkdir -p "$cache"
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" >"$cache/debootstrap.log" 2>&1 ||
      { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    # Like the official slim image: no downloaded .debs, package lists, docs or man pages.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    tar -C "$rootfs" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
    rm -rf "$rootfs"
    trap - EXIT
  fi
  step "import the base image"
  podman import "$base_tar" localhost/bookworm-base >/dev/null
  podman tag localhost/bookworm-base docker.io/library/debian:bookworm-slim
  podman tag localhost/bookworm-base docker.io/library/debian:bookworm
fi

# ---- build --------------------------------------------------------------------------------------
step "podman build"
revision=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
build_log=$(mktemp "${TMPDIR:-/tmp}/tigo-image-build.XXXXXX")
podman build --pull=never --isolation=chroot --layers -t "$image" \
  --build-arg REVISION="$revision" --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f "$src/Dockerfile" "$src" >"$build_log" 2>&1 ||
  { tail -40 "$build_log" >&2; echo "FAIL: podman build (whole log: $build_log)" >&2; exit 1; }
grep -iE '^(cache)?[[:space:]]*(hits|misses)|cache hit|cache miss' "$build_log" | sed 's/^/ccache: /' || true
rm -f "$build_log"
# Keep this build stage (tagged: the cache of the next run; the same REVISION, else its layers
# differ) and drop older build stages (~1 GB each).
podman build --pull=never --isolation=chroot --layers --target build -t localhost/tigo-exporter:build-cache \
  --build-arg REVISION="$revision" -f "$src/Dockerfile" "$src" >/dev/null 2>&1 || true
podman image prune -f --filter label=io.tigo-exporter.stage=build >/dev/null 2>&1 || true
ok "image built ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
# Older final images, untagged by this build, and their untagged layers (~125 MB each): only
# dangling ones (prune's default) of this project: every runtime-stage layer carries
# io.tigo-exporter.stage=runtime; images built before that label have the OCI title.
left=0
for label in io.tigo-exporter.stage=runtime org.opencontainers.image.title=tigo_exporter; do
  podman image prune -f --filter "label=$label" >/dev/null 2>&1 || true
  left=$((left + $(podman images -q --filter dangling=true --filter "label=$label" | wc -l)))
done
[ "$left" -eq 0 ] && ok "no dangling images of older builds left" || bad "$left dangling images of older builds left"

# ---- image metadata -----------------------------------------------------------------------------
inspect() { podman image inspect --format "$1" "$image"; }
[ "$(inspect '{{.Config.User}}')" = "65532:65532" ] && ok "runs as user 65532" || bad "user is '$(inspect '{{.Config.User}}')'"
[[ "$(inspect '{{json .Config.Entrypoint}}')" == '["tigo_exporter"]' ]] && ok "entrypoint tigo_exporter" || bad "entrypoint $(inspect '{{json .Config.Entrypoint}}')"
inspect '{{json .Config.ExposedPorts}}' | grep -q '"9980/tcp"' && ok "exposes 9980" || bad "exposed ports $(inspect '{{json .Config.ExposedPorts}}')"
for label in title description version revision created base.name; do
  v=$(inspect "{{index .Config.Labels \"org.opencontainers.image.$label\"}}")
  [ -n "$v" ] && ok "label org.opencontainers.image.$label=$v" || bad "label org.opencontainers.image.$label missing"
done
[ "$(inspect '{{index .Config.Labels "org.opencontainers.image.base.name"}}')" = docker.io/library/debian:bookworm-slim ] ||
  bad "base.name label is not docker.io/library/debian:bookworm-slim"

run() { podman --runtime runc run --rm --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 "$@"; }
out=$(run --entrypoint /bin/sh "$image" -c '
  for b in /usr/local/bin/tigo_exporter /usr/local/bin/tigo_sim; do ldd "$b" | grep "not found"; done
  test -s /etc/ssl/certs/ca-certificates.crt || echo "no CA bundle"
  test -f /usr/share/zoneinfo/Europe/Berlin || echo "no tzdata"
  command -v g++ cmake || true' 2>&1) || true
[ -z "$out" ] && ok "shared libraries resolve, CA bundle and tzdata present, no toolchain" || bad "runtime contents: $out"
v=$(run --entrypoint tigo_sim "$image" --version 2>&1) && ok "tigo_sim runs: $v" || bad "tigo_sim --version: $v"
# The binaries report the revision the image is labelled with (no .git in the build context).
label_rev=$(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}')
[ "$label_rev" = "$revision" ] && ok "revision label is the checkout's ($revision)" || bad "revision label '$label_rev', checkout $revision"
v=$(run "$image" --version 2>&1) || true
[[ "$v" == *"(revision $label_rev)"* ]] && ok "tigo_exporter --version: $v" || bad "tigo_exporter --version '$v' lacks (revision $label_rev)"

# ---- run in demo mode as the chart does, scrape from the host ----------------------------------
step "podman run --demo"
cid=$(podman --runtime runc run -d --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  -p 127.0.0.1::9980 "$image" --demo)
trap 'podman rm -f -t 0 "$cid" >/dev/null 2>&1 || true' EXIT
port=$(podman port "$cid" 9980/tcp | head -n1 | sed 's/.*://')
base=http://127.0.0.1:$port
ready=0
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "$base/-/ready" 2>/dev/null; then ready=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$cid")" = true ] || break
  sleep 0.5
done
if [ "$ready" = 1 ]; then ok "/-/ready answers 200 on $base"; else
  bad "/-/ready never answered 200"; podman logs "$cid" 2>&1 | tail -20 >&2; fi
curl -fsS -o /dev/null "$base/-/healthy" && ok "/-/healthy answers 200" || bad "/-/healthy"
metrics=$(curl -fsS "$base/metrics" || true)
if grep -q '^tigo_system_dc_power_watts{' <<<"$metrics"; then
  ok "/metrics has tigo_system_dc_power_watts ($(grep -c '^tigo_system_dc_power_watts{' <<<"$metrics") series)"
else
  bad "/metrics lacks tigo_system_dc_power_watts"; head -c 2000 <<<"$metrics" >&2
fi
build_info=$(grep '^tigo_exporter_build_info{' <<<"$metrics" || true)
[[ "$build_info" == *"revision=\"$label_rev\""* ]] && ok "build_info carries revision=\"$label_rev\"" ||
  bad "build_info '$build_info' lacks revision=\"$label_rev\""
podman rm -f -t 0 "$cid" >/dev/null && trap - EXIT && ok "container removed"

echo "image test done in $(( $(date +%s) - started ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
