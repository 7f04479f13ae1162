//! The emulated cluster and carbon data, and the API server's storage rules over them:
//! one resourceVersion counter for every write, optimistic concurrency, generateName,
//! Deployment status that follows its spec.

use std::cell::OnceCell;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};

use crate::fields;
use crate::k8s::resources::{self, ResourceDef, ResourceId};
use crate::selector::Selector;
use crate::status::ApiError;
use crate::validation::{self, FieldError, NameRule};
use base64::Engine;

use crate::seed::{NodeSeed, Seed};
use crate::{autoscaling, clock, keda, quantity};

/// Namespaces every cluster has.
pub const BUILT_IN_NAMESPACES: [&str; 4] =
    ["default", "kube-node-lease", "kube-public", "kube-system"];

/// What metrics-server would report for a node right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeUsage {
    /// Whole nanocores, as metrics-server reports them: a CPU percentage set through the admin
    /// API reaches a client to about 1e-7 of a percentage point, not the 0.025 a millicore is
    /// on a 4-core node.
    pub cpu_nanos: u64,
    pub memory_bytes: u64,
}

type Key = (ResourceId, String, String);

/// A stored object and renderings derived from it. Large lists (5,000 nodes are 8 MB of
/// JSON) then copy bytes rendered once per write instead of serializing every object on every
/// request. Renderings are made on first use and dropped whenever the object changes, so they
/// are never stale.
pub struct Stored {
    value: Value,
    list_item: OnceCell<Box<[u8]>>,
    node_metrics: OnceCell<NodeMetricsParts>,
    selectable: OnceCell<Selectable>,
}

/// An object's labels and indexed fields, as the API server's watch cache keeps them beside
/// each object: selecting from thousands of objects then reads two small buffers per object
/// instead of walking each object's JSON.
pub struct Selectable {
    pub labels: FlatLabels,
    fields: Vec<(&'static str, String)>,
}

impl Selectable {
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }
}

/// Labels as key-value pairs in one array: a lookup compares lengths held in the array and
/// reads only the keys of the length sought.
pub struct FlatLabels(Box<[(Box<str>, Box<str>)]>);

impl FlatLabels {
    fn of(value: &Value) -> FlatLabels {
        let pairs = value["metadata"]["labels"]
            .as_object()
            .map(|labels| {
                labels
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), v.as_str().unwrap_or_default().into()))
                    .collect()
            })
            .unwrap_or_default();
        FlatLabels(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| **k == *key).map(|(_, v)| &**v)
    }
}

/// What a NodeMetrics item takes from its node, so that a NodeMetrics list only has to add
/// the timestamps and the usage.
pub struct NodeMetricsParts {
    pub name: String,
    /// metrics-server cannot scrape a kubelet that is not ready: such a node has no metrics.
    pub ready: bool,
    /// `"labels":…,"name":…`: the end of the item's `metadata`, as JSON.
    pub labels_and_name_json: Box<[u8]>,
}

impl NodeMetricsParts {
    fn of(node: &Value) -> NodeMetricsParts {
        let mut json = Vec::with_capacity(256);
        json.extend_from_slice(b"\"labels\":");
        let written =
            serde_json::to_writer(&mut json, &node["metadata"]["labels"]).and_then(|()| {
                json.extend_from_slice(b",\"name\":");
                serde_json::to_writer(&mut json, &node["metadata"]["name"])
            });
        written.expect("JSON values always serialize");
        NodeMetricsParts {
            name: meta_str(node, "name").to_string(),
            ready: node_is_ready(node),
            labels_and_name_json: json.into_boxed_slice(),
        }
    }
}

impl Stored {
    fn new(value: Value) -> Stored {
        Stored {
            value,
            list_item: OnceCell::new(),
            node_metrics: OnceCell::new(),
            selectable: OnceCell::new(),
        }
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Every change goes through here, which forgets the renderings.
    fn value_mut(&mut self) -> &mut Value {
        self.list_item.take();
        self.node_metrics.take();
        self.selectable.take();
        &mut self.value
    }

    /// The object as the API server puts it in a list: without `kind` and `apiVersion`.
    pub fn list_item_json(&self) -> &[u8] {
        self.list_item.get_or_init(|| {
            // Room for a typical node up front, rather than growing through every power of two.
            let mut json = Vec::with_capacity(2048);
            serde_json::to_writer(&mut json, &ListItem(&self.value))
                .expect("JSON values always serialize");
            json.into_boxed_slice()
        })
    }

    pub fn selectable(&self) -> &Selectable {
        self.selectable.get_or_init(|| Selectable {
            labels: FlatLabels::of(&self.value),
            fields: fields::field_set(self.value["kind"].as_str().unwrap_or_default(), &self.value),
        })
    }

    /// For a node: what its NodeMetrics item takes from it.
    pub fn node_metrics_parts(&self) -> &NodeMetricsParts {
        self.node_metrics
            .get_or_init(|| NodeMetricsParts::of(&self.value))
    }
}

/// Serializes an object without its `kind` and `apiVersion`, straight from the stored value
/// (no copy of the object is made). Keys keep serde_json's sorted order.
struct ListItem<'a>(&'a Value);

impl serde::Serialize for ListItem<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(map) = self.0 else {
            return self.0.serialize(serializer);
        };
        let kept = || {
            map.iter()
                .filter(|(k, _)| k.as_str() != "kind" && k.as_str() != "apiVersion")
        };
        let mut out = serializer.serialize_map(Some(kept().count()))?;
        for (k, v) in kept() {
            out.serialize_entry(k, v)?;
        }
        out.end()
    }
}

pub struct World {
    rv: u64,
    objects: BTreeMap<Key, Stored>,
    /// Looked up once per node for every NodeMetrics list, so hashed rather than ordered.
    usage: HashMap<String, NodeUsage>,
    /// Counts every change to a node or to `usage`: what a NodeMetrics list is made of.
    metrics_changes: u64,
    /// The last NodeMetrics list answered (see `metrics::Memo`).
    pub node_metrics_memo: crate::k8s::metrics::Memo,
    pub carbon: BTreeMap<String, f64>,
    /// ElectricityMaps forecasts set by zone, hourly from the current hour; a zone without one
    /// forecasts its latest value throughout.
    pub forecasts: BTreeMap<String, Vec<f64>>,
    /// UK Carbon Intensity values set by region id (`"13"`) or `"national"`; an area not set
    /// answers its starting value (see `ukci`).
    pub ukci: BTreeMap<String, f64>,
    /// WattTime signal index values by region code; a region not set answers 50.
    pub watttime: BTreeMap<String, f64>,
    /// Bearer tokens WattTime's `/login` has given out, and how many logins there were.
    pub watttime_tokens: Vec<String>,
    pub watttime_logins: u64,
    /// UK Carbon Intensity forecasts set by area, half-hourly from the current half hour.
    pub ukci_forecasts: BTreeMap<String, Vec<f64>>,
    pub tokens: BTreeMap<String, Vec<String>>,
    pub metrics_available: bool,
    pub metrics_age: Duration,
    pub auto_ready: bool,
    /// Whether requests without a bearer token are served (as `system:anonymous`).
    pub allow_anonymous: bool,
    /// A time set through the admin API, which every timestamp the emulator writes or serves
    /// follows (NodeMetrics samples, carbon `datetime`, Events, conditions), so a replay of a
    /// past day meets a cluster living in that day; None follows the real clock.
    pub clock: Option<SystemTime>,
    uid_counter: u64,
    salt: u64,
}

fn meta(obj: &Value) -> &Value {
    &obj["metadata"]
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    meta(obj)[field].as_str().unwrap_or("")
}

/// Suffix characters the API server's name generator uses (no vowels, no look-alikes).
const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What create and update both check first: an object, with known fields, with metadata.
fn prepare_body(def: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(decode_error(def, "json: cannot unmarshal into Go value"));
    }
    check_fields(def, obj)?;
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    Ok(())
}

