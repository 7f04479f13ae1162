//! Reading a cluster with as few requests as the work needs: one list each of nodes,
//! NodeMetrics and Deployments (and HPAs when SCALE_TARGET=hpa-min), issued concurrently; in
//! one cluster whatever the number of regions, in a fleet once per region's cluster.

use std::collections::BTreeMap;

use super::autoscalers::Autoscaler;
use super::cpu::{cluster_cpu, NodeFacts, NodeUsage};
use super::lists::{SlimDeployment, SlimNode, SlimNodeMetrics};
use super::quantity::cpu_cores;
use super::Cluster;
use crate::choices::ScaleTarget;
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
    /// By region; None when the region's Deployment does not exist. A region whose cluster did
    /// not answer has no entry.
    pub deployments: BTreeMap<String, Option<DeploymentView>>,
    /// Regions whose own cluster did not answer, and why (a fleet only).
    pub unobserved: BTreeMap<String, String>,
    /// The autoscaler of each region's Deployment that has one, when they were read
    /// (SCALE_TARGET=hpa-min reads them every tick).
    pub autoscalers: Option<BTreeMap<String, Autoscaler>>,
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

/// The three lists of one cluster, before they are read for the rule.
struct Lists {
    nodes: Vec<SlimNode>,
    /// NodeMetrics, or why there are none; empty when CPU is simulated.
    usage: Result<Vec<NodeUsage>, String>,
    deployments: Vec<SlimDeployment>,
    /// By Deployment name, when asked for.
    autoscalers: Option<BTreeMap<String, Autoscaler>>,
}

/// One region's own cluster as observed (a fleet member).
pub struct MemberView {
    pub nodes: Vec<NodeFacts>,
    pub node_cpu: Vec<(String, Option<f64>)>,
    /// Why NodeMetrics could not be read, if they could not.
    pub metrics_missing: Option<String>,
    pub deployment: Option<DeploymentView>,
    /// Read when SCALE_TARGET=hpa-min: the outer None means not read.
    pub autoscaler: Option<Option<Autoscaler>>,
}

impl Cluster {
    /// Nodes matching `selector`, their NodeMetrics and the namespace's Deployments, and with
    /// `floors` the autoscalers of those Deployments, issued together.
    async fn lists(
        &self,
        selector: &str,
        connect: &Connect,
        floors: Option<&[String]>,
    ) -> Result<Lists, Error> {
        let deployments_path = format!("/apis/apps/v1/namespaces/{}/deployments", self.namespace);
        let metrics = async {
            match connect.cpu_source {
                CpuSource::Metrics => self.node_usage(selector).await,
                CpuSource::Simulated(_) => Ok(Vec::new()),
            }
        };
        let autoscalers = async {
            match floors {
                Some(deployments) => self.autoscalers(deployments, true).await.map(Some),
                None => Ok(None),
            }
        };
        let (nodes, deployments, usage, autoscalers) = tokio::join!(
            self.list::<SlimNode>("/api/v1/nodes", Some(selector), true),
            self.list::<SlimDeployment>(&deployments_path, None, false),
            metrics,
            autoscalers
        );
        Ok(Lists {
            autoscalers: autoscalers?,
            nodes: nodes.map_err(Error::kube("listing nodes"))?.items,
            usage,
            deployments: deployments
                .map_err(Error::kube(format!(
                    "listing Deployments in namespace {}",
                    self.namespace
                )))?
                .items,
        })
    }

