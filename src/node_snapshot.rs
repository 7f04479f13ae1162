//! What a tick remembers of the nodes between ticks, so that it reads full Node objects only
//! when something may have changed. NodeMetrics are read every tick anyway (they carry each
//! node's usage), and they are the signal: a node that appears, disappears, becomes NotReady
//! (its kubelet can no longer be scraped) or comes back changes the set of nodes NodeMetrics
//! name. While that set is the one the last full read saw, the snapshot stands, up to
//! NODE_REFRESH; cordoned nodes are listed every tick by field selector (normally none).
//!
//! What the snapshot may miss until NODE_REFRESH: a node that turns NotReady while its kubelet
//! still answers metrics-server (its CPU keeps counting, as it did a minute before), and a new
//! allocatable CPU on a node that stayed (its percentage is off by the change). Neither can
//! make the rule act on data it lacks: a node without fresh NodeMetrics counts as missing, as
//! always.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::duration::format_secs;
use crate::k8s::cpu::NodeFacts;
use crate::k8s::quantity::cpu_cores;
use crate::k8s::usage::Usage;
use crate::name_hash::{NameMap, NameSet};
use crate::node_names::NodeNames;

/// The key of the snapshot of a cluster holding every region (a fleet keys each region's own
/// cluster by its kubeconfig context, so a region pointed at another cluster starts afresh).
pub const ONE_CLUSTER: &str = "*";

/// The largest snapshot kept in the state, as JSON: the state ConfigMap must stay well under
/// the API server's 1 MiB limit (about 5,600 nodes with 45-character names, or 2,800 if none
/// has NodeMetrics, since each unmetered name is written twice).
pub const MAX_SNAPSHOT_BYTES: usize = 256 * 1024;

/// The worker nodes of one cluster as a full node list showed them, in the state's `nodes` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSnapshot {
    /// When the full list was read.
    #[serde(with = "crate::clock::rfc3339")]
    pub read_at: i64,
    /// The label selector it was read with: a snapshot of other nodes is not used.
    pub selector: String,
    /// Nodes grouped by region and allocatable CPU, names sorted: about the size of the
    /// names alone, so 5,000 nodes fit a ConfigMap with room to spare.
    pub groups: Vec<NodeGroup>,
    /// Nodes whose Ready condition was not True.
    #[serde(default, skip_serializing_if = "NodeNames::is_empty")]
    pub not_ready: NodeNames,
    /// Nodes NodeMetrics did not name at the read (NotReady ones, or not scraped yet).
    #[serde(default, skip_serializing_if = "NodeNames::is_empty")]
    pub unmetered: NodeNames,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Allocatable CPU as the Node states it (`4`, `3900m`); absent when it states none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Sorted.
    pub nodes: NodeNames,
}

/// The state's `nodes` key: the snapshots by cluster and, while they are the ones it held,
/// the text they were read from. A tick whose snapshots stood writes that text back as it was
/// instead of encoding (and checking by reading back) some 100 KB of names every minute. The
/// text cannot go stale: the snapshots change only through `replace`, which drops it unless
/// nothing changed. Each snapshot is shared, not copied, between the state read, the tick's
/// look at the nodes and the state written: a snapshot that stood is the same one throughout.
#[derive(Debug, Clone, Default)]
pub struct Snapshots {
    by_cluster: BTreeMap<String, Arc<NodeSnapshot>>,
    read_from: Option<Arc<str>>,
}

/// Equal when they hold the same snapshots, whatever text they came from (one shared snapshot
/// is equal to itself without comparing its names).
impl PartialEq for Snapshots {
    fn eq(&self, other: &Self) -> bool {
        self.by_cluster == other.by_cluster
    }
}

impl From<BTreeMap<String, NodeSnapshot>> for Snapshots {
    fn from(by_cluster: BTreeMap<String, NodeSnapshot>) -> Snapshots {
        Snapshots {
            by_cluster: by_cluster
                .into_iter()
                .map(|(cluster, s)| (cluster, Arc::new(s)))
                .collect(),
            read_from: None,
        }
    }
}

impl Snapshots {
    /// The snapshots `text` holds, remembered with it.
    pub fn read(text: &str) -> Result<Snapshots, serde_json::Error> {
        let by_cluster: BTreeMap<String, NodeSnapshot> = serde_json::from_str(text)?;
        Ok(Snapshots {
            read_from: Some(text.into()),
            ..Snapshots::from(by_cluster)
        })
    }

