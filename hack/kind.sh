#!/usr/bin/env bash
# The local-cluster quickstart behind `make kind-*` (docs/deploying.md).
# Needs docker, kind, kubectl and bash (3.2, as on macOS, is enough). Every kubectl call names
# the kind cluster's context, so this never touches another cluster whatever your current context.
#
#   hack/kind.sh up                  create the cluster (hack/kind-config.yaml)
#   hack/kind.sh load                load the carbonctl image (built by `make image`) into its nodes
#   hack/kind.sh metrics-server      install metrics-server, patched for kind's kubelet certificates
#   hack/kind.sh secret              create electricitymap-secret from DENMARK_TOKEN, FRANCE_TOKEN, LATVIA_TOKEN
#   hack/kind.sh deploy              apply the example web tier (examples/) and carbonctl (kustomization.yaml)
#   hack/kind.sh tick                run one tick now instead of waiting for the next minute
#   hack/kind.sh load-region REGION  start a hot-REGION pod burning CPU on that region's node
#   hack/kind.sh unload [REGION]     delete the hot pods (all, or one region's)
#   hack/kind.sh hot-pod REGION      print the hot-REGION pod manifest (used by the checks)
#   hack/kind.sh logs                print each finished tick's log lines as they come (Ctrl-C stops)
#   hack/kind.sh status              nodes and their CPU, the Deployments' replicas, ticks, scale events
#   hack/kind.sh down                delete the cluster
#
# Environment: KIND_CLUSTER (carbonctl), IMAGE (carbonctl:<version in Cargo.toml>), NAMESPACE
# (default), KIND_NODE_IMAGE (kind's default), METRICS_SERVER_VERSION (v0.7.2), LOAD_WORKERS (2
# busy loops per hot pod).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-carbonctl}"
CONTEXT="kind-${CLUSTER}"
NAMESPACE="${NAMESPACE:-default}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.7.2}"
LOAD_WORKERS="${LOAD_WORKERS:-2}"
REGIONS=(denmark france latvia)

die() {
  echo "error: $*" >&2
  exit 1
}

upper() {
  printf '%s' "$1" | tr '[:lower:]' '[:upper:]'
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed; $2"
}

crate_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1
}

IMAGE="${IMAGE:-carbonctl:$(crate_version)}"

kc() {
  kubectl --context "$CONTEXT" "$@"
}

need_cluster() {
  need kubectl "install it from your distribution or https://kubernetes.io/docs/tasks/tools/"
  kubectl config get-contexts "$CONTEXT" >/dev/null 2>&1 ||
    die "no kubectl context $CONTEXT; create the cluster first with: make kind-up"
}

check_region() {
  local r
  for r in "${REGIONS[@]}"; do
    [[ "$1" == "$r" ]] && return 0
  done
  die "unknown region '$1'; use one of: ${REGIONS[*]}"
}

cmd_up() {
  need docker "kind runs its nodes as Docker containers"
  need kind "see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    echo "kind cluster $CLUSTER already exists (context $CONTEXT)"
  else
    local args=(create cluster --name "$CLUSTER" --config hack/kind-config.yaml --wait 120s)
    if [[ -n "${KIND_NODE_IMAGE:-}" ]]; then
      args+=(--image "$KIND_NODE_IMAGE")
    fi
    kind "${args[@]}"
  fi
  kc get nodes -L region
}

cmd_load() {
  need kind "see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  need_cluster
  kind load docker-image "$IMAGE" --name "$CLUSTER"
}

cmd_metrics_server() {
  need_cluster
  local url="https://github.com/kubernetes-sigs/metrics-server/releases/download/${METRICS_SERVER_VERSION}/components.yaml"
  kc apply -f "$url"
  # kind's kubelets serve self-signed certificates that metrics-server cannot verify.
  if ! kc -n kube-system get deployment metrics-server -o jsonpath='{.spec.template.spec.containers[0].args}' |
    grep -q -- '--kubelet-insecure-tls'; then
    kc -n kube-system patch deployment metrics-server --type=json \
      -p='[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
  fi
  kc -n kube-system rollout status deployment/metrics-server --timeout=180s
  echo "waiting for the first node metrics (up to 2 minutes)..."
  for _ in $(seq 1 24); do
    if kc top nodes >/dev/null 2>&1; then
      kc top nodes
      return 0
    fi
    sleep 5
  done
  die "metrics-server is running but serves no node metrics yet; check: kubectl --context $CONTEXT -n kube-system logs deploy/metrics-server"
}

