"""The Helm chart's default render and the kustomization describe the same objects.

    python hack/chart_matches_kustomize.py KUSTOMIZE.yaml HELM.yaml

KUSTOMIZE.yaml is `kubectl kustomize .`, HELM.yaml is `helm template carbonctl charts/carbonctl
--namespace default`. The same (kind, namespace, name) on both sides, and each object the same
field by field (RBAC rules, the CronJob's whole spec, the settings, the state), except for two
things the chart adds on purpose: Helm's standard labels (instance, version, managed-by, chart)
and the wording of the checkov skip annotations. Run by hack/check-manifests.sh with the tools
venv's Python (PyYAML). Prints one line per object; exits 1 on any difference.
"""

import sys

import yaml

HELM_LABELS = {
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}


def load(path):
    out = {}
    for doc in yaml.safe_load_all(open(path)):
        if not doc:
            continue
        meta = doc["metadata"]
        key = (doc["kind"], meta.get("namespace", ""), meta["name"])
        if key in out:
            raise SystemExit(f"{path}: {key} twice")
        out[key] = doc
    return out


def normalise(doc):
    meta = doc["metadata"]
    labels = {k: v for k, v in meta.get("labels", {}).items() if k not in HELM_LABELS}
    annotations = {k: v for k, v in meta.get("annotations", {}).items() if not k.startswith("checkov.io/skip")}
    meta = {k: v for k, v in meta.items() if k not in ("labels", "annotations")}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {**doc, "metadata": meta}


def differences(a, b, path=""):
    """Paths where a and b differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path or '.'}: kustomize {a!r}, chart {b!r}"]


def main(kustomize_path, helm_path):
    kustomize = load(kustomize_path)
    helm = load(helm_path)
    problems = []
    differing = 0
    for key in sorted(set(kustomize) - set(helm)):
        problems.append(f"{'/'.join(key)}: rendered by kustomize only")
    for key in sorted(set(helm) - set(kustomize)):
        problems.append(f"{'/'.join(key)}: rendered by the chart only")
    same = 0
    for key in sorted(set(kustomize) & set(helm)):
        diff = differences(normalise(kustomize[key]), normalise(helm[key]))
        name = "/".join(k for k in key if k)
        if diff:
            differing += 1
            problems.append(f"{name} differs:")
            problems += [f"    {d}" for d in diff]
        else:
            same += 1
            print(f"same {name}")
    for p in problems:
        print(p)
    only = len(set(kustomize) ^ set(helm))
    print(f"summary: {same} objects the same in the chart and the kustomization, {differing} differ, {only} on one side only")
    return 1 if problems or not same else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
