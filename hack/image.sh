#!/usr/bin/env bash
# carbonctl's image without Docker, with Debian's podman (buildah underneath).
#
#   hack/image.sh build   build $IMAGE (`make image` when no Docker engine answers)
#   hack/image.sh test    build it, inspect it, and run its binary against the emulator
#                         (`make image-test`, run by .ci/run)
#
# build: from ./Dockerfile when its base images can be pulled, else (offline) from
# Dockerfile.scratch: the static binary of `make release-static`, the host's CA bundle and
# passwd/group files naming root and nonroot (65532), on no base image at all.
# IMAGE_VARIANT=dockerfile|scratch forces one.
#
# test: the image's configuration (user 65532, entrypoint /carbonctl, no shell, a static binary
# under 7,500,000 bytes, the image under 8,000,000), then its root filesystem, unpacked (`podman
# create` + `podman export`), runs `carbonctl tick` and `carbonctl status` as the image's user
# against the emulator on loopback: in a mount namespace of its own (unshare), the root
# filesystem mounted read-only, the kubeconfig mounted read-only where a pod would get a volume,
# chroot to it as 65532 (no capabilities left), no HOME, then a HOME that does not exist.
# `podman run` would do the same, but it cannot start containers in this sandbox (crun:
# setrlimit ... Operation not permitted). Needs root (mounts, chroot), podman, and the debug
# kube-emulator (cargo build --workspace).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
IMAGE="${IMAGE:-carbonctl:$VERSION}"
MUSL_TARGET="${MUSL_TARGET:-x86_64-unknown-linux-musl}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
WORK=target/image
MAX_IMAGE_BYTES=8000000
# The image's target is 8 MB; the binary may take what the CA bundle (about 220 KB) and the
# passwd/group files leave, with a margin.
MAX_BINARY_BYTES=7500000
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

die() {
  echo "image: $*" >&2
  exit 1
}

# The base images ./Dockerfile builds on, if podman can pull every one of them.
base_images_reachable() {
  local image
  while read -r image; do
    podman image exists "$image" && continue
    if ! timeout 120 podman pull -q "$image" >/dev/null 2>"$WORK/pull.log"; then
      echo "cannot pull $image ($(tail -n 1 "$WORK/pull.log")): building Dockerfile.scratch instead"
      return 1
    fi
  done < <(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile)
}

build() {
  mkdir -p "$WORK"
  local variant="${IMAGE_VARIANT:-auto}"
  if [[ "$variant" == auto ]]; then
    if base_images_reachable; then variant=dockerfile; else variant=scratch; fi
  fi
  case "$variant" in
    dockerfile)
      podman build --layers -f Dockerfile -t "$IMAGE" .
      ;;
    scratch)
      make --no-print-directory release-static
      [[ -r "$CA_BUNDLE" ]] || die "no CA bundle at $CA_BUNDLE (Debian: ca-certificates)"
      local context="$WORK/context"
      rm -rf "$context"
      mkdir -p "$context"
      cp "$TARGET_DIR/$MUSL_TARGET/release/carbonctl" "$CA_BUNDLE" "$context/"
      printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$context/passwd"
      printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$context/group"
      # --timestamp 0: the same binary gives the same image ID.
      podman build --timestamp 0 -f Dockerfile.scratch -t "$IMAGE" "$context"
      ;;
    *) die "IMAGE_VARIANT is '$variant': use dockerfile or scratch" ;;
  esac
  echo "built $IMAGE ($variant): $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
}

passed=0
failed=0
# result NAME STATUS [DETAIL]: one ok/FAIL line per check, with DETAIL indented below it.
result() {
  if [[ "$2" == 0 ]]; then
    passed=$((passed + 1))
    printf 'ok   %s\n' "$1"
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n' "$1"
  fi
  [[ -z "${3:-}" ]] || printf '%s\n' "$3" | sed 's/^/       /'
}

# check NAME COMMAND...: the command's exit status is the check's result.
check() {
  local name="$1" status=0
  shift
  "$@" || status=$?
  result "$name" "$status"
}

# in_image NAME HOME ARGS...: run the image's /carbonctl ARGS as the image's user, chrooted to
# its read-only root filesystem, with only a pod-like environment; output in $WORK/NAME.log.
in_image() {
  local name="$1" home="$2"
  shift 2
  local env=(PATH=/ "KUBECONFIG=/etc/carbonctl/${KUBECONFIG_NAME:-kubeconfig}" "CARBON_API_URL=$carbon_url"
    "CARBON_API_TOKEN=$carbon_token" LOG_FORMAT=json)
  [[ -z "$home" ]] || env+=("HOME=$home")
  # The mounts live in a private mount namespace and vanish with it. Once chroot has switched to
  # the image's user, the process has no capabilities left.
  # shellcheck disable=SC2016 # the script is expanded by the inner bash
  unshare --mount --propagation private --fork -- bash -euc '
    root=$1 secrets=$2 user=$3 chroot=$4
    shift 4
    env=()
    while [[ $1 != -- ]]; do
      env+=("$1")
      shift
    done
    shift
    mount --bind "$root" "$root"
    mount -o remount,bind,ro "$root"
    mount --bind "$secrets" "$root/etc/carbonctl"
    mount -o remount,bind,ro "$root/etc/carbonctl"
    if touch "$root/written" 2>/dev/null || touch "$root/etc/carbonctl/written" 2>/dev/null; then
      echo "the root filesystem is writable" >&2
      exit 97
    fi
    exec env -i "${env[@]}" "$chroot" --userspec="$user" --groups="${user#*:}" "$root" /carbonctl "$@"
  ' image-run "$rootfs" "$WORK/secrets" "$user" "$(command -v chroot)" "${env[@]}" -- "$@" >"$WORK/$name.log" 2>&1
}

