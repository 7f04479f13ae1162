//! Fidelity: the real kubectl binaries (the Debian `kubectl` package's dispatcher on PATH and
//! the versioned kubectl.1.27 .. kubectl.1.33 beside it) against the emulator. Where kubectl
//! and the emulator disagree, the emulator is wrong. Every subprocess gets a clean
//! environment: PATH, a private HOME (kubectl's discovery cache) and KUBECONFIG only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use kube_emulator::{Emulator, Seed};
use serde_json::Value;

/// Where the Debian package puts the real binaries; `dpkg -L kubectl` is asked if it moves.
const SDK_BIN: &str = "/usr/lib/google-cloud-sdk/bin";

fn sdk_bin() -> PathBuf {
    if Path::new(SDK_BIN).join("kubectl.1.33").exists() {
        return PathBuf::from(SDK_BIN);
    }
    let listing = Command::new("dpkg")
        .args(["-L", "kubectl"])
        .output()
        .expect("the kubectl package must be installed (dpkg -L kubectl failed to run)");
    let text = String::from_utf8_lossy(&listing.stdout);
    let binary = text
        .lines()
        .find(|l| l.ends_with("/kubectl.1.33"))
        .expect("the Debian package `kubectl` must provide kubectl.1.33 (apt-get install kubectl)");
    Path::new(binary).parent().unwrap().to_path_buf()
}

struct Kubectl {
    label: String,
    program: PathBuf,
}

impl Kubectl {
    fn versioned(minor: &str) -> Kubectl {
        let program = sdk_bin().join(format!("kubectl.{minor}"));
        assert!(program.exists(), "{} is missing", program.display());
        Kubectl {
            label: format!("kubectl.{minor}"),
            program,
        }
    }

    /// Whether this kubectl is 1.`minor` or later (the dispatcher runs the server's 1.33).
    fn at_least(&self, minor: u32) -> bool {
        self.label
            .strip_prefix("kubectl.1.")
            .is_none_or(|m| m.parse::<u32>().is_ok_and(|m| m >= minor))
    }

    /// The `kubectl` on PATH, which picks a versioned binary after asking `/version`.
    fn dispatcher() -> Kubectl {
        Kubectl {
            label: "kubectl (dispatcher)".into(),
            program: PathBuf::from("kubectl"),
        }
    }
}

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

