#!/usr/bin/env bash
# Third-party checks of everything carbonctl ships besides its Rust code (`make check-manifests`,
# part of `make test`):
#   - kubernetes-validate --strict against the official schemas of Kubernetes $K8S_VERSION: every
#     manifest, the `kubectl kustomize` output of . and examples/, and the quickstart's hot pods;
#   - checkov (kubernetes framework, offline) on the same: 0 failed checks, and every skipped
#     check carries its justification in a checkov.io/skip<N> annotation;
#   - the Helm chart (charts/carbonctl) with the pinned helm: `helm lint --strict`, its default
#     render and a render with every option on through the same two validators, the default render
#     against the kustomize output (hack/chart_matches_kustomize.py), its options
#     (hack/chart_options.py), and its settings against their sources (hack/chart_settings.py);
#   - cross-file consistency (hack/manifest_consistency.py), and docs/tick.svg against the
#     layout it is drawn from (docs/tick-diagram.py);
#   - shellcheck on every shell script, hadolint on the Dockerfiles.
# The tools are pinned (hack/manifest-tools.txt, .lock: the Python checkers, shellcheck and
# hadolint) and installed once into target/manifest-tools by hack/tools-venv.sh; kubectl comes
# with the machine (hack/setup.sh names what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kubernetes version carbonctl targets (k8s-openapi feature v1_33).
K8S_VERSION=1.33.0
# shellcheck source=hack/tools-venv.sh
source hack/tools-venv.sh
OUT="$TOOLS/out"

passed=0
failed=0
failures=()

die() {
  echo "check-manifests: $*" >&2
  exit 1
}

# run NAME COMMAND...: one check; its output is shown only when it fails.
run() {
  local name="$1" log
  shift
  log="$OUT/$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '-').log"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'ok   %s\n' "$name"
    grep '^summary:' "$log" | sed 's/^summary:/       /' || true
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL %s\n' "$name"
    sed 's/^/       /' "$log"
  fi
}

# checkov_clean FILE...: checkov finds no failed check, parses everything, and every skip is
# justified. Prints a `summary:` line with the counts.
checkov_clean() {
  local args=() f
  for f in "$@"; do
    args+=(-f "$f")
  done
  # checkov exits 1 when a check fails; the JSON says why, so read it either way.
  "$VENV/bin/checkov" --framework kubernetes --skip-download --quiet -o json "${args[@]}" \
    >"$OUT/checkov.json" || true
  "$VENV/bin/python" - "$OUT/checkov.json" "$@" <<'EOF'
import json, sys, yaml
report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
docs = sum(
    1
    for path in sys.argv[2:]
    for d in yaml.safe_load_all(open(path))
    if d and d.get("kind") != "Kustomization"
)
s = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
problems = []
for r in reports:
    for k in s:
        s[k] += r.get("summary", {}).get(k, 0)
    for c in r.get("results", {}).get("failed_checks", []):
        problems.append(f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})")
    for c in r.get("results", {}).get("skipped_checks", []):
        if not (c.get("check_result", {}).get("suppress_comment") or "").strip():
            problems.append(f"{c['check_id']} skipped without a justification: {c['resource']}")
if s["parsing_errors"]:
    problems.append(f"{s['parsing_errors']} file(s) checkov could not parse")
if s["resource_count"] < docs:
    problems.append(f"checkov scanned {s['resource_count']} resources, the files hold {docs}")
for p in problems:
    print(p)
print(f"summary: checkov {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped (justified) on {s['resource_count']} resources")
sys.exit(1 if problems else 0)
EOF
}

validate() {
  "$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$K8S_VERSION" --quiet "$@"
}

hadolint_dockerfiles() {
  "$VENV/bin/hadolint" --failure-threshold info Dockerfile*
}