is_image_user() {
  [[ "$user" == 65532:65532 || "$user" == 65532 || "$user" == nonroot ]]
}

no_shell() {
  ! printf '%s\n' "$files" | grep -qE '/(sh|bash|dash|ash|busybox)$'
}

is_static() {
  readelf -lW "$rootfs/carbonctl" >"$WORK/readelf.txt" && ! grep -q 'INTERP' "$WORK/readelf.txt"
}

state_written() {
  local state
  state="$(KUBECONFIG="$WORK/secrets/kubeconfig" kubectl get configmap carbonctl-state -o jsonpath='{.data.carbon}')"
  [[ "$state" == *gramsPerKwh* ]]
}

test_image() {
  build
  local size entry container rc
  user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
  entry="$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")"
  size="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
  check "runs as user 65532 (image user: $user)" is_image_user
  check "entrypoint is /carbonctl ($entry)" test "$entry" == '["/carbonctl"]'
  check "image size $size bytes, under $MAX_IMAGE_BYTES" test "$size" -lt "$MAX_IMAGE_BYTES"

  # Unpack the root filesystem as a runtime would see it.
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs" "$WORK/secrets"
  mkdir -p "$rootfs" "$WORK/secrets"
  container="$(podman create "$IMAGE")"
  podman export "$container" | tar -x -C "$rootfs"
  podman rm "$container" >/dev/null
  [[ "$user" != nonroot ]] || user=65532:65532
  [[ "$user" == *:* ]] || user="$user:$user"
  files="$(cd "$rootfs" && find . -type f -o -type l | sort)"
  check "no shell in the image; its files: $(printf '%s\n' "$files" | head -n 12 | tr '\n' ' ')" no_shell
  check "/carbonctl is a static binary (no program interpreter)" is_static
  local binary_size
  binary_size="$(stat -c %s "$rootfs/carbonctl")"
  check "/carbonctl is $binary_size bytes, under $MAX_BINARY_BYTES" test "$binary_size" -lt "$MAX_BINARY_BYTES"

  # The emulator, the state ConfigMap, and the kubeconfig where a pod would mount a volume (the
  # runtime creates the mount point, as a kubelet does).
  [[ -x target/debug/kube-emulator ]] || die "build the emulator first: cargo build --workspace"
  target/debug/kube-emulator --port 0 --kubeconfig "$WORK/secrets/kubeconfig" >"$WORK/emulator.out" 2>&1 &
  emulator=$!
  trap 'kill "$emulator" 2>/dev/null || true' EXIT
  local _
  for _ in $(seq 1 50); do
    grep -q '^demo carbon token:' "$WORK/emulator.out" 2>/dev/null && break
    sleep 0.1
  done
  carbon_url="$(sed -n 's/^ElectricityMaps API: \([^ ]*\).*/\1/p' "$WORK/emulator.out")"
  carbon_token="$(sed -n 's/^demo carbon token: //p' "$WORK/emulator.out")"
  [[ -n "$carbon_url" && -n "$carbon_token" ]] || die "the emulator did not start: $(cat "$WORK/emulator.out")"
  chmod 0644 "$WORK/secrets/kubeconfig"
  KUBECONFIG="$WORK/secrets/kubeconfig" kubectl create -f state-configmap.yaml >/dev/null
  mkdir -p "$rootfs/etc/carbonctl"

  rc=0
  in_image tick "" tick || rc=$?
  if [[ $rc == 0 ]] && ! grep -q '"outcome"' "$WORK/tick.log"; then rc=1; fi
  result "carbonctl tick as $user, read-only root, no HOME: exit $rc" "$rc" "$(tail -n 2 "$WORK/tick.log")"
  check "the tick wrote the state ConfigMap (carbon cache filled)" state_written
  # Proof that the binary does not run as root: a kubeconfig only root may read is unreadable.
  cp "$WORK/secrets/kubeconfig" "$WORK/secrets/root-only"
  chmod 0600 "$WORK/secrets/root-only"
  rc=0
  KUBECONFIG_NAME=root-only in_image root-only "" tick || rc=$?
  if [[ $rc == 0 ]] || ! grep -qi 'permission denied' "$WORK/root-only.log"; then rc=1; else rc=0; fi
  result "as $user, a kubeconfig readable by root only is refused (permission denied)" "$rc" \
    "$(grep -io '[^"]*permission denied[^"]*' "$WORK/root-only.log" | head -n 1)"
  rc=0
  in_image status /home/nonroot status || rc=$?
  result "carbonctl status as $user, HOME=/home/nonroot (absent, read-only): exit $rc" "$rc" \
    "$(head -n 4 "$WORK/status.log")"

  echo "image $IMAGE: $size bytes; /carbonctl $binary_size bytes"
  echo "image-test: $passed passed, $failed failed"
  ((failed == 0))
}

case "${1:-}" in
  build) build ;;
  test)
    [[ $(id -u) -eq 0 ]] || die "the image test mounts and chroots: run it as root"
    test_image
    ;;
  *) die "usage: hack/image.sh build|test" ;;
esac