struct Session {
    emu: Emulator,
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl Session {
    fn new() -> Session {
        Session::with_seed(Seed::demo())
    }

    fn with_seed(seed: Seed) -> Session {
        let emu = Emulator::start(seed).unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("kube-emulator-fidelity-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("home")).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        emu.write_kubeconfig(&kubeconfig).unwrap();
        Session {
            emu,
            dir,
            kubeconfig,
        }
    }

    fn run(&self, kubectl: &Kubectl, args: &[&str]) -> Run {
        let out = Command::new(&kubectl.program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.dir.join("home"))
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .unwrap_or_else(|e| panic!("{} could not run: {e}", kubectl.label));
        Run {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, kubectl: &Kubectl, args: &[&str]) -> String {
        let run = self.run(kubectl, args);
        assert!(
            run.success,
            "{} {args:?} failed: {}",
            kubectl.label, run.stderr
        );
        run.stdout
    }

    fn fails(&self, kubectl: &Kubectl, args: &[&str]) -> String {
        let run = self.run(kubectl, args);
        assert!(
            !run.success,
            "{} {args:?} should fail, printed: {}",
            kubectl.label, run.stdout
        );
        run.stderr
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Table rows (header excluded), split into columns.
fn rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn header(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect()
}

/// The commands every supported kubectl must agree with the emulator on.
fn core_journey(k: &Kubectl) {
    let s = Session::new();

    let out = s.ok(k, &["get", "nodes", "-l", "region=france"]);
    assert_eq!(
        header(&out),
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "{}",
        k.label
    );
    let nodes = rows(&out);
    assert_eq!(nodes.len(), 1, "{}: {out}", k.label);
    assert_eq!(
        (nodes[0][0].as_str(), nodes[0][1].as_str()),
        ("worker-france", "Ready")
    );

    let out = s.ok(k, &["get", "deploy"]);
    assert_eq!(
        header(&out),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{}",
        k.label
    );
    let deploys: Vec<(String, String)> = rows(&out)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        deploys,
        [
            ("nginx-denmark", "2/2"),
            ("nginx-france", "2/2"),
            ("nginx-latvia", "2/2")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );

    let out = s.ok(k, &["scale", "deploy/nginx-france", "--replicas=3"]);
    assert_eq!(
        out.trim(),
        "deployment.apps/nginx-france scaled",
        "{}",
        k.label
    );
    assert_eq!(
        s.emu.replicas("default", "nginx-france"),
        Some(3),
        "{}",
        k.label
    );

    let err = s.fails(
        k,
        &[
            "scale",
            "deploy/nginx-france",
            "--current-replicas=2",
            "--replicas=4",
        ],
    );
    assert!(
        err.contains("Expected replicas to be 2, was 3"),
        "{}: {err}",
        k.label
    );
    assert_eq!(
        s.emu.replicas("default", "nginx-france"),
        Some(3),
        "{}",
        k.label
    );

    s.ok(
        k,
        &[
            "create",
            "configmap",
            "fidelity",
            "--from-literal=mode=carbon",
        ],
    );
    let err = s.fails(
        k,
        &[
            "create",
            "configmap",
            "fidelity",
            "--from-literal=mode=carbon",
        ],
    );
    assert!(
        err.contains("configmaps \"fidelity\" already exists"),
        "{}: {err}",
        k.label
    );

    let json: Value =
        serde_json::from_str(&s.ok(k, &["get", "cm", "fidelity", "-o", "json"])).unwrap();
    assert_eq!(json["data"]["mode"], "carbon", "{}", k.label);
    assert_eq!(json["kind"], "ConfigMap");
    let stale = s.file("stale.json", &json.to_string());
    s.emu.put_configmap(
        "default",
        "fidelity",
        [("mode".to_string(), "changed".to_string())].into(),
    );
    let err = s.fails(k, &["replace", "-f", &stale]);
    assert!(
        err.contains("Error from server (Conflict)"),
        "{}: {err}",
        k.label
    );
    assert!(err.contains("the object has been modified; please apply your changes to the latest version and try again"), "{}: {err}", k.label);
    assert_eq!(
        s.emu.configmap_data("default", "fidelity").unwrap()["mode"],
        "changed"
    );

    let err = s.fails(k, &["get", "cm", "missing"]);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): configmaps \"missing\" not found",
        "{}",
        k.label
    );

    // Refusals reach kubectl as a real server's would.
    let bad_name = s.file("bad-name.json", BAD_NAME);
    let err = s.fails(k, &["create", "-f", &bad_name]);
    assert_eq!(err.trim(), bad_name_error(), "{}", k.label);
    let err = s.fails(k, &["create", "-f", &bad_name, "-n", "nope"]);
    assert_eq!(
        err.trim(),
        format!("Error from server (NotFound): error when creating \"{bad_name}\": namespaces \"nope\" not found"),
        "{}",
        k.label
    );
    let out = s.ok(k, &["auth", "can-i", "list", "nodes"]);
    assert_eq!(out.trim(), "yes", "{}", k.label);
    let out = s.ok(k, &["get", "nodes", "--chunk-size=1", "-o", "name"]);
    assert_eq!(out.lines().count(), 4, "{}: {out}", k.label);
}

const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const KEY_RULE: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const BAD_NAME: &str = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}, "data": {"k": "v"}}"#;

fn bad_name_error() -> String {
    format!("The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_RULE}")
}

macro_rules! core_on_every_version {
    ($($test:ident => $minor:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                core_journey(&Kubectl::versioned($minor));
            }
        )*
    };
}

core_on_every_version! {
    core_commands_kubectl_1_27 => "1.27",
    core_commands_kubectl_1_28 => "1.28",
    core_commands_kubectl_1_29 => "1.29",
    core_commands_kubectl_1_30 => "1.30",
    core_commands_kubectl_1_31 => "1.31",
    core_commands_kubectl_1_32 => "1.32",
    core_commands_kubectl_1_33 => "1.33",
}

#[test]
fn core_commands_kubectl_dispatcher() {
    core_journey(&Kubectl::dispatcher());
}

fn newest_and_dispatcher() -> [Kubectl; 2] {
    [Kubectl::versioned("1.33"), Kubectl::dispatcher()]
}

