//! The two writes an acting tick makes after claiming the state: a conditional change (the
//! replicas through the scale subresource, or an autoscaler's floor), then an Event like the
//! HPA's `SuccessfulRescale` on the object changed.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::Api;

use super::autoscalers::{Autoscaler, ObjectRef};
use super::Cluster;
use crate::error::Error;
use crate::policy::Action;

pub enum Scaled {
    Applied,
    /// Not applied: the replicas (or the floor) were no longer what the tick observed (a
    /// person, an HPA, another tool).
    Changed(String),
}

/// What a change to a region is made to.
pub enum Target<'a> {
    /// The Deployment's replicas.
    Replicas(&'a str),
    /// The floor of the autoscaler whose target the Deployment is.
    Floor(&'a Autoscaler),
}

impl Target<'_> {
    /// What the change sets: "replicas", "HPA web (minReplicas)".
    pub fn describe(&self) -> String {
        match self {
            Target::Replicas(_) => "replicas".into(),
            Target::Floor(a) => match &a.keda {
                Some(k) => format!("ScaledObject {} (minReplicaCount)", k.scaled_object.name),
                None => format!("HPA {} (minReplicas)", a.hpa.name),
            },
        }
    }
}

/// A region's Deployment, as an Event's subject.
pub fn deployment_ref(name: &str, uid: Option<String>) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: name.to_string(),
        uid,
    }
}

/// Whether a failed write may still have been applied: the server answered with a server-side
/// error (5xx), or did not answer in a way that can be read (timeout, dropped connection, a
/// body that does not parse). A 4xx answer means the server refused it.
pub fn outcome_unknown(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => !(400..500).contains(&status.code),
        _ => true,
    }
}

impl Cluster {
    /// Moves `target` from `from` to `to`, only if it is still at `from`.
    pub async fn change(&self, target: &Target<'_>, from: i32, to: i32) -> Result<Scaled, Error> {
        match target {
            Target::Replicas(deployment) => self.scale(deployment, from, to).await,
            Target::Floor(autoscaler) => self.set_floor(autoscaler, from, to).await,
        }
    }

