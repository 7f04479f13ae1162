//! kube-emulator: a Kubernetes API server, ElectricityMaps API and UK Carbon Intensity API stand-in
//! on loopback, for
//! carbonctl's tests, benchmarks and cluster-free demo. It speaks raw JSON (no Kubernetes
//! client crates), so it checks carbonctl's client independently; its fidelity is checked
//! against the real kubectl in `tests/kubectl_fidelity.rs`.

mod admin;
mod autoscaling;
mod carbon;
mod clock;
mod emulator;
mod faults;
mod fields;
mod http;
mod k8s;
mod keda;
mod kubeconfig;
mod patch;
mod protobuf;
mod quantity;
mod requests;
mod seed;
mod selector;
mod server;
mod shared;
mod status;
mod ukci;
mod validation;
mod watttime;
mod world;

pub use emulator::Emulator;
pub use faults::{Fault, FaultKind};
pub use requests::RequestRecord;
/// The WattTime account the emulator accepts at `/watttime/login`: user name and password.
pub const WATTTIME_CREDENTIALS: (&str, &str) = (watttime::USERNAME, watttime::PASSWORD);
pub use seed::{
    ConfigMapSeed, DeploymentSeed, HpaSeed, NodeSeed, ScaledObjectSeed, SecretSeed, Seed,
};