#[test]
fn raw_metrics_and_top_nodes() {
    for k in newest_and_dispatcher() {
        let s = Session::new();
        let raw: Value = serde_json::from_str(
            &s.ok(&k, &["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]),
        )
        .unwrap();
        assert_eq!(raw["kind"], "NodeMetricsList", "{}", k.label);
        assert_eq!(raw["items"].as_array().unwrap().len(), 4);

        s.emu.set_cpu_percent(Some("worker-latvia"), 82.0);
        let out = s.ok(&k, &["top", "nodes"]);
        assert_eq!(
            header(&out)[..3],
            ["NAME", "CPU(cores)", "CPU(%)"],
            "{}",
            k.label
        );
        let top = rows(&out);
        let row = |name: &str| {
            top.iter()
                .find(|r| r[0] == name)
                .unwrap_or_else(|| panic!("{name} missing: {out}"))
                .clone()
        };
        assert_eq!(row("worker-france")[1..3], ["1800m", "45%"], "{}", k.label);
        assert_eq!(row("worker-latvia")[1..3], ["3280m", "82%"], "{}", k.label);

        let out = s.ok(&k, &["top", "nodes", "-l", "region in (denmark,france)"]);
        assert_eq!(rows(&out).len(), 2, "{}: {out}", k.label);

        s.emu.set_metrics_available(false);
        let err = s.fails(&k, &["top", "nodes"]);
        assert!(
            err.contains("Metrics API not available"),
            "{}: {err}",
            k.label
        );
    }
}

const EVENT: &str = r#"{"apiVersion": "v1", "kind": "Event",
  "metadata": {"generateName": "nginx-france.", "namespace": "default"},
  "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx-france", "namespace": "default"},
  "reason": "SuccessfulRescale", "message": "New size: 3; reason: cleanest region", "type": "Normal",
  "source": {"component": "carbonctl"}, "count": 1}"#;

#[test]
fn create_and_get_events() {
    for k in newest_and_dispatcher() {
        let s = Session::new();
        let file = s.file("event.json", EVENT);
        let out = s.ok(&k, &["create", "-f", &file]);
        assert!(
            out.trim().starts_with("event/nginx-france."),
            "{}: {out}",
            k.label
        );
        assert!(out.trim().ends_with(" created"), "{}: {out}", k.label);
        s.ok(&k, &["create", "-f", &file]);
        let events = s.emu.events("default");
        assert_eq!(events.len(), 2, "{}", k.label);
        assert_ne!(events[0]["metadata"]["name"], events[1]["metadata"]["name"]);

        let out = s.ok(&k, &["get", "events"]);
        assert_eq!(
            header(&out),
            ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            "{}",
            k.label
        );
        let listed = rows(&out);
        assert_eq!(listed.len(), 2, "{}: {out}", k.label);
        assert_eq!(
            listed[0][1..4],
            ["Normal", "SuccessfulRescale", "deployment/nginx-france"],
            "{}",
            k.label
        );
        assert!(out.contains("New size: 3; reason: cleanest region"));

        // describe finds a Deployment's events by field selector, uid included.
        let uid = s.emu.deployment("default", "nginx-france").unwrap()["metadata"]["uid"].clone();
        let mut event: Value = serde_json::from_str(EVENT).unwrap();
        event["involvedObject"]["uid"] = uid;
        event["reason"] = "CarbonAware".into();
        let file = s.file("event-with-uid.json", &event.to_string());
        s.ok(&k, &["create", "-f", &file]);
        let out = s.ok(&k, &["describe", "deploy", "nginx-france"]);
        let events = &out[out.find("Events:").expect("describe prints Events")..];
        assert!(events.contains("CarbonAware"), "{}: {events}", k.label);
        assert!(
            !events.contains("SuccessfulRescale"),
            "events without the uid do not match: {events}"
        );
        let out = s.ok(
            &k,
            &["get", "events", "--field-selector", "reason=CarbonAware"],
        );
        assert_eq!(rows(&out).len(), 1, "{}: {out}", k.label);
    }
}

