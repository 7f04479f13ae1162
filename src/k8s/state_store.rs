//! The state ConfigMap as a compare-and-swap register: read with its resourceVersion, write
//! back only if nobody wrote in between. Whoever wins the write may act; the loser must not.

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

    pub async fn load_state(&self, name: &str) -> Result<Loaded, Error> {
        let object = match self.configmaps().get(name).await {
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
        let state =
            State::from_data(&object.data.clone().unwrap_or_default()).map_err(|source| {
                Error::StateDamaged {
                    namespace: self.namespace.clone(),
                    name: name.into(),
                    source,
                }
            })?;
        Ok(Loaded { state, object })
    }

    /// Writes `state` if the ConfigMap still has `previous`'s resourceVersion.
    pub async fn save_state(&self, previous: &ConfigMap, state: &State) -> Result<Saved, Error> {
        let mut object = previous.clone();
        object.data = Some(state.to_data());
        object.metadata.managed_fields = None;
        let name = object.metadata.name.clone().unwrap_or_default();
        match self
            .configmaps()
            .replace(&name, &PostParams::default(), &object)
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