    /// One cluster holding every region, its nodes told apart by REGION_LABEL.
    pub async fn observe(
        &self,
        settings: &Settings,
        connect: &Connect,
        now: i64,
    ) -> Result<ClusterView, Error> {
        let selector = format!("{},!{CONTROL_PLANE_LABEL}", settings.region_label);
        let names: Vec<String> = settings
            .regions
            .iter()
            .map(|r| settings.deployment_name(&r.name))
            .collect();
        let floors = (settings.scale_target == ScaleTarget::HpaMin).then_some(names.as_slice());
        let lists = self.lists(&selector, connect, floors).await?;
        let nodes: Vec<NodeFacts> = lists
            .nodes
            .iter()
            .map(|n| node_facts(n, labelled_region(n, &settings.region_label)))
            .collect();
        let regions: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
        let (node_cpu, cpu) = match (connect.cpu_source, lists.usage) {
            (CpuSource::Simulated(pct), _) => (Vec::new(), simulated(pct)),
            (CpuSource::Metrics, Ok(usage)) => {
                cluster_cpu(&nodes, &usage, &regions, now, connect.metrics_max_age_secs)
            }
            (CpuSource::Metrics, Err(reason)) => (Vec::new(), CpuObservation::Missing { reason }),
        };
        let deployments = settings
            .regions
            .iter()
            .map(|r| {
                let name = settings.deployment_name(&r.name);
                (r.name.clone(), deployment_view(&lists.deployments, &name))
            })
            .collect();
        let autoscalers = lists.autoscalers.map(|mut found| {
            settings
                .regions
                .iter()
                .filter_map(|r| {
                    let a = found.remove(&settings.deployment_name(&r.name))?;
                    Some((r.name.clone(), a))
                })
                .collect()
        });
        Ok(ClusterView {
            nodes,
            node_cpu,
            cpu,
            deployments,
            unobserved: BTreeMap::new(),
            autoscalers,
        })
    }

    /// A region's own cluster: every worker node belongs to the region (narrowed by
    /// FLEET_NODE_SELECTOR), and its Deployment is the region's. Node names are prefixed with
    /// `context/`, since clusters name their nodes alike.
    pub async fn observe_member(
        &self,
        region: &str,
        context: &str,
        settings: &Settings,
        connect: &Connect,
        now: i64,
    ) -> Result<MemberView, Error> {
        let mut selector = format!("!{CONTROL_PLANE_LABEL}");
        if let Some(narrower) = connect
            .fleet
            .as_ref()
            .and_then(|f| f.node_selector.as_deref())
        {
            selector = format!("{narrower},{selector}");
        }
        let name = [settings.deployment_name(region)];
        let floors = (settings.scale_target == ScaleTarget::HpaMin).then_some(name.as_slice());
        let mut lists = self.lists(&selector, connect, floors).await?;
        let mut nodes: Vec<NodeFacts> = lists
            .nodes
            .iter()
            .map(|n| node_facts(n, Some(region.to_string())))
            .collect();
        let (mut node_cpu, metrics_missing) = match lists.usage {
            Ok(usage) => {
                let max_age = connect.metrics_max_age_secs;
                (cluster_cpu(&nodes, &usage, &[region], now, max_age).0, None)
            }
            Err(reason) => (Vec::new(), Some(reason)),
        };
        for node in &mut nodes {
            node.name = format!("{context}/{}", node.name);
        }
        for (name, _) in &mut node_cpu {
            *name = format!("{context}/{name}");
        }
        Ok(MemberView {
            nodes,
            node_cpu,
            metrics_missing,
            deployment: deployment_view(&lists.deployments, &name[0]),
            autoscaler: lists.autoscalers.as_mut().map(|a| a.remove(&name[0])),
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

pub(super) fn simulated(pct: f64) -> CpuObservation {
    CpuObservation::Known {
        average: pct,
        max: pct,
        nodes: 0,
        missing: 0,
    }
}

fn deployment_view(deployments: &[SlimDeployment], name: &str) -> Option<DeploymentView> {
    let d = deployments.iter().find(|d| d.metadata.name == name)?;
    Some(DeploymentView {
        name: name.to_string(),
        uid: d.metadata.uid.clone(),
        replicas: d.spec.replicas.unwrap_or(1),
        ready: d.status.ready_replicas,
        available: d.status.available_replicas,
    })
}

fn labelled_region(node: &SlimNode, region_label: &str) -> Option<String> {
    node.metadata.labels.get(region_label).cloned()
}

fn node_facts(node: &SlimNode, region: Option<String>) -> NodeFacts {
    let labels = &node.metadata.labels;
    NodeFacts {
        name: node.metadata.name.clone(),
        region,
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
