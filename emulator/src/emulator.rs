//! The blocking handle tests use: the server runs on its own thread with its own tokio
//! runtime, so plain `#[test]` functions can start it, run binaries against it and inspect or
//! change the world between steps. Dropping the handle stops the server.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::autoscaling;
use crate::faults::Fault;
use crate::k8s::resources::{CONFIGMAPS, DEPLOYMENTS, EVENTS, HPAS, SCALED_OBJECTS};
use crate::kubeconfig;
use crate::requests::RequestRecord;
use crate::seed::{NodeSeed, Seed};
use crate::selector::Selector;
use crate::server;
use crate::shared::Shared;
use crate::world::World;

pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn random_token() -> String {
    let a = RandomState::new().hash_one(std::process::id());
    let b = RandomState::new().hash_one(std::time::SystemTime::now());
    format!("kube-emulator-{a:016x}{b:016x}")
}

impl Emulator {
    /// Starts on a free loopback port.
    pub fn start(seed: Seed) -> anyhow::Result<Emulator> {
        Emulator::start_on_port(seed, 0)
    }

    /// Starts on `127.0.0.1:port` (0 picks a free port).
    pub fn start_on_port(seed: Seed, port: u16) -> anyhow::Result<Emulator> {
        Self::start_with_token(seed, port, random_token())
    }

