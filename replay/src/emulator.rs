//! The emulated cluster the replay ticks against: a `kube-emulator` process started on a free
//! loopback port (the demo cluster: nodes and `nginx-<region>` Deployments for denmark, france
//! and latvia), driven through its admin API (the clock, each zone's carbon, node CPU) and read
//! through the Kubernetes API as carbonctl reads it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use carbonctl::clock::to_rfc3339;
use carbonctl::state::State;
use serde_json::{json, Value};

/// The regions the demo cluster has nodes and Deployments for.
pub const REGIONS: [&str; 3] = ["denmark", "france", "latvia"];
/// The demo cluster's token that may read every zone.
pub const CARBON_TOKEN: &str = "demo-token";
const NAMESPACE: &str = "default";

pub struct Emulator {
    child: Child,
    pub url: String,
    pub kubeconfig: PathBuf,
    agent: ureq::Agent,
}

impl Emulator {
    /// Starts `bin` with the demo cluster, its kubeconfig written into `dir`.
    pub fn start(bin: &Path, dir: &Path) -> Result<Emulator> {
        let kubeconfig = dir.join("kubeconfig");
        let mut child = Command::new(bin)
            .args(["--port", "0", "--seed", "demo", "--kubeconfig"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .context("reading the emulator's URL")?;
        let url = first.trim().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            bail!("{} printed {first:?}, not its URL", bin.display());
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .new_agent();
        Ok(Emulator {
            child,
            url,
            kubeconfig,
            agent,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>, kind: &str) -> Result<Value> {
        let url = format!("{}{path}", self.url);
        let text = body.map(Value::to_string).unwrap_or_default();
        let answer = match method {
            "GET" => self.agent.get(&url).call(),
            "PUT" => self.agent.put(&url).content_type(kind).send(&text),
            "POST" => self.agent.post(&url).content_type(kind).send(&text),
            "PATCH" => self.agent.patch(&url).content_type(kind).send(&text),
            other => bail!("no {other} here"),
        };
        let mut response = answer.with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON"))
    }

    fn admin(&self, what: &str, body: Value) -> Result<Value> {
        self.call(
            "PUT",
            &format!("/_emulator/{what}"),
            Some(&body),
            "application/json",
        )
    }

    /// Every timestamp the emulator writes or serves follows `now` (unix seconds).
    pub fn set_clock(&self, now: i64) -> Result<()> {
        self.admin("clock", json!({"now": to_rfc3339(now)}))
            .map(drop)
    }

    /// A zone's value, and with `forecast` its hourly forecast from the current hour.
    pub fn set_carbon(
        &self,
        zone: &str,
        grams_per_kwh: f64,
        forecast: Option<&[f64]>,
    ) -> Result<()> {
        let mut body = json!({"zone": zone, "carbonIntensity": grams_per_kwh});
        if let Some(forecast) = forecast {
            body["forecast"] = json!(forecast);
        }
        self.admin("carbon", body).map(drop)
    }

    /// Every region node's CPU.
    pub fn set_cpu(&self, percent: f64) -> Result<()> {
        self.admin("cpu", json!({"percent": percent})).map(drop)
    }

    fn scale_path(deployment: &str) -> String {
        format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{deployment}/scale")
    }

    /// The Deployment's desired replicas, as a tick observes them.
    pub fn replicas(&self, deployment: &str) -> Result<i32> {
        let scale = self.call("GET", &Self::scale_path(deployment), None, "")?;
        scale["spec"]["replicas"]
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| anyhow!("{deployment}: no spec.replicas in {scale}"))
    }

    pub fn scale(&self, deployment: &str, replicas: i32) -> Result<()> {
        let patch = json!({"spec": {"replicas": replicas}});
        let path = Self::scale_path(deployment);
        self.call("PATCH", &path, Some(&patch), "application/merge-patch+json")
            .map(drop)
    }

    /// The empty state ConfigMap, as `kubectl create -f state-configmap.yaml` makes it.
    pub fn create_state(&self, name: &str) -> Result<()> {
        let body = json!({"metadata": {"name": name}, "data": {"formatVersion": "1"}});
        let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
        self.call("POST", &path, Some(&body), "application/json")
            .map(drop)
    }

    /// The state the last tick wrote.
    pub fn state(&self, name: &str) -> Result<State> {
        let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/{name}");
        let object = self.call("GET", &path, None, "")?;
        let data = serde_json::from_value(object["data"].clone()).unwrap_or_default();
        State::from_data(&data).map_err(|e| anyhow!("state ConfigMap {name}: {e}"))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
