//! The two writes an acting tick makes after claiming the state: a conditional scale through
//! the scale subresource, then an Event like the HPA's `SuccessfulRescale`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::Api;

use super::Cluster;
use crate::error::Error;
use crate::policy::Action;

pub enum Scaled {
    Applied,
    /// Not applied: the replicas were no longer what the tick observed (a person, an HPA,
    /// another tool).
    Changed(String),
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
    /// Sets replicas `from -> to` only if they are still `from` (JSON patch `test` + `replace`).
    pub async fn scale(&self, deployment: &str, from: i32, to: i32) -> Result<Scaled, Error> {
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
                deployment: deployment.into(),
                from,
                to,
                unknown: outcome_unknown(&source),
                source,
            }),
        }
    }

    /// Records the decision as an Event on the Deployment, so `kubectl describe` and
    /// `kubectl get events` show it next to the HPA's own.
    pub async fn record_event(
        &self,
        action: Action,
        deployment: &str,
        message: &str,
        uid: Option<String>,
        now: i64,
    ) -> Result<(), Error> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let time = Timestamp::from_second(now).ok().map(Time);
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", deployment)),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("apps/v1".into()),
                kind: Some("Deployment".into()),
                name: Some(deployment.to_string()),
                namespace: Some(self.namespace.clone()),
                uid,
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
            .map_err(Error::kube(format!("recording an Event on {}", deployment)))
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