    pub fn get(&self, cluster: &str) -> Option<&Arc<NodeSnapshot>> {
        self.by_cluster.get(cluster)
    }

    pub fn is_empty(&self) -> bool {
        self.by_cluster.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<NodeSnapshot>)> {
        self.by_cluster.iter()
    }

    /// Puts `snapshots` in place of these; the text read stays only if they are the same.
    pub fn replace(&mut self, snapshots: BTreeMap<String, Arc<NodeSnapshot>>) {
        if snapshots != self.by_cluster {
            self.by_cluster = snapshots;
            self.read_from = None;
        }
    }

    /// Passes each snapshot's read time to `clamp` (with its cluster), which may bring it
    /// back; the text read is dropped when one changes.
    pub fn clamp_read_at(&mut self, mut clamp: impl FnMut(&str, &mut i64)) {
        let mut changed = false;
        for (cluster, snapshot) in &mut self.by_cluster {
            let mut read_at = snapshot.read_at;
            clamp(cluster, &mut read_at);
            if read_at != snapshot.read_at {
                Arc::make_mut(snapshot).read_at = read_at;
                changed = true;
            }
        }
        if changed {
            self.read_from = None;
        }
    }

    /// The text to write: the one read while the snapshots are unchanged, else encoded anew.
    pub fn text(&self) -> String {
        match &self.read_from {
            Some(text) => text.to_string(),
            None => {
                let plain: BTreeMap<&str, &NodeSnapshot> = self
                    .by_cluster
                    .iter()
                    .map(|(cluster, s)| (cluster.as_str(), &**s))
                    .collect();
                serde_json::to_string(&plain).expect("snapshots serialise")
            }
        }
    }

    /// Whether `text()` is the text these snapshots were read from (and so needs no check
    /// that it reads back as them).
    pub fn as_read(&self) -> bool {
        self.read_from.is_some()
    }
}

/// A node as a full list shows it, with its allocatable CPU as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedNode {
    pub facts: NodeFacts,
    pub cpu: Option<String>,
}

impl NodeSnapshot {
    /// The snapshot of a full list's worker nodes; `metered` holds the nodes NodeMetrics listed.
    /// None when a name is empty or holds a comma, which no Node name can.
    pub fn take(
        listed: &[ListedNode],
        metered: &Usage,
        selector: &str,
        now: i64,
    ) -> Option<NodeSnapshot> {
        let mut groups: BTreeMap<(Option<&str>, Option<&str>), Vec<&str>> = BTreeMap::new();
        let (mut not_ready, mut unmetered) = (Vec::new(), Vec::new());
        for node in listed.iter().filter(|n| !n.facts.control_plane) {
            let name = &*node.facts.name;
            groups
                .entry((node.facts.region.as_deref(), node.cpu.as_deref()))
                .or_default()
                .push(name);
            if !node.facts.ready {
                not_ready.push(name);
            }
            if !metered.contains(name) {
                unmetered.push(name);
            }
        }
        let sorted = |mut names: Vec<&str>| {
            names.sort_unstable();
            NodeNames::join(names)
        };
        let groups = groups
            .into_iter()
            .map(|((region, cpu), nodes)| {
                Some(NodeGroup {
                    region: region.map(str::to_string),
                    cpu: cpu.map(str::to_string),
                    nodes: sorted(nodes)?,
                })
            })
            .collect::<Option<_>>()?;
        Some(NodeSnapshot {
            read_at: now,
            selector: selector.to_string(),
            groups,
            not_ready: sorted(not_ready)?,
            unmetered: sorted(unmetered)?,
        })
    }

    /// Whether it is small enough to keep in the state (`MAX_SNAPSHOT_BYTES`).
    pub fn fits(&self) -> bool {
        serde_json::to_string(self).is_ok_and(|text| text.len() <= MAX_SNAPSHOT_BYTES)
    }