    /// As `start_on_port`, requiring `token` (a cluster restarted on its port, reached with
    /// the kubeconfig its clients already have).
    pub fn start_with_token(seed: Seed, port: u16, token: String) -> anyhow::Result<Emulator> {
        let world = World::from_seed(&seed).context("invalid seed")?;
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(world, token, addr.to_string()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-emulator")
            .enable_all()
            .build()
            .context("cannot start the emulator's runtime")?;
        let (tx, rx) = oneshot::channel();
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kube-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("a non-blocking std listener converts inside the runtime");
                    server::serve(listener, server_shared, rx).await;
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .context("cannot spawn the emulator thread")?;
        Ok(Emulator {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, the Kubernetes API server URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v3`, the ElectricityMaps API base URL.
    pub fn carbon_base_url(&self) -> String {
        format!("{}/v3", self.base_url())
    }

    /// `http://127.0.0.1:PORT/watttime`, the WattTime API base URL (log in with
    /// `WATTTIME_CREDENTIALS`).
    pub fn watttime_base_url(&self) -> String {
        format!("{}/watttime", self.base_url())
    }

    /// `http://127.0.0.1:PORT/ukci`, the UK Carbon Intensity API base URL.
    pub fn ukci_base_url(&self) -> String {
        format!("{}/ukci", self.base_url())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bearer token the Kubernetes API requires (it is in the written kubeconfig).
    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        self.write_kubeconfig_named(path, "kube-emulator")
    }

    /// A kubeconfig whose context, cluster and user are named `name`, to merge with others.
    pub fn write_kubeconfig_named(&self, path: &Path, name: &str) -> anyhow::Result<()> {
        kubeconfig::write(path, &self.base_url(), &self.shared.token, name)
    }

    /// The whole Deployment object (spec, status, resourceVersion, generation).
    pub fn deployment(&self, ns: &str, name: &str) -> Option<Value> {
        self.shared.world().get(&DEPLOYMENTS, ns, name).cloned()
    }

    pub fn replicas(&self, ns: &str, deployment: &str) -> Option<i32> {
        let d = self.deployment(ns, deployment)?;
        d["spec"]["replicas"].as_i64().map(|n| n as i32)
    }

    /// `status.readyReplicas` (0 when the API server would omit it).
    pub fn ready_replicas(&self, ns: &str, deployment: &str) -> Option<i32> {
        let d = self.deployment(ns, deployment)?;
        Some(d["status"]["readyReplicas"].as_i64().unwrap_or(0) as i32)
    }

    /// A change from outside the client under test (a human, HPA). Like any write it bumps
    /// resourceVersion and generation, unless the count is unchanged (a no-op, as on a real
    /// server). Panics if the Deployment does not exist, since that is a mistake in the test.
    pub fn set_replicas(&self, ns: &str, deployment: &str, n: i32) {
        self.shared
            .world()
            .set_replicas(ns, deployment, n)
            .unwrap_or_else(|e| panic!("set_replicas {ns}/{deployment}: {e}"));
    }

    /// Whether requests without a bearer token are served as `system:anonymous` (the
    /// default, because kubectl sends no token over plain HTTP). Off: they get 401.
    pub fn set_allow_anonymous(&self, on: bool) {
        self.shared.world().allow_anonymous = on;
    }

    /// When off, Deployments' readyReplicas stay where they are until `set_ready_replicas`
    /// (a scale-down still lowers them to the new count, since it removes pods).
    pub fn set_auto_ready(&self, on: bool) {
        self.shared.world().auto_ready = on;
    }

    pub fn set_ready_replicas(&self, ns: &str, deployment: &str, n: i32) {
        self.shared
            .world()
            .set_ready_replicas(ns, deployment, n)
            .unwrap_or_else(|e| panic!("set_ready_replicas {ns}/{deployment}: {e}"));
    }

    pub fn configmap_data(&self, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
        let world = self.shared.world();
        let cm = world.get(&CONFIGMAPS, ns, name)?;
        Some(
            cm["data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect(),
        )
    }

    /// The whole ConfigMap object, e.g. to read its resourceVersion.
    pub fn configmap(&self, ns: &str, name: &str) -> Option<Value> {
        self.shared.world().get(&CONFIGMAPS, ns, name).cloned()
    }

    /// Creates the ConfigMap or replaces its data unconditionally; bumps resourceVersion.
    pub fn put_configmap(&self, ns: &str, name: &str, data: BTreeMap<String, String>) {
        let mut world = self.shared.world();
        let result = match world.get(&CONFIGMAPS, ns, name).cloned() {
            Some(mut cm) => {
                cm["data"] = json!(data);
                cm["metadata"]["resourceVersion"] = Value::Null;
                world.update(&CONFIGMAPS, ns, name, cm)
            }
            None => world.create(
                &CONFIGMAPS,
                ns,
                json!({"metadata": {"name": name}, "data": data}),
            ),
        };
        result.unwrap_or_else(|e| panic!("put_configmap {ns}/{name}: {e}"));
    }

    /// Sets CPU usage to `percent` of allocatable on one node, or (None) on every node with
    /// a `region` label. Panics on an unknown node or a negative percentage.
    pub fn set_cpu_percent(&self, node: Option<&str>, percent: f64) {
        self.shared
            .world()
            .set_cpu_percent(node, percent)
            .unwrap_or_else(|e| panic!("set_cpu_percent: {e}"));
    }

    pub fn set_node_ready(&self, node: &str, ready: bool) {
        self.shared
            .world()
            .set_node_ready(node, ready)
            .unwrap_or_else(|e| panic!("set_node_ready {node}: {e}"));
    }

    /// A node that joins the cluster now, with NodeMetrics from its seed's usage.
    pub fn add_node(&self, node: &NodeSeed) {
        self.shared
            .world()
            .join_node(node)
            .unwrap_or_else(|e| panic!("add_node {}: {e:#}", node.name));
    }

    /// A node deleted from the cluster.
    pub fn remove_node(&self, node: &str) {
        self.shared
            .world()
            .remove_node(node)
            .unwrap_or_else(|e| panic!("remove_node {node}: {}", e.message));
    }

    /// A node's new allocatable CPU (`8`, `3500m`).
    pub fn set_node_allocatable_cpu(&self, node: &str, cpu: &str) {
        self.shared
            .world()
            .set_node_allocatable_cpu(node, cpu)
            .unwrap_or_else(|e| panic!("set_node_allocatable_cpu {node}: {}", e.message));
    }

    pub fn set_node_unschedulable(&self, node: &str, cordoned: bool) {
        self.shared
            .world()
            .set_node_unschedulable(node, cordoned)
            .unwrap_or_else(|e| panic!("set_node_unschedulable {node}: {e}"));
    }

    /// Off: metrics.k8s.io disappears from discovery and its paths answer 404, as on a
    /// cluster without metrics-server.
    pub fn set_metrics_available(&self, on: bool) {
        self.shared.world().metrics_available = on;
    }

    /// NodeMetrics `timestamp`s lag this far behind now (stale metrics).
    pub fn set_metrics_age(&self, age: Duration) {
        self.shared.world().metrics_age = age;
    }

    pub fn set_carbon(&self, zone: &str, grams: f64) {
        self.shared.world().carbon.insert(zone.to_string(), grams);
    }

    /// An ElectricityMaps forecast for `zone`, hourly from the current hour (the last value
    /// repeats to the horizon asked).
    pub fn set_forecast(&self, zone: &str, hourly: &[f64]) {
        let mut world = self.shared.world();
        world.forecasts.insert(zone.to_string(), hourly.to_vec());
    }

    /// A UK Carbon Intensity forecast for `area` (a region id or `national`), half-hourly from
    /// the current half hour (the last value repeats).
    pub fn set_ukci_forecast(&self, area: &str, half_hourly: &[f64]) {
        let mut world = self.shared.world();
        world
            .ukci_forecasts
            .insert(area.to_string(), half_hourly.to_vec());
    }

    /// A WattTime signal index (0 to 100) for a region code such as `CAISO_NORTH`.
    pub fn set_watttime(&self, region: &str, index: f64) {
        self.shared
            .world()
            .watttime
            .insert(region.to_string(), index);
    }

    /// A UK Carbon Intensity value: `region` is a region id (`"13"`) or `"national"`.
    pub fn set_ukci(&self, region: &str, grams: f64) {
        self.shared.world().ukci.insert(region.to_string(), grams);
    }

    /// core/v1 Events in a namespace, oldest write first (generated names sort randomly).
    pub fn events(&self, ns: &str) -> Vec<Value> {
        let mut events: Vec<Value> = self
            .shared
            .world()
            .list(&EVENTS, Some(ns), &Selector::default())
            .into_iter()
            .cloned()
            .collect();
        events.sort_by_key(|e| {
            e["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|rv| rv.parse::<u64>().ok())
                .unwrap_or(0)
        });
        events
    }

    /// The whole HorizontalPodAutoscaler object (spec, status with conditions, metadata).
    pub fn hpa(&self, ns: &str, name: &str) -> Option<Value> {
        self.shared.world().get(&HPAS, ns, name).cloned()
    }

    /// The whole KEDA ScaledObject (spec, status with conditions, metadata).
    pub fn scaled_object(&self, ns: &str, name: &str) -> Option<Value> {
        self.shared.world().get(&SCALED_OBJECTS, ns, name).cloned()
    }

    /// Someone else sets an HPA's `spec.minReplicas` (a human, or KEDA on its own HPA):
    /// an unconditional update that bumps resourceVersion, validated as any write (panics if
    /// the HPA is missing or `n` is refused).
    pub fn set_hpa_min(&self, ns: &str, name: &str, n: i32) {
        self.shared
            .world()
            .modify(&HPAS, ns, name, |h| h["spec"]["minReplicas"] = n.into())
            .unwrap_or_else(|e| panic!("set_hpa_min {ns}/{name}: {e}"));
    }

    /// Someone else sets a ScaledObject's `spec.minReplicaCount`; KEDA's HPA follows at once.
    pub fn set_scaled_object_min(&self, ns: &str, name: &str, n: i32) {
        self.shared
            .world()
            .modify(&SCALED_OBJECTS, ns, name, |so| {
                so["spec"]["minReplicaCount"] = n.into()
            })
            .unwrap_or_else(|e| panic!("set_scaled_object_min {ns}/{name}: {e}"));
    }

    /// One pass of KEDA's reconcile over every ScaledObject, then of the HPA controller over
    /// every HPA (the model is in the crate README): targets' replicas may change, whoever
    /// set them.
    pub fn sync_hpas(&self) {
        autoscaling::sync(&mut self.shared.world());
    }

    pub fn inject_fault(&self, fault: Fault) {
        self.shared.faults().add(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log().clone()
    }

    pub fn clear_requests(&self) {
        self.shared.log().clear();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
