"""The Helm chart's options render as values.yaml documents them.

    python hack/chart_options.py HELM OUT_DIR

Runs `helm template` on charts/carbonctl with named sets of values and checks the objects it
renders (or the error it gives). Writes OUT_DIR/chart-options.yaml, a render with every option
on, for the schema and checkov checks. Run by hack/check-manifests.sh with the tools venv's
Python (PyYAML). Prints one ok/FAIL line per case; exits 1 on any failure.
"""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = str(ROOT / "charts" / "carbonctl")
DIGEST = "sha256:" + "ab" * 32


def render(helm, *args, release="carbonctl"):
    """(exit code, objects by (kind, name), stderr)."""
    run = subprocess.run(
        [helm, "template", release, CHART, "--namespace", "web", *args],
        capture_output=True,
        text=True,
    )
    docs = [d for d in yaml.safe_load_all(run.stdout) if d] if run.returncode == 0 else []
    return run.returncode, {(d["kind"], d["metadata"]["name"]): d for d in docs}, run.stdout, run.stderr


def container(objs, name="carbonctl"):
    return objs[("CronJob", name)]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]


def token_env(objs, name="carbonctl"):
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container(objs, name).get("env", [])
    }


def main(helm, out_dir):
    results = []

    def case(name, problems):
        results.append((name, problems))

    code, objs, _, err = render(helm, "--set", "settings.STATE_CONFIGMAP=web-state")
    problems = [] if code == 0 else [err]
    if code == 0:
        role = objs[("Role", "carbonctl")]
        names = [r.get("resourceNames") for r in role["rules"] if "configmaps" in r["resources"]]
        if names != [["web-state"]]:
            problems.append(f"the Role's configmaps rule names {names}, want [['web-state']]")
        if ("ConfigMap", "web-state") not in objs:
            problems.append("no state ConfigMap named web-state")
        if objs[("ConfigMap", "carbonctl-settings")]["data"]["STATE_CONFIGMAP"] != "web-state":
            problems.append("the settings ConfigMap does not carry STATE_CONFIGMAP=web-state")
    case("settings.STATE_CONFIGMAP renames the state ConfigMap and its RBAC rule", problems)

    code, objs, _, err = render(helm, "--set-string", "settings.REGIONS=east=DK-DK2\\,west-1=FR")
    want = {"EAST_TOKEN": ("electricitymap-secret", "east"), "WEST_1_TOKEN": ("electricitymap-secret", "west-1")}
    problems = [err] if code else ([] if token_env(objs) == want else [f"token env {token_env(objs)}, want {want}"])
    case("settings.REGIONS gives each region its <REGION>_TOKEN from the Secret", problems)

    code, objs, _, err = render(helm, "--set", "settings.HOLD_CYCLES=5", "--set", "settings.WATTS_PER_REPLICA=3.5")
    data = objs[("ConfigMap", "carbonctl-settings")]["data"] if code == 0 else {}
    problems = [err] if code else []
    if code == 0 and (data.get("HOLD_CYCLES"), data.get("WATTS_PER_REPLICA")) != ("5", "3.5"):
        problems.append(f"HOLD_CYCLES={data.get('HOLD_CYCLES')!r} WATTS_PER_REPLICA={data.get('WATTS_PER_REPLICA')!r}, want '5', '3.5'")
    case("numeric settings are passed as strings", problems)

    code, _, _, err = render(helm, "--set", "settings.HOLD_CYCLE=5")
    problems = [] if code and "HOLD_CYCLE" in err else [f"exit {code}: {err.strip()}"]
    case("a misspelt setting is refused by values.schema.json", problems)

    code, _, _, err = render(helm, "--set", "image.digest=latest")
    problems = [] if code and "digest" in err else [f"exit {code}: {err.strip()}"]
    case("an image digest that is not sha256:<hex> is refused", problems)

    code, objs, _, err = render(helm, "--set", f"image.repository=registry.example.com/carbonctl,image.digest={DIGEST}")
    problems = [err] if code else []
    if code == 0:
        image = container(objs)["image"]
        if image != f"registry.example.com/carbonctl@{DIGEST}":
            problems.append(f"image is {image}")
        annotations = objs[("CronJob", "carbonctl")]["metadata"]["annotations"]
        if any(v.startswith("CKV_K8S_43=") for v in annotations.values()):
            problems.append("the image-digest check is still skipped with a digest set")
    case("image.digest pins the image by digest", problems)

    code, objs, _, err = render(helm, release="web")
    problems = [err] if code else []
    if code == 0:
        want = {
            ("ServiceAccount", "web-carbonctl"),
            ("ClusterRole", "web-carbonctl-node-reader"),
            ("ClusterRoleBinding", "web-carbonctl-node-reader"),
            ("Role", "web-carbonctl"),
            ("RoleBinding", "web-carbonctl"),
            ("ConfigMap", "web-carbonctl-settings"),
            ("ConfigMap", "carbonctl-state"),
            ("CronJob", "web-carbonctl"),
        }
        if set(objs) != want:
            problems.append(f"rendered {sorted(objs)}, want {sorted(want)}")
        else:
            pod = objs[("CronJob", "web-carbonctl")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            binding = objs[("ClusterRoleBinding", "web-carbonctl-node-reader")]
            if pod["serviceAccountName"] != "web-carbonctl":
                problems.append(f"serviceAccountName {pod['serviceAccountName']}")
            if binding["subjects"] != [{"kind": "ServiceAccount", "name": "web-carbonctl", "namespace": "web"}]:
                problems.append(f"ClusterRoleBinding subjects {binding['subjects']}")
            if container(objs, "web-carbonctl")["envFrom"][0]["configMapRef"]["name"] != "web-carbonctl-settings":
                problems.append("envFrom does not name web-carbonctl-settings")
    case("a release name other than carbonctl prefixes every object's name", problems)

    code, _, _, err = render(helm, "--set", "tokenSecret.create=true", "--set", "tokenSecret.tokens.denmark=a")
    problems = [] if code and "tokenSecret.tokens.france" in err else [f"exit {code}: {err.strip()}"]
    case("tokenSecret.create without a token for every region is refused", problems)

    keyless = "denmark=static:/etc/carbonctl/carbon/dk.csv\\,france=FR\\,london=ukci:13"
    code, objs, _, err = render(
        helm, "--set", f"settings.REGIONS={keyless}",
        "--set", "tokenSecret.create=true,tokenSecret.tokens.france=fr-token",
        "--set", "carbonFiles.configMapName=grid-files",
    )
    problems = [err] if code else []
    if code == 0:
        if token_env(objs) != {"FRANCE_TOKEN": ("electricitymap-secret", "france")}:
            problems.append(f"token env {token_env(objs)}, want FRANCE_TOKEN only")
        secret = objs.get(("Secret", "electricitymap-secret"))
        if not secret or secret.get("stringData") != {"france": "fr-token"}:
            problems.append(f"Secret electricitymap-secret is {secret}")
        pod = objs[("CronJob", "carbonctl")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        volume = next((v for v in pod["volumes"] if v["name"] == "carbon-files"), None)
        if volume != {"name": "carbon-files", "configMap": {"name": "grid-files", "optional": True, "defaultMode": 0o440}}:
            problems.append(f"carbon-files volume {volume}")
        mounts = {m["name"]: m["mountPath"] for m in container(objs)["volumeMounts"]}
        if mounts.get("carbon-files") != "/etc/carbonctl/carbon":
            problems.append(f"volume mounts {mounts}")
    case("static: and ukci: regions need no token; carbonFiles names the mounted ConfigMap", problems)

    code, objs, _, err = render(
        helm, "--set", "settings.REGIONS=west=watttime:CAISO_NORTH\\,east=watttime:PJM_DC",
        "--set", "wattTime.secretName=wt-account",
    )
    problems = [err] if code else []
    if code == 0:
        want = {
            "WATTTIME_USERNAME": ("wt-account", "username"),
            "WATTTIME_PASSWORD": ("wt-account", "password"),
        }
        if token_env(objs) != want:
            problems.append(f"env {token_env(objs)}")
    case("watttime: regions take WattTime's account from wattTime.secretName, no token", problems)

    code, objs, _, err = render(helm, "--set", "settings.SCALE_TARGET=hpa-min")
    problems = [err] if code else []
    if code == 0:
        role = objs.get(("Role", "carbonctl-hpa-floors"))
        rules = [(r["apiGroups"], r["resources"], r["verbs"]) for r in role["rules"]] if role else None
        want = [(["autoscaling"], ["horizontalpodautoscalers"], ["patch"]), (["keda.sh"], ["scaledobjects"], ["list", "patch"])]
        if rules != want:
            problems.append(f"Role carbonctl-hpa-floors rules {rules}, want {want}")
        if ("RoleBinding", "carbonctl-hpa-floors") not in objs:
            problems.append("no RoleBinding carbonctl-hpa-floors")
    code, objs, _, err = render(helm)
    if code == 0 and ("Role", "carbonctl-hpa-floors") in objs:
        problems.append("the default render grants the floors rights")
    case("settings.SCALE_TARGET=hpa-min adds the rights of rbac-hpa-floors.yaml, and only then", problems)

    every_option = [
        "--set", "settings.SCALE_TARGET=hpa-min",
        "--set", "tokenSecret.create=true,tokenSecret.name=carbon-tokens",
        "--set", "tokenSecret.tokens.denmark=dk-token,tokenSecret.tokens.france=fr-token,tokenSecret.tokens.latvia=lv-token",
        "--set", f"image.repository=registry.example.com/carbonctl,image.digest={DIGEST}",
        "--set", "imagePullSecrets[0].name=registry",
        "--set", "nodeSelector.kubernetes\\.io/os=linux",
        "--set", "tolerations[0].key=dedicated,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule",
    ]
    code, objs, text, err = render(helm, *every_option)
    problems = [err] if code else []
    if code == 0:
        secret = objs.get(("Secret", "carbon-tokens"))
        want_env = {f"{r.upper()}_TOKEN": ("carbon-tokens", r) for r in ("denmark", "france", "latvia")}
        if not secret or secret.get("stringData") != {"denmark": "dk-token", "france": "fr-token", "latvia": "lv-token"}:
            problems.append(f"Secret carbon-tokens is {secret}")
        if token_env(objs) != want_env:
            problems.append(f"token env {token_env(objs)}, want {want_env}")
        pod = objs[("CronJob", "carbonctl")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        if pod.get("nodeSelector") != {"kubernetes.io/os": "linux"} or len(pod.get("tolerations", [])) != 1:
            problems.append("nodeSelector or tolerations not rendered")
        if pod.get("imagePullSecrets") != [{"name": "registry"}]:
            problems.append(f"imagePullSecrets {pod.get('imagePullSecrets')}")
        # The rendered Secret is for the schema and checkov checks; its tokens are made up.
        Path(out_dir, "chart-options.yaml").write_text(text)
    case("every option on: the token Secret, digest, pull secret, scheduling, HPA floors", problems)

    failed = 0
    for name, problems in results:
        print(f"{'ok  ' if not problems else 'FAIL'} {name}")
        for p in problems:
            print(f"       {p}")
        failed += bool(problems)
    print(f"summary: chart options {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
