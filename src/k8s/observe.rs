//! Reading a cluster with as few requests as the work needs: one list each of NodeMetrics,
//! nodes and Deployments (and HPAs when SCALE_TARGET=hpa-min); in one cluster whatever the
//! number of regions, in a fleet once per region's cluster. The node list follows NodeMetrics,
//! since what it asks for depends on them: only the cordoned nodes while the node snapshot in
//! the state stands for the rest (see `node_snapshot`), every node when it does not.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::autoscalers::Autoscaler;
use super::cpu::{cluster_cpu, NodeCpu, NodeFacts};
use super::lists::{node_metrics, List, Query, SlimDeployment, SlimNode};
use super::quantity::cpu_cores;
use super::usage::{NodeUsage, Usage};
use super::Cluster;
use crate::choices::ScaleTarget;
use crate::clock::parse_rfc3339;
use crate::config::{Connect, CpuSource, Settings};
use crate::error::{describe, Error};
use crate::name_hash::NameMap;
use crate::node_snapshot::{
    refresh_reason, ListedNode, NodeSnapshot, Snapshots, MAX_SNAPSHOT_BYTES, ONE_CLUSTER,
};
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
    pub node_cpu: Vec<NodeCpu>,
    pub cpu: CpuObservation,
    /// By region; None when the region's Deployment does not exist. A region whose cluster did
    /// not answer has no entry.
    pub deployments: BTreeMap<String, Option<DeploymentView>>,
    /// Regions whose own cluster did not answer, and why (a fleet only).
    pub unobserved: BTreeMap<String, String>,
    /// The autoscaler of each region's Deployment that has one, when they were read
    /// (SCALE_TARGET=hpa-min reads them every tick).
    pub autoscalers: Option<BTreeMap<String, Autoscaler>>,
    /// The node snapshots to remember, by cluster: the ones that stood, new ones where every
    /// node was read, the previous ones of clusters that did not answer.
    pub snapshots: BTreeMap<String, Arc<NodeSnapshot>>,
}

impl ClusterView {
    /// Each region's worker nodes, and how many can take a pod (ready and not cordoned), in
    /// one pass over the nodes.
    pub fn node_counts(&self) -> NameMap<'_, NodeCount> {
        let mut counts: NameMap<NodeCount> = NameMap::default();
        for n in self.nodes.iter().filter(|n| !n.control_plane) {
            if let Some(region) = n.region.as_deref() {
                let count = counts.entry(region).or_default();
                count.total += 1;
                count.ready += usize::from(n.ready && !n.cordoned);
            }
        }
        counts
    }
}

/// What a cluster is asked for whatever the state holds: NodeMetrics (unless CPU is
/// simulated), the namespace's Deployments and, when asked for, the autoscalers. A tick asks
/// for them while it reads its state; only the node list waits for the state's node snapshot.
/// Failures are kept for `observe` to report, in the order it always has.
pub struct FirstLists {
    /// None when CPU is simulated.
    usage: Option<Result<Usage, String>>,
    deployments: Result<Vec<SlimDeployment>, kube::Error>,
    autoscalers: Result<Option<BTreeMap<String, Autoscaler>>, Error>,
}

/// The Deployments whose autoscalers a tick reads with the first lists: `names` with
/// SCALE_TARGET=hpa-min, none otherwise.
pub fn floors_of<'a>(settings: &Settings, names: &'a [String]) -> Option<&'a [String]> {
    (settings.scale_target == ScaleTarget::HpaMin).then_some(names)
}

/// The label selector of the region nodes of a cluster holding every region.
pub fn region_nodes(settings: &Settings) -> String {
    format!("{},!{CONTROL_PLANE_LABEL}", settings.region_label)
}

/// The worker nodes of a region's own cluster, narrowed by FLEET_NODE_SELECTOR.
pub fn member_nodes(connect: &Connect) -> String {
    let workers = format!("!{CONTROL_PLANE_LABEL}");
    match connect
        .fleet
        .as_ref()
        .and_then(|f| f.node_selector.as_deref())
    {
        Some(narrower) => format!("{narrower},{workers}"),
        None => workers,
    }
}

