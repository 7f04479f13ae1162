#!/usr/bin/env bash
# The README's emulator walkthrough, end to end: start kube-emulator with the demo cluster,
# create the state ConfigMap with kubectl, raise CPU to 85%, run three ticks, and show the
# result with kubectl and `carbonctl status`. BIN_DIR picks the built binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-target/debug}
work=$(mktemp -d)
cleanup() {
  [ -n "${emulator_pid:-}" ] && kill "$emulator_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN_DIR/kube-emulator" --port 0 --seed demo --kubeconfig "$work/kubeconfig" >"$work/emulator.out" &
emulator_pid=$!
for _ in $(seq 50); do
  [ -s "$work/emulator.out" ] && break
  sleep 0.1
done
EMULATOR=$(head -n 1 "$work/emulator.out")
echo "emulator at $EMULATOR"

export KUBECONFIG="$work/kubeconfig"
export CARBON_API_URL="$EMULATOR/v3" CARBON_API_TOKEN=demo-token LOG_FORMAT=console

set -x
kubectl create -f state-configmap.yaml
curl -fsS -X PUT "$EMULATOR/_emulator/cpu" -H 'Content-Type: application/json' -d '{"percent": 85}'
"$BIN_DIR/carbonctl" tick
"$BIN_DIR/carbonctl" tick
"$BIN_DIR/carbonctl" tick
kubectl get deployments
kubectl get events
"$BIN_DIR/carbonctl" status
