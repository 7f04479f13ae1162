//! The description of the cluster and carbon API an emulator starts from: the built-in demo or
//! a JSON file (format in the crate README), so demos and tests share one vocabulary.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// Namespaces to create besides `default`, `kube-system`, `kube-public`,
    /// `kube-node-lease` and those of the seeded objects.
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub nodes: Vec<NodeSeed>,
    #[serde(default)]
    pub deployments: Vec<DeploymentSeed>,
    #[serde(default)]
    pub config_maps: Vec<ConfigMapSeed>,
    #[serde(default)]
    pub secrets: Vec<SecretSeed>,
    /// HorizontalPodAutoscalers (autoscaling/v2) on seeded Deployments.
    #[serde(default)]
    pub hpas: Vec<HpaSeed>,
    /// KEDA ScaledObjects; each brings its HPA `keda-hpa-<name>`, as KEDA's operator would.
    #[serde(default)]
    pub scaled_objects: Vec<ScaledObjectSeed>,
    /// gCO2eq/kWh per ElectricityMaps zone key ("FR", "DK-DK1", ...).
    #[serde(default)]
    pub carbon: BTreeMap<String, f64>,
    /// ElectricityMaps tokens and the zones each may read; `"*"` means every zone.
    #[serde(default)]
    pub tokens: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSeed {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Allocatable CPU as a Quantity.
    #[serde(default = "default_cpu")]
    pub cpu: String,
    /// Allocatable memory as a Quantity.
    #[serde(default = "default_memory")]
    pub memory: String,
    /// Current CPU usage as a Quantity ("1800m"); give this or `cpuPercent`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_usage: Option<String>,
    /// Current CPU usage as a share of allocatable CPU, 0..=100 (or more, when overloaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    #[serde(default = "yes")]
    pub ready: bool,
    #[serde(default)]
    pub unschedulable: bool,
    /// Extra `spec.taints` entries, as the API server would show them.
    #[serde(default)]
    pub taints: Vec<Value>,
    /// How many pods the node can run (`allocatable.pods`).
    #[serde(default = "default_max_pods")]
    pub max_pods: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSeed {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    pub replicas: i32,
    /// Labels of the Deployment and its pod template; `app: <name>` is added when absent and
    /// is the selector.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The pod template's `nodeSelector`: its pods run only on nodes with these labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapSeed {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSeed {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    /// Plain values, served base64-encoded under `data` as the API server does.
    #[serde(default)]
    pub string_data: BTreeMap<String, String>,
}

/// An HPA as `kubectl autoscale deployment TARGET --min MIN --max MAX --cpu-percent N`
/// makes it (named after its target unless given a name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaSeed {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    /// The Deployment it scales, in the same namespace.
    pub target: String,
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Target average CPU utilization; without it the API server's default (80%) applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_target_percent: Option<i32>,
}

/// A KEDA ScaledObject with one `cpu` trigger (`metricType: Utilization`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaledObjectSeed {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    /// The Deployment it scales, in the same namespace.
    pub target: String,
    /// `spec.minReplicaCount`; absent, KEDA reads 0 (and gives its HPA a floor of 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replica_count: Option<i32>,
    /// `spec.maxReplicaCount`; absent, KEDA reads 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replica_count: Option<i32>,
    /// The cpu trigger's `value` (target utilization, percent).
    #[serde(default = "default_cpu_target")]
    pub cpu_target_percent: i32,
}

fn default_cpu_target() -> i32 {
    60
}

fn default_cpu() -> String {
    "4".into()
}

fn default_memory() -> String {
    "16Gi".into()
}

fn default_max_pods() -> u32 {
    110
}

fn default_namespace() -> String {
    "default".into()
}

fn yes() -> bool {
    true
}

impl NodeSeed {
    /// A ready, schedulable node with default capacity and no usage.
    pub fn new(name: &str) -> NodeSeed {
        NodeSeed {
            name: name.into(),
            labels: BTreeMap::new(),
            cpu: default_cpu(),
            memory: default_memory(),
            cpu_usage: None,
            cpu_percent: None,
            ready: true,
            unschedulable: false,
            taints: Vec::new(),
            max_pods: default_max_pods(),
        }
    }
}

