//! The `kube-emulator` binary as a user runs it: first stdout line, kubeconfig, seed files,
//! `--require-token`, and errors for bad arguments.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Running {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kube-emulator-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(args)
        .env_clear()
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    Running { child, lines }
}

fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("/usr/lib/google-cloud-sdk/bin/kubectl.1.33")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_prints_its_url_first_and_writes_a_working_kubeconfig() {
    let dir = temp_dir("demo");
    let kubeconfig = dir.join("nested/kubeconfig");
    let running = start(&[
        "--port",
        "0",
        "--seed",
        "demo",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    let base = &running.lines[0];
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(
        running.lines[1].contains(&format!("{base}/v3")),
        "{:?}",
        running.lines
    );
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(text.contains(&format!("server: {base}")));
    let (ok, out, err) = kubectl(&kubeconfig, &dir, &["get", "deploy", "nginx-latvia"]);
    assert!(ok, "{err}");
    assert!(out.contains("nginx-latvia   2/2"), "{out}");
    drop(running);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn seed_file_and_required_token() {
    let dir = temp_dir("seed");
    let seed = dir.join("seed.json");
    std::fs::write(
        &seed,
        r#"{"nodes": [{"name": "solo", "labels": {"region": "iceland"}, "cpuPercent": 12.5}]}"#,
    )
    .unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let running = start(&[
        "--seed",
        seed.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--require-token",
    ]);
    assert!(running.lines[0].starts_with("http://127.0.0.1:"));
    // kubectl sends no token over plain HTTP, so a token-requiring emulator refuses it.
    let (ok, _, err) = kubectl(&kubeconfig, &dir, &["get", "nodes"]);
    assert!(!ok);
    assert!(
        err.contains("Unauthorized") || err.contains("provide credentials"),
        "{err}"
    );
    drop(running);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_seed_is_a_clear_error() {
    let dir = temp_dir("bad");
    let seed = dir.join("seed.json");
    std::fs::write(
        &seed,
        r#"{"nodes": [{"name": "n", "cpuUsage": "1", "cpuPercent": 5}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--seed", seed.to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("give cpuUsage or cpuPercent, not both"),
        "{err}"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--seed", dir.join("nope.json").to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read seed file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hpa_sync_seconds_runs_the_hpa_pass_on_its_own() {
    let dir = temp_dir("hpa-sync");
    let seed = dir.join("seed.json");
    // ceil(2 replicas * 95% / 50%) = 4, the ceiling, where later passes leave it.
    std::fs::write(
        &seed,
        r#"{"nodes": [{"name": "n1", "labels": {"region": "x"}, "cpuPercent": 95}],
            "deployments": [{"name": "web", "replicas": 2}],
            "hpas": [{"name": "web", "target": "web", "minReplicas": 1, "maxReplicas": 4,
                      "cpuTargetPercent": 50}]}"#,
    )
    .unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let running = start(&[
        "--seed",
        seed.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--hpa-sync-seconds",
        "1",
    ]);
    let replicas = || {
        let args = ["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"];
        let (ok, out, err) = kubectl(&kubeconfig, &dir, &args);
        assert!(ok, "{err}");
        out
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while replicas() != "4" {
        assert!(
            std::time::Instant::now() < deadline,
            "no HPA pass in 10 s: {}",
            replicas()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(running);
    let refused = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--hpa-sync-seconds", "0"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!refused.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
