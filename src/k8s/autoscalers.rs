//! HorizontalPodAutoscalers and KEDA ScaledObjects: who else sets a region's replicas. An HPA
//! rewrites its target's replicas within seconds, so carbonctl must either leave such a
//! Deployment alone (`SCALE_TARGET=replicas`) or steer the autoscaler's floor instead
//! (`SCALE_TARGET=hpa-min`). KEDA drives an HPA of its own (`keda-hpa-<name>`) from its
//! ScaledObject and reconciles that HPA's floor from `spec.minReplicaCount`, so a KEDA floor is
//! moved on the ScaledObject, never on KEDA's HPA.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::lists::Query;
use super::Cluster;
use crate::error::Error;

const HPA_API: &str = "autoscaling/v2";
const KEDA_API: &str = "keda.sh/v1alpha1";

/// The autoscaler whose target is a region's Deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaler {
    pub hpa: ObjectRef,
    /// `spec.minReplicas` (the API server sets 1 when it is not given).
    pub min: i32,
    pub max: i32,
    /// Replicas the HPA last saw and wanted (`status.currentReplicas`, `desiredReplicas`).
    pub current: Option<i32>,
    pub desired: Option<i32>,
    /// The HPA's own conditions (AbleToScale, ScalingActive, ScalingLimited).
    pub conditions: Vec<HpaCondition>,
    /// The KEDA ScaledObject that owns the HPA, when KEDA drives it.
    pub keda: Option<Keda>,
}

/// An object an Event can be about.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HpaCondition {
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// A KEDA ScaledObject driving an HPA.
#[derive(Debug, Clone, PartialEq)]
pub struct Keda {
    pub scaled_object: ObjectRef,
    /// `spec.minReplicaCount` as read from the ScaledObject (absent means 0, KEDA's default);
    /// None when the ScaledObject was not read (detection only needs its name).
    pub min: Option<MinReplicaCount>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinReplicaCount {
    pub value: i32,
    /// Whether the field is set: a patch replaces a set field and adds a missing one.
    pub set: bool,
    /// The ScaledObject's resourceVersion, the only thing a patch adding the field can test.
    pub resource_version: Option<u64>,
}

impl Autoscaler {
    /// The floor carbonctl moves in `hpa-min` mode: the ScaledObject's for KEDA, else the
    /// HPA's. None for a KEDA HPA whose ScaledObject was not read.
    pub fn floor(&self) -> Option<i32> {
        match &self.keda {
            Some(keda) => keda.min.map(|m| m.value),
            None => Some(self.min),
        }
    }

    /// The object a floor change is made to and recorded on.
    pub fn floor_object(&self) -> &ObjectRef {
        self.keda.as_ref().map_or(&self.hpa, |k| &k.scaled_object)
    }

