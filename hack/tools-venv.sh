# shellcheck shell=bash
# Sourced by hack/check-manifests.sh and hack/deploy-smoke.sh (from the repository root):
# ensure_tools installs the pinned Python checkers (hack/manifest-tools.txt and its lock) into
# target/manifest-tools/venv, once; it reinstalls when a pin or the Python version changes.

TOOLS=target/manifest-tools
VENV="$TOOLS/venv"
PY="${PYTHON:-python3}"

ensure_tools() {
  local want
  want="$("$PY" - <<'PYEOF'
import hashlib, sys
h = hashlib.sha256()
for p in ("hack/manifest-tools.txt", "hack/manifest-tools.lock"):
    h.update(open(p, "rb").read())
print(h.hexdigest(), sys.version.split()[0])
PYEOF
)" || die "$PY is needed to run the manifest checks"
  if [[ -x "$VENV/bin/python" && "$(cat "$VENV/.stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  echo "installing the pinned checkers into $VENV (once)..."
  rm -rf "$VENV"
  mkdir -p "$TOOLS"
  "$PY" -m venv "$VENV" ||
    die "could not create a Python venv; on Debian/Ubuntu: apt-get install python3-venv"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
    -r hack/manifest-tools.txt || die "pip could not install hack/manifest-tools.txt"
  printf '%s\n' "$want" >"$VENV/.stamp"
}