#[test]
fn scale_with_matching_precondition_patch_and_delete() {
    for k in newest_and_dispatcher() {
        let s = Session::new();
        let out = s.ok(
            &k,
            &[
                "scale",
                "deploy/nginx-latvia",
                "--current-replicas=2",
                "--replicas=1",
            ],
        );
        assert_eq!(
            out.trim(),
            "deployment.apps/nginx-latvia scaled",
            "{}",
            k.label
        );
        assert_eq!(s.emu.replicas("default", "nginx-latvia"), Some(1));
        assert!(s
            .emu
            .requests()
            .iter()
            .any(|r| r.method == "PUT" && r.resource.as_deref() == Some("deployments/scale")));

        s.ok(&k, &["create", "cm", "state", "--from-literal=a=1"]);
        s.ok(&k, &["patch", "cm", "state", "-p", r#"{"data":{"b":"2"}}"#]);
        s.ok(
            &k,
            &[
                "patch",
                "cm",
                "state",
                "--type=json",
                "-p",
                r#"[{"op":"replace","path":"/data/a","value":"3"}]"#,
            ],
        );
        let data = s.emu.configmap_data("default", "state").unwrap();
        assert_eq!(
            (data["a"].as_str(), data["b"].as_str()),
            ("3", "2"),
            "{}",
            k.label
        );
        let err = s.fails(
            &k,
            &[
                "patch",
                "cm",
                "state",
                "--type=json",
                "-p",
                r#"[{"op":"test","path":"/data/a","value":"9"}]"#,
            ],
        );
        // A failed `test` is a 422 without details; kubectl words it this way for a real server too.
        assert!(err.contains("The request is invalid: the server rejected our request due to an error in our request"), "{}: {err}", k.label);

        let out = s.ok(&k, &["delete", "cm", "state"]);
        assert_eq!(out.trim(), "configmap \"state\" deleted", "{}", k.label);
        assert!(s.emu.configmap_data("default", "state").is_none());
    }
}

#[test]
fn node_selectors_and_cordoned_nodes() {
    let k = Kubectl::versioned("1.33");
    let s = Session::new();
    let names = |args: &[&str]| -> Vec<String> {
        rows(&s.ok(&k, args))
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    };
    assert_eq!(
        names(&["get", "nodes", "-l", "region!=france"]),
        ["control-plane", "worker-denmark", "worker-latvia"]
    );
    assert_eq!(names(&["get", "nodes", "-l", "!region"]), ["control-plane"]);
    assert_eq!(
        names(&["get", "nodes", "-l", "region notin (france,latvia),region"]),
        ["worker-denmark"]
    );
    s.emu.set_node_unschedulable("worker-denmark", true);
    s.emu.set_node_ready("worker-latvia", false);
    let out = s.ok(&k, &["get", "nodes", "-l", "region"]);
    let status: Vec<String> = rows(&out).into_iter().map(|r| r[1].clone()).collect();
    assert_eq!(status, ["Ready,SchedulingDisabled", "Ready", "NotReady"]);
    // Nodes index spec.unschedulable (absent reads as false) and metadata.name, nothing else.
    fn with(field: &str) -> Vec<&str> {
        vec!["get", "nodes", "-l", "region", "--field-selector", field]
    }
    assert_eq!(names(&with("spec.unschedulable=true")), ["worker-denmark"]);
    assert_eq!(
        names(&with("spec.unschedulable=false")),
        ["worker-france", "worker-latvia"]
    );
    assert_eq!(
        names(&with(
            "spec.unschedulable!=true,metadata.name!=worker-latvia"
        )),
        ["worker-france"]
    );
    let err = s.fails(&k, &with("spec.podCIDR=10.244.1.0/24"));
    assert!(
        err.contains("field label not supported: spec.podCIDR"),
        "{err}"
    );
    // metrics-server cannot scrape a NotReady kubelet: its NodeMetrics are gone.
    let raw: Value = serde_json::from_str(&s.ok(
        &k,
        &[
            "get",
            "--raw",
            "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=region",
        ],
    ))
    .unwrap();
    let metered: Vec<&str> = raw["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(metered, ["worker-denmark", "worker-france"]);
}

#[test]
fn refused_names_keys_sizes_and_namespaces() {
    for k in newest_and_dispatcher() {
        let s = Session::new();
        let err = s.fails(&k, &["apply", "-f", &s.file("bad-name.json", BAD_NAME)]);
        assert_eq!(err.trim(), bad_name_error(), "{}", k.label);
        // kubectl leaves the name to the server here too.
        let err = s.fails(
            &k,
            &["create", "configmap", "Bad_Name", "--from-literal=k=v"],
        );
        assert_eq!(
            err.trim(),
            format!(
                "error: failed to create configmap: {}",
                &bad_name_error()[4..]
            ),
            "{}",
            k.label
        );
        let long = "a".repeat(254);
        let manifest = format!(
            r#"{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "{long}"}}}}"#
        );
        let err = s.fails(&k, &["create", "-f", &s.file("long.json", &manifest)]);
        assert_eq!(
            err.trim(),
            format!("The ConfigMap \"{long}\" is invalid: metadata.name: Invalid value: \"{long}\": must be no more than 253 characters"),
            "{}",
            k.label
        );

        // kubectl checks --from-literal keys itself, so a bad key goes in a manifest.
        let bad_key = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keys"}, "data": {"bad key!": "v"}}"#;
        let err = s.fails(&k, &["create", "-f", &s.file("bad-key.json", bad_key)]);
        assert_eq!(
            err.trim(),
            format!("The ConfigMap \"keys\" is invalid: data[bad key!]: Invalid value: \"bad key!\": {KEY_RULE}"),
            "{}",
            k.label
        );

        // 1 MiB of values fits; one byte more does not (keys are not counted).
        let sized = |name: &str, extra: usize| {
            let big = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name},
                "data": {"a": "x".repeat(1024 * 1024 - 1), "b": "y".repeat(extra)}});
            s.file(&format!("{name}.json"), &big.to_string())
        };
        s.ok(&k, &["create", "-f", &sized("full", 1)]);
        let err = s.fails(&k, &["create", "-f", &sized("big", 2)]);
        assert_eq!(
            err.trim(),
            "The ConfigMap \"big\" is invalid: []: Too long: may not be more than 1048576 bytes",
            "{}",
            k.label
        );
        assert!(s.emu.configmap("default", "big").is_none());

        // Writes to an existing ConfigMap are checked the same way; several causes are listed.
        s.ok(&k, &["create", "configmap", "state", "--from-literal=k=v"]);
        let err = s.fails(
            &k,
            &["patch", "cm", "state", "-p", r#"{"data":{"bad key!":"v"}}"#],
        );
        assert_eq!(
            err.trim(),
            format!("The ConfigMap \"state\" is invalid: data[bad key!]: Invalid value: \"bad key!\": {KEY_RULE}"),
            "{}",
            k.label
        );
        let mut current: Value =
            serde_json::from_str(&s.ok(&k, &["get", "cm", "state", "-o", "json"])).unwrap();
        current["data"]["x y"] = "1".into();
        current["data"]["..z"] = "2".into();
        let err = s.fails(
            &k,
            &["replace", "-f", &s.file("state.json", &current.to_string())],
        );
        assert_eq!(
            err.trim(),
            format!("The ConfigMap \"state\" is invalid: \n* data[..z]: Invalid value: \"..z\": must not start with '..'\n* data[x y]: Invalid value: \"x y\": {KEY_RULE}"),
            "{}",
            k.label
        );
        assert_eq!(s.emu.configmap_data("default", "state").unwrap().len(), 1);

        let err = s.fails(
            &k,
            &[
                "create",
                "configmap",
                "x",
                "--from-literal=k=v",
                "-n",
                "nope",
            ],
        );
        assert_eq!(
            err.trim(),
            "error: failed to create configmap: namespaces \"nope\" not found",
            "{}",
            k.label
        );
        s.ok(
            &k,
            &[
                "create",
                "configmap",
                "x",
                "--from-literal=k=v",
                "-n",
                "kube-system",
            ],
        );
        // The server answers "configmaps "x" not found"; kubectl then looks the namespace up.
        let err = s.fails(&k, &["get", "cm", "x", "-n", "nope"]);
        assert_eq!(
            err.trim(),
            "Error from server (NotFound): namespaces \"nope\" not found",
            "{}",
            k.label
        );
        let out = s.ok(&k, &["get", "cm", "-n", "nope"]);
        assert_eq!(out, "", "{}", k.label);
        let out = s.ok(&k, &["get", "namespaces"]);
        assert_eq!(header(&out), ["NAME", "STATUS", "AGE"], "{}", k.label);
        let namespaces: Vec<String> = rows(&out).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            namespaces,
            ["default", "kube-node-lease", "kube-public", "kube-system"],
            "{}",
            k.label
        );
        let err = s.fails(&k, &["create", "namespace", "Bad_NS"]);
        assert!(
            err.contains("The Namespace \"Bad_NS\" is invalid: metadata.name: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must consist of"),
            "{}: {err}",
            k.label
        );
        let out = s.ok(&k, &["create", "namespace", "web"]);
        assert_eq!(out.trim(), "namespace/web created", "{}", k.label);
        s.ok(
            &k,
            &[
                "create",
                "configmap",
                "x",
                "--from-literal=k=v",
                "-n",
                "web",
            ],
        );

        // A core/v1 Event's name is only checked as a path segment, as on a real server.
        let event = EVENT.replace(
            r#""generateName": "nginx-france.""#,
            r#""name": "Bad_Name""#,
        );
        let out = s.ok(&k, &["create", "-f", &s.file("event.json", &event)]);
        assert_eq!(out.trim(), "event/Bad_Name created", "{}", k.label);
    }
}