    /// "HPA web-hpa" or "KEDA ScaledObject web (HPA keda-hpa-web)".
    pub fn describe(&self) -> String {
        match &self.keda {
            Some(keda) => format!(
                "KEDA ScaledObject {} (HPA {})",
                keda.scaled_object.name, self.hpa.name
            ),
            None => format!("HPA {}", self.hpa.name),
        }
    }
}

#[derive(Debug, Deserialize)]
struct SlimHpa {
    #[serde(default)]
    metadata: HpaMeta,
    #[serde(default)]
    spec: HpaSpec,
    #[serde(default)]
    status: HpaStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HpaMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    owner_references: Vec<OwnerReference>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnerReference {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HpaSpec {
    #[serde(default)]
    scale_target_ref: TargetRef,
    min_replicas: Option<i32>,
    #[serde(default)]
    max_replicas: i32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetRef {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HpaStatus {
    current_replicas: Option<i32>,
    desired_replicas: Option<i32>,
    #[serde(default)]
    conditions: Vec<SlimCondition>,
}

#[derive(Debug, Deserialize)]
struct SlimCondition {
    #[serde(rename = "type", default)]
    type_: String,
    #[serde(default)]
    status: String,
    reason: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SlimScaledObject {
    #[serde(default)]
    metadata: ScaledObjectMeta,
    #[serde(default)]
    spec: ScaledObjectSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScaledObjectMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    resource_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScaledObjectSpec {
    min_replica_count: Option<i32>,
}

/// Whether an HPA's target is the Deployment `name` (apps/v1, or an older group that serves
/// the same Deployments).
fn targets_deployment(target: &TargetRef, name: &str) -> bool {
    target.kind == "Deployment"
        && target.name == name
        && matches!(
            target.api_version.as_str(),
            "apps/v1" | "apps/v1beta1" | "apps/v1beta2" | "extensions/v1beta1"
        )
}

fn owning_scaled_object(meta: &HpaMeta) -> Option<ObjectRef> {
    meta.owner_references
        .iter()
        .find(|o| o.kind == "ScaledObject" && o.api_version.starts_with("keda.sh/"))
        .map(|o| ObjectRef {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            name: o.name.clone(),
            uid: o.uid.clone(),
        })
}

/// The autoscaler of each of `deployments`, from the namespace's HPAs. When two HPAs target
/// one Deployment (which the HPA controller itself refuses to act on), the first by name is
/// reported.
fn match_hpas(hpas: Vec<SlimHpa>, deployments: &[String]) -> BTreeMap<String, Autoscaler> {
    let mut found = BTreeMap::new();
    let mut hpas = hpas;
    hpas.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for hpa in hpas {
        let Some(deployment) = deployments
            .iter()
            .find(|d| targets_deployment(&hpa.spec.scale_target_ref, d))
        else {
            continue;
        };
        if found.contains_key(deployment) {
            continue;
        }
        let keda = owning_scaled_object(&hpa.metadata).map(|scaled_object| Keda {
            scaled_object,
            min: None,
        });
        let autoscaler = Autoscaler {
            hpa: ObjectRef {
                api_version: HPA_API.into(),
                kind: "HorizontalPodAutoscaler".into(),
                name: hpa.metadata.name,
                uid: hpa.metadata.uid,
            },
            min: hpa.spec.min_replicas.unwrap_or(1),
            max: hpa.spec.max_replicas,
            current: hpa.status.current_replicas,
            desired: hpa.status.desired_replicas,
            conditions: hpa
                .status
                .conditions
                .into_iter()
                .map(|c| HpaCondition {
                    type_: c.type_,
                    status: c.status,
                    reason: c.reason,
                    message: c.message,
                })
                .collect(),
            keda,
        };
        found.insert(deployment.clone(), autoscaler);
    }
    found
}

impl Cluster {
    /// The autoscalers of `deployments` in this cluster's namespace: one list of HPAs, and,
    /// when `floors` is set and KEDA drives one of them, one list of ScaledObjects for their
    /// floors.
    pub async fn autoscalers(
        &self,
        deployments: &[String],
        floors: bool,
    ) -> Result<BTreeMap<String, Autoscaler>, Error> {
        let path = format!(
            "/apis/{HPA_API}/namespaces/{}/horizontalpodautoscalers",
            self.namespace
        );
        let hpas = match self.list::<SlimHpa>(&path, Query::default()).await {
            // A cluster that does not serve autoscaling/v2 (before Kubernetes 1.23) has no
            // HPA carbonctl could read; what it has, carbonctl cannot see.
            Err(kube::Error::Api(status)) if status.code == 404 => {
                log::warn!("autoscaling/v2 is not served in namespace {}: carbonctl cannot see HPAs there (Kubernetes 1.23 or later serves it)", self.namespace);
                return Ok(BTreeMap::new());
            }
            listed => listed,
        };
        let hpas = hpas
            .map_err(Error::kube(format!(
                "listing HorizontalPodAutoscalers in namespace {} (carbonctl checks for one before changing replicas; rbac.yaml grants it)",
                self.namespace
            )))?;
        let mut found = match_hpas(hpas.items, deployments);
        if !floors || found.values().all(|a| a.keda.is_none()) {
            return Ok(found);
        }
        let path = format!(
            "/apis/{KEDA_API}/namespaces/{}/scaledobjects",
            self.namespace
        );
        let scaled_objects = self
            .list::<SlimScaledObject>(&path, Query::default())
            .await
            .map_err(Error::kube(format!(
                "listing KEDA ScaledObjects in namespace {} (rbac-hpa-floors.yaml grants it)",
                self.namespace
            )))?;
        for keda in found.values_mut().filter_map(|a| a.keda.as_mut()) {
            let so = scaled_objects
                .items
                .iter()
                .find(|so| so.metadata.name == keda.scaled_object.name);
            keda.min = so.map(|so| MinReplicaCount {
                value: so.spec.min_replica_count.unwrap_or(0),
                set: so.spec.min_replica_count.is_some(),
                resource_version: so
                    .metadata
                    .resource_version
                    .as_deref()
                    .and_then(|v| v.parse().ok()),
            });
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Connect;
    use kube_emulator::{Emulator, Fault, FaultKind, Seed};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// carbonctl's client for an emulator, in its namespace `default`.
    fn client(rt: &tokio::runtime::Runtime, emu: &Emulator) -> Cluster {
        let connect = Connect::for_emulator(emu);
        rt.block_on(Cluster::connect(&connect)).unwrap()
    }

    const DEPLOYMENTS: [&str; 3] = ["nginx-denmark", "nginx-france", "nginx-latvia"];

    #[test]
    fn the_namespaces_hpas_and_only_when_steering_floors_keda_s_floors() {
        let mut seed = Seed::demo()
            .with_hpas()
            .with_keda("latvia")
            .with_keda("france");
        for so in &mut seed.scaled_objects {
            so.min_replica_count = Some(if so.target == "nginx-france" { 3 } else { 2 });
        }
        let emu = Emulator::start(seed).unwrap();
        let rt = runtime();
        let cluster = client(&rt, &emu);
        let names = DEPLOYMENTS.map(String::from);
        let scaled_object_lists = || {
            emu.requests()
                .iter()
                .filter(|r| r.path.ends_with("/scaledobjects"))
                .count()
        };

        let found = rt.block_on(cluster.autoscalers(&names, false)).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found["nginx-denmark"].keda.is_none());
        let latvia = found["nginx-latvia"].keda.as_ref().expect("KEDA's HPA");
        assert_eq!(latvia.scaled_object.name, "nginx-latvia");
        assert_eq!(
            latvia.min, None,
            "detection alone does not read ScaledObjects"
        );
        assert_eq!(scaled_object_lists(), 0);

        let found = rt.block_on(cluster.autoscalers(&names, true)).unwrap();
        let floor = |d: &str| found[d].keda.as_ref().and_then(|k| k.min).map(|m| m.value);
        assert_eq!(
            (floor("nginx-france"), floor("nginx-latvia")),
            (Some(3), Some(2))
        );
        assert_eq!(scaled_object_lists(), 1);
    }

    #[test]
    fn plain_hpas_need_no_scaled_objects_and_a_cluster_without_autoscaling_v2_has_none() {
        let emu = Emulator::start(Seed::demo().with_hpas()).unwrap();
        let rt = runtime();
        let cluster = client(&rt, &emu);
        let names = DEPLOYMENTS.map(String::from);
        let found = rt.block_on(cluster.autoscalers(&names, true)).unwrap();
        assert_eq!(found.len(), 3);
        assert!(!emu
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/scaledobjects")));

        emu.inject_fault(Fault::new("/apis/autoscaling/v2", FaultKind::Status(404)));
        let none = rt.block_on(cluster.autoscalers(&names, false)).unwrap();
        assert!(none.is_empty());
        emu.inject_fault(Fault::new("/apis/autoscaling/v2", FaultKind::Status(500)));
        let error = rt.block_on(cluster.autoscalers(&names, false)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("listing HorizontalPodAutoscalers in namespace default"),
            "{error}"
        );
    }

    #[test]
    fn only_a_keda_scaled_object_makes_an_hpa_keda_s() {
        let owner = |api_version: &str, kind: &str| HpaMeta {
            name: "h".into(),
            uid: None,
            owner_references: vec![OwnerReference {
                api_version: api_version.into(),
                kind: kind.into(),
                name: "so".into(),
                uid: None,
            }],
        };
        assert!(owning_scaled_object(&owner("keda.sh/v1alpha1", "ScaledObject")).is_some());
        assert!(owning_scaled_object(&owner("example.com/v1", "ScaledObject")).is_none());
        assert!(owning_scaled_object(&owner("keda.sh/v1alpha1", "ScaledJob")).is_none());
    }

    fn hpas(json: &str) -> Vec<SlimHpa> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_hpa_is_matched_to_the_deployment_it_targets_and_keda_is_told_apart() {
        let found = match_hpas(
            hpas(
                r#"[
                {"metadata":{"name":"web-fr","uid":"u1"},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"nginx-france"},"minReplicas":2,"maxReplicas":6},
                 "status":{"currentReplicas":3,"desiredReplicas":3,"conditions":[{"type":"ScalingLimited","status":"False","reason":"DesiredWithinRange"}]}},
                {"metadata":{"name":"keda-hpa-lv","ownerReferences":[{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","name":"lv","uid":"u2","controller":true}]},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"nginx-latvia"},"minReplicas":1,"maxReplicas":4}},
                {"metadata":{"name":"other"},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"StatefulSet","name":"nginx-denmark"},"maxReplicas":4}}
            ]"#,
            ),
            &[
                "nginx-denmark".into(),
                "nginx-france".into(),
                "nginx-latvia".into(),
            ],
        );
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["nginx-france", "nginx-latvia"]
        );
        let fr = &found["nginx-france"];
        assert_eq!(
            (fr.min, fr.max, fr.current, fr.floor()),
            (2, 6, Some(3), Some(2))
        );
        assert_eq!(fr.describe(), "HPA web-fr");
        assert_eq!(fr.floor_object().kind, "HorizontalPodAutoscaler");
        assert_eq!(
            fr.conditions[0].reason.as_deref(),
            Some("DesiredWithinRange")
        );
        let lv = &found["nginx-latvia"];
        assert_eq!(lv.describe(), "KEDA ScaledObject lv (HPA keda-hpa-lv)");
        assert_eq!(lv.floor(), None, "the ScaledObject was not read");
        assert_eq!(lv.floor_object().kind, "ScaledObject");
        assert_eq!(lv.floor_object().uid.as_deref(), Some("u2"));
    }

    #[test]
    fn an_hpa_without_min_replicas_has_the_api_default_and_the_first_of_two_wins() {
        let found = match_hpas(
            hpas(
                r#"[
                {"metadata":{"name":"b"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"d"},"minReplicas":3,"maxReplicas":5}},
                {"metadata":{"name":"a"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"d"},"maxReplicas":5}}
            ]"#,
            ),
            &["d".into()],
        );
        assert_eq!((found["d"].hpa.name.as_str(), found["d"].min), ("a", 1));
    }

    #[test]
    fn a_keda_floor_is_the_scaled_objects() {
        let mut a = match_hpas(
            hpas(
                r#"[{"metadata":{"name":"keda-hpa-x","ownerReferences":[{"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","name":"x"}]},
                 "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"d"},"minReplicas":1,"maxReplicas":5}}]"#,
            ),
            &["d".into()],
        )
        .remove("d")
        .unwrap();
        a.keda.as_mut().unwrap().min = Some(MinReplicaCount {
            value: 0,
            set: false,
            resource_version: Some(7),
        });
        assert_eq!((a.min, a.floor()), (1, Some(0)));
    }
}
