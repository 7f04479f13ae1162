#!/usr/bin/env bash
# Runs the CronJob as `kubectl kustomize .` renders it, against the emulator (`make deploy-smoke`,
# part of `make test`): the rendered ConfigMaps are created on the emulated cluster with kubectl,
# then the container's args run with exactly the environment the pod would get (envFrom the
# settings ConfigMap, tokens from the Secret's keys) and nothing else. Two ticks must succeed
# and write the state. The only change from the rendered pod: CARBON_API_URL points at the
# emulator's ElectricityMaps API, and the tokens are the emulator's demo token.
# Needs the debug binaries (cargo build --workspace) and PyYAML from the tools venv
# (hack/tools-venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/debug
WORK=target/deploy-smoke

die() {
  echo "deploy-smoke: $*" >&2
  exit 1
}

# shellcheck source=hack/tools-venv.sh
source hack/tools-venv.sh
ensure_tools
PY="$VENV/bin/python"
[[ -x "$BIN/carbonctl" && -x "$BIN/kube-emulator" ]] ||
  die "build the binaries first: cargo build --workspace"

rm -rf "$WORK"
mkdir -p "$WORK"
kubectl kustomize . >"$WORK/rendered.yaml"

# From the rendered output: the ConfigMaps (to create), and the tick container's namespace,
# args and environment (one NAME=VALUE per line; tokens as NAME=secret:KEY).
"$PY" - "$WORK" <<'EOF'
import json, sys, yaml
work = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{work}/rendered.yaml")) if d]
configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
cron = next(d for d in docs if d["kind"] == "CronJob")
pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
container = pod["containers"][0]
env = {}
for source in container.get("envFrom", []):
    env.update(configmaps[source["configMapRef"]["name"]]["data"])
for var in container.get("env", []):
    if "value" in var:
        env[var["name"]] = var["value"]
    else:
        env[var["name"]] = "secret:" + var["valueFrom"]["secretKeyRef"]["key"]
with open(f"{work}/configmaps.yaml", "w") as f:
    yaml.safe_dump_all(list(configmaps.values()), f)
with open(f"{work}/pod.env", "w") as f:
    for name, value in env.items():
        if "\n" in value:
            raise SystemExit(f"{name}: multi-line values are not supported here")
        f.write(f"{name}={value}\n")
json.dump({"namespace": cron["metadata"]["namespace"], "args": container.get("args", [])},
          open(f"{work}/pod.json", "w"))
EOF

"$BIN/kube-emulator" --port 0 --kubeconfig "$WORK/kubeconfig" >"$WORK/emulator.out" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  grep -q '^demo carbon token:' "$WORK/emulator.out" 2>/dev/null && break
  sleep 0.1
done
carbon_url="$(sed -n 's/^ElectricityMaps API: \([^ ]*\).*/\1/p' "$WORK/emulator.out")"
carbon_token="$(sed -n 's/^demo carbon token: //p' "$WORK/emulator.out")"
[[ -n "$carbon_url" && -n "$carbon_token" ]] ||
  die "the emulator did not start: $(cat "$WORK/emulator.out")"

export KUBECONFIG="$WORK/kubeconfig"
namespace="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["namespace"])' "$WORK/pod.json")"
kubectl -n "$namespace" create -f "$WORK/configmaps.yaml" >/dev/null

# The pod's environment, exactly; plus where the kubeconfig is (in a pod: the mounted token).
pod_env=("KUBECONFIG=$KUBECONFIG" "PATH=/usr/bin:/bin")
while IFS= read -r line; do
  name="${line%%=*}"
  value="${line#*=}"
  case "$name=$value" in
    CARBON_API_URL=*) value="$carbon_url" ;;
    *=secret:*) value="$carbon_token" ;;
  esac
  pod_env+=("$name=$value")
done <"$WORK/pod.env"
mapfile -t args < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["args"]))' "$WORK/pod.json")

passed=0
failed=0
for n in 1 2; do
  if env -i "${pod_env[@]}" "$BIN/carbonctl" "${args[@]}" >"$WORK/tick$n.log" 2>&1 &&
    grep -q '"outcome"' "$WORK/tick$n.log"; then
    passed=$((passed + 1))
    echo "ok   tick $n as the CronJob runs it: $(grep -o '"message":"[^"]*"' "$WORK/tick$n.log" | tail -n 1)"
  else
    failed=$((failed + 1))
    echo "FAIL tick $n as the CronJob runs it:"
    sed 's/^/       /' "$WORK/tick$n.log"
  fi
done

state="$(kubectl -n "$namespace" get configmap carbonctl-state -o jsonpath='{.data.carbon}')"
if [[ "$state" == *gramsPerKwh* ]]; then
  passed=$((passed + 1))
  echo "ok   the ticks wrote the state ConfigMap (carbon cache filled)"
else
  failed=$((failed + 1))
  echo "FAIL the state ConfigMap's carbon cache is still '$state'"
fi

echo "deploy-smoke: $passed passed, $failed failed"
((failed == 0))