/// The lists of one cluster, before they are read for the rule.
struct Lists {
    nodes: Vec<NodeFacts>,
    /// NodeMetrics, or why there are none; empty when CPU is simulated.
    usage: Result<Usage, String>,
    /// The node snapshot to remember: the one given when it stood, a new one when every node
    /// was read; the one given when CPU is simulated (every node is read, nothing is learnt
    /// about NodeMetrics).
    snapshot: Option<Arc<NodeSnapshot>>,
    deployments: Vec<SlimDeployment>,
    /// By Deployment name, when asked for.
    autoscalers: Option<BTreeMap<String, Autoscaler>>,
}

/// Which nodes a cluster's lists ask for, how a node's region is known, and what the state
/// remembers of them.
struct NodeScope<'a> {
    selector: &'a str,
    region: RegionOf<'a>,
    snapshot: Option<&'a Arc<NodeSnapshot>>,
}

/// From the node's label in one cluster; from the cluster itself in a fleet.
enum RegionOf<'a> {
    Label(&'a str),
    Cluster(&'a str),
}

/// The nodes of a cluster as a tick sees them, their NodeMetrics (or why there are none), and
/// the node snapshot to remember.
struct NodesSeen {
    nodes: Vec<NodeFacts>,
    usage: Result<Usage, String>,
    snapshot: Option<Arc<NodeSnapshot>>,
}

impl NodeScope<'_> {
    fn listed(&self, node: &SlimNode) -> ListedNode {
        let region = match self.region {
            RegionOf::Label(label) => node.metadata.labels.get(label).map(|r| r.as_str().into()),
            RegionOf::Cluster(region) => Some(region.into()),
        };
        ListedNode {
            facts: node_facts(node, region),
            cpu: node.status.allocatable.get("cpu").cloned(),
        }
    }
}

/// One region's own cluster as observed (a fleet member).
pub struct MemberView {
    pub nodes: Vec<NodeFacts>,
    pub node_cpu: Vec<NodeCpu>,
    /// Why NodeMetrics could not be read, if they could not.
    pub metrics_missing: Option<String>,
    pub deployment: Option<DeploymentView>,
    /// Read when SCALE_TARGET=hpa-min: the outer None means not read.
    pub autoscaler: Option<Option<Autoscaler>>,
    pub snapshot: Option<Arc<NodeSnapshot>>,
}

impl Cluster {
    /// NodeMetrics of the nodes `selector` picks, the namespace's Deployments and, with
    /// `floors`, the autoscalers of those Deployments, all asked for at once.
    pub async fn first_lists(
        &self,
        selector: &str,
        connect: &Connect,
        floors: Option<&[String]>,
    ) -> FirstLists {
        let deployments_path = format!("/apis/apps/v1/namespaces/{}/deployments", self.namespace);
        let usage = async {
            match connect.cpu_source {
                CpuSource::Metrics => Some(self.node_usage(selector).await),
                CpuSource::Simulated(_) => None,
            }
        };
        let autoscalers = async {
            match floors {
                Some(deployments) => self.autoscalers(deployments, true).await.map(Some),
                None => Ok(None),
            }
        };
        let (usage, deployments, autoscalers) = tokio::join!(
            usage,
            self.list::<SlimDeployment>(&deployments_path, Query::default()),
            autoscalers
        );
        FirstLists {
            usage,
            deployments: deployments.map(|list| list.items),
            autoscalers,
        }
    }

    /// The nodes in `scope` with `first`, the lists asked for before.
    async fn lists(
        &self,
        scope: &NodeScope<'_>,
        first: FirstLists,
        now: i64,
        refresh_secs: i64,
    ) -> Result<Lists, Error> {
        let seen = self.nodes(scope, first.usage, now, refresh_secs).await?;
        Ok(Lists {
            autoscalers: first.autoscalers?,
            nodes: seen.nodes,
            usage: seen.usage,
            snapshot: seen.snapshot,
            deployments: first.deployments.map_err(Error::kube(format!(
                "listing Deployments in namespace {}",
                self.namespace
            )))?,
        })
    }