#[test]
fn lists_page_with_chunk_size_and_refuse_bad_tokens() {
    for k in newest_and_dispatcher() {
        let s = Session::new();
        for name in ["a", "b", "c"] {
            s.emu
                .put_configmap("default", name, [("k".to_string(), "v".to_string())].into());
        }
        s.emu.put_configmap("kube-system", "d", Default::default());
        s.emu.clear_requests();
        let out = s.ok(&k, &["get", "configmaps", "--chunk-size=1"]);
        let names: Vec<String> = rows(&out).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(names, ["a", "b", "c"], "{}: {out}", k.label);
        assert_eq!(header(&out), ["NAME", "DATA", "AGE"], "{}", k.label);
        let lists: Vec<String> = s
            .emu
            .requests()
            .into_iter()
            .filter(|r| r.verb.as_deref() == Some("list"))
            .map(|r| r.query)
            .collect();
        assert_eq!(lists.len(), 3, "one request per item: {lists:?}");
        assert!(lists[0].contains("limit=1") && !lists[0].contains("continue="));
        assert!(
            lists[1..].iter().all(|q| q.contains("continue=")),
            "{lists:?}"
        );

        let out = s.ok(&k, &["get", "cm", "-A", "--chunk-size=2", "-o", "name"]);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["configmap/a", "configmap/b", "configmap/c", "configmap/d"],
            "{}",
            k.label
        );
        // The default chunk size (500) returns everything at once.
        let out = s.ok(&k, &["get", "deploy", "-o", "name"]);
        assert_eq!(out.lines().count(), 3, "{}", k.label);

        let err = s.fails(
            &k,
            &[
                "get",
                "--raw",
                "/api/v1/namespaces/default/configmaps?limit=1&continue=not-a-token!",
            ],
        );
        assert_eq!(
            err.trim(),
            "Error from server (BadRequest): invalid continue token: continue key is not valid: illegal base64 data at input byte 11",
            "{}",
            k.label
        );
    }
}

