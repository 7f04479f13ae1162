//! Reading the cluster with as few requests as the work needs: one list each of nodes,
//! NodeMetrics and Deployments, whatever the number of regions, issued concurrently.

use std::collections::BTreeMap;

use super::cpu::{cluster_cpu, NodeFacts, NodeUsage};
use super::lists::{SlimDeployment, SlimNode, SlimNodeMetrics};
use super::quantity::cpu_cores;
use super::Cluster;
use crate::clock::parse_rfc3339;
use crate::config::{Connect, CpuSource, Settings};
use crate::error::{describe, Error};
use crate::policy::{CpuObservation, NodeCount};

const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// A region's Deployment as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentView {
    pub name: String,
    pub uid: Option<String>,
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
}

/// What one look at the cluster found.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    pub nodes: Vec<NodeFacts>,
    /// Per counted node, its CPU percentage when it had a fresh sample.
    pub node_cpu: Vec<(String, Option<f64>)>,
    pub cpu: CpuObservation,
    /// By region; None when the region's Deployment does not exist.
    pub deployments: BTreeMap<String, Option<DeploymentView>>,
}

impl ClusterView {
    /// A region's worker nodes, and how many can take a pod (ready and not cordoned).
    pub fn node_count(&self, region: &str) -> NodeCount {
        let nodes = self
            .nodes
            .iter()
            .filter(|n| !n.control_plane && n.region.as_deref() == Some(region));
        let (total, ready) = nodes.fold((0, 0), |(total, ready), n| {
            (total + 1, ready + usize::from(n.ready && !n.cordoned))
        });
        NodeCount { total, ready }
    }
}

impl Cluster {
    pub async fn observe(
        &self,
        settings: &Settings,
        connect: &Connect,
        now: i64,
    ) -> Result<ClusterView, Error> {
        let selector = format!("{},!{CONTROL_PLANE_LABEL}", settings.region_label);
        let deployments_path = format!("/apis/apps/v1/namespaces/{}/deployments", self.namespace);
        let metrics = async {
            match connect.cpu_source {
                CpuSource::Metrics => self.node_usage(&selector).await,
                CpuSource::Simulated(_) => Ok(Vec::new()),
            }
        };
        let (nodes, deployments, usage) = tokio::join!(
            self.list::<SlimNode>("/api/v1/nodes", Some(&selector), true),
            self.list::<SlimDeployment>(&deployments_path, None, false),
            metrics
        );
        let nodes: Vec<NodeFacts> = nodes
            .map_err(Error::kube("listing nodes"))?
            .items
            .iter()
            .map(|n| node_facts(n, &settings.region_label))
            .collect();
        let deployments = deployments.map_err(Error::kube(format!(
            "listing Deployments in namespace {}",
            self.namespace
        )))?;
        let regions: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
        let (node_cpu, cpu) = match (connect.cpu_source, usage) {
            (CpuSource::Simulated(pct), _) => (
                Vec::new(),
                CpuObservation::Known {
                    average: pct,
                    max: pct,
                    nodes: 0,
                    missing: 0,
                },
            ),
            (CpuSource::Metrics, Ok(usage)) => {
                cluster_cpu(&nodes, &usage, &regions, now, connect.metrics_max_age_secs)
            }
            (CpuSource::Metrics, Err(reason)) => (Vec::new(), CpuObservation::Missing { reason }),
        };
        let by_name: BTreeMap<&str, &SlimDeployment> = deployments
            .items
            .iter()
            .map(|d| (d.metadata.name.as_str(), d))
            .collect();
        let deployments = settings
            .regions
            .iter()
            .map(|r| {
                let name = settings.deployment_name(&r.name);
                let view = by_name.get(name.as_str()).map(|d| DeploymentView {
                    name: name.clone(),
                    uid: d.metadata.uid.clone(),
                    replicas: d.spec.replicas.unwrap_or(1),
                    ready: d.status.ready_replicas,
                    available: d.status.available_replicas,
                });
                (r.name.clone(), view)
            })
            .collect();
        Ok(ClusterView {
            nodes,
            node_cpu,
            cpu,
            deployments,
        })
    }

    /// NodeMetrics, or why they are unavailable (metrics-server absent, forbidden, failing).
    async fn node_usage(&self, selector: &str) -> Result<Vec<NodeUsage>, String> {
        let list = self
            .list::<SlimNodeMetrics>("/apis/metrics.k8s.io/v1beta1/nodes", Some(selector), false)
            .await
            .map_err(|e| match &e {
                kube::Error::Api(status) if status.code == 404 => {
                    "metrics API metrics.k8s.io is not available (is metrics-server installed? check `kubectl top nodes`)".to_string()
                }
                _ => format!("listing NodeMetrics failed: {}; check `kubectl top nodes`", describe(&e)),
            })?;
        Ok(list
            .items
            .iter()
            .filter_map(|m| {
                Some(NodeUsage {
                    name: m.metadata.name.clone(),
                    cores: cpu_cores(m.usage.get("cpu")?)?,
                    timestamp: parse_rfc3339(&m.timestamp)?,
                })
            })
            .collect())
    }
}

fn node_facts(node: &SlimNode, region_label: &str) -> NodeFacts {
    let labels = &node.metadata.labels;
    NodeFacts {
        name: node.metadata.name.clone(),
        region: labels.get(region_label).cloned(),
        ready: node
            .status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
        cordoned: node.spec.unschedulable,
        control_plane: labels.contains_key(CONTROL_PLANE_LABEL),
        allocatable_cores: node
            .status
            .allocatable
            .get("cpu")
            .and_then(|q| cpu_cores(q)),
    }
}