    /// The nodes as this tick sees them, by group, then the cordoned ones: the snapshot's, with
    /// `cordoned` (this tick's list of cordoned nodes, full objects) taking the place of what
    /// the snapshot holds of them. A node with NodeMetrics (in `usage`) shares their name.
    pub fn facts(&self, cordoned: &[NodeFacts], usage: &Usage) -> Vec<NodeFacts> {
        let fresh: NameMap<&NodeFacts> = cordoned.iter().map(|n| (&*n.name, n)).collect();
        let not_ready: NameSet = self.not_ready.iter().collect();
        let mut facts: Vec<NodeFacts> = Vec::new();
        for group in &self.groups {
            let cores = group.cpu.as_deref().and_then(cpu_cores);
            let region: Option<Arc<str>> = group.region.as_deref().map(Arc::from);
            for name in group.nodes.iter().filter(|n| !fresh.contains_key(n)) {
                facts.push(NodeFacts {
                    name: usage
                        .shared_name(name)
                        .cloned()
                        .unwrap_or_else(|| name.into()),
                    region: region.clone(),
                    ready: !not_ready.contains(name),
                    cordoned: false,
                    control_plane: false,
                    allocatable_cores: cores,
                });
            }
        }
        facts.extend(cordoned.iter().cloned());
        facts
    }
}