    /// Sets replicas `from -> to` only if they are still `from` (JSON patch `test` + `replace`).
    async fn scale(&self, deployment: &str, from: i32, to: i32) -> Result<Scaled, Error> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let patch: json_patch::Patch =
            serde_json::from_value(conditional_scale(from, to)).expect("a well-formed JSON patch");
        let params = PatchParams::default();
        let patch = Patch::Json::<()>(patch);
        match self
            .call(api.patch_scale(deployment, &params, &patch))
            .await
        {
            Ok(_) => Ok(Scaled::Applied),
            Err(kube::Error::Api(status)) if matches!(status.code, 409 | 422) => {
                Ok(Scaled::Changed(status.message.clone()))
            }
            Err(source) => Err(Error::ScaleFailed {
                target: deployment.into(),
                from,
                to,
                unknown: outcome_unknown(&source),
                source,
            }),
        }
    }

    /// Sets an autoscaler's floor `from -> to` only if it is still `from`: the HPA's
    /// `spec.minReplicas`, or for KEDA the ScaledObject's `spec.minReplicaCount` (KEDA
    /// reconciles its HPA from it and would undo a change made to the HPA).
    async fn set_floor(&self, a: &Autoscaler, from: i32, to: i32) -> Result<Scaled, Error> {
        let ns = &self.namespace;
        let (path, patch) = match &a.keda {
            None => (
                format!(
                    "/apis/{}/namespaces/{ns}/horizontalpodautoscalers/{}",
                    a.hpa.api_version, a.hpa.name
                ),
                conditional_floor("/spec/minReplicas", from, to, None),
            ),
            Some(keda) => {
                let so = &keda.scaled_object;
                let rv = keda
                    .min
                    .filter(|m| !m.set)
                    .map(|m| m.resource_version.unwrap_or_default());
                (
                    format!(
                        "/apis/{}/namespaces/{ns}/scaledobjects/{}",
                        so.api_version, so.name
                    ),
                    conditional_floor("/spec/minReplicaCount", from, to, rv),
                )
            }
        };
        match self.call(self.patch_json(&path, &patch)).await {
            Ok(()) => Ok(Scaled::Applied),
            Err(kube::Error::Api(status)) if matches!(status.code, 409 | 422) => {
                Ok(Scaled::Changed(status.message.clone()))
            }
            Err(source) => Err(Error::ScaleFailed {
                target: Target::Floor(a).describe(),
                from,
                to,
                unknown: outcome_unknown(&source),
                source,
            }),
        }
    }

    /// PATCH `path` with a JSON patch, ignoring the object returned.
    async fn patch_json(&self, path: &str, patch: &serde_json::Value) -> Result<(), kube::Error> {
        let request = http::Request::patch(path)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json-patch+json")
            .body(serde_json::to_vec(patch).expect("a JSON value serialises"))
            .map_err(kube::Error::HttpError)?;
        self.client
            .request::<serde::de::IgnoredAny>(request)
            .await
            .map(|_| ())
    }

    /// Records the decision as an Event on `object` (the Deployment, the HPA or the
    /// ScaledObject changed), so `kubectl describe` and `kubectl get events` show it next to
    /// the HPA's own.
    pub async fn record_event(
        &self,
        action: Action,
        object: &ObjectRef,
        message: &str,
        now: i64,
    ) -> Result<(), Error> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let time = Timestamp::from_second(now).ok().map(Time);
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", object.name)),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(object.api_version.clone()),
                kind: Some(object.kind.clone()),
                name: Some(object.name.clone()),
                namespace: Some(self.namespace.clone()),
                uid: object.uid.clone(),
                ..ObjectReference::default()
            },
            reason: Some(event_reason(action).into()),
            message: Some(message.to_string()),
            type_: Some("Normal".into()),
            count: Some(1),
            first_timestamp: time.clone(),
            last_timestamp: time,
            source: Some(EventSource {
                component: Some("carbonctl".into()),
                host: None,
            }),
            reporting_component: Some("carbonctl".into()),
            reporting_instance: Some("carbonctl".into()),
            ..Event::default()
        };
        self.call(api.create(&PostParams::default(), &event))
            .await
            .map(|_| ())
            .map_err(Error::kube(format!(
                "recording an Event on {} {}",
                object.kind, object.name
            )))
    }
}

/// The JSON patch that moves a floor at `path` from `from` to `to` and fails if it is not at
/// `from`. A ScaledObject without `minReplicaCount` (KEDA's default, 0) has nothing to test,
/// so the patch tests the object's `resource_version` instead and adds the field.
pub fn conditional_floor(
    path: &str,
    from: i32,
    to: i32,
    unset_at_version: Option<u64>,
) -> serde_json::Value {
    match unset_at_version {
        Some(version) => serde_json::json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": version.to_string()},
            {"op": "add", "path": path, "value": to},
        ]),
        None => serde_json::json!([
            {"op": "test", "path": path, "value": from},
            {"op": "replace", "path": path, "value": to},
        ]),
    }
}

/// The JSON patch that moves a Scale from `from` to `to` replicas and fails if it is not at
/// `from`. At zero, autoscaling/v1 omits `spec.replicas` (`omitempty`), so the test is on an
/// empty spec and the replicas are added.
pub fn conditional_scale(from: i32, to: i32) -> serde_json::Value {
    if from == 0 {
        serde_json::json!([
            {"op": "test", "path": "/spec", "value": {}},
            {"op": "add", "path": "/spec/replicas", "value": to},
        ])
    } else {
        serde_json::json!([
            {"op": "test", "path": "/spec/replicas", "value": from},
            {"op": "replace", "path": "/spec/replicas", "value": to},
        ])
    }
}

pub fn event_reason(action: Action) -> &'static str {
    match action {
        Action::Heal => "CarbonAwareHeal",
        Action::Rebalance => "CarbonAwareRebalance",
        Action::ScaleUp | Action::ScaleDown => "CarbonAwareRescale",
    }
}