fn decode_error(def: &ResourceDef, detail: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version \"{v}\" cannot be handled as a {kind}: {detail}",
        kind = def.kind,
        v = def.version
    ))
}

/// Type checks the fields the emulator interprets, as decoding into Go structs would.
fn check_fields(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    if !obj["metadata"].is_object() && !obj["metadata"].is_null() {
        return Err(decode_error(
            def,
            "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta",
        ));
    }
    match def.id {
        ResourceId::ConfigMap => {
            for field in ["data", "binaryData"] {
                match &obj[field] {
                    Value::Null => {}
                    Value::Object(map) if map.values().all(Value::is_string) => {}
                    _ => {
                        return Err(decode_error(
                            def,
                            &format!("json: cannot unmarshal into Go struct field ConfigMap.{field} of type map[string]string"),
                        ))
                    }
                }
            }
        }
        ResourceId::Deployment => {
            let replicas = &obj["spec"]["replicas"];
            if !replicas.is_null() && replicas.as_i64().is_none() {
                return Err(decode_error(
                    def,
                    "json: cannot unmarshal into Go struct field DeploymentSpec.spec.replicas of type int32",
                ));
            }
            if replicas.as_i64().is_some_and(|n| n < 0) {
                return Err(invalid_replicas(def, meta_str(obj, "name"), replicas));
            }
        }
        ResourceId::HorizontalPodAutoscaler => {
            for field in ["minReplicas", "maxReplicas"] {
                let v = &obj["spec"][field];
                if !v.is_null() && v.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() {
                    return Err(decode_error(
                        def,
                        &format!("json: cannot unmarshal into Go struct field HorizontalPodAutoscalerSpec.spec.{field} of type int32"),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// What a kind's validation and the common metadata checks refuse, on create and update
/// alike (`BeforeCreate`/`BeforeUpdate`): names, ConfigMap and Secret keys, total sizes.
fn validate(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let rule = match def.id {
        ResourceId::Event => NameRule::PathSegment,
        ResourceId::Namespace => NameRule::Label,
        ResourceId::Node
        | ResourceId::ConfigMap
        | ResourceId::Secret
        | ResourceId::Deployment
        | ResourceId::HorizontalPodAutoscaler
        | ResourceId::ScaledObject => NameRule::Subdomain,
        _ => return Ok(()),
    };
    let name = meta_str(obj, "name");
    let mut errors = validation::object_meta(rule, name, meta_str(obj, "generateName"));
    match def.id {
        ResourceId::ConfigMap => errors.extend(config_map_errors(obj)),
        ResourceId::Secret => errors.extend(secret_errors(obj)),
        ResourceId::HorizontalPodAutoscaler => errors.extend(autoscaling::spec_errors(obj)),
        ResourceId::ScaledObject => errors.extend(keda::schema_errors(obj)),
        _ => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(validation::invalid(def.kind, def.gr.group, name, &errors))
    }
}

fn string_map(v: &Value) -> impl Iterator<Item = (&String, &str)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
}

/// The bytes a base64 value (binaryData, Secret data) stands for.
fn decoded_len(b64: &str) -> usize {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_or(b64.len() / 4 * 3, |bytes| bytes.len())
}

/// `ValidateConfigMap`: keys of `data` and `binaryData`, no key in both, and at most 1 MiB of
/// values (keys are not counted; binaryData counts its decoded bytes).
fn config_map_errors(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let binary = obj["binaryData"].as_object();
    let mut total = 0;
    for (key, value) in string_map(&obj["data"]) {
        let field = format!("data[{key}]");
        for msg in validation::config_map_key(key) {
            errors.push(FieldError::invalid(field.clone(), key, msg));
        }
        if binary.is_some_and(|b| b.contains_key(key)) {
            errors.push(FieldError::invalid(
                field,
                key,
                "duplicate of key present in binaryData",
            ));
        }
        total += value.len();
    }
    for (key, value) in string_map(&obj["binaryData"]) {
        for msg in validation::config_map_key(key) {
            errors.push(FieldError::invalid(format!("binaryData[{key}]"), key, msg));
        }
        total += decoded_len(value);
    }
    if total > validation::MAX_DATA_SIZE {
        // The whole object is too large: the API server names the empty path, printed `[]`.
        errors.push(FieldError::too_long("[]", validation::MAX_DATA_SIZE));
    }
    errors
}

/// `ValidateSecret`'s key and size rules (the types' required keys are not checked).
fn secret_errors(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut total = 0;
    for (key, value) in string_map(&obj["data"]) {
        for msg in validation::config_map_key(key) {
            errors.push(FieldError::invalid(format!("data[{key}]"), key, msg));
        }
        total += decoded_len(value);
    }
    if total > validation::MAX_DATA_SIZE {
        errors.push(FieldError::too_long("data", validation::MAX_DATA_SIZE));
    }
    errors
}

/// Whether two objects differ only in metadata and status (or in `kind` and `apiVersion`,
/// which the server sets): a custom resource's generation moves with every other change.
fn same_outside_metadata(a: &Value, b: &Value) -> bool {
    let rest = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !["metadata", "status", "kind", "apiVersion"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    rest(a) == rest(b)
}

fn invalid_replicas(def: &ResourceDef, name: &str, value: &Value) -> ApiError {
    let cause = format!("Invalid value: {value}: must be greater than or equal to 0");
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!(
            "{}.{} \"{name}\" is invalid: spec.replicas: {cause}",
            def.kind, def.gr.group
        ),
        details: Some(json!({
            "name": name, "group": def.gr.group, "kind": def.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": "spec.replicas"}]
        })),
        retry_after: None,
    }
}

impl World {
    /// The emulator's "now": the time set through the admin API, else the real clock.
    pub fn now(&self) -> SystemTime {
        self.clock.unwrap_or_else(SystemTime::now)
    }

    pub fn from_seed(seed: &Seed) -> anyhow::Result<World> {
        let mut world = World {
            rv: 1000,
            objects: BTreeMap::new(),
            usage: HashMap::new(),
            metrics_changes: 0,
            node_metrics_memo: Default::default(),
            carbon: seed.carbon.clone(),
            forecasts: BTreeMap::new(),
            ukci: BTreeMap::new(),
            ukci_forecasts: BTreeMap::new(),
            watttime: BTreeMap::new(),
            watttime_tokens: Vec::new(),
            watttime_logins: 0,
            tokens: seed.tokens.clone(),
            metrics_available: true,
            metrics_age: Duration::from_secs(15),
            auto_ready: true,
            allow_anonymous: true,
            clock: None,
            uid_counter: 0,
            salt: RandomState::new().hash_one(std::process::id()),
        };
        let object_namespaces = seed
            .deployments
            .iter()
            .map(|d| &d.namespace)
            .chain(seed.config_maps.iter().map(|c| &c.namespace))
            .chain(seed.secrets.iter().map(|s| &s.namespace))
            .chain(seed.hpas.iter().map(|h| &h.namespace))
            .chain(seed.scaled_objects.iter().map(|s| &s.namespace));
        let mut namespaces: Vec<&str> = BUILT_IN_NAMESPACES.to_vec();
        namespaces.extend(
            seed.namespaces
                .iter()
                .chain(object_namespaces)
                .map(String::as_str),
        );
        namespaces.sort_unstable();
        namespaces.dedup();
        for ns in namespaces {
            world
                .create(
                    &resources::NAMESPACES,
                    "",
                    json!({"metadata": {"name": ns}}),
                )
                .with_context(|| format!("namespace {ns:?}"))?;
        }
        for (i, node) in seed.nodes.iter().enumerate() {
            world.add_node(i, node)?;
        }
        for d in &seed.deployments {
            let mut labels = d.labels.clone();
            labels.entry("app".into()).or_insert_with(|| d.name.clone());
            let app = labels["app"].clone();
            let mut pod_spec = json!({"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                      "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                                      "resources": {"requests": {"cpu": "100m"}}}]});
            if !d.node_selector.is_empty() {
                pod_spec["nodeSelector"] = json!(d.node_selector);
            }
            let obj = json!({
                "metadata": {"name": d.name, "namespace": d.namespace, "labels": labels,
                             "annotations": {"deployment.kubernetes.io/revision": "1"}},
                "spec": {
                    "replicas": d.replicas,
                    "selector": {"matchLabels": {"app": app}},
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600
                }
            });
            world
                .create(&resources::DEPLOYMENTS, &d.namespace, obj)
                .with_context(|| format!("deployment {}/{}", d.namespace, d.name))?;
        }
        for cm in &seed.config_maps {
            let obj = json!({"metadata": {"name": cm.name, "labels": cm.labels}, "data": cm.data});
            world
                .create(&resources::CONFIGMAPS, &cm.namespace, obj)
                .with_context(|| format!("configMap {}/{}", cm.namespace, cm.name))?;
        }
        for s in &seed.secrets {
            let data: Map<String, Value> = s
                .string_data
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        base64::engine::general_purpose::STANDARD
                            .encode(v.as_bytes())
                            .into(),
                    )
                })
                .collect();
            let obj = json!({"metadata": {"name": s.name}, "type": "Opaque", "data": data});
            world
                .create(&resources::SECRETS, &s.namespace, obj)
                .with_context(|| format!("secret {}/{}", s.namespace, s.name))?;
        }
        for h in &seed.hpas {
            let mut spec = json!({
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": h.target},
                "minReplicas": h.min_replicas,
                "maxReplicas": h.max_replicas,
            });
            if let Some(percent) = h.cpu_target_percent {
                spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": percent}}}]);
            }
            world
                .create(
                    &resources::HPAS,
                    &h.namespace,
                    json!({"metadata": {"name": h.name}, "spec": spec}),
                )
                .with_context(|| format!("hpa {}/{}", h.namespace, h.name))?;
        }
        for so in &seed.scaled_objects {
            let mut spec = json!({
                "scaleTargetRef": {"name": so.target},
                "triggers": [{"type": "cpu", "metricType": "Utilization",
                              "metadata": {"value": so.cpu_target_percent.to_string()}}],
            });
            if let Some(min) = so.min_replica_count {
                spec["minReplicaCount"] = min.into();
            }
            if let Some(max) = so.max_replica_count {
                spec["maxReplicaCount"] = max.into();
            }
            world
                .create(
                    &resources::SCALED_OBJECTS,
                    &so.namespace,
                    json!({"metadata": {"name": so.name}, "spec": spec}),
                )
                .with_context(|| format!("scaledObject {}/{}", so.namespace, so.name))?;
        }
        Ok(world)
    }

    /// The current value of the cluster-wide counter, as lists report it.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    fn uid(&mut self) -> String {
        self.uid_counter += 1;
        let h = self
            .salt
            .wrapping_add(self.uid_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let h2 = h.rotate_left(29) ^ 0xA5A5_5A5A_C3C3_3C3C;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            h2 >> 52,
            h2 & 0xffff_ffff_ffff
        )
    }

    /// The API server's name generator: the prefix (cut to 58 bytes, so the name fits in a
    /// 63-character label) and five random characters.
    fn generated_name(&self, prefix: &str) -> String {
        let mut n = self.salt ^ (self.rv.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut cut = prefix.len().min(58);
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut name = prefix[..cut].to_string();
        for _ in 0..5 {
            name.push(NAME_CHARS[(n % NAME_CHARS.len() as u64) as usize] as char);
            n /= NAME_CHARS.len() as u64;
        }
        name
    }

    fn key(def: &ResourceDef, ns: &str, name: &str) -> Key {
        let ns = if def.namespaced { ns } else { "" };
        (def.id, ns.to_string(), name.to_string())
    }

    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&World::key(def, ns, name))
            .map(Stored::value)
    }

    /// Objects of one resource, in one namespace or (None) all, in name order.
    pub fn list(&self, def: &ResourceDef, ns: Option<&str>, selector: &Selector) -> Vec<&Value> {
        self.list_stored(def, ns, selector)
            .into_iter()
            .map(Stored::value)
            .collect()
    }

    /// As `list`, with each object's rendered list item at hand.
    pub fn list_stored(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        selector: &Selector,
    ) -> Vec<&Stored> {
        // Keys sort by resource first, so one resource's objects are one contiguous range.
        let first = (def.id, String::new(), String::new());
        self.objects
            .range(first..)
            .take_while(|((id, _, _), _)| *id == def.id)
            .filter(|((_, obj_ns, _), stored)| {
                ns.is_none_or(|ns| !def.namespaced || obj_ns == ns)
                    && (selector.is_empty()
                        || selector.matches_with(|k| stored.selectable().labels.get(k)))
            })
            .map(|(_, stored)| stored)
            .collect()
    }

    fn finish(&self, def: &ResourceDef, obj: &mut Value) {
        obj["apiVersion"] = def.api_version().into();
        obj["kind"] = def.kind.into();
        if def.id == ResourceId::Deployment {
            let room = self.pod_room(&obj["spec"]["template"]["spec"]["nodeSelector"]);
            refresh_deployment_status(obj, self.auto_ready, room, self.now());
        }
        if def.id == ResourceId::Namespace {
            // What the namespace strategy and the default-label admission add.
            let name = obj["metadata"]["name"].clone();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
    }

    /// The nodes a pod template's pods can run on: ready nodes that are not cordoned, carry
    /// no NoSchedule or NoExecute taint (the emulator's pods tolerate none) and have every
    /// label of `node_selector`.
    fn pod_nodes<'a>(&'a self, node_selector: &'a Value) -> impl Iterator<Item = &'a Value> {
        let wanted = node_selector.as_object();
        let usable = move |node: &Value| {
            let ready = node["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            let tainted = node["spec"]["taints"].as_array().is_some_and(|ts| {
                ts.iter()
                    .any(|t| t["effect"] == "NoSchedule" || t["effect"] == "NoExecute")
            });
            let labels = &node["metadata"]["labels"];
            let selected = wanted.is_none_or(|w| w.iter().all(|(k, v)| &labels[k] == v));
            ready && !tainted && node["spec"]["unschedulable"] != true && selected
        };
        self.list_stored(&resources::NODES, None, &Selector::default())
            .into_iter()
            .map(Stored::value)
            .filter(move |node| usable(node))
    }

    /// How many pods the nodes a pod template selects can run: the sum of their
    /// `allocatable.pods`. Pods of one Deployment do not compete with others' here; a
    /// region without a usable node runs none.
    fn pod_room(&self, node_selector: &Value) -> i64 {
        self.pod_nodes(node_selector)
            .map(|node| {
                node["status"]["allocatable"]["pods"]
                    .as_str()
                    .and_then(|p| p.parse::<i64>().ok())
                    .unwrap_or(110)
            })
            .sum()
    }

    /// The CPU utilization of a Deployment's pods, as the HPA would read it from
    /// metrics.k8s.io: the emulator has no pods, so it is the average CPU usage (as a
    /// percentage of allocatable, truncated) of the nodes its pods can run on. None when
    /// metrics.k8s.io is gone or no such node exists.
    pub fn pod_cpu_percent(&self, deployment: &Value) -> Option<u32> {
        if !self.metrics_available {
            return None;
        }
        let selector = &deployment["spec"]["template"]["spec"]["nodeSelector"];
        // Hundredths of a percent, in integers, so that 45% is 45 and not 44.99...
        let shares: Vec<u64> = self
            .pod_nodes(selector)
            .filter_map(|node| {
                let name = meta_str(node, "name");
                let allocatable = self.allocatable_cpu_millis(name).filter(|m| *m > 0)?;
                Some(self.usage(name)?.cpu_nanos / (allocatable * 100))
            })
            .collect();
        if shares.is_empty() {
            return None;
        }
        let average = shares.iter().sum::<u64>() / shares.len() as u64 / 100;
        Some(u32::try_from(average).unwrap_or(u32::MAX))
    }

    /// After a node changes, every Deployment's availability follows the room its pods have.
    fn replace_pods(&mut self) {
        let keys: Vec<_> = self
            .objects
            .keys()
            .filter(|(id, _, _)| *id == ResourceId::Deployment)
            .cloned()
            .collect();
        for key in keys {
            let mut obj = self.objects[&key].value().clone();
            self.finish(&resources::DEPLOYMENTS, &mut obj);
            if &obj != self.objects[&key].value() {
                obj["metadata"]["resourceVersion"] = self.next_rv().into();
                self.put(key, obj);
            }
        }
    }

    /// POST: generateName, AlreadyExists, server-set metadata.
    pub fn create(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        prepare_body(def, &mut obj)?;
        let body_ns = meta_str(&obj, "namespace");
        if def.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // The NamespaceLifecycle admission plugin runs before validation and storage.
        if def.namespaced && self.get(&resources::NAMESPACES, "", ns).is_none() {
            return Err(ApiError::not_found(resources::NAMESPACES.gr, ns));
        }
        let mut name = meta_str(&obj, "name").to_string();
        let prefix = meta_str(&obj, "generateName");
        if name.is_empty() && !prefix.is_empty() {
            name = self.generated_name(prefix);
            obj["metadata"]["name"] = name.clone().into();
        }
        if def.id == ResourceId::HorizontalPodAutoscaler {
            autoscaling::set_defaults(&mut obj);
        }
        if def.status {
            // Status is written through /status only: a created object has none yet.
            if let Some(map) = obj.as_object_mut() {
                map.remove("status");
            }
        }
        validate(def, &obj)?;
        let key = World::key(def, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(def.gr, &name));
        }
        let uid = self.uid();
        let rv = self.next_rv();
        let m = &mut obj["metadata"];
        m["name"] = name.clone().into();
        if def.namespaced {
            m["namespace"] = ns.into();
        }
        m["uid"] = uid.into();
        m["resourceVersion"] = rv.into();
        m["creationTimestamp"] = clock::rfc3339(self.now()).into();
        if def.id == ResourceId::Deployment || def.custom {
            m["generation"] = 1.into();
        }
        self.finish(def, &mut obj);
        self.put(key, obj.clone());
        self.after_write(def, ns, &name);
        Ok(obj)
    }

    /// What controllers do at once after a write, in place of watching for it: KEDA's
    /// operator reconciles a written ScaledObject (and so its HPA).
    fn after_write(&mut self, def: &ResourceDef, ns: &str, name: &str) {
        if def.id == ResourceId::ScaledObject {
            keda::reconcile(self, ns, name);
        }
    }

    /// PUT: a stale `metadata.resourceVersion` is a Conflict, an absent one an unconditional
    /// write; a write that changes nothing keeps the resourceVersion, as etcd storage does.
    pub fn update(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        prepare_body(def, &mut obj)?;
        let body_name = meta_str(&obj, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = meta_str(&obj, "namespace");
        if def.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let key = World::key(def, ns, name);
        let Some(current) = self.objects.get(&key).map(Stored::value) else {
            return Err(ApiError::not_found(def.gr, name));
        };
        let current_rv = meta_str(current, "resourceVersion").to_string();
        let body_rv = meta_str(&obj, "resourceVersion");
        if !body_rv.is_empty() && body_rv != current_rv {
            return Err(ApiError::conflict(def.gr, name));
        }
        let m = &mut obj["metadata"];
        m["name"] = name.into();
        if def.namespaced {
            m["namespace"] = ns.into();
        }
        for field in ["uid", "creationTimestamp", "generation"] {
            match current["metadata"].get(field) {
                Some(v) => m[field] = v.clone(),
                None => {
                    if let Some(map) = m.as_object_mut() {
                        map.remove(field);
                    }
                }
            }
        }
        m["resourceVersion"] = current_rv.clone().into();
        if def.id == ResourceId::HorizontalPodAutoscaler {
            autoscaling::set_defaults(&mut obj);
        }
        validate(def, &obj)?;
        if def.id == ResourceId::Deployment || def.status {
            // Status is written through /status only; the main resource keeps the old one.
            match current.get("status") {
                Some(status) => obj["status"] = status.clone(),
                None => {
                    if let Some(map) = obj.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        }
        if (def.id == ResourceId::Deployment && obj["spec"] != current["spec"])
            || (def.custom && !same_outside_metadata(&obj, current))
        {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            obj["metadata"]["generation"] = generation.into();
        }
        self.finish(def, &mut obj);
        if &obj == self.objects[&key].value() {
            return Ok(obj);
        }
        obj["metadata"]["resourceVersion"] = self.next_rv().into();
        self.put(key, obj.clone());
        if def.id == ResourceId::Node {
            self.replace_pods();
        }
        self.after_write(def, ns, name);
        Ok(obj)
    }

    /// PUT (or PATCH) on `/status`: only the status changes (the rest of the body is
    /// ignored, as the status strategies do); a stale resourceVersion is a Conflict.
    pub fn update_status(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        prepare_body(def, &mut obj)?;
        let Some(current) = self.get(def, ns, name).cloned() else {
            return Err(ApiError::not_found(def.gr, name));
        };
        let body_rv = meta_str(&obj, "resourceVersion");
        if !body_rv.is_empty() && body_rv != meta_str(&current, "resourceVersion") {
            return Err(ApiError::conflict(def.gr, name));
        }
        if def.id == ResourceId::HorizontalPodAutoscaler {
            let errors = autoscaling::status_errors(&obj);
            if !errors.is_empty() {
                return Err(validation::invalid(def.kind, def.gr.group, name, &errors));
            }
        }
        let status = obj.get("status").cloned();
        Ok(self
            .controller_write(def, ns, name, |o| match status {
                Some(status) => o["status"] = status,
                None => {
                    if let Some(map) = o.as_object_mut() {
                        map.remove("status");
                    }
                }
            })
            .expect("the object exists: it was read above"))
    }

    /// A controller's write (an HPA's status, KEDA's label and status on its ScaledObject):
    /// `change` applied to the stored object, stored with a new resourceVersion if it
    /// changed anything. None if the object does not exist.
    pub fn controller_write(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let key = World::key(def, ns, name);
        let mut obj = self.objects.get(&key)?.value().clone();
        change(&mut obj);
        if &obj != self.objects[&key].value() {
            obj["metadata"]["resourceVersion"] = self.next_rv().into();
            self.put(key, obj.clone());
        }
        Some(obj)
    }

    /// DELETE: answers with the Success Status the API server sends for resources that do not
    /// return the deleted object.
    pub fn delete(&mut self, def: &ResourceDef, ns: &str, name: &str) -> Result<Value, ApiError> {
        let Some(Stored { value: old, .. }) = self.objects.remove(&World::key(def, ns, name))
        else {
            return Err(ApiError::not_found(def.gr, name));
        };
        self.next_rv();
        if def.id == ResourceId::Node {
            self.metrics_changes += 1;
        }
        if def.id == ResourceId::ScaledObject {
            keda::collect_garbage(self, ns, &old);
        }
        let mut details =
            json!({"name": name, "kind": def.gr.resource, "uid": meta_str(&old, "uid")});
        if !def.gr.group.is_empty() {
            details["group"] = def.gr.group.into();
        }
        Ok(
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        )
    }

    /// Rewrites an object through `update`, so every test-side change follows the same rules.
    pub fn modify(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Result<Value, ApiError> {
        let mut obj = self
            .get(def, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(def.gr, name))?;
        change(&mut obj);
        obj["metadata"]["resourceVersion"] = Value::Null;
        self.update(def, ns, name, obj)
    }

    pub fn set_replicas(&mut self, ns: &str, name: &str, replicas: i32) -> Result<Value, ApiError> {
        self.modify(&resources::DEPLOYMENTS, ns, name, |d| {
            d["spec"]["replicas"] = replicas.into()
        })
    }

    /// Stands in for the ReplicaSet controller when automatic readiness is off.
    pub fn set_ready_replicas(
        &mut self,
        ns: &str,
        name: &str,
        ready: i32,
    ) -> Result<Value, ApiError> {
        let key = World::key(&resources::DEPLOYMENTS, ns, name);
        if !self.objects.contains_key(&key) {
            return Err(ApiError::not_found(resources::DEPLOYMENTS.gr, name));
        }
        let rv = self.next_rv();
        let now = self.now();
        let obj = self
            .objects
            .get_mut(&key)
            .expect("checked above")
            .value_mut();
        set_ready_status(obj, i64::from(ready), now);
        obj["metadata"]["resourceVersion"] = rv.into();
        Ok(obj.clone())
    }

    /// A node as the seed describes it, with its usage for NodeMetrics; `i` numbers its pod
    /// CIDR and address.
    pub fn add_node(&mut self, i: usize, node: &NodeSeed) -> anyhow::Result<()> {
        let cpu = quantity::cpu_millis(&node.cpu)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("node {}: cpu", node.name))?;
        let memory = quantity::parse(&node.memory)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("node {}: memory", node.name))? as u64;
        let cpu_used = match (&node.cpu_usage, node.cpu_percent) {
            (Some(_), Some(_)) => {
                bail!("node {}: give cpuUsage or cpuPercent, not both", node.name)
            }
            (Some(q), None) => {
                quantity::cpu_millis(q)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("node {}: cpuUsage", node.name))?
                    * NANOS_PER_MILLI
            }
            (None, Some(p)) => percent_of(cpu, p),
            (None, None) => 0,
        };
        let mut labels: Map<String, Value> = node
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        labels
            .entry("kubernetes.io/hostname")
            .or_insert(node.name.clone().into());
        let mut taints = node.taints.clone();
        if node.unschedulable {
            taints.push(unschedulable_taint());
        }
        if !node.ready {
            taints.push(not_ready_taint());
        }
        let now = clock::rfc3339(self.now());
        let obj = json!({
            "metadata": {"name": node.name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"podCIDR": format!("10.244.{i}.0/24"), "podCIDRs": [format!("10.244.{i}.0/24")]},
            "status": {
                "capacity": {"cpu": node.cpu, "memory": node.memory, "pods": node.max_pods.to_string()},
                "allocatable": {"cpu": node.cpu, "memory": node.memory, "pods": node.max_pods.to_string()},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                     "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                     "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": now},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                     "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                    ready_condition(node.ready, &now),
                ],
                "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{}", i + 10)},
                              {"type": "Hostname", "address": node.name}],
                "nodeInfo": {"kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0",
                             "containerRuntimeVersion": "containerd://2.0.5", "operatingSystem": "linux",
                             "architecture": "amd64", "osImage": "Debian GNU/Linux 13 (trixie)",
                             "kernelVersion": "6.12.0-1-amd64", "machineID": "", "systemUUID": "", "bootID": ""}
            }
        });
        let mut obj = obj;
        if node.unschedulable {
            obj["spec"]["unschedulable"] = true.into();
        }
        if !taints.is_empty() {
            obj["spec"]["taints"] = Value::Array(taints);
        }
        self.create(&resources::NODES, "", obj)
            .with_context(|| format!("node {}", node.name))?;
        self.metrics_changes += 1;
        self.usage.insert(
            node.name.clone(),
            NodeUsage {
                cpu_nanos: cpu_used,
                memory_bytes: memory * 3 / 10,
            },
        );
        Ok(())
    }

    /// A node that joins after the start (a cluster autoscaler's new node).
    pub fn join_node(&mut self, node: &NodeSeed) -> anyhow::Result<()> {
        let i = self.usage.len();
        self.add_node(i, node)?;
        self.replace_pods();
        Ok(())
    }

    /// A node deleted (drained and removed): it leaves the node list and NodeMetrics.
    pub fn remove_node(&mut self, node: &str) -> Result<(), ApiError> {
        self.delete(&resources::NODES, "", node)?;
        self.usage.remove(node);
        self.metrics_changes += 1;
        self.replace_pods();
        Ok(())
    }

    /// A new allocatable CPU, as a kubelet restarted with other reservations reports it.
    pub fn set_node_allocatable_cpu(&mut self, node: &str, cpu: &str) -> Result<Value, ApiError> {
        quantity::cpu_millis(cpu).map_err(ApiError::bad_request)?;
        self.modify(&resources::NODES, "", node, |n| {
            n["status"]["allocatable"]["cpu"] = cpu.into();
        })
    }

    pub fn set_node_ready(&mut self, node: &str, ready: bool) -> Result<Value, ApiError> {
        let now = clock::rfc3339(self.now());
        self.modify(&resources::NODES, "", node, |n| {
            if let Some(conditions) = n["status"]["conditions"].as_array_mut() {
                conditions.retain(|c| c["type"] != "Ready");
                conditions.push(ready_condition(ready, &now));
            }
            set_taint(n, not_ready_taint(), !ready);
        })
    }

    pub fn set_node_unschedulable(
        &mut self,
        node: &str,
        cordoned: bool,
    ) -> Result<Value, ApiError> {
        self.modify(&resources::NODES, "", node, |n| {
            if cordoned {
                n["spec"]["unschedulable"] = true.into();
            } else if let Some(spec) = n["spec"].as_object_mut() {
                spec.remove("unschedulable");
            }
            set_taint(n, unschedulable_taint(), cordoned);
        })
    }

    /// A number that changes whenever a node or a node's usage does.
    pub fn metrics_generation(&self) -> u64 {
        self.metrics_changes
    }

    /// Every write of an object goes through here, so a node's change is counted.
    fn put(&mut self, key: Key, obj: Value) {
        if key.0 == ResourceId::Node {
            self.metrics_changes += 1;
        }
        self.objects.insert(key, Stored::new(obj));
    }

    pub fn usage(&self, node: &str) -> Option<NodeUsage> {
        self.usage.get(node).copied()
    }

    fn allocatable_cpu_millis(&self, node: &str) -> Option<u64> {
        let obj = self.get(&resources::NODES, "", node)?;
        quantity::cpu_millis(obj["status"]["allocatable"]["cpu"].as_str()?).ok()
    }

    /// Sets CPU usage to a share of allocatable CPU on one node, or (None) on every node with
    /// a `region` label; returns the names of the nodes changed.
    pub fn set_cpu_percent(
        &mut self,
        node: Option<&str>,
        percent: f64,
    ) -> Result<Vec<String>, String> {
        if !(percent.is_finite() && percent >= 0.0) {
            return Err(format!(
                "percent must be a non-negative number, got {percent}"
            ));
        }
        let names: Vec<String> = match node {
            Some(name) => {
                if self.get(&resources::NODES, "", name).is_none() {
                    return Err(format!("no node named {name:?}"));
                }
                vec![name.to_string()]
            }
            None => self
                .list(
                    &resources::NODES,
                    None,
                    &Selector::parse("region").expect("valid"),
                )
                .iter()
                .map(|n| meta_str(n, "name").to_string())
                .collect(),
        };
        self.metrics_changes += 1;
        for name in &names {
            let cpu = self.allocatable_cpu_millis(name).unwrap_or(0);
            if let Some(u) = self.usage.get_mut(name) {
                u.cpu_nanos = percent_of(cpu, percent);
            }
        }
        Ok(names)
    }

    /// Every node, for NodeMetrics: metrics-server cannot scrape a kubelet that is not ready.
    pub fn metric_nodes(&self, selector: &Selector) -> Vec<(&Value, NodeUsage)> {
        self.metric_nodes_stored(selector)
            .into_iter()
            .map(|(n, usage)| (n.value(), usage))
            .collect()
    }

    /// As `metric_nodes`, with each node's NodeMetrics parts at hand.
    pub fn metric_nodes_stored(&self, selector: &Selector) -> Vec<(&Stored, NodeUsage)> {
        self.list_stored(&resources::NODES, None, selector)
            .into_iter()
            .filter_map(|n| {
                let parts = n.node_metrics_parts();
                Some((n, self.usage(&parts.name).filter(|_| parts.ready)?))
            })
            .collect()
    }
}

