#!/usr/bin/env bash
# Mutation testing of the decision core (`make mutants`): cargo-mutants, pinned below and
# installed into target/tools, mutates the pure modules and runs the library's unit tests
# against each mutant; a mutant the tests do not catch is a behaviour no fast test pins down.
# Prints a score per group (caught / (caught + missed); unviable mutants and timeouts aside)
# next to its target, and exits 1 when a group is below it.
#
#   hack/mutants.sh                 every mutant of the groups below (about an hour on 2 cores)
#   hack/mutants.sh --in-diff REF   only mutants in lines changed since REF (git diff REF)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
ROOT=target/tools/cargo-mutants-$VERSION
OUT=target/mutants
PY=${PYTHON:-python3}

# Group, target score in percent, files (globs as cargo-mutants takes them).
GROUPS_SPEC=(
  "policy|98|src/policy/*.rs"
  "state|100|src/state.rs"
  "carbon|90|src/carbon/*.rs"
  "plan and attempts|90|src/plan.rs src/attempt.rs"
  "floors and fleet CPU|90|src/pipeline.rs src/k8s/cpu.rs src/k8s/autoscalers.rs"
  "node snapshot|90|src/node_snapshot.rs src/node_names.rs src/k8s/usage.rs src/name_hash.rs"
)

if [[ ! -x "$ROOT/bin/cargo-mutants" ]]; then
  echo "installing cargo-mutants $VERSION into $ROOT"
  cargo install --locked --quiet --root "$ROOT" --version "$VERSION" cargo-mutants
fi

args=(mutants --no-shuffle --cargo-arg=--lib --output "$OUT" --package carbonctl)
case "${1:-}" in
  --in-diff)
    [[ $# -eq 2 ]] || { echo "usage: $0 [--in-diff REF]" >&2; exit 2; }
    mkdir -p "$OUT"
    git diff "$2" -- src >"$OUT/changes.diff"
    args+=(--in-diff "$OUT/changes.diff")
    ;;
  "") ;;
  *) echo "usage: $0 [--in-diff REF]" >&2; exit 2 ;;
esac
for spec in "${GROUPS_SPEC[@]}"; do
  IFS='|' read -r _ _ files <<<"$spec"
  for f in $files; do
    args+=(--file "$f")
  done
done

# cargo-mutants exits 2 when some mutant is missed: the scores below say which, and decide.
set +e
PATH="$ROOT/bin:$PATH" cargo "${args[@]}"
code=$?
set -e
if [[ $code -ne 0 && $code -ne 2 && $code -ne 3 ]]; then
  echo "cargo mutants failed (exit $code)" >&2
  exit "$code"
fi

"$PY" - "$OUT/mutants.out/outcomes.json" "${GROUPS_SPEC[@]}" <<'EOF'
import fnmatch, json, sys

outcomes = json.load(open(sys.argv[1]))["outcomes"]
groups = [spec.split("|") for spec in sys.argv[2:]]
tally = {name: {"caught": 0, "missed": 0, "unviable": 0, "timeout": 0} for name, _, _ in groups}
missed = []
for o in outcomes:
    mutant = o.get("scenario", {})
    if not isinstance(mutant, dict) or "Mutant" not in mutant:
        continue
    m = mutant["Mutant"]
    path = m.get("file") or m.get("source_file", {}).get("path", "")
    group = next((name for name, _, files in groups if any(fnmatch.fnmatch(path, g) for g in files.split())), None)
    if group is None:
        continue
    kind = {"CaughtMutant": "caught", "MissedMutant": "missed", "Unviable": "unviable", "Timeout": "timeout"}.get(o["summary"])
    if kind:
        tally[group][kind] += 1
    if kind == "missed":
        # cargo-mutants names a mutant by place and change: "src/x.rs:29:32: replace * with +".
        missed.append("  " + m.get("name", path))
failed = False
print(f"{'group':22} {'score':>7} {'target':>7} {'caught':>7} {'missed':>7} {'unviable':>9} {'timeout':>8}")
for name, target, _ in groups:
    t = tally[name]
    tested = t["caught"] + t["missed"]
    score = 100.0 * t["caught"] / tested if tested else 100.0
    ok = score + 1e-9 >= float(target)
    failed |= not ok
    print(f"{name:22} {score:6.1f}% {target:>6}% {t['caught']:7} {t['missed']:7} {t['unviable']:9} {t['timeout']:8}{'' if ok else '  below target'}")
if missed:
    print("missed:")
    print("\n".join(missed))
sys.exit(1 if failed else 0)
EOF
