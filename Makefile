# carbonctl: common tasks. `make test` is what CI runs.
CARGO ?= cargo

.PHONY: build release test lint fmt demo clean

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p carbonctl

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --workspace

fmt:
	$(CARGO) fmt --all

# The rule on the built-in sample cluster: no cluster, no token needed.
demo:
	$(CARGO) run --release -p carbonctl -- simulate --cpu 80

clean:
	$(CARGO) clean
