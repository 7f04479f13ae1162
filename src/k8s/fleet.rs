//! The clusters a tick talks to. The home cluster holds the state ConfigMap and, in one-cluster
//! mode, every region. With REGION_CONTEXTS each region lives in a cluster of its own, reached
//! through its kubeconfig context: those clusters are observed concurrently, each bounded by
//! its own per-call time, and a region whose cluster does not answer is left out of the tick
//! (named, never acted on) while the others go on.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::autoscalers::Autoscaler;
use super::client::{kubeconfig, Cluster, HINT};
use super::cpu::combine;
use super::observe::{floors_of, member_nodes, region_nodes, simulated, ClusterView, FirstLists};
use crate::config::{Connect, CpuSource, Settings};
use crate::error::Error;
use crate::node_snapshot::Snapshots;
use crate::policy::CpuObservation;

/// One region's own cluster.
pub struct Member {
    pub context: String,
    /// Its client, or why none could be made (the region is then unobserved this tick).
    pub cluster: Result<Cluster, String>,
}

/// Each cluster's `FirstLists`: the one cluster's, or those of the fleet's clusters in the
/// order of its members, each with its cluster (a member whose client could not be made has
/// why instead).
pub enum FirstLook<'f> {
    One(FirstLists),
    Fleet(Vec<Result<(&'f Cluster, FirstLists), String>>),
}

pub struct Fleet {
    pub home: Cluster,
    /// By region; empty in one-cluster mode.
    pub members: BTreeMap<String, Member>,
}

impl Fleet {
    pub async fn connect(connect: &Connect) -> Result<Fleet, Error> {
        let home = Cluster::connect(connect).await?;
        let Some(fleet) = &connect.fleet else {
            return Ok(Fleet {
                home,
                members: BTreeMap::new(),
            });
        };
        let (config, source) = match &fleet.kubeconfig {
            Some(path) => {
                let config = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                    Error::NoCluster {
                        tried: format!("reading FLEET_KUBECONFIG {}: {e}", path.display()),
                        hint: HINT.into(),
                    }
                })?;
                (config, format!("FLEET_KUBECONFIG {}", path.display()))
            }
            None => kubeconfig(connect)?.ok_or_else(|| Error::NoCluster {
                tried: "REGION_CONTEXTS names contexts, but there is no kubeconfig to find them in".into(),
                hint: "set FLEET_KUBECONFIG to a kubeconfig holding every region's context (the CronJob mounts one from the Secret carbonctl-fleet-kubeconfig)".into(),
            })?,
        };
        let mut members = BTreeMap::new();
        for (region, context) in &fleet.contexts {
            if !config.contexts.iter().any(|c| &c.name == context) {
                return Err(Error::NoCluster {
                    tried: format!(
                        "REGION_CONTEXTS gives region {region} the context {context:?}, which {source} does not have"
                    ),
                    hint: "list the contexts with `kubectl config get-contexts` and fix REGION_CONTEXTS".into(),
                });
            }
            let cluster = Cluster::connect_context(config.clone(), context, connect)
                .await
                .map_err(|e| e.to_string());
            let member = Member {
                context: context.clone(),
                cluster,
            };
            members.insert(region.clone(), member);
        }
        Ok(Fleet { home, members })
    }

    /// The cluster a region's Deployment lives in; None for a region whose cluster could not
    /// be reached.
    pub fn cluster_of(&self, region: &str) -> Option<&Cluster> {
        match self.members.get(region) {
            None => Some(&self.home),
            Some(member) => member.cluster.as_ref().ok(),
        }
    }

    /// The region's kubeconfig context in a fleet.
    pub fn context_of(&self, region: &str) -> Option<&str> {
        self.members.get(region).map(|m| m.context.as_str())
    }

    /// The lists every cluster is asked for whatever the state holds (see `FirstLists`), all
    /// at once.
    pub async fn first_look(&self, settings: &Settings, connect: &Connect) -> FirstLook<'_> {
        if self.members.is_empty() {
            let names: Vec<String> = settings
                .regions
                .iter()
                .map(|r| settings.deployment_name(&r.name))
                .collect();
            let floors = floors_of(settings, &names);
            let selector = region_nodes(settings);
            return FirstLook::One(self.home.first_lists(&selector, connect, floors).await);
        }
        let selector = member_nodes(connect);
        let looks = self.members.iter().map(|(region, member)| {
            let selector = &selector;
            async move {
                let cluster = member.cluster.as_ref().map_err(Clone::clone)?;
                let name = [settings.deployment_name(region)];
                let floors = floors_of(settings, &name);
                Ok((
                    cluster,
                    cluster.first_lists(selector, connect, floors).await,
                ))
            }
        });
        FirstLook::Fleet(join_all(looks).await)
    }

    /// One look at every region, after `first` (from `first_look`). In a fleet,
    /// `silent_nodes` says how many nodes a region had when it last answered: a region that
    /// does not answer now counts that many nodes without CPU data (one when never seen), so
    /// missing data never argues for an action.
    /// `snapshots` are the node snapshots the state remembers, by cluster (`*` for one cluster,
    /// a kubeconfig context for each of a fleet's).
    pub async fn observe(
        &self,
        settings: &Settings,
        connect: &Connect,
        silent_nodes: &BTreeMap<String, usize>,
        snapshots: &Snapshots,
        first: FirstLook<'_>,
        now: i64,
    ) -> Result<ClusterView, Error> {
        let firsts = match first {
            FirstLook::One(first) => {
                return self
                    .home
                    .observe(settings, connect, snapshots, first, now)
                    .await
            }
            FirstLook::Fleet(firsts) => firsts,
        };
        let looks = self
            .members
            .iter()
            .zip(firsts)
            .map(|((region, member), first)| async move {
                let snapshot = snapshots.get(&member.context);
                let seen = match first {
                    Ok((cluster, first)) => cluster
                        .observe_member(
                            (region, &member.context),
                            settings,
                            connect,
                            snapshot,
                            first,
                            now,
                        )
                        .await
                        .map_err(|e| e.to_string()),
                    Err(why) => Err(why),
                };
                (region, member, seen)
            });
        let mut view = ClusterView {
            nodes: Vec::new(),
            node_cpu: Vec::new(),
            cpu: CpuObservation::Missing {
                reason: String::new(),
            },
            deployments: BTreeMap::new(),
            unobserved: BTreeMap::new(),
            autoscalers: None,
            snapshots: BTreeMap::new(),
        };
        let mut silent = 0;
        let mut metrics_missing = Vec::new();
        for (region, member, seen) in join_all(looks).await {
            match seen {
                Ok(seen) => {
                    view.nodes.extend(seen.nodes);
                    view.node_cpu.extend(seen.node_cpu);
                    view.deployments.insert(region.clone(), seen.deployment);
                    if let Some(autoscaler) = seen.autoscaler {
                        let found = view.autoscalers.get_or_insert_with(BTreeMap::new);
                        found.extend(autoscaler.map(|a| (region.clone(), a)));
                    }
                    let kept = seen.snapshot.map(|s| (member.context.clone(), s));
                    view.snapshots.extend(kept);
                    if let Some(why) = seen.metrics_missing {
                        metrics_missing.push(format!("{region} ({}): {why}", member.context));
                    }
                }
                Err(why) => {
                    let kept = snapshots.get(&member.context).cloned();
                    view.snapshots
                        .extend(kept.map(|s| (member.context.clone(), s)));
                    silent += silent_nodes.get(region).copied().unwrap_or(1).max(1);
                    let why = format!(
                        "its cluster (context {}) did not answer: {why}",
                        member.context
                    );
                    view.unobserved.insert(region.clone(), why);
                }
            }
        }
        view.cpu = match connect.cpu_source {
            CpuSource::Simulated(pct) => simulated(pct),
            CpuSource::Metrics if !metrics_missing.is_empty() => CpuObservation::Missing {
                reason: format!("no NodeMetrics from {}", metrics_missing.join("; ")),
            },
            CpuSource::Metrics => combine(
                &view.node_cpu,
                silent,
                "no ready, schedulable worker node in any region's cluster",
            ),
        };
        Ok(view)
    }

    /// The autoscaler of each region's Deployment that has one, read from every cluster that
    /// holds a region (one list of HPAs each, concurrently), or with `near` only from the
    /// cluster of that region. A cluster that cannot list them fails the whole look: a tick
    /// about to change replicas must not guess.
    pub async fn autoscalers(
        &self,
        settings: &Settings,
        unobserved: &BTreeMap<String, String>,
        near: Option<&str>,
    ) -> Result<BTreeMap<String, Autoscaler>, Error> {
        let regions = settings.regions.iter().map(|r| r.name.as_str());
        let only = near.and_then(|region| self.cluster_of(region));
        let mut by_cluster: Vec<(&Cluster, Vec<&str>)> = Vec::new();
        for region in regions.filter(|r| !unobserved.contains_key(*r)) {
            let Some(cluster) = self.cluster_of(region) else {
                continue;
            };
            if only.is_some_and(|only| !std::ptr::eq(only, cluster)) {
                continue;
            }
            match by_cluster
                .iter_mut()
                .find(|(c, _)| std::ptr::eq(*c, cluster))
            {
                Some((_, regions)) => regions.push(region),
                None => by_cluster.push((cluster, vec![region])),
            }
        }
        let looks = by_cluster.into_iter().map(|(cluster, regions)| async move {
            let names: Vec<String> = regions
                .iter()
                .map(|r| settings.deployment_name(r))
                .collect();
            let mut found = cluster.autoscalers(&names, false).await?;
            Ok::<_, Error>(
                regions
                    .into_iter()
                    .zip(names)
                    .filter_map(|(region, name)| Some((region.to_string(), found.remove(&name)?)))
                    .collect::<Vec<_>>(),
            )
        });
        let mut all = BTreeMap::new();
        for found in join_all(looks).await {
            all.extend(found?);
        }
        Ok(all)
    }
}
