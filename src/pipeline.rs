//! Observe -> carbon -> the rule's input: the part of a tick shared by `tick`, `tick --dry-run`,
//! `status` and a live `simulate`. Everything after it is either pure or a write.

use std::collections::BTreeMap;

use crate::carbon;
use crate::config::{Connect, Settings};
use crate::error::Error;
use crate::k8s::{Cluster, ClusterView};
use crate::policy::{CarbonReading, Observation, RegionObservation};
use crate::state::CarbonEntry;

pub struct Observed {
    pub view: ClusterView,
    /// The carbon cache after this tick's fetches.
    pub carbon: BTreeMap<String, CarbonEntry>,
    pub observation: Observation,
}

impl Observed {
    /// A tick that finds none of the regional Deployments has nothing to do, and says so as a
    /// failure: a typo in DEPLOYMENT_PATTERN or the wrong namespace must not look healthy.
    pub fn require_deployments(&self, settings: &Settings, namespace: &str) -> Result<(), Error> {
        if self.view.deployments.values().any(Option::is_some) {
            return Ok(());
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

    /// The uid of a region's Deployment, for the Event's reference to it.
    pub fn deployment_uid(&self, region: &str) -> Option<String> {
        self.view.deployments.get(region)?.as_ref()?.uid.clone()
    }
}

/// One look at the cluster and, when `fetch` is set, the carbon API for due regions.
pub async fn observe(
    cluster: &Cluster,
    settings: &Settings,
    connect: &Connect,
    cache: &BTreeMap<String, CarbonEntry>,
    now: i64,
    fetch: bool,
) -> Result<Observed, Error> {
    let view = cluster.observe(settings, connect, now).await?;
    for (region, deployment) in &view.deployments {
        if deployment.is_none() {
            log::warn!(
                "region {region} skipped: Deployment {}/{} not found (check DEPLOYMENT_PATTERN or create it)",
                cluster.namespace,
                settings.deployment_name(region)
            );
        }
    }
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
