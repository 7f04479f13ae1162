"""Cross-file checks of the deployable artefacts that no third-party tool knows about.

Run by hack/check-manifests.sh with the tools venv's Python (it has PyYAML). Prints one
`ok`/`FAIL` line per check; exits 1 on any failure.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
results = []


def check(name, problems):
    """Record one check; `problems` is a list of strings, empty when it passes."""
    results.append((name, problems))


def load_all(path):
    return [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]


def one(path, kind, name=None):
    docs = [d for d in load_all(path) if d["kind"] == kind]
    if name is not None:
        docs = [d for d in docs if d["metadata"]["name"] == name]
    if len(docs) != 1:
        raise SystemExit(f"{path}: expected one {kind} {name or ''}, found {len(docs)}")
    return docs[0]


def seconds(text):
    """Durations as the settings write them: 90s, 5m, 1h30m, or bare seconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not parts or not text:
        raise ValueError(f"not a duration: {text!r}")
    h, m, s = (int(p or 0) for p in parts.groups())
    return h * 3600 + m * 60 + s


def crate_version():
    in_package = False
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("["):
            in_package = line.strip() == "[package]"
        elif in_package and line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("Cargo.toml: no [package] version")


def readme_settings():
    """env name -> default from the settings table in docs/settings.md ("(none)" is the empty string)."""
    table = {}
    for line in (ROOT / "docs" / "settings.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`[A-Z][A-Z0-9_]*`", cells[0]):
            default = cells[2]
            default = "" if default.startswith("(") else default.strip("`")
            table[cells[0].strip("`")] = default
    return table