cmd_secret() {
  need_cluster
  local missing=() r var
  for r in "${REGIONS[@]}"; do
    var="$(upper "$r")_TOKEN"
    [[ -n "${!var:-}" ]] || missing+=("$var")
  done
  if ((${#missing[@]} > 0)); then
    die "set ${missing[*]} to your ElectricityMaps token(s) for those zones, e.g. export ${missing[0]}=...; nothing was created"
  fi
  # The tokens go through a private temporary file, never the command line (visible in ps).
  ENV_FILE="$(mktemp)"
  trap 'rm -f "$ENV_FILE"' EXIT
  chmod 600 "$ENV_FILE"
  for r in "${REGIONS[@]}"; do
    var="$(upper "$r")_TOKEN"
    printf '%s=%s\n' "$r" "${!var}" >>"$ENV_FILE"
  done
  kc -n "$NAMESPACE" create secret generic electricitymap-secret \
    --from-env-file="$ENV_FILE" --dry-run=client -o yaml | kc apply -f -
}

cmd_deploy() {
  need_cluster
  kc -n "$NAMESPACE" get secret electricitymap-secret >/dev/null 2>&1 ||
    echo "warning: no Secret electricitymap-secret in $NAMESPACE yet; ticks will not start until: make secret" >&2
  kc apply -k examples
  kc apply -k .
  kc -n "$NAMESPACE" get deployments -L region
  echo "carbonctl ticks every minute; run one now with 'make tick-now', follow with 'make logs'"
}

cmd_tick() {
  need_cluster
  local job
  job="carbonctl-manual-$(date +%s)"
  kc -n "$NAMESPACE" create job --from=cronjob/carbonctl "$job"
  # The Job ends within its 50s deadline either way; wait for success or failure.
  local status=""
  for _ in $(seq 1 45); do
    status="$(kc -n "$NAMESPACE" get "job/$job" -o jsonpath='{.status.succeeded}{.status.failed}')"
    [[ -z "$status" ]] || break
    sleep 2
  done
  kc -n "$NAMESPACE" logs "job/$job" || true
  kc -n "$NAMESPACE" get "job/$job" -o jsonpath='{.status.succeeded}' | grep -q 1 ||
    die "tick $job did not succeed; see: kubectl --context $CONTEXT -n $NAMESPACE describe job/$job"
}

hot_pod_manifest() {
  local region="$1"
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: hot-${region}
  namespace: ${NAMESPACE}
  labels:
    app.kubernetes.io/name: hot
    app.kubernetes.io/part-of: carbonctl-demo
    region: ${region}
  annotations:
    checkov.io/skip1: CKV_K8S_21=Demo load lives next to the example web tier in its namespace
    checkov.io/skip2: CKV_K8S_43=Demo load; busybox by fixed tag is enough to burn CPU on a local kind cluster
    checkov.io/skip3: CKV_K8S_8=A CPU burner has no health to probe; it is deleted by make unload
    checkov.io/skip4: CKV_K8S_9=A CPU burner serves nothing, so it has no readiness to probe
    checkov.io/skip5: CKV2_K8S_6=A CPU burner listens on no port, so there is no traffic for a NetworkPolicy to admit
spec:
  nodeSelector:
    region: ${region}
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsNonRoot: true
    runAsUser: 10101
    runAsGroup: 10101
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: burn
      image: busybox:1.37
      imagePullPolicy: Always
      command: ["sh", "-c", "for i in \$(seq ${LOAD_WORKERS}); do (while :; do :; done) & done; wait"]
      resources:
        requests:
          cpu: 100m
          memory: 8Mi
        limits:
          cpu: "${LOAD_WORKERS}"
          memory: 16Mi
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
EOF
}

cmd_load_region() {
  local region="${1:-}"
  [[ -n "$region" ]] || die "name a region: ${REGIONS[*]}"
  check_region "$region"
  need_cluster
  hot_pod_manifest "$region" | kc apply -f -
  echo "hot-$region burns $LOAD_WORKERS CPU(s) on the $region node; 'kubectl top nodes' shows it within a minute"
}

cmd_unload() {
  need_cluster
  local selector="app.kubernetes.io/name=hot"
  if [[ -n "${1:-}" ]]; then
    check_region "$1"
    selector="$selector,region=$1"
  fi
  kc -n "$NAMESPACE" delete pods -l "$selector" --ignore-not-found --wait=false
}

cmd_logs() {
  need_cluster
  # Each tick is its own pod, so `kubectl logs -f` would stop after one: poll for finished ones.
  local seen=" " pod phase
  echo "following carbonctl ticks in $NAMESPACE (Ctrl-C stops)"
  while true; do
    while read -r pod phase; do
      [[ -n "$pod" && "$seen" != *" $pod "* ]] || continue
      case "$phase" in
        Succeeded | Failed)
          seen="$seen$pod "
          echo "--- $pod ($phase)"
          kc -n "$NAMESPACE" logs "$pod" || true
          ;;
      esac
    done < <(kc -n "$NAMESPACE" get pods -l app.kubernetes.io/name=carbonctl \
      --sort-by=.metadata.creationTimestamp \
      -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.phase}{"\n"}{end}')
    sleep 10
  done
}

cmd_status() {
  need_cluster
  kc get nodes -L region
  kc top nodes || echo "(no node metrics yet: make metrics-server, then wait a minute)"
  kc -n "$NAMESPACE" get deployments -L region
  kc -n "$NAMESPACE" get cronjobs,jobs -l app.kubernetes.io/name=carbonctl
  echo "recent scale events:"
  kc -n "$NAMESPACE" get events --field-selector involvedObject.kind=Deployment \
    --sort-by=.lastTimestamp | tail -n 5
}

cmd_down() {
  need kind "see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  kind delete cluster --name "$CLUSTER"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    up) cmd_up ;;
    load) cmd_load ;;
    metrics-server) cmd_metrics_server ;;
    secret) cmd_secret ;;
    deploy) cmd_deploy ;;
    tick) cmd_tick ;;
    load-region) cmd_load_region "$@" ;;
    unload) cmd_unload "$@" ;;
    hot-pod)
      [[ -n "${1:-}" ]] || die "name a region: ${REGIONS[*]}"
      check_region "$1"
      hot_pod_manifest "$1"
      ;;
    logs) cmd_logs ;;
    status) cmd_status ;;
    down) cmd_down ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