const NANOS_PER_MILLI: u64 = 1_000_000;

/// `percent` of `millis` millicores, in whole nanocores.
fn percent_of(millis: u64, percent: f64) -> u64 {
    (millis as f64 * NANOS_PER_MILLI as f64 * percent / 100.0).round() as u64
}

pub fn node_is_ready(node: &Value) -> bool {
    // From the end: Ready is the last condition, as the kubelet writes them.
    node["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .rev()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn ready_condition(ready: bool, now: &str) -> Value {
    if ready {
        json!({"type": "Ready", "status": "True", "reason": "KubeletReady",
               "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
               "message": "container runtime network not ready", "lastHeartbeatTime": now, "lastTransitionTime": now})
    }
}

fn unschedulable_taint() -> Value {
    json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
}

fn not_ready_taint() -> Value {
    json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
}

fn set_taint(node: &mut Value, taint: Value, present: bool) {
    let mut taints: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    taints.retain(|t| t["key"] != taint["key"]);
    if present {
        taints.push(taint);
    }
    if taints.is_empty() {
        if let Some(spec) = node["spec"].as_object_mut() {
            spec.remove("taints");
        }
    } else {
        node["spec"]["taints"] = Value::Array(taints);
    }
}

/// Zero counts are omitted, as the API server's `omitempty` status fields are.
fn put_count(status: &mut Value, field: &str, n: i64) {
    if n > 0 {
        status[field] = n.into();
    } else if let Some(map) = status.as_object_mut() {
        map.remove(field);
    }
}

fn set_ready_status(obj: &mut Value, ready: i64, now: SystemTime) {
    let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = ready.clamp(0, replicas);
    let status = &mut obj["status"];
    put_count(status, "readyReplicas", ready);
    put_count(status, "availableReplicas", ready);
    put_count(status, "unavailableReplicas", replicas - ready);
    let available = if ready >= replicas { "True" } else { "False" };
    let same_availability = status["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Available" && c["status"] == available)
    });
    if same_availability {
        // Condition timestamps move only on transitions, so a no-op write stays a no-op.
        return;
    }
    let now = clock::rfc3339(now);
    let (reason, message) = if available == "True" {
        (
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    obj["status"]["conditions"] = json!([
        {"type": "Available", "status": available, "reason": reason, "message": message,
         "lastUpdateTime": now, "lastTransitionTime": now},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
         "message": format!("ReplicaSet \"{name}\" has successfully progressed."),
         "lastUpdateTime": now, "lastTransitionTime": now}
    ]);
}

