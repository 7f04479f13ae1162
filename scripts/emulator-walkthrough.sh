#!/usr/bin/env bash
# Runs the README's emulator walkthrough, the first `sh` block under "## Running against the
# emulator", as written: start kube-emulator with the demo cluster, create the state ConfigMap
# with kubectl, raise CPU to 85%, run three ticks, and show the result with kubectl and
# `carbonctl status`. Its /tmp files go to a folder of this run's own, and the emulator it
# starts is stopped at the end.
#
# BIN_DIR: binaries already built there are used instead of the block's `cargo build` and
# target/debug (the test suite passes its own).
set -euo pipefail
cd "$(dirname "$0")/.."

block=$(awk '/^## Running against the emulator/ { section = 1 }
             section && /^```sh$/ { inside = 1; next }
             inside && /^```$/ { exit }
             inside' README.md)
if [[ -z "$block" ]]; then
  echo "emulator-walkthrough: no sh block under '## Running against the emulator' in README.md" >&2
  exit 1
fi
if [[ -n "${BIN_DIR:-}" ]]; then
  block=$(printf '%s\n' "$block" | grep -v '^cargo build' | sed "s|target/debug/|$BIN_DIR/|g")
fi
work=$(mktemp -d)
block=${block//\/tmp\//$work/}
cleanup() {
  local pids
  read -ra pids <<<"$(jobs -p)"
  ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

eval "$block"
