//! Running the built binary as a user would, with a clean environment: no kubeconfig, no
//! proxies, no backtraces, HOME in a fresh folder.

#![allow(dead_code)] // each test binary uses its own subset of these helpers

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// A folder of its own for each call, under the system temp folder.
pub fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "carbonctl-test-{}-{label}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `timestamp,lifecycle` file (as `static:PATH` reads it) of hourly `grams` from two hours
/// before the current hour: the third value is the current hour's.
pub fn hourly_carbon_file(grams: &[f64]) -> String {
    const HOUR: i64 = 3600;
    let now = carbonctl::clock::now();
    let first = now - now.rem_euclid(HOUR) - 2 * HOUR;
    let mut text = String::from("timestamp,lifecycle\n");
    for (i, g) in grams.iter().enumerate() {
        let t = carbonctl::clock::to_rfc3339(first + i as i64 * HOUR);
        text.push_str(&format!("{t},{g}\n"));
    }
    let path = temp_dir("static").join("carbon.csv");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

pub fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carbonctl"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", temp_dir("home"))
        .env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn carbonctl_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = command(env).args(args).output().expect("carbonctl runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn carbonctl(args: &[&str]) -> Output {
    carbonctl_env(args, &[])
}

pub mod cluster;
pub mod fleet;
pub mod prometheus;
pub mod proxy;
pub mod tls;