/// The Deployment and ReplicaSet controllers' and the scheduler's effect, instantly: every
/// replica is updated and, with automatic readiness, ready as far as its nodes have room
/// (`room` pods); without it readiness stays put (but never exceeds the desired count, since
/// scaling down removes pods, nor the room).
fn refresh_deployment_status(obj: &mut Value, auto_ready: bool, room: i64, now: SystemTime) {
    let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = obj["metadata"]["generation"].clone();
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    let previous_ready = obj["status"]["readyReplicas"].as_i64().unwrap_or(0);
    let status = &mut obj["status"];
    status["observedGeneration"] = generation;
    put_count(status, "replicas", replicas);
    put_count(status, "updatedReplicas", replicas);
    let ready = if auto_ready { replicas } else { previous_ready };
    set_ready_status(obj, ready.min(room), now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> World {
        World::from_seed(&Seed::demo()).unwrap()
    }

    impl World {
        fn configmap_len(&self, ns: &str, name: &str) -> usize {
            self.get(&resources::CONFIGMAPS, ns, name).unwrap()["data"]
                .as_object()
                .unwrap()
                .len()
        }
    }

    fn cm(name: &str, rv: Option<&str>) -> Value {
        let mut obj = json!({"metadata": {"name": name}, "data": {"k": "v"}});
        if let Some(rv) = rv {
            obj["metadata"]["resourceVersion"] = rv.into();
        }
        obj
    }

    #[test]
    fn every_write_bumps_the_single_counter() {
        let mut w = demo();
        let before = w.resource_version();
        let a = w
            .create(&resources::CONFIGMAPS, "default", cm("a", None))
            .unwrap();
        let b = w.set_replicas("default", "nginx-france", 3).unwrap();
        let rv_a: u64 = meta_str(&a, "resourceVersion").parse().unwrap();
        let rv_b: u64 = meta_str(&b, "resourceVersion").parse().unwrap();
        assert!(before < rv_a && rv_a < rv_b);
        assert_eq!(w.resource_version(), rv_b);
    }

    #[test]
    fn stale_resource_version_conflicts_and_absent_one_overwrites() {
        let mut w = demo();
        let created = w
            .create(&resources::CONFIGMAPS, "default", cm("s", None))
            .unwrap();
        let rv = meta_str(&created, "resourceVersion").to_string();
        let mut next = cm("s", Some(&rv));
        next["data"]["k"] = "w".into();
        w.update(&resources::CONFIGMAPS, "default", "s", next.clone())
            .unwrap();
        let err = w
            .update(&resources::CONFIGMAPS, "default", "s", next)
            .unwrap_err();
        assert_eq!((err.code, err.reason), (409, "Conflict"));
        let mut blind = cm("s", None);
        blind["data"]["k"] = "x".into();
        let out = w
            .update(&resources::CONFIGMAPS, "default", "s", blind)
            .unwrap();
        assert_eq!(out["data"]["k"], "x");
        assert_eq!(out["metadata"]["uid"], created["metadata"]["uid"]);
    }

    #[test]
    fn no_op_update_keeps_the_resource_version() {
        let mut w = demo();
        let created = w
            .create(&resources::CONFIGMAPS, "default", cm("n", None))
            .unwrap();
        let same = w
            .update(&resources::CONFIGMAPS, "default", "n", created.clone())
            .unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn create_twice_is_already_exists_and_generate_name_makes_unique_names() {
        let mut w = demo();
        w.create(&resources::CONFIGMAPS, "default", cm("dup", None))
            .unwrap();
        let err = w
            .create(&resources::CONFIGMAPS, "default", cm("dup", None))
            .unwrap_err();
        assert_eq!((err.code, err.reason), (409, "AlreadyExists"));
        let ev = json!({"metadata": {"generateName": "nginx-france."}, "reason": "Scaled"});
        let a = w.create(&resources::EVENTS, "default", ev.clone()).unwrap();
        let b = w.create(&resources::EVENTS, "default", ev).unwrap();
        let (na, nb) = (meta_str(&a, "name"), meta_str(&b, "name"));
        assert!(na.starts_with("nginx-france.") && na.len() == "nginx-france.".len() + 5);
        assert_ne!(na, nb);
        let err = w
            .create(&resources::EVENTS, "default", json!({"metadata": {}}))
            .unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
    }

    #[test]
    fn deployment_status_follows_spec_unless_readiness_is_manual() {
        let mut w = demo();
        let d = w.set_replicas("default", "nginx-latvia", 4).unwrap();
        assert_eq!(d["status"]["readyReplicas"], 4);
        assert_eq!(d["status"]["updatedReplicas"], 4);
        assert_eq!(
            d["status"]["observedGeneration"],
            d["metadata"]["generation"]
        );
        assert_eq!(d["metadata"]["generation"], 2);
        w.auto_ready = false;
        let d = w.set_replicas("default", "nginx-latvia", 6).unwrap();
        assert_eq!(d["status"]["readyReplicas"], 4);
        assert_eq!(d["status"]["unavailableReplicas"], 2);
        let d = w.set_ready_replicas("default", "nginx-latvia", 6).unwrap();
        assert_eq!(d["status"]["readyReplicas"], 6);
        let d = w.set_replicas("default", "nginx-latvia", 1).unwrap();
        assert_eq!(d["status"]["readyReplicas"], 1);
        assert!(d["status"].get("unavailableReplicas").is_none());
    }

    #[test]
    fn invalid_bodies_are_rejected_like_go_decoding() {
        let mut w = demo();
        let bad = json!({"metadata": {"name": "x"}, "data": {"n": 1}});
        assert_eq!(
            w.create(&resources::CONFIGMAPS, "default", bad)
                .unwrap_err()
                .code,
            400
        );
        let err = w.set_replicas("default", "nginx-france", -1).unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
        let err = w
            .update(&resources::CONFIGMAPS, "default", "other", cm("x", None))
            .unwrap_err();
        assert_eq!(err.code, 400);
    }

    #[test]
    fn cpu_percent_applies_to_region_nodes_by_default() {
        let mut w = demo();
        assert_eq!(w.usage("worker-france").unwrap().cpu_nanos, 1_800_000_000);
        let changed = w.set_cpu_percent(None, 85.0).unwrap();
        assert_eq!(
            changed,
            ["worker-denmark", "worker-france", "worker-latvia"]
        );
        assert_eq!(w.usage("worker-latvia").unwrap().cpu_nanos, 3_400_000_000);
        assert_eq!(w.usage("control-plane").unwrap().cpu_nanos, 800_000_000);
        w.set_cpu_percent(Some("control-plane"), 50.0).unwrap();
        assert_eq!(w.usage("control-plane").unwrap().cpu_nanos, 2_000_000_000);
        assert!(w.set_cpu_percent(Some("nope"), 1.0).is_err());
        assert!(w.set_cpu_percent(None, -1.0).is_err());
    }

    #[test]
    fn node_readiness_and_cordon_show_in_conditions_taints_and_metrics() {
        let mut w = demo();
        let n = w.set_node_ready("worker-france", false).unwrap();
        assert!(!node_is_ready(&n));
        assert_eq!(w.metric_nodes(&Selector::default()).len(), 3);
        let n = w.set_node_unschedulable("worker-france", true).unwrap();
        assert_eq!(n["spec"]["unschedulable"], true);
        assert_eq!(n["spec"]["taints"].as_array().unwrap().len(), 2);
        let n = w.set_node_unschedulable("worker-france", false).unwrap();
        assert!(n["spec"].get("unschedulable").is_none());
        let n = w.set_node_ready("worker-france", true).unwrap();
        assert!(node_is_ready(&n));
        assert!(n["spec"].get("taints").is_none());
    }

    #[test]
    fn pods_run_only_where_their_nodes_have_room() {
        let mut w = demo();
        let france = |w: &World| {
            w.get(&resources::DEPLOYMENTS, "default", "nginx-france")
                .unwrap()
                .clone()
        };
        assert_eq!(france(&w)["status"]["availableReplicas"], 2);
        // The only france node goes NotReady: none of its pods is available.
        w.set_node_ready("worker-france", false).unwrap();
        let d = france(&w);
        assert!(
            d["status"].get("availableReplicas").is_none(),
            "{}",
            d["status"]
        );
        assert_eq!(d["status"]["unavailableReplicas"], 2);
        assert_eq!(d["status"]["conditions"][0]["status"], "False");
        // Other regions are not affected; scaling france up adds only unavailable replicas.
        let denmark = w
            .get(&resources::DEPLOYMENTS, "default", "nginx-denmark")
            .unwrap();
        assert_eq!(denmark["status"]["availableReplicas"], 2);
        w.set_replicas("default", "nginx-france", 3).unwrap();
        assert_eq!(france(&w)["status"]["unavailableReplicas"], 3);
        w.set_node_ready("worker-france", true).unwrap();
        assert_eq!(france(&w)["status"]["availableReplicas"], 3);
        // A cordoned node takes no new pods either, in this instant model.
        w.set_node_unschedulable("worker-france", true).unwrap();
        assert_eq!(france(&w)["status"]["unavailableReplicas"], 3);
        // A node's room is its allocatable pods.
        let mut seed = Seed::demo();
        seed.nodes.iter_mut().for_each(|n| n.max_pods = 2);
        let mut w = World::from_seed(&seed).unwrap();
        w.set_replicas("default", "nginx-latvia", 5).unwrap();
        let latvia = w
            .get(&resources::DEPLOYMENTS, "default", "nginx-latvia")
            .unwrap();
        assert_eq!(
            (
                &latvia["status"]["availableReplicas"],
                &latvia["status"]["unavailableReplicas"]
            ),
            (&json!(2), &json!(3))
        );
    }

    #[test]
    fn delete_answers_success_status_and_forgets_the_object() {
        let mut w = demo();
        w.create(&resources::CONFIGMAPS, "default", cm("gone", None))
            .unwrap();
        let status = w.delete(&resources::CONFIGMAPS, "default", "gone").unwrap();
        assert_eq!(status["status"], "Success");
        assert!(w.get(&resources::CONFIGMAPS, "default", "gone").is_none());
        assert_eq!(
            w.delete(&resources::CONFIGMAPS, "default", "gone")
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn renderings_follow_every_write() {
        let mut w = demo();
        let item = |w: &World| -> Value {
            let stored = w.list_stored(
                &resources::DEPLOYMENTS,
                Some("default"),
                &Selector::default(),
            );
            serde_json::from_slice(stored[0].list_item_json()).unwrap()
        };
        let before = item(&w);
        assert!(before.get("kind").is_none() && before.get("apiVersion").is_none());
        let mut want = w
            .get(&resources::DEPLOYMENTS, "default", "nginx-denmark")
            .unwrap()
            .clone();
        want.as_object_mut()
            .unwrap()
            .retain(|k, _| k != "kind" && k != "apiVersion");
        assert_eq!(before, want);
        w.set_replicas("default", "nginx-denmark", 5).unwrap();
        assert_eq!(item(&w)["spec"]["replicas"], 5);
        w.auto_ready = false;
        w.set_ready_replicas("default", "nginx-denmark", 1).unwrap();
        assert_eq!(item(&w)["status"]["readyReplicas"], 1);
        let ready = |w: &World| w.metric_nodes(&Selector::default()).len();
        assert_eq!(ready(&w), 4);
        w.set_node_ready("worker-france", false).unwrap();
        assert_eq!(ready(&w), 3);
        w.set_node_ready("worker-france", true).unwrap();
        assert_eq!(ready(&w), 4);
    }

    #[test]
    fn creates_need_an_existing_namespace_and_gets_do_not() {
        let mut w = demo();
        let err = w
            .create(&resources::CONFIGMAPS, "nope", cm("a", None))
            .unwrap_err();
        assert_eq!((err.code, err.reason), (404, "NotFound"));
        assert_eq!(err.message, "namespaces \"nope\" not found");
        assert_eq!(
            err.details,
            Some(json!({"name": "nope", "kind": "namespaces"}))
        );
        assert!(w.get(&resources::CONFIGMAPS, "nope", "a").is_none());
        for ns in BUILT_IN_NAMESPACES {
            w.create(&resources::CONFIGMAPS, ns, cm("a", None)).unwrap();
        }
        let mut seed = Seed::demo();
        seed.namespaces.push("web".into());
        seed.config_maps.push(crate::seed::ConfigMapSeed {
            namespace: "shop".into(),
            name: "c".into(),
            labels: BTreeMap::new(),
            data: BTreeMap::new(),
        });
        let mut w = World::from_seed(&seed).unwrap();
        w.create(
            &resources::EVENTS,
            "web",
            json!({"metadata": {"name": "e"}}),
        )
        .unwrap();
        w.create(&resources::CONFIGMAPS, "shop", cm("d", None))
            .unwrap();
        seed.namespaces.push("Web_Prod".into());
        let err = World::from_seed(&seed).err().unwrap();
        assert!(
            format!("{err:#}").contains("Namespace \"Web_Prod\" is invalid: metadata.name: Invalid value: \"Web_Prod\": a lowercase RFC 1123 label"),
            "{err:#}"
        );
    }

    #[test]
    fn names_keys_and_sizes_are_validated_on_create_and_update() {
        let mut w = demo();
        let err = w
            .create(&resources::CONFIGMAPS, "default", cm("Bad_Name", None))
            .unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
        assert!(err.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", err.message);
        // An Event's name is only a path segment; its generated name is checked the same way.
        w.create(
            &resources::EVENTS,
            "default",
            json!({"metadata": {"name": "Bad_Name"}}),
        )
        .unwrap();
        let err = w
            .create(
                &resources::EVENTS,
                "default",
                json!({"metadata": {"name": "a%b"}}),
            )
            .unwrap_err();
        assert_eq!(
            err.message,
            "Event \"a%b\" is invalid: metadata.name: Invalid value: \"a%b\": may not contain '%'"
        );
        let long = w
            .create(
                &resources::EVENTS,
                "default",
                json!({"metadata": {"generateName": "x".repeat(70)}}),
            )
            .unwrap();
        assert_eq!(meta_str(&long, "name").len(), 63);

        let bad_key = json!({"metadata": {"name": "k"}, "data": {"bad key!": "v", "ok": "v"}});
        let err = w
            .create(&resources::CONFIGMAPS, "default", bad_key)
            .unwrap_err();
        assert_eq!(
            err.details.as_ref().unwrap()["causes"][0]["field"],
            "data[bad key!]"
        );
        assert!(err.message.starts_with("ConfigMap \"k\" is invalid: data[bad key!]: Invalid value: \"bad key!\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name'"), "{}", err.message);
        let both = json!({"metadata": {}, "data": {"..x": "v"}});
        let err = w
            .create(&resources::CONFIGMAPS, "default", both)
            .unwrap_err();
        assert_eq!(err.message, "ConfigMap \"\" is invalid: [metadata.name: Required value: name or generateName is required, data[..x]: Invalid value: \"..x\": must not start with '..']");

        // Values count, keys do not: exactly 1 MiB of values fits.
        let full = "x".repeat(validation::MAX_DATA_SIZE - 1);
        let fits = json!({"metadata": {"name": "big"}, "data": {"a": full, "b": "y"}});
        w.create(&resources::CONFIGMAPS, "default", fits.clone())
            .unwrap();
        let mut over = fits;
        over["data"]["c"] = "z".into();
        let Err(err) = w.update(&resources::CONFIGMAPS, "default", "big", over.clone()) else {
            panic!("over 1 MiB is refused");
        };
        assert_eq!(
            err.message,
            "ConfigMap \"big\" is invalid: []: Too long: may not be more than 1048576 bytes"
        );
        assert_eq!(
            err.details.unwrap()["causes"],
            json!([{"reason": "FieldValueTooLong", "message": "Too long: may not be more than 1048576 bytes", "field": "[]"}])
        );
        assert_eq!(w.configmap_len("default", "big"), 2, "nothing changed");
        over["metadata"]["name"] = "big2".into();
        assert_eq!(
            w.create(&resources::CONFIGMAPS, "default", over)
                .err()
                .map(|e| e.code),
            Some(422)
        );
        // "AAA=" is two bytes: one more than fits.
        let binary = json!({"metadata": {"name": "bin"}, "data": {"k": "x".repeat(1024 * 1024 - 1)},
                            "binaryData": {"b": "AAA="}});
        assert_eq!(
            w.create(&resources::CONFIGMAPS, "default", binary)
                .err()
                .map(|e| e.code),
            Some(422),
            "binaryData counts its decoded bytes"
        );

        // A stale write is a Conflict before it is checked; AlreadyExists comes after checks.
        let created = w
            .create(&resources::CONFIGMAPS, "default", cm("c", None))
            .unwrap();
        let mut stale = created.clone();
        stale["metadata"]["resourceVersion"] = "1".into();
        stale["data"]["bad key!"] = "v".into();
        assert_eq!(
            w.update(&resources::CONFIGMAPS, "default", "c", stale)
                .unwrap_err()
                .code,
            409
        );
        let mut again = cm("c", None);
        again["data"]["bad key!"] = "v".into();
        assert_eq!(
            w.create(&resources::CONFIGMAPS, "default", again)
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn seeds_with_invalid_names_or_keys_are_refused() {
        let mut seed = Seed::demo();
        seed.nodes[0].name = "Control_Plane".into();
        let err = World::from_seed(&seed).err().unwrap();
        assert!(
            format!("{err:#}").contains("Node \"Control_Plane\" is invalid"),
            "{err:#}"
        );
        let mut seed = Seed::demo();
        seed.secrets[0]
            .string_data
            .insert("bad key!".into(), "v".into());
        let err = World::from_seed(&seed).err().unwrap();
        assert!(format!("{err:#}").contains("data[bad key!]"), "{err:#}");
    }

    #[test]
    fn a_custom_resource_s_generation_follows_its_spec_and_status_is_kept() {
        let mut w = World::from_seed(&Seed::demo().with_keda("latvia")).unwrap();
        let so = |w: &World| {
            w.get(&resources::SCALED_OBJECTS, "default", "nginx-latvia")
                .unwrap()
                .clone()
        };
        let mut body = so(&w);
        assert_eq!(body["metadata"]["generation"], 1);
        let map = body.as_object_mut().unwrap();
        map.remove("kind");
        map.remove("apiVersion");
        map.remove("status");
        body["metadata"]["labels"]["team"] = "web".into();
        let out = w
            .update(
                &resources::SCALED_OBJECTS,
                "default",
                "nginx-latvia",
                body.clone(),
            )
            .unwrap();
        assert_eq!(out["metadata"]["generation"], 1, "metadata alone");
        assert_eq!(out["status"], so(&w)["status"]);
        assert!(out["status"]["hpaName"].is_string());
        body["spec"]["maxReplicaCount"] = 5.into();
        body["metadata"]["resourceVersion"] = Value::Null;
        let out = w
            .update(&resources::SCALED_OBJECTS, "default", "nginx-latvia", body)
            .unwrap();
        assert_eq!(out["metadata"]["generation"], 2);
        let hpa = w
            .get(&resources::HPAS, "default", "keda-hpa-nginx-latvia")
            .unwrap();
        assert_eq!(hpa["spec"]["maxReplicas"], 5);
    }

    #[test]
    fn pods_cpu_is_the_average_of_the_nodes_they_can_run_on() {
        let mut seed = Seed::region("france", None);
        seed.nodes[2].cpu_percent = Some(80.0);
        let mut w = World::from_seed(&seed).unwrap();
        let deployment = |w: &World| {
            w.get(&resources::DEPLOYMENTS, "default", "nginx-france")
                .unwrap()
                .clone()
        };
        // worker-1 at 45%, worker-2 at 80%; the tainted control plane does not count.
        assert_eq!(w.pod_cpu_percent(&deployment(&w)), Some(62));
        w.set_node_ready("worker-2", false).unwrap();
        assert_eq!(w.pod_cpu_percent(&deployment(&w)), Some(45));
        w.metrics_available = false;
        assert_eq!(w.pod_cpu_percent(&deployment(&w)), None);
        w.metrics_available = true;
        w.set_node_ready("worker-1", false).unwrap();
        assert_eq!(w.pod_cpu_percent(&deployment(&w)), None);
    }

    #[test]
    fn seed_errors_name_the_node() {
        let mut seed = Seed::demo();
        seed.nodes[1].cpu_usage = Some("1".into());
        let err = World::from_seed(&seed).err().unwrap();
        assert!(format!("{err:#}").contains("worker-denmark"), "{err:#}");
    }
}