    /// The nodes, after NodeMetrics (`usage`, None when CPU is simulated): the cordoned ones
    /// while the snapshot stands, else all.
    async fn nodes(
        &self,
        scope: &NodeScope<'_>,
        usage: Option<Result<Usage, String>>,
        now: i64,
        refresh_secs: i64,
    ) -> Result<NodesSeen, Error> {
        let Some(usage) = usage else {
            let listed = self.node_list(scope, None).await?;
            return Ok(NodesSeen {
                nodes: listed.into_iter().map(|n| n.facts).collect(),
                usage: Ok(Usage::default()),
                snapshot: scope.snapshot.cloned(),
            });
        };
        let none = Usage::default();
        let metered = usage.as_ref().unwrap_or(&none);
        let stale = refresh_reason(
            scope.snapshot.map(|s| &**s),
            scope.selector,
            metered,
            now,
            refresh_secs,
        );
        let (nodes, snapshot) = match (scope.snapshot, stale) {
            (Some(snapshot), None) => {
                let cordoned = self
                    .node_list(scope, Some("spec.unschedulable=true"))
                    .await?;
                let cordoned: Vec<NodeFacts> = cordoned.into_iter().map(|n| n.facts).collect();
                (snapshot.facts(&cordoned, metered), Some(snapshot.clone()))
            }
            (_, why) => {
                log::debug!("reading every node: {}", why.unwrap_or_default());
                let listed = self.node_list(scope, None).await?;
                let kept = match NodeSnapshot::take(&listed, metered, scope.selector, now) {
                    Some(fresh) if fresh.fits() => Some(Arc::new(fresh)),
                    Some(_) => {
                        log::warn!(
                            "the node snapshot of {} nodes is over {} KiB, more than the state keeps: every tick reads every node",
                            listed.len(),
                            MAX_SNAPSHOT_BYTES / 1024
                        );
                        None
                    }
                    None => {
                        log::warn!(
                            "a node's name is empty or holds a comma, which the node snapshot cannot keep: every tick reads every node"
                        );
                        None
                    }
                };
                (listed.into_iter().map(|n| n.facts).collect(), kept)
            }
        };
        Ok(NodesSeen {
            nodes,
            usage,
            snapshot,
        })
    }

    /// The nodes in `scope` matching `fields`, from the API server's watch cache.
    async fn node_list(
        &self,
        scope: &NodeScope<'_>,
        fields: Option<&str>,
    ) -> Result<Vec<ListedNode>, Error> {
        let query = Query {
            labels: Some(scope.selector),
            fields,
            cached: true,
        };
        let list: List<SlimNode> = self
            .list("/api/v1/nodes", query)
            .await
            .map_err(Error::kube(if fields.is_some() {
                "listing cordoned nodes"
            } else {
                "listing nodes"
            }))?;
        Ok(list.items.iter().map(|n| scope.listed(n)).collect())
    }

