//! The state ConfigMap as a compare-and-swap register: read with its resourceVersion, write
//! back only if nobody wrote in between. Whoever wins the write may act; the loser must not.
//!
//! Both requests go through `body_of`, not kube's typed `Api`: the answer is parsed once from
//! one buffer (kube copies it twice and checks it as UTF-8 first), and the write's answer is
//! read for its metadata only, since the data in it is the data just sent (on 5,000 nodes the
//! state is about 100 KB, read and written every minute).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::lists::Query;
use super::Cluster;
use crate::error::Error;
use crate::state::State;

/// The loaded state and the object it came from (its resourceVersion is the claim ticket).
pub struct Loaded {
    pub state: State,
    pub object: ConfigMap,
}

pub enum Saved {
    /// The object as written: the data sent, with the metadata the server answered.
    Won(Box<ConfigMap>),
    /// Someone wrote the state since it was read: another tick won this round.
    Lost,
}

/// A written object's answer, read for its metadata (the resourceVersion of the next write).
#[derive(Deserialize)]
struct Written {
    metadata: ObjectMeta,
}

impl Cluster {
    fn configmap_path(&self, name: &str) -> String {
        format!("/api/v1/namespaces/{}/configmaps/{name}", self.namespace)
    }

    /// The state, with times ahead of `now` brought back to it (each named in a warning).
    pub async fn load_state(&self, name: &str, now: i64) -> Result<Loaded, Error> {
        let read = |e| Error::Kube {
            what: format!("reading state ConfigMap {}/{name}", self.namespace),
            source: e,
        };
        let path = self.configmap_path(name);
        let object: ConfigMap = match self.get_body(&path, Query::default()).await {
            Ok(body) => {
                serde_json::from_slice(&body).map_err(|e| read(kube::Error::SerdeError(e)))?
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Err(Error::StateMissing {
                    namespace: self.namespace.clone(),
                    name: name.into(),
                })
            }
            Err(e) => return Err(read(e)),
        };
        let state = State::from_data(object.data.as_ref().unwrap_or(&BTreeMap::new())).map_err(
            |source| Error::StateDamaged {
                namespace: self.namespace.clone(),
                name: name.into(),
                source,
            },
        )?;
        let (state, warnings) = state.clamp_future(now);
        for warning in warnings {
            log::warn!("{warning}");
        }
        Ok(Loaded { state, object })
    }

    /// Writes `state` if the ConfigMap still has `previous`'s resourceVersion. Everything but
    /// the data is `previous`'s (its labels, annotations, binary data), as a replace keeps it.
    pub async fn save_state(&self, previous: &ConfigMap, state: &State) -> Result<Saved, Error> {
        let name = previous.metadata.name.clone().unwrap_or_default();
        let write = |e| Error::Kube {
            what: format!("writing state ConfigMap {}/{name}", self.namespace),
            source: e,
        };
        let data = state
            .checked_data()
            .map_err(|source| Error::StateUnwritable {
                namespace: self.namespace.clone(),
                name: name.clone(),
                source,
            })?;
        let mut object = ConfigMap {
            metadata: ObjectMeta {
                managed_fields: None,
                ..previous.metadata.clone()
            },
            binary_data: previous.binary_data.clone(),
            data: Some(data),
            immutable: previous.immutable,
        };
        let body = serde_json::to_vec(&object).map_err(|e| write(kube::Error::SerdeError(e)))?;
        let request = http::Request::put(self.configmap_path(&name))
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(kube::client::Body::from(body))
            .map_err(|e| write(kube::Error::HttpError(e)))?;
        match self.body_of(request).await {
            Ok(answer) => {
                let written: Written = serde_json::from_slice(&answer)
                    .map_err(|e| write(kube::Error::SerdeError(e)))?;
                object.metadata = written.metadata;
                Ok(Saved::Won(Box::new(object)))
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Saved::Lost),
            Err(e) => Err(write(e)),
        }
    }
}
