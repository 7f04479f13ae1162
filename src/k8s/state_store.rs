//! The state ConfigMap as a compare-and-swap register: read with its resourceVersion, write
//! back only if nobody wrote in between. Whoever wins the write may act; the loser must not.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::PostParams;
use kube::Api;

use super::Cluster;
use crate::error::Error;
use crate::state::State;

/// The loaded state and the object it came from (its resourceVersion is the claim ticket).
pub struct Loaded {
    pub state: State,
    pub object: ConfigMap,
}

pub enum Saved {
    Won(Box<ConfigMap>),
    /// Someone wrote the state since it was read: another tick won this round.
    Lost,
}

impl Cluster {
    fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The state, with times ahead of `now` brought back to it (each named in a warning).
    pub async fn load_state(&self, name: &str, now: i64) -> Result<Loaded, Error> {
        let object = match self.call(self.configmaps().get(name)).await {
            Ok(cm) => cm,
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Err(Error::StateMissing {
                    namespace: self.namespace.clone(),
                    name: name.into(),
                })
            }
            Err(e) => {
                return Err(Error::Kube {
                    what: format!("reading state ConfigMap {}/{name}", self.namespace),
                    source: e,
                })
            }
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

    /// Writes `state` if the ConfigMap still has `previous`'s resourceVersion.
    pub async fn save_state(&self, previous: &ConfigMap, state: &State) -> Result<Saved, Error> {
        let mut object = previous.clone();
        let name = object.metadata.name.clone().unwrap_or_default();
        object.data = Some(
            state
                .checked_data()
                .map_err(|source| Error::StateUnwritable {
                    namespace: self.namespace.clone(),
                    name: name.clone(),
                    source,
                })?,
        );
        object.metadata.managed_fields = None;
        let configmaps = self.configmaps();
        match self
            .call(configmaps.replace(&name, &PostParams::default(), &object))
            .await
        {
            Ok(saved) => Ok(Saved::Won(Box::new(saved))),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Saved::Lost),
            Err(e) => Err(Error::Kube {
                what: format!("writing state ConfigMap {}/{name}", self.namespace),
                source: e,
            }),
        }
    }
}
