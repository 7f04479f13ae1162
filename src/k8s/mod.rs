//! The Kubernetes edge: connecting, observing, the state register, scaling and events.

mod act;
mod autoscalers;
mod client;
pub mod cpu;
mod fleet;
mod lists;
mod observe;
pub mod quantity;
mod skim;
mod state_store;
pub mod usage;

pub use act::{deployment_ref, event_reason, Scaled, Target};
pub use autoscalers::{Autoscaler, HpaCondition, Keda, MinReplicaCount, ObjectRef};
pub use client::Cluster;
pub use fleet::{FirstLook, Fleet, Member};
pub use observe::{ClusterView, DeploymentView};
pub use state_store::{Loaded, Saved};
