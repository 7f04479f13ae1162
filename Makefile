# carbonctl: common tasks. `make test` is the README's test command; .ci/run runs it and the slower checks.
CARGO ?= cargo

.PHONY: build release test setup lint fmt demo demo-sample demo-cluster install bench mutants clean
.PHONY: check-manifests chart-settings release-static image image-podman image-test fresh-clone-test kind-up kind-load metrics-server secret deploy tick-now unload logs kind-status kind-down deploy-smoke

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p carbonctl

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: setup lint check-manifests
	$(CARGO) test --workspace
	hack/deploy-smoke.sh

# What only the system provides (Debian packages, rustup components): installed when run as
# root, named otherwise. Everything else comes pinned into target/ by the scripts that use it.
setup:
	hack/setup.sh test

fmt:
	$(CARGO) fmt --all

# Every target builds the workspace's debug profile, as `cargo build --workspace` does: one
# set of features, so make demo, make demo-cluster and make test never build the same crates twice.
BIN_DIR = $(or $(CARGO_TARGET_DIR),target)/debug

# Real ticks over real grid data, no cluster and no token: carbonctl-replay runs the built
# `carbonctl tick` once per simulated minute (under faketime, which hack/setup.sh demo installs)
# against kube-emulator, over six hours of the extract in data/, then prints the summary and
# writes the chart.
demo: build
	hack/setup.sh demo
	$(BIN_DIR)/carbonctl-replay --chart $(or $(CARGO_TARGET_DIR),target)/demo.svg

# The rule on the built-in sample cluster, simulated: three ticks at 80% CPU, nothing written.
demo-sample: build
	$(BIN_DIR)/carbonctl simulate --sample --cpu 80

# carbonctl on the PATH (~/.cargo/bin), optimised.
install:
	$(CARGO) install --locked --path .

# The README walkthrough: kube-emulator's demo cluster, three ticks at 85% CPU, kubectl and status.
demo-cluster: build
	BIN_DIR=$(BIN_DIR) scripts/emulator-walkthrough.sh

# Figures for BENCHMARKS.md: API requests per tick, wall time and peak RSS next to kubectl,
# a 5,000-node cluster, binary size; and the backtest replaying a year of one-minute ticks.
# Printed, never asserted.
bench:
	$(CARGO) bench -p carbonctl --bench tick
	$(CARGO) bench -p carbonctl --bench backtest

# Mutation testing of the pure modules with the library's unit tests (cargo-mutants, pinned in
# the script): a score per group next to its target. About an hour on 2 cores; `hack/mutants.sh
# --in-diff main` tests only the mutants in lines changed since main.
mutants:
	hack/mutants.sh

clean:
	$(CARGO) clean

# Deployable artefacts (docs/deploying.md).
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
IMAGE ?= carbonctl:$(VERSION)
MUSL_TARGET ?= x86_64-unknown-linux-musl

# Schema validation (Kubernetes 1.33), checkov, cross-file consistency, shellcheck, hadolint.
check-manifests:
	hack/check-manifests.sh

# The Helm chart's settings (values.yaml, values.schema.json) from settings-configmap.yaml and the
# settings table in docs/settings.md; check-manifests fails while they are out of date.
chart-settings:
	hack/check-manifests.sh --tools-only
	target/manifest-tools/venv/bin/python hack/chart_settings.py

# The README's "Try it" commands (make demo, make test) in a fresh clone of HEAD, with an empty
# HOME and Debian's python3 first on the PATH. Slow (cold builds): run by .ci/run, not by make test.
fresh-clone-test:
	hack/fresh-clone-test.sh

# The CronJob as rendered (its args, settings and Secret keys) run twice against the emulator.
deploy-smoke:
	$(CARGO) build --workspace
	hack/deploy-smoke.sh

# The static binary the image ships; ring's C code needs musl-gcc (Debian: musl-tools) and
# rustup's musl target, which hack/setup.sh installs.
release-static:
	hack/setup.sh static
	$(CARGO) build --release --target $(MUSL_TARGET) -p carbonctl
	@ls -l $(or $(CARGO_TARGET_DIR),target)/$(MUSL_TARGET)/release/carbonctl

# With a Docker engine: docker build. Without one: podman (hack/image.sh).
image:
	@if docker info >/dev/null 2>&1; then set -x; docker build -t $(IMAGE) .; \
	else echo "no Docker engine: building with podman"; $(MAKE) --no-print-directory image-podman; fi

# podman/buildah: ./Dockerfile when its base images can be pulled, else Dockerfile.scratch (the
# static binary, a CA bundle and user 65532 on no base image).
image-podman:
	hack/setup.sh image
	IMAGE=$(IMAGE) hack/image.sh build

# Build the image without Docker, inspect it (user, entrypoint, no shell, size) and run its
# binary from its read-only root filesystem as user 65532 against the emulator. Needs root.
image-test:
	hack/setup.sh image
	$(CARGO) build --workspace
	IMAGE=$(IMAGE) hack/image.sh test

# Local cluster quickstart (needs docker, kind, kubectl): hack/kind.sh does the work.
kind-up:
	hack/kind.sh up
kind-load: image
	IMAGE=$(IMAGE) hack/kind.sh load
metrics-server:
	hack/kind.sh metrics-server
secret:
	hack/kind.sh secret
deploy:
	hack/kind.sh deploy
tick-now:
	hack/kind.sh tick
load-%:
	hack/kind.sh load-region $*
unload:
	hack/kind.sh unload $(REGION)
logs:
	hack/kind.sh logs
kind-status:
	hack/kind.sh status
kind-down:
	hack/kind.sh down
