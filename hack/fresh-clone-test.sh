#!/usr/bin/env bash
# The README's first commands as a new user runs them (`make fresh-clone-test`, run by .ci/run):
# the committed HEAD of this repository cloned into a temporary directory, then each `make ...`
# line of the README's "Try it" block (make demo, make test) run there with an empty HOME, its
# own target directory, and Debian's /usr/bin/python3 as the first python3 on the PATH (the
# preinstalled pyenv Python is left off). Only rustup's toolchain is kept where the machine has
# it (CARGO_HOME, RUSTUP_HOME). Nothing is installed by hand: `make test` sets itself up.
#
# It clones commits, so uncommitted changes are not tested. The clone's `make test` does not run
# this test again (it is not part of `make test`, and a nested run refuses to start).
# KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "fresh-clone-test: $*" >&2
  exit 1
}

[[ -z "${CARBONCTL_FRESH_CLONE:-}" ]] ||
  die "already inside a fresh clone ($CARBONCTL_FRESH_CLONE): not starting another"

commit="$(git rev-parse HEAD)"
[[ -z "$(git status --porcelain --untracked-files=no)" ]] ||
  echo "fresh-clone-test: uncommitted changes are not part of the test; testing commit ${commit:0:12}"

# The commands the README promises, from its "Try it" block.
mapfile -t commands < <(awk '/^## Try it/ {in_section = 1; next} /^## / {in_section = 0}
  in_section && /^```/ {in_block = !in_block; next}
  in_section && in_block && /^make / {sub(/ *#.*/, ""); print}' README.md)
((${#commands[@]} > 0)) || die "found no make commands in the README's \"Try it\" block"

work="$(mktemp -d "${TMPDIR:-/tmp}/carbonctl-fresh.XXXXXX")"
cleanup() {
  if [[ "${KEEP:-}" == 1 ]]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
mkdir "$work/home"
git clone --quiet --no-checkout "$PWD" "$work/carbonctl"
git -C "$work/carbonctl" checkout --quiet --detach "$commit"

cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
[[ -d "$cargo_home/bin" ]] || die "no cargo in $cargo_home/bin"
fresh_env=(
  "HOME=$work/home"
  "PATH=$cargo_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  "CARGO_HOME=$cargo_home"
  "RUSTUP_HOME=$rustup_home"
  "CARBONCTL_FRESH_CLONE=$work/carbonctl"
)

echo "fresh clone of ${commit:0:12} in $work/carbonctl, HOME=$work/home (empty)," \
  "python3 = $(PATH=/usr/local/bin:/usr/bin:/bin command -v python3)"
passed=0
failed=0
for command in "${commands[@]}"; do
  log="$work/$(printf '%s' "$command" | tr -c 'A-Za-z0-9' '-').log"
  start=$SECONDS
  if (cd "$work/carbonctl" &&
    env -u CARGO_TARGET_DIR -u PYENV_ROOT -u PYENV_VERSION -u VIRTUAL_ENV -u PYTHON \
      -u RUST_BACKTRACE -u MAKELEVEL -u MAKEFLAGS -u MFLAGS "${fresh_env[@]}" \
      bash -c "$command") >"$log" 2>&1 </dev/null &&
    # What the README says `make demo` shows: real ticks, then the live ledger's summary.
    { [[ "$command" != "make demo" ]] ||
      { grep -q 'scale up france 2->3' "$log" && grep -q 'gCO2eq emitted' "$log"; }; }; then
    passed=$((passed + 1))
    echo "ok   $command ($((SECONDS - start))s)"
    tail -n 3 "$log" | sed 's/^/       /'
  else
    failed=$((failed + 1))
    echo "FAIL $command ($((SECONDS - start))s); the last lines of its output:"
    tail -n 40 "$log" | sed 's/^/       /'
  fi
done
echo "what the commands left in HOME: $(cd "$work/home" && find . -mindepth 1 -maxdepth 2 | sort | tr '\n' ' ')"
echo "fresh-clone-test: $passed passed, $failed failed"
((failed == 0))