#[test]
fn auth_can_i_is_answered_yes() {
    for k in newest_and_dispatcher() {
        let s = Session::new();
        for args in [
            ["auth", "can-i", "list", "nodes"],
            ["auth", "can-i", "patch", "deployments/scale"],
            ["auth", "can-i", "get", "configmaps/carbonctl-state"],
        ] {
            let out = s.ok(&k, &args);
            assert_eq!(out.trim(), "yes", "{} {args:?}", k.label);
        }
        let reviews: Vec<_> = s
            .emu
            .requests()
            .into_iter()
            .filter(|r| r.resource.as_deref() == Some("selfsubjectaccessreviews"))
            .collect();
        assert_eq!(reviews.len(), 3, "{}", k.label);
        assert!(reviews.iter().all(|r| r.verb.as_deref() == Some("create")
            && r.api_group.as_deref() == Some("authorization.k8s.io")
            && r.status == 201));
    }
}

/// The HPA and ScaledObject commands every supported kubectl must agree with the emulator
/// on. `kubectl get hpa` prints the server's Table, so its TARGETS cell is in the format of
/// the server's version (1.30 and later name the resource: `cpu: 45%/60%`) whatever the
/// kubectl version.
fn autoscaler_journey(k: &Kubectl) {
    let s = Session::with_seed(Seed::demo().with_hpas().with_keda("latvia"));

    let out = s.ok(k, &["get", "hpa"]);
    assert_eq!(
        header(&out),
        [
            "NAME",
            "REFERENCE",
            "TARGETS",
            "MINPODS",
            "MAXPODS",
            "REPLICAS",
            "AGE"
        ],
        "{}",
        k.label
    );
    let listed = rows(&out);
    assert_eq!(
        listed[0][..7],
        [
            "keda-hpa-nginx-latvia",
            "Deployment/nginx-latvia",
            "cpu:",
            "<unknown>/60%",
            "2",
            "6",
            "0"
        ],
        "{}: before the first pass: {out}",
        k.label
    );
    s.emu.set_cpu_percent(Some("worker-france"), 95.0);
    s.emu.sync_hpas();
    let out = s.ok(k, &["get", "hpa", "nginx-france"]);
    assert_eq!(
        rows(&out)[0][..7],
        [
            "nginx-france",
            "Deployment/nginx-france",
            "cpu:",
            "95%/60%",
            "2",
            "6",
            "2"
        ],
        "{}: {out}",
        k.label
    );
    assert_eq!(s.emu.replicas("default", "nginx-france"), Some(4));

    let out = s.ok(k, &["get", "scaledobjects"]);
    assert_eq!(
        header(&out),
        [
            "NAME",
            "SCALETARGETKIND",
            "SCALETARGETNAME",
            "MIN",
            "MAX",
            "READY",
            "ACTIVE",
            "FALLBACK",
            "PAUSED",
            "TRIGGERS",
            "AUTHENTICATIONS",
            "AGE"
        ],
        "{}",
        k.label
    );
    assert_eq!(
        rows(&out)[0][..10],
        [
            "nginx-latvia",
            "apps/v1.Deployment",
            "nginx-latvia",
            "2",
            "6",
            "True",
            "True",
            "False",
            "False",
            "cpu"
        ],
        "{}: {out}",
        k.label
    );

    // describe: the reference, bounds, conditions and the events on the HPA (the
    // controller's and one a client posts), found by involvedObject field selector.
    let uid = s.emu.hpa("default", "nginx-france").unwrap()["metadata"]["uid"].clone();
    let event = serde_json::json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": "nginx-france.", "namespace": "default"},
        "involvedObject": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                           "name": "nginx-france", "namespace": "default", "uid": uid},
        "reason": "CarbonFloor", "message": "minReplicas 2 -> 3: cleanest region", "type": "Normal",
        "source": {"component": "carbonctl"}});
    s.ok(
        k,
        &[
            "create",
            "-f",
            &s.file("hpa-event.json", &event.to_string()),
        ],
    );
    let out = s.ok(k, &["describe", "hpa", "nginx-france"]);
    let line = |label: &str| {
        out.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{}: no {label} in {out}", k.label))
            .split_whitespace()
            .last()
            .unwrap()
            .to_string()
    };
    assert_eq!(line("Reference:"), "Deployment/nginx-france", "{}", k.label);
    assert_eq!(line("Min replicas:"), "2", "{}", k.label);
    assert_eq!(line("Max replicas:"), "6", "{}", k.label);
    assert!(
        out.contains("(as a percentage of request):  95% (95m) / 60%"),
        "{}: {out}",
        k.label
    );
    let conditions = &out[out.find("Conditions:").expect("describe prints Conditions")..];
    for (kind, status, reason) in [
        ("AbleToScale", "True", "SucceededRescale"),
        ("ScalingActive", "True", "ValidMetricFound"),
        ("ScalingLimited", "False", "DesiredWithinRange"),
    ] {
        assert!(
            conditions
                .lines()
                .any(|l| l.split_whitespace().take(3).eq([kind, status, reason])),
            "{}: {kind} {status} {reason} in {conditions}",
            k.label
        );
    }
    let events = &out[out.find("Events:").expect("describe prints Events")..];
    assert!(
        events.contains(
            "New size: 4; reason: cpu resource utilization (percentage of request) above target"
        ),
        "{}: {events}",
        k.label
    );
    assert!(
        events.contains("minReplicas 2 -> 3: cleanest region"),
        "{}: {events}",
        k.label
    );

    // A conditional write whose test fails: the API server's generic 422.
    let err = s.fails(
        k,
        &["patch", "hpa", "nginx-france", "--type=json", "-p",
          r#"[{"op":"test","path":"/spec/minReplicas","value":3},{"op":"replace","path":"/spec/minReplicas","value":3}]"#],
    );
    assert_eq!(
        err.trim(),
        "The request is invalid: the server rejected our request due to an error in our request",
        "{}",
        k.label
    );
    s.ok(
        k,
        &["patch", "hpa", "nginx-france", "--type=json", "-p",
          r#"[{"op":"test","path":"/spec/minReplicas","value":2},{"op":"replace","path":"/spec/minReplicas","value":3}]"#],
    );
    assert_eq!(
        s.emu.hpa("default", "nginx-france").unwrap()["spec"]["minReplicas"],
        3
    );
    let err = s.fails(
        k,
        &[
            "patch",
            "hpa",
            "nginx-france",
            "-p",
            r#"{"spec":{"minReplicas":0}}"#,
        ],
    );
    assert_eq!(
        err.trim(),
        "The HorizontalPodAutoscaler \"nginx-france\" is invalid: spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "{}",
        k.label
    );

    // A custom resource refuses kubectl's default strategic merge patch; a merge patch
    // moves the floor of KEDA's HPA at once.
    let err = s.fails(
        k,
        &[
            "patch",
            "so",
            "nginx-latvia",
            "-p",
            r#"{"spec":{"minReplicaCount":3}}"#,
        ],
    );
    assert!(
        err.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        "{}: {err}",
        k.label
    );
    s.ok(
        k,
        &[
            "patch",
            "so",
            "nginx-latvia",
            "--type=merge",
            "-p",
            r#"{"spec":{"minReplicaCount":3}}"#,
        ],
    );
    let out = s.ok(
        k,
        &[
            "get",
            "hpa",
            "keda-hpa-nginx-latvia",
            "-o",
            "jsonpath={.spec.minReplicas}",
        ],
    );
    assert_eq!(out, "3", "{}", k.label);

    let out = s.ok(k, &["api-resources"]);
    let resources: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for want in [
        [
            "horizontalpodautoscalers",
            "hpa",
            "autoscaling/v2",
            "true",
            "HorizontalPodAutoscaler",
        ],
        [
            "scaledobjects",
            "so",
            "keda.sh/v1alpha1",
            "true",
            "ScaledObject",
        ],
    ] {
        assert!(
            resources.iter().any(|r| r[..] == want),
            "{}: {want:?} in {out}",
            k.label
        );
    }

    // kubectl autoscale creates an autoscaling/v2 HPA from 1.33 on; earlier ones create
    // autoscaling/v1, which the emulator does not serve.
    let autoscale = [
        "autoscale",
        "deployment",
        "nginx-denmark",
        "--name",
        "extra",
        "--min",
        "1",
        "--max",
        "3",
        "--cpu-percent",
        "70",
    ];
    if k.at_least(33) {
        let out = s.ok(k, &autoscale);
        assert_eq!(
            out.trim(),
            "horizontalpodautoscaler.autoscaling/extra autoscaled",
            "{}",
            k.label
        );
        let extra = s.emu.hpa("default", "extra").unwrap();
        assert_eq!(
            extra["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
    } else {
        let err = s.fails(k, &autoscale);
        assert_eq!(
            err.trim(),
            "Error from server (NotFound): the server could not find the requested resource",
            "{}",
            k.label
        );
        assert!(s.emu.hpa("default", "extra").is_none());
    }
}

macro_rules! autoscalers_on_every_version {
    ($($test:ident => $minor:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                autoscaler_journey(&Kubectl::versioned($minor));
            }
        )*
    };
}

autoscalers_on_every_version! {
    autoscalers_kubectl_1_27 => "1.27",
    autoscalers_kubectl_1_28 => "1.28",
    autoscalers_kubectl_1_29 => "1.29",
    autoscalers_kubectl_1_30 => "1.30",
    autoscalers_kubectl_1_31 => "1.31",
    autoscalers_kubectl_1_32 => "1.32",
    autoscalers_kubectl_1_33 => "1.33",
}

#[test]
fn autoscalers_kubectl_dispatcher() {
    autoscaler_journey(&Kubectl::dispatcher());
}
