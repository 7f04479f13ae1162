//! Observe -> carbon -> the rule's input: the part of a tick shared by `tick`, `tick --dry-run`,
//! `status` and a live `simulate`. Everything after it is either pure or a write.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::carbon;
use crate::choices::ScaleTarget;
use crate::config::{Connect, Settings};
use crate::error::Error;
use crate::k8s::{
    deployment_ref, Autoscaler, ClusterView, FirstLook, Fleet, Loaded, ObjectRef, Target,
};
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

    /// The autoscaler of a region's Deployment, when autoscalers were read and it has one.
    pub fn autoscaler(&self, region: &str) -> Option<&Autoscaler> {
        self.view.autoscalers.as_ref()?.get(region)
    }

    /// What a change to `region` is made to: its autoscaler's floor with
    /// SCALE_TARGET=hpa-min, else its Deployment's replicas.
    pub fn target<'a>(
        &'a self,
        settings: &Settings,
        region: &str,
        deployment: &'a str,
    ) -> Target<'a> {
        match self.autoscaler(region) {
            Some(a) if settings.scale_target == ScaleTarget::HpaMin => Target::Floor(a),
            _ => Target::Replicas(deployment),
        }
    }

    /// The object a change to `target` is recorded on, as an Event's subject.
    pub fn subject(&self, target: &Target, region: &str) -> ObjectRef {
        match target {
            Target::Floor(a) => a.floor_object().clone(),
            Target::Replicas(d) => deployment_ref(d, self.deployment_uid(region)),
        }
    }

    /// With SCALE_TARGET=hpa-min, the rule's bounds for this tick and the regions it must leave
    /// alone. A region's floor stays within its HPA's `maxReplicas` and, for a plain HPA, at 1
    /// or more (the API refuses 0; KEDA allows it). A region whose Deployment has no
    /// autoscaler, or whose KEDA ScaledObject was not found, is left alone. In `replicas` mode
    /// the settings are used as they are.
    pub fn floors<'s>(
        &self,
        settings: &'s Settings,
    ) -> (Cow<'s, Settings>, BTreeMap<String, String>) {
        let Some(found) = self
            .view
            .autoscalers
            .as_ref()
            .filter(|_| settings.scale_target == ScaleTarget::HpaMin)
        else {
            return (Cow::Borrowed(settings), BTreeMap::new());
        };
        let mut steered = settings.clone();
        let mut hands_off = BTreeMap::new();
        for r in &self.observation.regions {
            let bounds = settings.policy.bounds(&r.name);
            match found.get(&r.name) {
                Some(a) if a.floor().is_some() => {
                    let floor = bounds.for_floor(a.max, a.keda.is_some());
                    steered.policy.region_bounds.insert(r.name.clone(), floor);
                }
                Some(a) => {
                    hands_off.insert(
                        r.name.clone(),
                        format!(
                            "{} has no ScaledObject to read its floor from",
                            a.describe()
                        ),
                    );
                }
                None => {
                    hands_off.insert(
                        r.name.clone(),
                        format!(
                            "no HPA targets Deployment {}; with SCALE_TARGET=hpa-min carbonctl moves only autoscaler floors",
                            r.deployment
                        ),
                    );
                }
            }
        }
        (Cow::Owned(steered), hands_off)
    }
}

/// With SCALE_TARGET=replicas, the regions carbonctl must not change because an autoscaler
/// owns their replicas (it would undo the change within seconds, and the two would fight).
pub fn managed(found: &BTreeMap<String, Autoscaler>) -> BTreeMap<String, String> {
    found
        .iter()
        .map(|(region, a)| {
            let why = format!(
                "its replicas belong to {}; carbonctl leaves them alone (SCALE_TARGET=hpa-min steers the autoscaler's floor instead)",
                a.describe()
            );
            (region.clone(), why)
        })
        .collect()
}

/// The state, read while the clusters are asked for what does not depend on it (see
/// `FirstLists`), then the rest of the look (`observe`).
pub async fn load_and_observe(
    fleet: &Fleet,
    settings: &Settings,
    connect: &Connect,
    now: i64,
    fetch: bool,
) -> Result<(Loaded, Observed), Error> {
    let (loaded, first) = tokio::join!(
        fleet.home.load_state(&settings.state_configmap, now),
        fleet.first_look(settings, connect)
    );
    let loaded = loaded?;
    let observed = observe(fleet, settings, connect, &loaded.state, first, now, fetch).await?;
    Ok((loaded, observed))
}