/// Region name, ElectricityMaps zone, carbon intensity, per-zone token.
const DEMO_REGIONS: [(&str, &str, f64, &str); 3] = [
    ("denmark", "DK", 142.0, "demo-dk"),
    ("france", "FR", 38.0, "demo-fr"),
    ("latvia", "LV", 265.0, "demo-lv"),
];

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Seed {
    /// Three ready workers labelled `region=denmark|france|latvia` at 45% CPU, a tainted
    /// control-plane node, `nginx-<region>` Deployments with 2 replicas in `default`, carbon
    /// for DK, FR and LV, the token `demo-token` for every zone and one token per zone (also
    /// stored in the Secret `electricitymap-secret`, keyed by region).
    pub fn demo() -> Seed {
        let mut seed = Seed::default();
        let mut control_plane = NodeSeed::new("control-plane");
        control_plane.labels = labels(&[
            ("kubernetes.io/hostname", "control-plane"),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("node-role.kubernetes.io/control-plane", ""),
        ]);
        control_plane.cpu_percent = Some(20.0);
        control_plane.taints = vec![serde_json::json!({
            "key": "node-role.kubernetes.io/control-plane",
            "effect": "NoSchedule"
        })];
        seed.nodes.push(control_plane);
        let mut secret = SecretSeed {
            namespace: default_namespace(),
            name: "electricitymap-secret".into(),
            string_data: BTreeMap::new(),
        };
        for (region, zone, grams, token) in DEMO_REGIONS {
            let name = format!("worker-{region}");
            let mut node = NodeSeed::new(&name);
            node.labels = labels(&[
                ("kubernetes.io/hostname", &name),
                ("kubernetes.io/os", "linux"),
                ("kubernetes.io/arch", "amd64"),
                ("region", region),
            ]);
            node.cpu_percent = Some(45.0);
            seed.nodes.push(node);
            let deployment = format!("nginx-{region}");
            seed.deployments.push(DeploymentSeed {
                namespace: default_namespace(),
                labels: labels(&[("app", &deployment), ("region", region)]),
                node_selector: labels(&[("region", region)]),
                name: deployment,
                replicas: 2,
            });
            seed.carbon.insert(zone.into(), grams);
            seed.tokens.insert(token.into(), vec![zone.into()]);
            secret.string_data.insert(region.into(), token.into());
        }
        seed.tokens.insert("demo-token".into(), vec!["*".into()]);
        seed.secrets.push(secret);
        seed
    }

    /// A large cluster: `regions` regions `r000`, `r001`, ... of `per_region` ready workers each
    /// (`worker-r000-00`, ... at 45% CPU), one Deployment `nginx-<region>` of 2 replicas and
    /// one zone `Z000`, ... per region, and the demo's control plane; returns the seed and the
    /// REGIONS value that names them.
    pub fn large(regions: usize, per_region: usize) -> (Seed, String) {
        let mut seed = Seed::demo();
        seed.nodes.retain(|n| !n.labels.contains_key("region"));
        seed.deployments.clear();
        seed.config_maps.clear();
        let mut names = Vec::new();
        for r in 0..regions {
            let region = format!("r{r:03}");
            let zone = format!("Z{r:03}");
            seed.carbon.insert(zone.clone(), 20.0 + r as f64 * 3.0);
            seed.deployments.push(DeploymentSeed {
                namespace: "default".into(),
                name: format!("nginx-{region}"),
                replicas: 2,
                labels: BTreeMap::new(),
                node_selector: [("region".to_string(), region.clone())].into(),
            });
            names.push(format!("{region}={zone}"));
            for n in 0..per_region {
                let mut node = NodeSeed::new(&format!("worker-{region}-{n:02}"));
                node.labels.insert("region".into(), region.clone());
                node.labels
                    .insert("kubernetes.io/os".into(), "linux".into());
                node.cpu_percent = Some(45.0);
                seed.nodes.push(node);
            }
        }
        (seed, names.join(","))
    }

    /// One region's own cluster, as a fleet member: a tainted control-plane node, two ready
    /// workers `worker-1` and `worker-2` at 45% CPU (named as every such cluster names them,
    /// and without a `region` label: the cluster is the region), the Deployment
    /// `nginx-<region>` with 2 replicas in `default`, and the demo carbon and tokens. A region
    /// of the demo (denmark, france, latvia) keeps its zone and intensity; for another, `zone`
    /// (when given) is served at 100 gCO2eq/kWh.
    pub fn region(region: &str, zone: Option<&str>) -> Seed {
        let mut seed = Seed::demo();
        let control_plane = seed.nodes.remove(0);
        seed.nodes = vec![control_plane];
        for n in 1..=2 {
            let name = format!("worker-{n}");
            let mut node = NodeSeed::new(&name);
            node.labels = labels(&[
                ("kubernetes.io/hostname", &name),
                ("kubernetes.io/os", "linux"),
                ("kubernetes.io/arch", "amd64"),
                ("topology.kubernetes.io/region", region),
            ]);
            node.cpu_percent = Some(45.0);
            seed.nodes.push(node);
        }
        let deployment = format!("nginx-{region}");
        seed.deployments = vec![DeploymentSeed {
            namespace: default_namespace(),
            labels: labels(&[("app", &deployment)]),
            node_selector: BTreeMap::new(),
            name: deployment,
            replicas: 2,
        }];
        if let Some(zone) = zone.filter(|_| !DEMO_REGIONS.iter().any(|d| d.0 == region)) {
            seed.carbon.insert(zone.to_string(), 100.0);
        }
        seed
    }

    /// Puts an HPA on each seeded Deployment, named after it, with `minReplicas` 2,
    /// `maxReplicas` 6 and a CPU target of 60%: the demo as a cluster where HPA already
    /// runs (`Seed::demo().with_hpas()`). Deployments that already have an HPA or a
    /// ScaledObject keep theirs.
    pub fn with_hpas(mut self) -> Seed {
        for d in &self.deployments {
            let taken = self
                .hpas
                .iter()
                .any(|h| h.namespace == d.namespace && h.target == d.name)
                || self
                    .scaled_objects
                    .iter()
                    .any(|s| s.namespace == d.namespace && s.target == d.name);
            if !taken {
                self.hpas.push(HpaSeed {
                    namespace: d.namespace.clone(),
                    name: d.name.clone(),
                    target: d.name.clone(),
                    min_replicas: 2,
                    max_replicas: 6,
                    cpu_target_percent: Some(60),
                });
            }
        }
        self
    }

    /// Makes `nginx-<region>` KEDA-managed: a ScaledObject `nginx-<region>` (min 2, max 6,
    /// one cpu trigger at 60%) in place of any HPA the seed gave that Deployment; KEDA's
    /// HPA is then `keda-hpa-nginx-<region>`. With `with_hpas`, in either order, the other
    /// regions keep plain HPAs: `Seed::demo().with_hpas().with_keda("latvia")`.
    pub fn with_keda(mut self, region: &str) -> Seed {
        let target = format!("nginx-{region}");
        let namespace = default_namespace();
        self.hpas
            .retain(|h| !(h.namespace == namespace && h.target == target));
        self.scaled_objects.push(ScaledObjectSeed {
            namespace,
            name: target.clone(),
            target,
            min_replica_count: Some(2),
            max_replica_count: Some(6),
            cpu_target_percent: default_cpu_target(),
        });
        self
    }

    pub fn from_json(text: &str) -> anyhow::Result<Seed> {
        serde_json::from_str(text).context(
            "the seed is not valid seed JSON (see the kube-emulator README for the format)",
        )
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Seed> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read seed file {}", path.display()))?;
        Seed::from_json(&text).with_context(|| format!("in seed file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_three_regions_and_a_control_plane() {
        let seed = Seed::demo();
        let regions: Vec<_> = seed
            .nodes
            .iter()
            .filter_map(|n| n.labels.get("region").cloned())
            .collect();
        assert_eq!(regions, ["denmark", "france", "latvia"]);
        assert_eq!(seed.nodes.len(), 4);
        assert!(seed.deployments.iter().all(|d| d.replicas == 2));
        assert_eq!(seed.carbon["FR"], 38.0);
        assert_eq!(seed.tokens["demo-token"], ["*"]);
        assert_eq!(seed.secrets[0].string_data["france"], "demo-fr");
    }

    #[test]
    fn a_region_seed_is_one_region_s_cluster() {
        let seed = Seed::region("france", None);
        let workers: Vec<_> = seed
            .nodes
            .iter()
            .filter(|n| n.name.starts_with("worker-"))
            .collect();
        assert_eq!(workers.len(), 2);
        assert!(workers.iter().all(|n| !n.labels.contains_key("region")));
        assert_eq!(seed.deployments.len(), 1);
        assert_eq!(seed.deployments[0].name, "nginx-france");
        assert!(seed.deployments[0].node_selector.is_empty());
        assert_eq!(seed.carbon["FR"], 38.0);
        assert_eq!(Seed::region("spain", Some("ES")).carbon["ES"], 100.0);
    }

    #[test]
    fn demo_round_trips_through_the_file_format() {
        let text = serde_json::to_string_pretty(&Seed::demo()).unwrap();
        assert_eq!(Seed::from_json(&text).unwrap(), Seed::demo());
        let keda = Seed::demo().with_hpas().with_keda("latvia");
        let text = serde_json::to_string(&keda).unwrap();
        assert_eq!(Seed::from_json(&text).unwrap(), keda);
    }

    #[test]
    fn hpas_on_every_demo_deployment_and_keda_on_one() {
        assert!(Seed::demo().hpas.is_empty() && Seed::demo().scaled_objects.is_empty());
        let seed = Seed::demo().with_hpas();
        let targets: Vec<_> = seed.hpas.iter().map(|h| h.target.as_str()).collect();
        assert_eq!(targets, ["nginx-denmark", "nginx-france", "nginx-latvia"]);
        assert!(seed
            .hpas
            .iter()
            .all(|h| (h.min_replicas, h.max_replicas, h.cpu_target_percent) == (2, 6, Some(60))));
        for seed in [
            Seed::demo().with_hpas().with_keda("latvia"),
            Seed::demo().with_keda("latvia").with_hpas(),
        ] {
            let targets: Vec<_> = seed.hpas.iter().map(|h| h.target.as_str()).collect();
            assert_eq!(targets, ["nginx-denmark", "nginx-france"]);
            assert_eq!(seed.scaled_objects.len(), 1);
            assert_eq!(seed.scaled_objects[0].target, "nginx-latvia");
            assert_eq!(seed.scaled_objects[0].min_replica_count, Some(2));
        }
        let file = Seed::from_json(
            r#"{"hpas":[{"name":"h","target":"web","minReplicas":1,"maxReplicas":3}],
                "scaledObjects":[{"name":"s","target":"api"}]}"#,
        )
        .unwrap();
        assert_eq!(file.hpas[0].namespace, "default");
        assert_eq!(file.hpas[0].cpu_target_percent, None);
        assert_eq!(file.scaled_objects[0].cpu_target_percent, 60);
        assert_eq!(file.scaled_objects[0].max_replica_count, None);
    }

    #[test]
    fn file_format_applies_defaults_and_rejects_unknown_fields() {
        let seed = Seed::from_json(
            r#"{"nodes":[{"name":"n1","labels":{"region":"x"},"cpuUsage":"500m"}],
                "deployments":[{"name":"web","replicas":3}]}"#,
        )
        .unwrap();
        assert_eq!(seed.nodes[0].cpu, "4");
        assert!(seed.nodes[0].ready);
        assert_eq!(seed.deployments[0].namespace, "default");
        assert!(Seed::from_json(r#"{"nodez":[]}"#).is_err());
        let seed = Seed::from_json(r#"{"namespaces":["web"]}"#).unwrap();
        assert_eq!(seed.namespaces, ["web"]);
    }
}