main() {
  local start=$SECONDS
  mkdir -p "$OUT"
  # Nothing rendered by an earlier run may stand in for this run's output.
  rm -f "$OUT"/*.yaml "$OUT"/*.json
  ensure_tools
  ensure_helm
  [[ "${1:-}" != --tools-only ]] || return 0
  # helm keeps its caches in the tool environment, not in HOME.
  export HELM_CACHE_HOME="$PWD/$TOOLS/helm-home/cache" HELM_CONFIG_HOME="$PWD/$TOOLS/helm-home/config" \
    HELM_DATA_HOME="$PWD/$TOOLS/helm-home/data"
  command -v kubectl >/dev/null 2>&1 || die "kubectl is needed for 'kubectl kustomize'"

  # Everything that gets applied to a cluster, as files and as rendered.
  local manifests=(cronjob.yaml rbac.yaml rbac-member.yaml rbac-hpa-floors.yaml state-configmap.yaml settings-configmap.yaml)
  local examples=() f
  for f in examples/*.yaml; do
    [[ "$(basename "$f")" == kustomization.yaml ]] || examples+=("$f")
  done
  run "kubectl kustomize . renders" sh -c "kubectl kustomize . >'$OUT/rendered.yaml'"
  run "kubectl kustomize examples renders" sh -c "kubectl kustomize examples >'$OUT/examples.yaml'"
  local hot=() region
  for region in denmark france latvia; do
    hack/kind.sh hot-pod "$region" >"$OUT/hot-$region.yaml"
    hot+=("$OUT/hot-$region.yaml")
  done
  local rendered=("$OUT/rendered.yaml" "$OUT/examples.yaml")
  run "helm lint --strict charts/carbonctl" "$HELM" lint --strict charts/carbonctl
  run "helm template charts/carbonctl renders" \
    sh -c "'$HELM' template carbonctl charts/carbonctl --namespace default >'$OUT/chart.yaml'"
  run "chart options render as documented" \
    "$VENV/bin/python" hack/chart_options.py "$HELM" "$OUT"
  local charts=("$OUT/chart.yaml" "$OUT/chart-options.yaml")

  run "kubernetes-validate --strict (Kubernetes $K8S_VERSION): manifests" \
    validate "${manifests[@]}" "${examples[@]}" "${hot[@]}"
  run "kubernetes-validate --strict (Kubernetes $K8S_VERSION): kustomize output" \
    validate "${rendered[@]}"
  run "kubernetes-validate --strict (Kubernetes $K8S_VERSION): chart, default and every option" \
    validate "${charts[@]}"
  # One checkov run per group, so each count says what it is about.
  run "checkov: carbonctl manifests" checkov_clean "${manifests[@]}"
  run "checkov: kustomize output of ." checkov_clean "$OUT/rendered.yaml"
  run "checkov: examples and hot pods" checkov_clean "$OUT/examples.yaml" "${hot[@]}"
  run "checkov: chart, default render" checkov_clean "$OUT/chart.yaml"
  run "checkov: chart, every option on" checkov_clean "$OUT/chart-options.yaml"
  run "chart's default render = kustomize output of ." \
    "$VENV/bin/python" hack/chart_matches_kustomize.py "$OUT/rendered.yaml" "$OUT/chart.yaml"
  run "chart settings generated from settings-configmap.yaml and README" \
    "$VENV/bin/python" hack/chart_settings.py --check
  run "cross-file consistency" "$VENV/bin/python" hack/manifest_consistency.py
  run "docs/tick.svg drawn from docs/tick-diagram.py" "$VENV/bin/python" docs/tick-diagram.py --check

  local scripts=()
  while IFS= read -r f; do
    scripts+=("$f")
  done < <(find . \( -path ./target -o -path ./.git -o -name node_modules \) -prune -o \
    -type f -name '*.sh' -print | sort)
  scripts+=(.ci/run)
  run "shellcheck: ${#scripts[@]} scripts" "$VENV/bin/shellcheck" -x "${scripts[@]}"
  run "hadolint: $(echo Dockerfile*)" hadolint_dockerfiles

  echo "check-manifests took $((SECONDS - start))s"
  if ((failed > 0)); then
    local IFS=";"
    echo "failed: ${failures[*]}"
  fi
  echo "check-manifests: $passed passed, $failed failed"
  ((failed == 0))
}

main "$@"
