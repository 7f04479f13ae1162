//! Cluster CPU from nodes and NodeMetrics: pure, so the edge cases are table-tested.

use std::sync::Arc;

use super::usage::Usage;
use crate::name_hash::NameSet;
use crate::policy::CpuObservation;

/// A node as the rule cares about it. Name and region are shared, not copied: on 5,000 nodes a
/// tick hands each name from NodeMetrics to the facts and on to the per-node CPU, and the
/// nodes of a region share its name.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    pub name: Arc<str>,
    pub region: Option<Arc<str>>,
    pub ready: bool,
    pub cordoned: bool,
    pub control_plane: bool,
    pub allocatable_cores: Option<f64>,
}

/// A counted node's name and its CPU percentage, when it had a fresh sample.
pub type NodeCpu = (Arc<str>, Option<f64>);

impl NodeFacts {
    /// Ready, schedulable and a worker: in a configured region, a node whose CPU counts.
    pub fn schedulable_worker(&self) -> bool {
        self.ready && !self.cordoned && !self.control_plane
    }
}

/// Per counted node, its CPU percentage if it has a fresh sample; then the cluster figure.
pub fn cluster_cpu(
    nodes: &[NodeFacts],
    usage: &Usage,
    regions: &[&str],
    now: i64,
    max_age_secs: i64,
) -> (Vec<NodeCpu>, CpuObservation) {
    // By name and by hash, so a 5,000-node, 100-region cluster costs one pass over the nodes,
    // not one per node or per region.
    let wanted: NameSet = regions.iter().copied().collect();
    let per_node: Vec<NodeCpu> = nodes
        .iter()
        .filter(|n| {
            n.schedulable_worker() && n.region.as_deref().is_some_and(|r| wanted.contains(r))
        })
        .map(|n| {
            let pct = usage
                .sample(&n.name)
                .filter(|u| now - u.timestamp <= max_age_secs)
                .zip(n.allocatable_cores.filter(|c| *c > 0.0))
                .map(|(u, cores)| u.cores / cores * 100.0);
            (n.name.clone(), pct)
        })
        .collect();
    let cpu = combine(
        &per_node,
        0,
        "no ready, schedulable node carries a configured region label",
    );
    (per_node, cpu)
}

/// The cluster figure from per-node percentages, with `silent` more nodes known to exist but
/// not seen (a region whose cluster did not answer) counted as nodes without a sample.
pub fn combine(per_node: &[NodeCpu], silent: usize, no_nodes: &str) -> CpuObservation {
    let known: Vec<f64> = per_node.iter().filter_map(|(_, p)| *p).collect();
    if per_node.is_empty() && silent == 0 {
        CpuObservation::Missing {
            reason: no_nodes.into(),
        }
    } else if known.is_empty() {
        CpuObservation::Missing {
            reason: format!(
                "no fresh NodeMetrics for the {} ready region node(s); check `kubectl top nodes`",
                per_node.len() + silent
            ),
        }
    } else {
        CpuObservation::Known {
            average: known.iter().sum::<f64>() / known.len() as f64,
            max: known.iter().copied().fold(f64::MIN, f64::max),
            nodes: known.len(),
            missing: per_node.len() + silent - known.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::usage::NodeUsage;

    const NOW: i64 = 1_800_000_000;

    fn node(name: &str, region: Option<&str>) -> NodeFacts {
        NodeFacts {
            name: name.into(),
            region: region.map(Arc::from),
            ready: true,
            cordoned: false,
            control_plane: false,
            allocatable_cores: Some(4.0),
        }
    }

    fn used(name: &str, cores: f64, age: i64) -> NodeUsage {
        NodeUsage {
            name: name.into(),
            cores,
            timestamp: NOW - age,
        }
    }

    #[test]
    fn counts_only_ready_schedulable_region_workers_with_fresh_samples() {
        let mut not_ready = node("c", Some("latvia"));
        not_ready.ready = false;
        let mut cordoned = node("d", Some("latvia"));
        cordoned.cordoned = true;
        let mut cp = node("e", Some("latvia"));
        cp.control_plane = true;
        let nodes = vec![
            node("a", Some("denmark")),
            node("b", Some("france")),
            not_ready,
            cordoned,
            cp,
            node("f", None),
            node("g", Some("spain")),
            node("h", Some("latvia")),
        ];
        // Excluded nodes have busy samples that must not count; h's sample is too old.
        let usage = vec![
            used("a", 2.0, 10),
            used("b", 3.6, 10),
            used("c", 4.0, 10),
            used("d", 4.0, 10),
            used("e", 4.0, 10),
            used("f", 4.0, 10),
            used("g", 4.0, 10),
            used("h", 1.0, 181),
        ];
        let (per_node, cpu) = cluster_cpu(
            &nodes,
            &Usage::new(usage),
            &["denmark", "france", "latvia"],
            NOW,
            180,
        );
        assert_eq!(
            per_node,
            vec![
                ("a".into(), Some(50.0)),
                ("b".into(), Some(90.0)),
                ("h".into(), None)
            ]
        );
        assert_eq!(
            cpu,
            CpuObservation::Known {
                average: 70.0,
                max: 90.0,
                nodes: 2,
                missing: 1,
            }
        );
    }

    #[test]
    fn no_fresh_samples_or_no_nodes_is_missing_with_a_hint() {
        let nodes = vec![node("a", Some("denmark"))];
        let (_, cpu) = cluster_cpu(
            &nodes,
            &Usage::new(vec![used("a", 1.0, 500)]),
            &["denmark"],
            NOW,
            180,
        );
        assert!(
            matches!(cpu, CpuObservation::Missing { ref reason } if reason.contains("kubectl top nodes"))
        );
        let (_, cpu) = cluster_cpu(&[], &Usage::default(), &["denmark"], NOW, 180);
        assert!(
            matches!(cpu, CpuObservation::Missing { ref reason } if reason.contains("no ready"))
        );
    }

    #[test]
    fn a_node_without_allocatable_cpu_has_no_figure_and_silent_nodes_count_as_missing() {
        let mut zero = node("z", Some("denmark"));
        zero.allocatable_cores = Some(0.0);
        let nodes = vec![node("a", Some("denmark")), zero];
        let usage = vec![used("a", 2.0, 10), used("z", 1.0, 10)];
        let (per_node, _) = cluster_cpu(&nodes, &Usage::new(usage), &["denmark"], NOW, 180);
        assert_eq!(per_node[1], ("z".into(), None), "not infinity");
        // A fleet region that did not answer: its 2 remembered nodes are missing samples.
        assert_eq!(
            combine(&per_node, 2, "none"),
            CpuObservation::Known {
                average: 50.0,
                max: 50.0,
                nodes: 1,
                missing: 3,
            }
        );
        assert!(matches!(
            combine(&[], 2, "none"),
            CpuObservation::Missing { ref reason } if reason.contains("for the 2 ready region node(s)")
        ));
    }
}