    /// One cluster holding every region, its nodes told apart by REGION_LABEL.
    /// `first` are its `first_lists` for `region_nodes(settings)` and, with
    /// SCALE_TARGET=hpa-min, every region's Deployment.
    pub async fn observe(
        &self,
        settings: &Settings,
        connect: &Connect,
        snapshots: &Snapshots,
        first: FirstLists,
        now: i64,
    ) -> Result<ClusterView, Error> {
        let selector = region_nodes(settings);
        let scope = NodeScope {
            selector: &selector,
            region: RegionOf::Label(&settings.region_label),
            snapshot: snapshots.get(ONE_CLUSTER),
        };
        let lists = self
            .lists(&scope, first, now, connect.node_refresh_secs)
            .await?;
        let nodes = lists.nodes;
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
            snapshots: lists
                .snapshot
                .map(|s| (ONE_CLUSTER.to_string(), s))
                .into_iter()
                .collect(),
        })
    }

    /// A region's own cluster: every worker node belongs to the region (narrowed by
    /// FLEET_NODE_SELECTOR), and its Deployment is the region's. Node names are prefixed with
    /// `context/`, since clusters name their nodes alike. `first` are its `first_lists` for
    /// `member_nodes(connect)` and, with SCALE_TARGET=hpa-min, the region's Deployment.
    pub async fn observe_member(
        &self,
        (region, context): (&str, &str),
        settings: &Settings,
        connect: &Connect,
        snapshot: Option<&Arc<NodeSnapshot>>,
        first: FirstLists,
        now: i64,
    ) -> Result<MemberView, Error> {
        let selector = member_nodes(connect);
        let name = [settings.deployment_name(region)];
        let scope = NodeScope {
            selector: &selector,
            region: RegionOf::Cluster(region),
            snapshot,
        };
        let mut lists = self
            .lists(&scope, first, now, connect.node_refresh_secs)
            .await?;
        let mut nodes = std::mem::take(&mut lists.nodes);
        let (mut node_cpu, metrics_missing) = match lists.usage {
            Ok(usage) => {
                let max_age = connect.metrics_max_age_secs;
                (cluster_cpu(&nodes, &usage, &[region], now, max_age).0, None)
            }
            Err(reason) => (Vec::new(), Some(reason)),
        };
        for node in &mut nodes {
            node.name = format!("{context}/{}", node.name).into();
        }
        for (name, _) in &mut node_cpu {
            *name = format!("{context}/{name}").into();
        }
        Ok(MemberView {
            nodes,
            node_cpu,
            metrics_missing,
            deployment: deployment_view(&lists.deployments, &name[0]),
            autoscaler: lists.autoscalers.as_mut().map(|a| a.remove(&name[0])),
            snapshot: lists.snapshot,
        })
    }

    /// NodeMetrics, or why they are unavailable (metrics-server absent, forbidden, failing).
    async fn node_usage(&self, selector: &str) -> Result<Usage, String> {
        let query = Query {
            labels: Some(selector),
            ..Query::default()
        };
        let body = self
            .get_body("/apis/metrics.k8s.io/v1beta1/nodes", query)
            .await
            .map_err(|e| match &e {
                kube::Error::Api(status) if status.code == 404 => {
                    "metrics API metrics.k8s.io is not available (is metrics-server installed? check `kubectl top nodes`)".to_string()
                }
                _ => format!("listing NodeMetrics failed: {}; check `kubectl top nodes`", describe(&e)),
            })?;
        // An item is some 250 to 300 bytes (name, labels, times, usage): room for one per 200
        // bytes holds the list without growing.
        let mut usage = Vec::with_capacity(body.len() / 200);
        // metrics-server scrapes all nodes together: most items share one timestamp, read once.
        let mut last: Option<(Cow<str>, Option<i64>)> = None;
        node_metrics(&body, |m| {
            let timestamp = match &last {
                Some((text, parsed)) if *text == m.timestamp => *parsed,
                _ => parse_rfc3339(&m.timestamp),
            };
            let cores = m.cpu.as_deref().and_then(cpu_cores);
            if let (Some(cores), Some(timestamp)) = (cores, timestamp) {
                usage.push(NodeUsage {
                    name: Arc::from(&*m.name),
                    cores,
                    timestamp,
                });
            }
            last = Some((m.timestamp, timestamp));
        })
        .map_err(|e| format!("the NodeMetrics list could not be read: {e}"))?;
        Ok(Usage::new(usage))
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

fn node_facts(node: &SlimNode, region: Option<Arc<str>>) -> NodeFacts {
    let labels = &node.metadata.labels;
    NodeFacts {
        name: node.metadata.name.as_str().into(),
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