def main():
    version = crate_version()
    cron = one("cronjob.yaml", "CronJob", "carbonctl")
    job = cron["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    container = pod["containers"][0]
    settings_cm = one("settings-configmap.yaml", "ConfigMap")
    settings = settings_cm["data"]
    state_cm = one("state-configmap.yaml", "ConfigMap")
    rbac = load_all("rbac.yaml")
    kustomization = yaml.safe_load((ROOT / "kustomization.yaml").read_text())

    # The image the manifests deploy is the one `make image` builds.
    images = {i["name"]: i for i in kustomization.get("images", [])}
    problems = []
    if container["image"] != f"carbonctl:{version}":
        problems.append(f"cronjob.yaml image is {container['image']}, want carbonctl:{version}")
    if images.get("carbonctl", {}).get("newTag") != version:
        problems.append(f"kustomization.yaml images carbonctl newTag is not {version} (Cargo.toml)")
    chart = yaml.safe_load((ROOT / "charts/carbonctl/Chart.yaml").read_text())
    for field in ("version", "appVersion"):
        if str(chart.get(field)) != version:
            problems.append(f"charts/carbonctl/Chart.yaml {field} is {chart.get(field)}, want {version} (Cargo.toml)")
    check("image tag and chart version match the crate version", problems)

    # Every documented setting is shipped with its documented default.
    problems = []
    documented = readme_settings()
    if not documented:
        problems.append("found no settings table in docs/settings.md")
    for env, default in documented.items():
        if env.endswith("_TOKEN"):
            continue
        if env not in settings:
            problems.append(f"{env} is documented in docs/settings.md but missing from settings-configmap.yaml")
        elif settings[env] != default:
            problems.append(f"{env} is {settings[env]!r} in settings-configmap.yaml, documented default is {default!r}")
    for env in settings:
        if env.endswith("_TOKEN"):
            problems.append(f"{env}: tokens belong in the Secret electricitymap-secret, not the ConfigMap")
    check("settings ConfigMap carries every documented setting at its default", problems)
    undocumented = sorted(set(settings) - set(documented))
    if undocumented:
        print(f"note: settings not (yet) in the table of docs/settings.md: {', '.join(undocumented)}")

    # The CronJob wires what the other manifests provide.
    problems = []
    sa = [d for d in rbac if d["kind"] == "ServiceAccount"]
    if [d["metadata"]["name"] for d in sa] != [pod.get("serviceAccountName")]:
        problems.append("serviceAccountName does not name the ServiceAccount in rbac.yaml")
    if pod.get("automountServiceAccountToken") is not True:
        problems.append("the pod must mount its service account token (carbonctl calls the API)")
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    if refs != [settings_cm["metadata"]["name"]]:
        problems.append(f"envFrom names {refs}, want [{settings_cm['metadata']['name']}]")
    secret_keys = {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    regions = [r.split("=")[0].strip() for r in settings["REGIONS"].split(",") if r.strip()]
    for region in regions:
        want = (f"{region.upper()}_TOKEN", ("electricitymap-secret", region))
        if secret_keys.get(want[0]) != want[1]:
            problems.append(f"{want[0]} must come from electricitymap-secret key {region}")
    check("CronJob uses the ServiceAccount, settings and token Secret", problems)

    # One tick always ends before the next minute's starts.
    problems = []
    if cron["spec"]["schedule"] != "* * * * *":
        problems.append("schedule is not every minute")
    if cron["spec"].get("concurrencyPolicy") != "Forbid":
        problems.append("concurrencyPolicy is not Forbid")
    deadline = job.get("activeDeadlineSeconds", 10**9)
    if not seconds(settings["TICK_TIMEOUT"]) < deadline < 60:
        problems.append(f"want TICK_TIMEOUT ({settings['TICK_TIMEOUT']}) < activeDeadlineSeconds ({deadline}) < 60")
    if not cron["spec"].get("startingDeadlineSeconds", 10**9) < 60:
        problems.append("startingDeadlineSeconds must be under a minute")
    if job.get("backoffLimit", 6) != 0:
        problems.append("backoffLimit must be 0: a retry would overlap the next tick")
    check("CronJob timing fits in the minute", problems)

    # RBAC: no wildcard, the state ConfigMap by name.
    problems = []
    for doc in rbac:
        for rule in doc.get("rules", []):
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                if "*" in rule.get(field, []):
                    problems.append(f"{doc['kind']} {doc['metadata']['name']}: wildcard in {field}")
    state_name = settings["STATE_CONFIGMAP"]
    if state_cm["metadata"]["name"] != state_name:
        problems.append(f"state-configmap.yaml is named {state_cm['metadata']['name']}, STATE_CONFIGMAP is {state_name}")
    role = next(d for d in rbac if d["kind"] == "Role")
    cm_rules = [r for r in role["rules"] if "configmaps" in r["resources"]]
    if [r.get("resourceNames") for r in cm_rules] != [[state_name]]:
        problems.append(f"the Role's configmaps rule must be limited to resourceNames [{state_name}]")
    check("RBAC has no wildcard and names the state ConfigMap", problems)

    # The example web tier and the kind cluster match the regions.
    problems = []
    label = settings["REGION_LABEL"]
    pattern = settings["DEPLOYMENT_PATTERN"]
    kind_cfg = yaml.safe_load((ROOT / "hack/kind-config.yaml").read_text())
    worker_regions = sorted(n.get("labels", {}).get(label, "") for n in kind_cfg["nodes"] if n["role"] == "worker")
    if worker_regions != sorted(regions):
        problems.append(f"kind workers are labelled {worker_regions}, regions are {regions}")
    for region in regions:
        name = pattern.replace("{region}", region)
        path = Path("examples") / f"{name}.yaml"
        if not (ROOT / path).exists():
            problems.append(f"{path} is missing")
            continue
        dep = one(path, "Deployment", name)
        selector = dep["spec"]["template"]["spec"].get("nodeSelector", {})
        if selector != {label: region}:
            problems.append(f"{path}: nodeSelector is {selector}, want {{{label}: {region}}}")
    check("examples and kind cluster match REGIONS", problems)

    failed = 0
    for name, problems in results:
        print(f"{'ok  ' if not problems else 'FAIL'} {name}")
        for p in problems:
            print(f"       {p}")
        failed += bool(problems)
    print(f"consistency: {len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
