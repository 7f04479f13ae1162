//! The Kubernetes edge: connecting, observing, the state register, scaling and events.

mod act;
mod client;
pub mod cpu;
mod fleet;
mod lists;
mod observe;
pub mod quantity;
mod state_store;

pub use act::{event_reason, Scaled};
pub use client::Cluster;
pub use fleet::{Fleet, Member};
pub use observe::{ClusterView, DeploymentView};
pub use state_store::{Loaded, Saved};
