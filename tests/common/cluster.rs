//! An emulated cluster with carbonctl pointed at it, as a user's laptop would be.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube_emulator::{Emulator, Seed};

use super::proxy::Proxy;
use super::{carbonctl_env, temp_dir, Output};

pub const NS: &str = "default";
pub const STATE: &str = "carbonctl-state";
pub const CARBON_TOKEN: &str = "demo-token";

pub struct Cluster {
    pub emu: Emulator,
    /// The proxy carbonctl talks to instead of the emulator, when the test loses answers.
    pub proxy: Option<Proxy>,
    pub kubeconfig: PathBuf,
    /// Settings every run gets unless a test overrides them.
    pub env: BTreeMap<String, String>,
}

/// The shipped initial state, read from state-configmap.yaml so tests check the real file.
pub fn initial_state() -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/state-configmap.yaml"))
            .unwrap();
    let data = text
        .split("\ndata:\n")
        .nth(1)
        .expect("state-configmap.yaml has data");
    data.lines()
        .filter(|l| l.starts_with("  ") && l.contains(':'))
        .map(|l| {
            let (k, v) = l.trim().split_once(':').unwrap();
            (k.trim().to_string(), v.trim().trim_matches('"').to_string())
        })
        .collect()
}

impl Cluster {
    /// The demo seed plus the initial state ConfigMap, carbonctl configured for it.
    pub fn demo() -> Cluster {
        Cluster::from_seed(Seed::demo())
    }

    /// `seed` plus the initial state ConfigMap, carbonctl configured for it.
    pub fn from_seed(seed: Seed) -> Cluster {
        let emu = Emulator::start(seed).expect("emulator starts");
        // carbonctl must present the kubeconfig's bearer token (kubectl would not, over HTTP).
        emu.set_allow_anonymous(false);
        emu.put_configmap(NS, STATE, initial_state());
        let kubeconfig = temp_dir("kube").join("config");
        emu.write_kubeconfig(&kubeconfig).unwrap();
        let env = [
            ("CARBON_API_URL", emu.carbon_base_url()),
            ("UKCI_API_URL", emu.ukci_base_url()),
            ("CARBON_API_TOKEN", CARBON_TOKEN.to_string()),
            ("TICK_TIMEOUT", "10s".to_string()),
            ("CARBON_API_TIMEOUT", "2s".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Cluster {
            emu,
            proxy: None,
            kubeconfig,
            env,
        }
    }

    /// The demo cluster reached through a proxy that can lose answers (`proxy::Lose`).
    pub fn demo_behind_proxy() -> Cluster {
        let mut c = Cluster::demo();
        let proxy = Proxy::start(([127, 0, 0, 1], c.emu.port()).into());
        let text = std::fs::read_to_string(&c.kubeconfig).unwrap();
        let kubeconfig = temp_dir("kube-proxied").join("config");
        std::fs::write(&kubeconfig, text.replace(&c.emu.base_url(), &proxy.url())).unwrap();
        c.kubeconfig = kubeconfig;
        c.proxy = Some(proxy);
        c
    }

    pub fn proxy(&self) -> &Proxy {
        self.proxy.as_ref().expect("a cluster behind the proxy")
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut argv: Vec<&str> = args.to_vec();
        let kubeconfig = self.kubeconfig.to_str().unwrap();
        argv.extend_from_slice(&["--kubeconfig", kubeconfig]);
        let mut env: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for (k, v) in extra {
            env.insert(k, v);
        }
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let out = carbonctl_env(&argv, &env);
        assert!(
            !out.stdout.contains(CARBON_TOKEN) && !out.stderr.contains(CARBON_TOKEN),
            "token leaked: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            !out.stderr.contains(&self.emu.token()),
            "kube token leaked: {}",
            out.stderr
        );
        out
    }

    pub fn tick(&self) -> Output {
        let out = self.run(&["tick"]);
        assert_eq!(out.code, 0, "tick failed: {}", out.stderr);
        out
    }

    pub fn replicas(&self) -> [i32; 3] {
        ["denmark", "france", "latvia"]
            .map(|r| self.emu.replicas(NS, &format!("nginx-{r}")).unwrap())
    }

    pub fn state(&self) -> BTreeMap<String, String> {
        self.emu
            .configmap_data(NS, STATE)
            .expect("state ConfigMap exists")
    }

    /// Successful writes to the scale subresource so far.
    pub fn scale_writes(&self) -> usize {
        self.emu
            .requests()
            .iter()
            .filter(|r| {
                r.resource.as_deref() == Some("deployments/scale")
                    && r.method != "GET"
                    && (200..300).contains(&r.status)
            })
            .count()
    }
}

/// The JSON log line of the tick's decision (the one that carries a `decision`).
pub fn tick_line(out: &Output) -> serde_json::Value {
    out.stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("decision").is_some())
        .unwrap_or_else(|| panic!("no decision line in: {}", out.stderr))
}
