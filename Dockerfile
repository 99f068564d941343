# Gauntlet's own image: the binary and the bundled course (curriculum/, labs/) on a small Debian base, run as a
# non-root user, fit for a read-only root filesystem, with SQLite and uploads under the /data volume.
#
# Build it from source (needs the Rust toolchain image; BuildKit, the default builder since Docker 23):
#   docker build -t gauntlet:local .
# Or from a binary built on the host, for machines whose builds cannot download a toolchain (the binary must
# link against the base image's glibc or be static; see docs/operations.md, "Gauntlet's image"):
#   cargo build --release && mkdir -p dist && cp target/release/gauntlet dist/
#   docker build --target prebuilt -t gauntlet:local .
# Both base images can be replaced: --build-arg BUILDER=… --build-arg BASE=… (scripts/compose-e2e builds on a
# Debian base made locally, where nothing can be pulled).
ARG BUILDER=rust:1-bookworm
ARG BASE=debian:bookworm-slim

# The system: packages and the user, the same for every course and binary (so builds reuse this layer).
# /data/work exists, owned by the server's user, before any container writes there: a new volume starts as a
# copy of it, so a worker running as root (docker-compose.yml) never makes the upload scratch folder first.
# iptables is for the grading workers, which install the sandbox's firewall rule on the host whose network
# namespace they share (docker-compose.yml); `serve` never calls it.
FROM ${BASE} AS os
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends iptables ca-certificates >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gauntlet \
    && useradd --system --uid 10001 --gid gauntlet --home-dir /data --no-create-home gauntlet \
    && mkdir -p /data/work /course \
    && chown -R gauntlet:gauntlet /data

# The runtime: everything but the binary.
FROM os AS runtime
COPY curriculum /course/curriculum
COPY labs /course/labs
ENV GAUNTLET_BIND=0.0.0.0:8080 \
    GAUNTLET_CURRICULUM=/course/curriculum \
    GAUNTLET_LABS=/course/labs \
    GAUNTLET_DATA_DIR=/data \
    GAUNTLET_LOG_FORMAT=json
VOLUME /data
WORKDIR /data
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["gauntlet", "probe"]
ENTRYPOINT ["gauntlet"]
CMD ["serve"]

# A binary built elsewhere: dist/gauntlet (see the top of this file).
FROM runtime AS prebuilt
COPY dist/gauntlet /usr/local/bin/gauntlet

# The binary built here, in release mode, from the locked dependencies.
FROM ${BUILDER} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gauntlet \
    && install -m 0755 target/release/gauntlet /gauntlet

FROM runtime AS image
COPY --from=build /gauntlet /usr/local/bin/gauntlet
