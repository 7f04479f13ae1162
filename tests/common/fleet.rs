//! A fleet as a user has one: a home cluster holding carbonctl's state and one cluster per
//! region, each a kube-emulator process of its own with its own token, their kubeconfigs merged
//! by the real kubectl (`kubectl config view --flatten` over `KUBECONFIG=a:b:c:d`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube_emulator::{Emulator, Seed};

use super::cluster::{initial_state, CARBON_TOKEN, NS, STATE};
use super::{carbonctl_env, temp_dir, Output};

/// Region, its context, its zone.
pub const MEMBERS: [(&str, &str); 3] = [
    ("denmark", "dk-prod"),
    ("france", "fr-prod"),
    ("latvia", "lv-prod"),
];

pub struct Fleet {
    pub home: Emulator,
    pub members: BTreeMap<&'static str, Emulator>,
    pub kubeconfig: PathBuf,
    pub env: BTreeMap<String, String>,
}

impl Fleet {
    pub fn start() -> Fleet {
        let home = Emulator::start(Seed::demo()).expect("home emulator starts");
        home.put_configmap(NS, STATE, initial_state());
        let dir = temp_dir("fleet");
        let mut files = vec![dir.join("home")];
        home.write_kubeconfig_named(&files[0], "home").unwrap();
        let mut members = BTreeMap::new();
        for (region, context) in MEMBERS {
            let member = Emulator::start(Seed::region(region, None)).expect("member starts");
            let file = dir.join(context);
            member.write_kubeconfig_named(&file, context).unwrap();
            files.push(file);
            members.insert(region, member);
        }
        for emulator in std::iter::once(&home).chain(members.values()) {
            emulator.set_allow_anonymous(false);
        }
        let kubeconfig = dir.join("merged");
        let list = std::env::join_paths(&files).unwrap();
        let merged = std::process::Command::new("kubectl")
            .args(["config", "view", "--flatten"])
            .env("KUBECONFIG", &list)
            .output()
            .expect("kubectl runs");
        assert!(
            merged.status.success(),
            "{}",
            String::from_utf8_lossy(&merged.stderr)
        );
        std::fs::write(&kubeconfig, merged.stdout).unwrap();
        // kubectl's dispatcher asked a server for its version: only carbonctl's requests count.
        for emulator in std::iter::once(&home).chain(members.values()) {
            emulator.clear_requests();
        }
        let contexts: Vec<String> = MEMBERS.iter().map(|(r, c)| format!("{r}={c}")).collect();
        let env = [
            ("REGION_CONTEXTS", contexts.join(",")),
            ("CARBON_API_URL", home.carbon_base_url()),
            ("CARBON_API_TOKEN", CARBON_TOKEN.to_string()),
            ("TICK_TIMEOUT", "10s".to_string()),
            ("CARBON_API_TIMEOUT", "2s".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Fleet {
            home,
            members,
            kubeconfig,
            env,
        }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut argv = args.to_vec();
        let kubeconfig = self.kubeconfig.to_str().unwrap();
        argv.extend_from_slice(&["--kubeconfig", kubeconfig]);
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let out = carbonctl_env(&argv, &env);
        for emulator in std::iter::once(&self.home).chain(self.members.values()) {
            assert!(
                !out.stderr.contains(&emulator.token()),
                "kube token leaked: {}",
                out.stderr
            );
        }
        assert!(
            !out.stderr.contains(CARBON_TOKEN),
            "carbon token leaked: {}",
            out.stderr
        );
        out
    }

    pub fn member(&self, region: &str) -> &Emulator {
        &self.members[region]
    }

    /// Every worker of a region's cluster at `percent` CPU.
    pub fn set_cpu(&self, region: &str, percent: f64) {
        for node in ["worker-1", "worker-2"] {
            self.member(region).set_cpu_percent(Some(node), percent);
        }
    }

    pub fn set_cpu_everywhere(&self, percent: f64) {
        for (region, _) in MEMBERS {
            self.set_cpu(region, percent);
        }
    }

    /// Replicas of each region's Deployment in its own cluster, in MEMBERS order.
    pub fn replicas(&self) -> [i32; 3] {
        MEMBERS.map(|(region, _)| {
            self.member(region)
                .replicas(NS, &format!("nginx-{region}"))
                .unwrap()
        })
    }

    /// Stops a region's cluster; `restart` brings it back on the same port and token.
    pub fn stop(&mut self, region: &'static str) -> (u16, String) {
        let member = self.members.remove(region).expect("a member");
        let address = (member.port(), member.token());
        drop(member);
        address
    }

    pub fn restart(&mut self, region: &'static str, (port, token): (u16, String)) {
        let member = Emulator::start_with_token(Seed::region(region, None), port, token)
            .expect("the member restarts on its port");
        member.set_allow_anonymous(false);
        self.members.insert(region, member);
    }

    pub fn state(&self) -> BTreeMap<String, String> {
        self.home
            .configmap_data(NS, STATE)
            .expect("the state exists")
    }
}
