//! Observe -> carbon -> the rule's input: the part of a tick shared by `tick`, `tick --dry-run`,
//! `status` and a live `simulate`. Everything after it is either pure or a write.

use std::collections::BTreeMap;

use crate::carbon;
use crate::config::{Connect, Settings};
use crate::error::Error;
use crate::k8s::{ClusterView, Fleet};
use crate::policy::{CarbonReading, Observation, RegionObservation};
use crate::state::{CarbonEntry, State};

pub struct Observed {
    pub view: ClusterView,
    /// One cluster per region (REGION_CONTEXTS).
    pub fleet: bool,
    /// The carbon cache after this tick's fetches.
    pub carbon: BTreeMap<String, CarbonEntry>,
    pub observation: Observation,
}

impl Observed {
    /// A tick that finds none of the regional Deployments has nothing to do, and says so as a
    /// failure: a typo in DEPLOYMENT_PATTERN or the wrong namespace must not look healthy, nor
    /// a fleet none of whose clusters answered.
    pub fn require_deployments(&self, settings: &Settings, namespace: &str) -> Result<(), Error> {
        if self.view.deployments.values().any(Option::is_some) {
            return Ok(());
        }
        if !self.view.unobserved.is_empty() && self.view.deployments.is_empty() {
            return Err(Error::FleetSilent {
                regions: self.unobserved_text(),
            });
        }
        let names: Vec<String> = settings
            .regions
            .iter()
            .map(|r| settings.deployment_name(&r.name))
            .collect();
        Err(Error::NoDeployments {
            namespace: namespace.to_string(),
            names: names.join(", "),
        })
    }

    /// "france: its cluster (context fr-prod) did not answer: ...; latvia: ...".
    pub fn unobserved_text(&self) -> String {
        let parts: Vec<String> = self
            .view
            .unobserved
            .iter()
            .map(|(region, why)| format!("{region}: {why}"))
            .collect();
        parts.join("; ")
    }

    /// Nodes per region in a fleet, as seen now: remembered in the state for a tick when a
    /// region's cluster does not answer. Empty in one cluster.
    pub fn fleet_nodes(&self) -> BTreeMap<String, usize> {
        if self.view.unobserved.is_empty() && !self.fleet {
            return BTreeMap::new();
        }
        self.observation
            .regions
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.nodes?.total)))
            .collect()
    }

    /// The uid of a region's Deployment, for the Event's reference to it.
    pub fn deployment_uid(&self, region: &str) -> Option<String> {
        self.view.deployments.get(region)?.as_ref()?.uid.clone()
    }
}

/// One look at the clusters and, when `fetch` is set, the carbon API for due regions.
pub async fn observe(
    fleet: &Fleet,
    settings: &Settings,
    connect: &Connect,
    loaded: &State,
    now: i64,
    fetch: bool,
) -> Result<Observed, Error> {
    let view = fleet
        .observe(settings, connect, &loaded.fleet_nodes, now)
        .await?;
    for (region, deployment) in &view.deployments {
        if deployment.is_none() {
            let namespace = fleet
                .cluster_of(region)
                .map_or("", |c| c.namespace.as_str());
            let context = fleet
                .context_of(region)
                .map(|c| format!(" in context {c}"))
                .unwrap_or_default();
            log::warn!(
                "region {region} skipped: Deployment {namespace}/{}{context} not found (check DEPLOYMENT_PATTERN or create it)",
                settings.deployment_name(region)
            );
        }
    }
    for (region, why) in &view.unobserved {
        log::warn!("region {region} skipped: {why}");
    }
    let cache = &loaded.carbon;
    let carbon = if fetch {
        let (cache, settings, connect) = (cache.clone(), settings.clone(), connect.clone());
        tokio::task::spawn_blocking(move || carbon::refresh(&cache, &settings, &connect, now))
            .await
            .expect("carbon refresh does not panic")
    } else {
        cache.clone()
    };
    let observation = observation(settings, &view, &carbon);
    Ok(Observed {
        view,
        fleet: !fleet.members.is_empty(),
        carbon,
        observation,
    })
}

/// The rule's input: regions whose Deployment exists, with their cached carbon when it is for
/// the configured zone.
pub fn observation(
    settings: &Settings,
    view: &ClusterView,
    carbon: &BTreeMap<String, CarbonEntry>,
) -> Observation {
    Observation {
        cpu: view.cpu.clone(),
        regions: settings
            .regions
            .iter()
            .filter_map(|r| {
                let deployment = view.deployments.get(&r.name)?.as_ref()?;
                Some(RegionObservation {
                    name: r.name.clone(),
                    deployment: deployment.name.clone(),
                    replicas: deployment.replicas,
                    ready: deployment.ready,
                    available: deployment.available,
                    nodes: Some(view.node_count(&r.name)),
                    carbon: reading(carbon.get(&r.name), &r.zone),
                })
            })
            .collect(),
    }
}

fn reading(entry: Option<&CarbonEntry>, zone: &str) -> Option<CarbonReading> {
    let entry = entry.filter(|e| e.zone == zone)?;
    Some(CarbonReading {
        grams_per_kwh: entry.grams_per_kwh?,
        fetched_at: entry.fetched_at?,
    })
}
