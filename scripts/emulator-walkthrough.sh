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
# Paths become variables the block expands, not text pasted into it: a path with a space stays
# one word, and binaries in a clone under /tmp are not taken for the block's /tmp files.
WALKTHROUGH_WORK=$(mktemp -d)
# shellcheck disable=SC2016 # the block expands these itself
block=$(printf '%s\n' "$block" | sed 's|/tmp/|"$WALKTHROUGH_WORK"/|g')
if [[ -n "${BIN_DIR:-}" ]]; then
  WALKTHROUGH_BIN=$BIN_DIR
  # shellcheck disable=SC2016
  block=$(printf '%s\n' "$block" | grep -v '^cargo build' | sed 's|target/debug/|"$WALKTHROUGH_BIN"/|g')
fi
export WALKTHROUGH_WORK WALKTHROUGH_BIN
cleanup() {
  local pids
  mapfile -t pids < <(jobs -p)
  ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
  rm -rf "$WALKTHROUGH_WORK"
}
trap cleanup EXIT

eval "$block"
