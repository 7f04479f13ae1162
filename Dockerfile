# syntax=docker/dockerfile:1
# carbonctl as a static (musl) binary on a minimal non-root runtime: `make image`.
# The builder compiles for its own architecture (x86_64 or aarch64), so the image matches the
# nodes of a kind cluster on the same machine.

FROM docker.io/library/rust:1.95-slim-bookworm AS build
# musl-gcc compiles ring's C and assembly for the musl target.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-musl" \
    && rustup target add "$target" \
    && cargo build --locked --release --target "$target" -p carbonctl \
    && cp "target/$target/release/carbonctl" /carbonctl

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell, no libc.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /carbonctl /carbonctl
USER 65532:65532
ENTRYPOINT ["/carbonctl"]
CMD ["--help"]
