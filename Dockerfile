# syntax=docker/dockerfile:1
# The signet-controller image: a static musl binary on a distroless, non-root base.
#   docker build -t signet-controller:dev .      (or `make docker-build`)
# The builder compiles for its own architecture, so `docker buildx build --platform
# linux/amd64,linux/arm64` produces a multi-arch image without a cross toolchain.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-trixie AS builder
# musl-tools: the musl C toolchain that aws-lc-rs (rustls' crypto provider) compiles its C with.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# crt-static is already the default for musl targets; it is spelled out because the runtime image
# has no libc at all. --locked: build exactly the committed Cargo.lock.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    rustup target add "$target"; \
    export CC_$(echo "$target" | tr '-' '_')=musl-gcc; \
    RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build --release --locked --target "$target" --bin signet-controller; \
    mkdir -p /out; \
    cp "target/$target/release/signet-controller" /out/

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="signet-controller" \
      org.opencontainers.image.description="GitOps controller for signed Helm charts stored as OCI artifacts" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/signet-dev/signet"
COPY --from=builder /out/signet-controller /signet-controller
# 65532 is the distroless "nonroot" user; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["/signet-controller"]