/// Why `snapshot` cannot stand for the nodes this tick, or None when it can: there is none, it
/// was read with another selector, it is older than `max_age_secs`, or NodeMetrics (`metered`,
/// every node they name) no longer name the nodes they named at the read.
pub fn refresh_reason(
    snapshot: Option<&NodeSnapshot>,
    selector: &str,
    metered: &Usage,
    now: i64,
    max_age_secs: i64,
) -> Option<String> {
    let Some(snapshot) = snapshot else {
        return Some("no node snapshot yet".into());
    };
    if snapshot.selector != selector {
        return Some(format!(
            "the node snapshot was read with selector {:?}, not {selector:?}",
            snapshot.selector
        ));
    }
    let age = now - snapshot.read_at;
    if age < 0 {
        // Another clock (within the skew the state allows) cannot say how old it is.
        return Some("the node snapshot was read at a time ahead of this tick's clock".into());
    }
    if age >= max_age_secs {
        return Some(format!(
            "the node snapshot is {} old (NODE_REFRESH {})",
            format_secs(age),
            format_secs(max_age_secs)
        ));
    }
    // One pass over the names the snapshot holds, each looked up once among the metered ones
    // and marked there. A snapshot that names a node twice (a hand edit) would count it twice:
    // it is read again instead. Then a node NodeMetrics name that the snapshot does not hold
    // has joined; a node metered at the read and not now is gone (or NotReady), and the
    // reverse is back. The first name in order is the one named.
    let twice = || Some("the node snapshot names a node more than once".to_string());
    let unmetered: NameSet = snapshot.unmetered.iter().collect();
    let mut held = vec![false; metered.places()];
    // Held names NodeMetrics do not name: a name held twice among them is caught here.
    let mut held_not_named = NameSet::default();
    let (mut gone, mut back): (Option<&str>, Option<&str>) = (None, None);
    for name in snapshot.groups.iter().flat_map(|g| g.nodes.iter()) {
        let now_metered = match metered.place(name) {
            Some(place) if held[place] => return twice(),
            Some(place) => {
                held[place] = true;
                true
            }
            None if !held_not_named.insert(name) => return twice(),
            None => false,
        };
        match (!unmetered.contains(name), now_metered) {
            (true, false) => gone = Some(gone.map_or(name, |g| g.min(name))),
            (false, true) => back = Some(back.map_or(name, |b| b.min(name))),
            _ => {}
        }
    }
    let new: Vec<&str> = metered
        .named()
        .filter(|&(_, place)| !held[place])
        .map(|(name, _)| name)
        .collect();
    if let Some(first) = new.iter().min() {
        return Some(format!(
            "NodeMetrics name {} node(s) the node snapshot does not hold ({first} first)",
            new.len()
        ));
    }
    if let Some(back) = back {
        return Some(format!("node {back} has NodeMetrics again"));
    }
    gone.map(|gone| format!("node {gone} has no NodeMetrics since the node snapshot was read"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn listed(name: &str, region: &str, cpu: &str, ready: bool) -> ListedNode {
        ListedNode {
            facts: NodeFacts {
                name: name.into(),
                region: Some(region.into()),
                ready,
                cordoned: false,
                control_plane: false,
                allocatable_cores: cpu_cores(cpu),
            },
            cpu: Some(cpu.into()),
        }
    }

    /// NodeMetrics naming `list`.
    fn names(list: &[&str]) -> Usage {
        let samples = list.iter().map(|name| crate::k8s::usage::NodeUsage {
            name: (*name).into(),
            cores: 1.0,
            timestamp: NOW,
        });
        Usage::new(samples.collect())
    }

    /// a and b in denmark (4 cores), c in latvia (3900m, NotReady and so unmetered).
    fn snapshot() -> NodeSnapshot {
        let nodes = [
            listed("b", "denmark", "4", true),
            listed("c", "latvia", "3900m", false),
            listed("a", "denmark", "4", true),
        ];
        NodeSnapshot::take(&nodes, &names(&["a", "b"]), "region", NOW - 60).unwrap()
    }

    #[test]
    fn a_snapshot_groups_names_and_reads_back_as_the_nodes_it_was_taken_from() {
        let s = snapshot();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"readAt":"2027-01-15T07:59:00Z","selector":"region","groups":[{"region":"denmark","cpu":"4","nodes":"a,b"},{"region":"latvia","cpu":"3900m","nodes":"c"}],"notReady":"c","unmetered":"c"}"#
        );
        let usage = names(&["a", "b"]);
        let facts = s.facts(&[], &usage);
        assert!(
            Arc::ptr_eq(&facts[0].name, usage.shared_name("a").unwrap()),
            "a metered node's name is NodeMetrics', not a copy"
        );
        let expected: Vec<NodeFacts> = [
            listed("a", "denmark", "4", true),
            listed("b", "denmark", "4", true),
            listed("c", "latvia", "3900m", false),
        ]
        .into_iter()
        .map(|l| l.facts)
        .collect();
        assert_eq!(facts, expected);
    }

    #[test]
    fn this_ticks_cordoned_nodes_replace_the_snapshots_and_new_ones_join() {
        let mut cordoned_b = listed("b", "denmark", "8", true).facts;
        cordoned_b.cordoned = true;
        let mut cordoned_new = listed("z", "france", "2", true).facts;
        cordoned_new.cordoned = true;
        let cordoned = [cordoned_new.clone(), cordoned_b.clone()];
        let facts = snapshot().facts(&cordoned, &Usage::default());
        let names: Vec<&str> = facts.iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["a", "c", "z", "b"]);
        assert_eq!(facts[2], cordoned_new);
        assert_eq!(facts[3], cordoned_b);
        assert!(!facts[0].cordoned, "a snapshot never says cordoned");
    }

    #[test]
    fn snapshots_write_back_the_text_read_until_they_change() {
        let by_cluster = BTreeMap::from([(ONE_CLUSTER.to_string(), snapshot())]);
        let encoded = serde_json::to_string(&by_cluster).unwrap();
        // Spacing the encoder would not write shows which text comes back.
        let spaced = encoded.replace("\":\"", "\": \"");
        let mut read = Snapshots::read(&spaced).unwrap();
        assert_eq!(read, Snapshots::from(by_cluster.clone()));
        assert_ne!(read, Snapshots::default(), "other snapshots are not equal");
        assert!(read.as_read());
        assert_eq!(read.text(), spaced);
        let shared: BTreeMap<String, Arc<NodeSnapshot>> =
            read.iter().map(|(c, s)| (c.clone(), s.clone())).collect();
        read.replace(shared);
        assert_eq!(read.text(), spaced, "the same snapshots keep their text");
        read.replace(BTreeMap::from([(
            ONE_CLUSTER.to_string(),
            Arc::new(snapshot()),
        )]));
        assert_eq!(read.text(), spaced, "so do equal ones");
        read.clamp_read_at(|_, _| {});
        assert_eq!(read.text(), spaced, "a clamp that changes nothing keeps it");

        let mut newer = snapshot();
        newer.read_at += 60;
        read.replace(BTreeMap::from([(
            ONE_CLUSTER.to_string(),
            Arc::new(newer.clone()),
        )]));
        assert!(!read.as_read());
        let text = read.text();
        assert_eq!(
            Snapshots::read(&text)
                .unwrap()
                .get(ONE_CLUSTER)
                .map(|s| &**s),
            Some(&newer)
        );

        let mut clamped = Snapshots::read(&spaced).unwrap();
        clamped.clamp_read_at(|cluster, read_at| {
            assert_eq!(cluster, ONE_CLUSTER);
            *read_at = NOW - 600;
        });
        assert!(!clamped.as_read());
        assert_eq!(clamped.get(ONE_CLUSTER).unwrap().read_at, NOW - 600);
        assert!(clamped.text().contains("07:50:00Z"), "{}", clamped.text());
    }

    #[test]
    fn a_snapshot_over_the_budget_does_not_fit() {
        assert!(snapshot().fits());
        let name = "n".repeat(100);
        let many: Vec<ListedNode> = (0..3000)
            .map(|i| listed(&format!("{name}{i}"), "denmark", "4", true))
            .collect();
        let big = NodeSnapshot::take(&many, &names(&[]), "region", NOW).unwrap();
        assert!(
            !big.fits(),
            "3,000 unmetered 104-character names are over 256 KiB"
        );
    }

    #[test]
    fn control_plane_nodes_are_not_kept() {
        let mut cp = listed("cp", "denmark", "4", true);
        cp.facts.control_plane = true;
        let s = NodeSnapshot::take(&[cp], &names(&["cp"]), "region", NOW).unwrap();
        assert!(s.groups.is_empty() && s.unmetered.is_empty());
    }

    #[test]
    fn a_name_the_snapshot_cannot_join_takes_no_snapshot() {
        for name in ["a,b", ""] {
            let nodes = [
                listed("a", "denmark", "4", true),
                listed(name, "denmark", "4", true),
            ];
            assert_eq!(
                NodeSnapshot::take(&nodes, &names(&["a"]), "region", NOW),
                None,
                "{name:?}"
            );
        }
    }

    /// name, snapshot, selector, metered nodes, now, expected reason
    type Case<'a> = (
        &'a str,
        Option<&'a NodeSnapshot>,
        &'a str,
        &'a [&'a str],
        i64,
        Option<&'a str>,
    );

    #[test]
    fn refresh_reasons() {
        let s = snapshot();
        let cases: &[Case] = &[
            (
                "same nodes metered",
                Some(&s),
                "region",
                &["a", "b"],
                NOW,
                None,
            ),
            (
                "just under the age",
                Some(&s),
                "region",
                &["a", "b"],
                NOW + 539,
                None,
            ),
            (
                "at the age",
                Some(&s),
                "region",
                &["a", "b"],
                NOW + 540,
                Some("the node snapshot is 10m old (NODE_REFRESH 10m)"),
            ),
            (
                "none yet",
                None,
                "region",
                &[],
                NOW,
                Some("no node snapshot yet"),
            ),
            (
                "read ahead of this clock",
                Some(&s),
                "region",
                &["a", "b"],
                NOW - 61,
                Some("the node snapshot was read at a time ahead of this tick's clock"),
            ),
            (
                "two new nodes",
                Some(&s),
                "region",
                &["a", "b", "e", "d"],
                NOW,
                Some("NodeMetrics name 2 node(s) the node snapshot does not hold (d first)"),
            ),
            (
                "another selector",
                Some(&s),
                "zone",
                &["a", "b"],
                NOW,
                Some(r#"the node snapshot was read with selector "region", not "zone""#),
            ),
            (
                "a new node",
                Some(&s),
                "region",
                &["a", "b", "d"],
                NOW,
                Some("NodeMetrics name 1 node(s) the node snapshot does not hold (d first)"),
            ),
            (
                "an unmetered node comes back",
                Some(&s),
                "region",
                &["a", "b", "c"],
                NOW,
                Some("node c has NodeMetrics again"),
            ),
            (
                "a node gone or NotReady",
                Some(&s),
                "region",
                &["b"],
                NOW,
                Some("node a has no NodeMetrics since the node snapshot was read"),
            ),
        ];
        for (name, snapshot, selector, metered, now, expected) in cases {
            let got = refresh_reason(*snapshot, selector, &names(metered), *now, 600);
            assert_eq!(got.as_deref(), *expected, "{name}");
        }
        let mut twice = s.clone();
        twice.groups[1].nodes = NodeNames::join(["c", "a"]).unwrap();
        assert_eq!(
            refresh_reason(Some(&twice), "region", &names(&["a", "b"]), NOW, 600).as_deref(),
            Some("the node snapshot names a node more than once")
        );
        // Twice among the nodes NodeMetrics do not name (c is NotReady), too.
        let mut twice = s.clone();
        twice.groups[0].nodes = NodeNames::join(["a", "b", "c"]).unwrap();
        assert_eq!(
            refresh_reason(Some(&twice), "region", &names(&["a", "b"]), NOW, 600).as_deref(),
            Some("the node snapshot names a node more than once")
        );
    }
}
