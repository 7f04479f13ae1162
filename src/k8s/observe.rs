//! Reading the cluster with as few requests as the work needs: one list each of nodes,
//! NodeMetrics and Deployments, whatever the number of regions, issued concurrently.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::Api;

use super::cpu::{cluster_cpu, NodeFacts, NodeUsage};
use super::quantity::cpu_cores;
use super::Cluster;
use crate::clock::parse_rfc3339;
use crate::config::{Connect, CpuSource, Settings};
use crate::error::Error;
use crate::policy::CpuObservation;

const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// A region's Deployment as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentView {
    pub name: String,
    pub uid: Option<String>,
    pub replicas: i32,
    pub ready: i32,
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

impl Cluster {
    pub async fn observe(
        &self,
        settings: &Settings,
        connect: &Connect,
        now: i64,
    ) -> Result<ClusterView, Error> {
        let selector = format!("{},!{CONTROL_PLANE_LABEL}", settings.region_label);
        let nodes_api: Api<Node> = Api::all(self.client.clone());
        let deployments_api: Api<Deployment> =
            Api::namespaced(self.client.clone(), &self.namespace);
        let params = ListParams::default().labels(&selector);
        let metrics = async {
            match connect.cpu_source {
                CpuSource::Metrics => self.node_usage(&params).await,
                CpuSource::Simulated(_) => Ok(Vec::new()),
            }
        };
        let every = ListParams::default();
        let (nodes, deployments, usage) = tokio::join!(
            nodes_api.list(&params),
            deployments_api.list(&every),
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
                },
            ),
            (CpuSource::Metrics, Ok(usage)) => {
                cluster_cpu(&nodes, &usage, &regions, now, connect.metrics_max_age_secs)
            }
            (CpuSource::Metrics, Err(reason)) => (Vec::new(), CpuObservation::Missing { reason }),
        };
        let by_name: BTreeMap<&str, &Deployment> = deployments
            .items
            .iter()
            .filter_map(|d| Some((d.metadata.name.as_deref()?, d)))
            .collect();
        let deployments = settings
            .regions
            .iter()
            .map(|r| {
                let name = settings.deployment_name(&r.name);
                let view = by_name.get(name.as_str()).map(|d| DeploymentView {
                    name: name.clone(),
                    uid: d.metadata.uid.clone(),
                    replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                    ready: d
                        .status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
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
    async fn node_usage(&self, params: &ListParams) -> Result<Vec<NodeUsage>, String> {
        let resource = ApiResource {
            group: "metrics.k8s.io".into(),
            version: "v1beta1".into(),
            api_version: "metrics.k8s.io/v1beta1".into(),
            kind: "NodeMetrics".into(),
            plural: "nodes".into(),
        };
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let list = api.list(params).await.map_err(|e| match &e {
            kube::Error::Api(status) if status.code == 404 => {
                "metrics API metrics.k8s.io is not available (is metrics-server installed? check `kubectl top nodes`)".to_string()
            }
            _ => format!("listing NodeMetrics failed: {e}; check `kubectl top nodes`"),
        })?;
        Ok(list
            .items
            .iter()
            .filter_map(|m| {
                Some(NodeUsage {
                    name: m.metadata.name.clone()?,
                    cores: cpu_cores(m.data.get("usage")?.get("cpu")?.as_str()?)?,
                    timestamp: parse_rfc3339(m.data.get("timestamp")?.as_str()?)?,
                })
            })
            .collect())
    }
}

fn node_facts(node: &Node, region_label: &str) -> NodeFacts {
    let labels = node.metadata.labels.as_ref();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        region: labels.and_then(|l| l.get(region_label)).cloned(),
        ready,
        cordoned: node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false),
        control_plane: labels.is_some_and(|l| l.contains_key(CONTROL_PLANE_LABEL)),
        allocatable_cores: node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get("cpu"))
            .and_then(|q| cpu_cores(&q.0)),
    }
}
