# tigo_exporter and tigo_sim on Debian 12. Build: docker build -t tigo-exporter . (or podman,
# see README "Container image"). Run: docker run -p 9980:9980 tigo-exporter --demo

ARG DEBIAN_RELEASE=bookworm

# ---- build: the project's own Debian build packages, compiled with CMake ------------------------
FROM debian:${DEBIAN_RELEASE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Lets a local builder find (and prune) this stage's intermediate images.
LABEL io.tigo-exporter.stage="build"
# The same packages as scripts/setup.sh installs for the build (scripts/packages/core.txt), less
# those only the tests use, so a library added there reaches the image without an edit here.
COPY scripts/packages/core.txt /tmp/core.txt
RUN sed 's/#.*//' /tmp/core.txt | tr -s ' \t' '\n' | grep -v '^$' \
      | grep -vxE 'catch2|clang-format|prometheus|prometheus-alertmanager|curl|git' > /tmp/build-packages.txt \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/build-packages.txt \
      apt-get install -y --no-install-recommends ccache \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY CMakeLists.txt ./
COPY src ./src
# The context has no .git: the revision that --version and tigo_exporter_build_info report comes
# from this build arg, the same one as the OCI revision label.
ARG REVISION=unknown
# ccache in a build cache mount: sources always sit in /src, so rebuilds reuse every object whose
# source did not change, across builds and clones (BuildKit and podman/buildah both keep it).
RUN --mount=type=cache,target=/ccache,id=tigo-exporter-ccache \
    export CCACHE_DIR=/ccache CCACHE_MAXSIZE=1G \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DTIGO_BENCH=OFF \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DTIGO_REVISION="${REVISION}" \
 && cmake --build /build -j"$(nproc)" --target tigo_exporter tigo_sim \
 && { ccache --show-stats | grep -iE 'hits|misses' || true; } \
 && install -d /out/bin \
 && install -s /build/src/tigo_exporter /build/src/tigo_sim /out/bin/

# The runtime needs exactly the Debian packages that own the shared libraries the binaries load.
COPY scripts/docker/runtime-packages.sh /tmp/runtime-packages.sh
RUN bash /tmp/runtime-packages.sh /out/bin/tigo_exporter /out/bin/tigo_sim > /out/runtime-packages.txt \
 && cat /out/runtime-packages.txt

# ---- runtime: slim Debian with those libraries, CA certificates and time zones -----------------
FROM debian:${DEBIAN_RELEASE}-slim
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# First, so that every intermediate image of this stage carries it too: a local builder prunes the
# untagged ones of older builds by it.
LABEL io.tigo-exporter.stage="runtime"
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/runtime-packages.txt \
      apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 65532 tigo \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin tigo

COPY --from=build /out/bin/tigo_exporter /out/bin/tigo_sim /usr/local/bin/

ARG DEBIAN_RELEASE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=""
LABEL org.opencontainers.image.title="tigo_exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Tigo Energy cloud API v3, with tigo_sim, a fake of that API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:${DEBIAN_RELEASE}-slim"

# Numeric, so Kubernetes can check runAsNonRoot.
USER 65532:65532
EXPOSE 9980
ENTRYPOINT ["tigo_exporter"]