/// One look at the clusters, after `first`, and, when `fetch` is set, the carbon API for due
/// regions.
pub async fn observe(
    fleet: &Fleet,
    settings: &Settings,
    connect: &Connect,
    loaded: &State,
    first: FirstLook<'_>,
    now: i64,
    fetch: bool,
) -> Result<Observed, Error> {
    let view = fleet
        .observe(
            settings,
            connect,
            &loaded.fleet_nodes,
            &loaded.nodes,
            first,
            now,
        )
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
/// the configured zone. With SCALE_TARGET=hpa-min a region's replicas, for the rule, are its
/// autoscaler's floor.
pub fn observation(
    settings: &Settings,
    view: &ClusterView,
    carbon: &BTreeMap<String, CarbonEntry>,
) -> Observation {
    let counts = view.node_counts();
    Observation {
        cpu: view.cpu.clone(),
        regions: settings
            .regions
            .iter()
            .filter_map(|r| {
                let deployment = view.deployments.get(&r.name)?.as_ref()?;
                let floor = view
                    .autoscalers
                    .as_ref()
                    .filter(|_| settings.scale_target == ScaleTarget::HpaMin)
                    .and_then(|found| found.get(&r.name)?.floor());
                Some(RegionObservation {
                    name: r.name.clone(),
                    deployment: deployment.name.clone(),
                    replicas: floor.unwrap_or(deployment.replicas),
                    ready: deployment.ready,
                    available: deployment.available,
                    nodes: Some(counts.get(r.name.as_str()).copied().unwrap_or_default()),
                    carbon: reading(carbon.get(&r.name), &r.zone, settings),
                })
            })
            .collect(),
    }
}

/// The region's cached value, with its forecast only when that was fetched for the horizon
/// REBALANCE_FORECAST asks now (a cache written under another setting does not count).
fn reading(entry: Option<&CarbonEntry>, zone: &str, settings: &Settings) -> Option<CarbonReading> {
    let entry = entry.filter(|e| e.zone == zone)?;
    let hours = settings
        .policy
        .rebalance_forecast_secs
        .map(|s| (s / 3600) as u32);
    Some(CarbonReading {
        grams_per_kwh: entry.grams_per_kwh?,
        fetched_at: entry.fetched_at?,
        forecast_grams: entry
            .forecast_grams_per_kwh
            .filter(|_| hours.is_some() && entry.forecast_hours == hours),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::{DeploymentView, Keda, ObjectRef};
    use crate::policy::{Bounds, CpuObservation};

    fn object(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v".into(),
            kind: kind.into(),
            name: name.into(),
            uid: None,
        }
    }

    fn autoscaler(min: i32, max: i32, keda: Option<Option<i32>>) -> Autoscaler {
        Autoscaler {
            hpa: object("HorizontalPodAutoscaler", "hpa"),
            min,
            max,
            current: None,
            desired: None,
            conditions: Vec::new(),
            keda: keda.map(|floor| Keda {
                scaled_object: object("ScaledObject", "so"),
                min: floor.map(|value| crate::k8s::MinReplicaCount {
                    value,
                    set: true,
                    resource_version: None,
                }),
            }),
        }
    }

    /// The demo's three regions, each with a Deployment of 4 replicas, and `autoscalers`.
    fn observed(settings: &Settings, autoscalers: Vec<(&str, Autoscaler)>) -> Observed {
        let deployments = settings
            .regions
            .iter()
            .map(|r| {
                let view = DeploymentView {
                    name: settings.deployment_name(&r.name),
                    uid: None,
                    replicas: 4,
                    ready: 4,
                    available: 4,
                };
                (r.name.clone(), Some(view))
            })
            .collect();
        let view = ClusterView {
            nodes: Vec::new(),
            node_cpu: Vec::new(),
            cpu: CpuObservation::Missing {
                reason: "none".into(),
            },
            deployments,
            unobserved: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            autoscalers: Some(
                autoscalers
                    .into_iter()
                    .map(|(r, a)| (r.to_string(), a))
                    .collect(),
            ),
        };
        let observation = observation(settings, &view, &BTreeMap::new());
        Observed {
            view,
            fleet: false,
            carbon: BTreeMap::new(),
            observation,
        }
    }

    #[test]
    fn a_forecast_counts_only_for_the_horizon_asked_now() {
        let entry = CarbonEntry {
            zone: "FR".into(),
            grams_per_kwh: Some(40.0),
            fetched_at: Some(1_800_000_000),
            forecast_grams_per_kwh: Some(55.0),
            forecast_hours: Some(2),
            ..CarbonEntry::default()
        };
        let mut settings = crate::config::defaults();
        let forecast = |s: &Settings| reading(Some(&entry), "FR", s).unwrap().forecast_grams;
        assert_eq!(forecast(&settings), None, "forecasts off");
        settings.policy.rebalance_forecast_secs = Some(2 * 3600);
        assert_eq!(forecast(&settings), Some(55.0));
        settings.policy.rebalance_forecast_secs = Some(6 * 3600);
        assert_eq!(forecast(&settings), None, "fetched for another horizon");
        assert_eq!(
            reading(Some(&entry), "DK", &settings),
            None,
            "another zone's"
        );
    }

    #[test]
    fn steering_floors_bounds_each_region_by_its_autoscaler_and_leaves_the_rest_alone() {
        let mut settings = crate::config::defaults();
        settings.scale_target = ScaleTarget::HpaMin;
        settings.policy.default_bounds = Bounds { min: 0, max: 5 };
        let seen = observed(
            &settings,
            vec![
                ("denmark", autoscaler(2, 3, None)),
                ("france", autoscaler(1, 8, Some(Some(0)))),
                ("latvia", autoscaler(1, 8, Some(None))),
            ],
        );
        let replicas: Vec<i32> = seen
            .observation
            .regions
            .iter()
            .map(|r| r.replicas)
            .collect();
        assert_eq!(
            replicas,
            [2, 0, 4],
            "a region's replicas are its floor when it has one"
        );
        let (steered, alone) = seen.floors(&settings);
        let bounds = |r: &str| steered.policy.bounds(r);
        assert_eq!(
            bounds("denmark"),
            Bounds { min: 1, max: 3 },
            "an HPA floor is 1 or more and at most its max"
        );
        assert_eq!(bounds("france"), Bounds { min: 0, max: 5 }, "KEDA allows 0");
        assert_eq!(alone.keys().collect::<Vec<_>>(), ["latvia"]);
        assert!(
            alone["latvia"].contains("no ScaledObject"),
            "{}",
            alone["latvia"]
        );

        let (_, alone) = observed(&settings, Vec::new()).floors(&settings);
        assert!(alone["denmark"].contains("no HPA targets Deployment nginx-denmark"));
    }

    #[test]
    fn in_replicas_mode_the_settings_stand_and_autoscaled_regions_are_left_alone() {
        let settings = crate::config::defaults();
        let observed = observed(&settings, vec![("france", autoscaler(2, 6, None))]);
        let replicas: Vec<i32> = observed
            .observation
            .regions
            .iter()
            .map(|r| r.replicas)
            .collect();
        assert_eq!(replicas, [4, 4, 4], "replicas are the Deployment's own");
        let (steered, alone) = observed.floors(&settings);
        assert!(matches!(steered, Cow::Borrowed(_)) && alone.is_empty());
        let found = observed.view.autoscalers.clone().unwrap();
        let managed = managed(&found);
        assert!(managed["france"].starts_with("its replicas belong to HPA hpa"));
    }

    fn node(name: &str, region: &str) -> crate::k8s::cpu::NodeFacts {
        crate::k8s::cpu::NodeFacts {
            name: name.into(),
            region: Some(region.into()),
            ready: true,
            cordoned: false,
            control_plane: false,
            allocatable_cores: Some(4.0),
        }
    }

    #[test]
    fn a_tick_without_any_deployment_fails_naming_what_it_looked_for() {
        let settings = crate::config::defaults();
        let mut seen = observed(&settings, Vec::new());
        assert!(seen.require_deployments(&settings, "web").is_ok());

        for d in seen.view.deployments.values_mut() {
            *d = None;
        }
        let error = seen.require_deployments(&settings, "web").unwrap_err();
        assert_eq!(error.label(), "no_deployments");
        assert!(
            error.to_string().contains(
                "in namespace web (looked for nginx-denmark, nginx-france, nginx-latvia)"
            ),
            "{error}"
        );

        // A fleet: one region missing its Deployment, the others silent, is still a missing
        // Deployment; every region silent is a silent fleet.
        seen.view.deployments.retain(|r, _| r == "denmark");
        seen.view.unobserved = BTreeMap::from([
            ("france".to_string(), "no answer".to_string()),
            ("latvia".to_string(), "refused".to_string()),
        ]);
        let error = seen.require_deployments(&settings, "web").unwrap_err();
        assert_eq!(error.label(), "no_deployments");
        seen.view.deployments.clear();
        let error = seen.require_deployments(&settings, "web").unwrap_err();
        assert_eq!(error.label(), "fleet_silent");
        assert!(
            error
                .to_string()
                .contains("(france: no answer; latvia: refused)"),
            "{error}"
        );
    }

    #[test]
    fn node_counts_are_remembered_only_in_a_fleet() {
        let settings = crate::config::defaults();
        let mut seen = observed(&settings, Vec::new());
        seen.view.nodes = vec![
            node("a", "denmark"),
            node("b", "denmark"),
            node("c", "latvia"),
        ];
        seen.observation = observation(&settings, &seen.view, &BTreeMap::new());
        assert!(
            seen.fleet_nodes().is_empty(),
            "one cluster lists every node each tick"
        );
        seen.fleet = true;
        let counts = BTreeMap::from([
            ("denmark".into(), 2),
            ("france".into(), 0),
            ("latvia".into(), 1),
        ]);
        assert_eq!(seen.fleet_nodes(), counts);
        seen.fleet = false;
        seen.view
            .unobserved
            .insert("france".into(), "no answer".into());
        assert_eq!(seen.fleet_nodes(), counts);
    }

    #[test]
    fn a_change_is_made_to_the_floor_only_when_steering_floors_and_recorded_on_its_object() {
        let mut settings = crate::config::defaults();
        let mut seen = observed(&settings, vec![("france", autoscaler(2, 6, Some(Some(1))))]);
        if let Some(Some(d)) = seen.view.deployments.get_mut("denmark") {
            d.uid = Some("uid-dk".into());
        }
        assert_eq!(seen.deployment_uid("denmark").as_deref(), Some("uid-dk"));
        assert_eq!(seen.deployment_uid("latvia"), None);
        assert_eq!(seen.autoscaler("france").map(|a| a.max), Some(6));
        assert!(seen.autoscaler("denmark").is_none());

        let replicas = seen.target(&settings, "france", "nginx-france");
        assert!(matches!(replicas, Target::Replicas("nginx-france")));
        settings.scale_target = ScaleTarget::HpaMin;
        let floor = seen.target(&settings, "france", "nginx-france");
        assert!(matches!(floor, Target::Floor(a) if a.max == 6));
        assert_eq!(seen.subject(&floor, "france").kind, "ScaledObject");
        let plain = seen.target(&settings, "denmark", "nginx-denmark");
        assert!(matches!(plain, Target::Replicas("nginx-denmark")));
        let subject = seen.subject(&plain, "denmark");
        assert_eq!(
            (subject.kind.as_str(), subject.uid.as_deref()),
            ("Deployment", Some("uid-dk"))
        );
    }

    #[test]
    fn cached_carbon_counts_only_for_the_configured_zone() {
        let settings = crate::config::defaults();
        let seen = observed(&settings, Vec::new());
        let entry = |zone: &str| CarbonEntry {
            zone: zone.into(),
            grams_per_kwh: Some(42.0),
            fetched_at: Some(1_800_000_000),
            ..CarbonEntry::default()
        };
        let carbon = BTreeMap::from([
            ("france".to_string(), entry("FR")),
            ("latvia".to_string(), entry("LT")),
        ]);
        let obs = observation(&settings, &seen.view, &carbon);
        let grams: Vec<Option<f64>> = obs
            .regions
            .iter()
            .map(|r| r.carbon.as_ref().map(|c| c.grams_per_kwh))
            .collect();
        assert_eq!(
            grams,
            [None, Some(42.0), None],
            "latvia's cache is for another zone"
        );
    }

    #[test]
    fn one_cluster_is_observed_as_one_cluster() {
        let emu = kube_emulator::Emulator::start(kube_emulator::Seed::demo()).unwrap();
        let settings = crate::config::defaults();
        let connect = Connect::for_emulator(&emu);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let seen = rt.block_on(async {
            let fleet = Fleet::connect(&connect).await.unwrap();
            let now = crate::clock::now();
            let first = fleet.first_look(&settings, &connect).await;
            observe(
                &fleet,
                &settings,
                &connect,
                &State::default(),
                first,
                now,
                false,
            )
            .await
        });
        let seen = seen.unwrap();
        assert!(!seen.fleet);
        assert!(seen.fleet_nodes().is_empty());
        assert_eq!(seen.observation.regions.len(), 3);
    }
}
