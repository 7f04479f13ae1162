//! Server-side printing: kubectl asks for `as=Table` and prints the cells it gets, so these
//! columns are what users see in `kubectl get` (the API server's built-in printers).

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::clock;
use crate::http::Request;
use crate::k8s::resources::{ResourceDef, ResourceId};
use crate::world::node_is_ready;

pub fn wanted(req: &Request) -> bool {
    req.header("Accept").is_some_and(|a| a.contains("as=Table"))
}

fn column(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": description, "priority": priority})
}

fn age(obj: &Value, field: &str, now: SystemTime) -> String {
    let Some(stamp) = obj.pointer(field).and_then(Value::as_str) else {
        return "<unknown>".into();
    };
    match clock::parse_rfc3339(stamp).and_then(|t| now.duration_since(t).ok()) {
        Some(d) => clock::human_duration(d),
        None => "0s".into(),
    }
}

fn labels_of(obj: &Value) -> impl Iterator<Item = (&String, &Value)> {
    obj["metadata"]["labels"].as_object().into_iter().flatten()
}

fn node_cells(obj: &Value, now: SystemTime) -> Vec<Value> {
    let ready = obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
    let mut status = match ready {
        Some(_) if node_is_ready(obj) => "Ready".to_string(),
        Some(c) if c["status"] == "False" => "NotReady".to_string(),
        _ => "Unknown".to_string(),
    };
    if obj["spec"]["unschedulable"] == true {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<&str> = labels_of(obj)
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort_unstable();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let info = &obj["status"]["nodeInfo"];
    let internal_ip = obj["status"]["addresses"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("<none>");
    vec![
        obj["metadata"]["name"].clone(),
        status.into(),
        roles.into(),
        age(obj, "/metadata/creationTimestamp", now).into(),
        info["kubeletVersion"].clone(),
        internal_ip.into(),
        "<none>".into(),
        info["osImage"].clone(),
        info["kernelVersion"].clone(),
        info["containerRuntimeVersion"].clone(),
    ]
}

fn count(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn deployment_cells(obj: &Value, now: SystemTime) -> Vec<Value> {
    let st = &obj["status"];
    let containers = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let join = |field: &str| {
        containers
            .iter()
            .filter_map(|c| c[field].as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    vec![
        obj["metadata"]["name"].clone(),
        format!(
            "{}/{}",
            count(&st["readyReplicas"]),
            count(&obj["spec"]["replicas"])
        )
        .into(),
        count(&st["updatedReplicas"]).into(),
        count(&st["availableReplicas"]).into(),
        age(obj, "/metadata/creationTimestamp", now).into(),
        join("name").into(),
        join("image").into(),
        selector.into(),
    ]
}

fn map_len(v: &Value) -> usize {
    v.as_object().map_or(0, |m| m.len())
}

fn event_cells(obj: &Value, now: SystemTime) -> Vec<Value> {
    let last = if obj["lastTimestamp"].is_string() {
        age(obj, "/lastTimestamp", now)
    } else if obj["eventTime"].is_string() {
        age(obj, "/eventTime", now)
    } else {
        age(obj, "/metadata/creationTimestamp", now)
    };
    let first = if obj["firstTimestamp"].is_string() {
        age(obj, "/firstTimestamp", now)
    } else {
        last.clone()
    };
    let involved = &obj["involvedObject"];
    let object = format!(
        "{}/{}",
        involved["kind"].as_str().unwrap_or("").to_ascii_lowercase(),
        involved["name"].as_str().unwrap_or("")
    );
    let source = obj["source"]["component"]
        .as_str()
        .or_else(|| obj["reportingComponent"].as_str())
        .unwrap_or("");
    vec![
        last.into(),
        obj["type"].as_str().unwrap_or("").into(),
        obj["reason"].as_str().unwrap_or("").into(),
        object.into(),
        involved["fieldPath"].as_str().unwrap_or("").into(),
        source.into(),
        obj["message"].as_str().unwrap_or("").trim().into(),
        first.into(),
        obj["count"].as_i64().unwrap_or(1).into(),
        obj["metadata"]["name"].clone(),
    ]
}

/// `formatHPAMetrics` of Kubernetes 1.30 and later (earlier servers printed the targets
/// without the resource name: `45%/60%`): at most two metrics, then `+ N more...`.
fn hpa_targets(obj: &Value) -> String {
    let specs = obj["spec"]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if specs.is_empty() {
        return "<none>".into();
    }
    let statuses = obj["status"]["currentMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let text = |v: &Value| {
        v.as_str()
            .map(String::from)
            .unwrap_or_else(|| v.to_string())
    };
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let kind = spec["type"].as_str().unwrap_or("");
            let source = match kind {
                "External" => "external",
                "Pods" => "pods",
                "Object" => "object",
                "Resource" => "resource",
                "ContainerResource" => "containerResource",
                _ => return "<unknown type>".to_string(),
            };
            let target = &spec[source]["target"];
            let current = &statuses.get(i).map_or(&Value::Null, |s| &s[source])["current"];
            let shown = |field: &str| {
                current
                    .get(field)
                    .filter(|v| !v.is_null())
                    .map_or("<unknown>".to_string(), text)
            };
            match kind {
                "External" | "Object" if !target["averageValue"].is_null() => format!(
                    "{}/{} (avg)",
                    shown("averageValue"),
                    text(&target["averageValue"])
                ),
                "External" | "Object" => format!("{}/{}", shown("value"), text(&target["value"])),
                "Pods" => format!(
                    "{}/{}",
                    shown("averageValue"),
                    text(&target["averageValue"])
                ),
                _ => {
                    let name = spec[source]["name"].as_str().unwrap_or("");
                    if !target["averageValue"].is_null() {
                        format!(
                            "{name}: {}/{}",
                            shown("averageValue"),
                            text(&target["averageValue"])
                        )
                    } else {
                        let percent = |v: &Value| {
                            v.as_i64().map_or("<auto>".to_string(), |n| format!("{n}%"))
                        };
                        let now = current["averageUtilization"]
                            .as_i64()
                            .map_or("<unknown>".to_string(), |n| format!("{n}%"));
                        format!("{name}: {now}/{}", percent(&target["averageUtilization"]))
                    }
                }
            }
        })
        .collect();
    if list.len() > 2 {
        format!("{} + {} more...", list[..2].join(", "), list.len() - 2)
    } else {
        list.join(", ")
    }
}

fn hpa_cells(obj: &Value, now: SystemTime) -> Vec<Value> {
    let spec = &obj["spec"];
    let reference = format!(
        "{}/{}",
        spec["scaleTargetRef"]["kind"].as_str().unwrap_or(""),
        spec["scaleTargetRef"]["name"].as_str().unwrap_or("")
    );
    let min = spec["minReplicas"]
        .as_i64()
        .map_or("<unset>".to_string(), |n| n.to_string());
    vec![
        obj["metadata"]["name"].clone(),
        reference.into(),
        hpa_targets(obj).into(),
        min.into(),
        count(&spec["maxReplicas"]).into(),
        count(&obj["status"]["currentReplicas"]).into(),
        age(obj, "/metadata/creationTimestamp", now).into(),
    ]
}

/// KEDA's CRD `additionalPrinterColumns`, as the API server evaluates their JSONPaths:
/// a missing value is a null cell (kubectl prints `<none>`), a date a human duration.
fn scaled_object_cells(obj: &Value, now: SystemTime) -> Vec<Value> {
    let condition = |kind: &str| {
        obj["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
            .map_or(Value::Null, |c| c["status"].clone())
    };
    vec![
        obj["metadata"]["name"].clone(),
        obj["status"]["scaleTargetKind"].clone(),
        obj["spec"]["scaleTargetRef"]["name"].clone(),
        obj["spec"]["minReplicaCount"].clone(),
        obj["spec"]["maxReplicaCount"].clone(),
        condition("Ready"),
        condition("Active"),
        condition("Fallback"),
        condition("Paused"),
        obj["status"]["triggersTypes"].clone(),
        obj["status"]["authenticationsTypes"].clone(),
        age(obj, "/metadata/creationTimestamp", now).into(),
    ]
}

fn columns(id: ResourceId) -> Option<Vec<Value>> {
    let name = column(
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    );
    let age = column("Age", "string", 0, "CreationTimestamp is a timestamp representing the server time when this object was created.");
    Some(match id {
        ResourceId::Node => vec![
            name,
            column("Status", "string", 0, "The status of the node"),
            column("Roles", "string", 0, "The roles of the node"),
            age,
            column("Version", "string", 0, "Kubelet Version reported by the node."),
            column("Internal-IP", "string", 1, "List of addresses reachable to the node. Queried from cloud provider, if available."),
            column("External-IP", "string", 1, "List of addresses reachable to the node. Queried from cloud provider, if available."),
            column("OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
            column("Kernel-Version", "string", 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
            column("Container-Runtime", "string", 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
        ],
        ResourceId::Deployment => vec![
            name,
            column("Ready", "string", 0, "Number of the pod with ready state"),
            column("Up-to-date", "string", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            column("Available", "string", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
            age,
            column("Containers", "string", 1, "Names of each container in the template."),
            column("Images", "string", 1, "Images referenced by each container in the template."),
            column("Selector", "string", 1, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
        ],
        ResourceId::ConfigMap => vec![
            name,
            column("Data", "integer", 0, "Data contains the configuration data."),
            age,
        ],
        ResourceId::Namespace => vec![
            name,
            column("Status", "string", 0, "The status of the namespace"),
            age,
        ],
        ResourceId::Secret => vec![
            name,
            column("Type", "string", 0, "The type of the secret"),
            column("Data", "integer", 0, "The number of entries in the secret"),
            age,
        ],
        ResourceId::Event => vec![
            column("Last Seen", "string", 0, "Time when last event occurred"),
            column("Type", "string", 0, "Type of this event (Normal, Warning), new types could be added in the future."),
            column("Reason", "string", 0, "Why the action was taken."),
            column("Object", "string", 0, "The object that this event is about."),
            column("Subobject", "string", 1, "The subobject that this event is about."),
            column("Source", "string", 1, "The component reporting this event."),
            column("Message", "string", 0, "A human-readable description of the status of this operation."),
            column("First Seen", "string", 1, "The time at which the event was first recorded."),
            column("Count", "string", 1, "The number of times this event has occurred."),
            column("Name", "string", 1, "Name must be unique within a namespace."),
        ],
        ResourceId::HorizontalPodAutoscaler => vec![
            name,
            column("Reference", "string", 0, "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
            column("Targets", "string", 0, "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
            column("MinPods", "string", 0, "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
            column("MaxPods", "string", 0, "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas."),
            column("Replicas", "string", 0, "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
            age,
        ],
        ResourceId::ScaledObject => {
            let mut cols = vec![name];
            for (title, kind) in [
                ("ScaleTargetKind", "string"),
                ("ScaleTargetName", "string"),
                ("Min", "integer"),
                ("Max", "integer"),
                ("Ready", "string"),
                ("Active", "string"),
                ("Fallback", "string"),
                ("Paused", "string"),
                ("Triggers", "string"),
                ("Authentications", "string"),
                ("Age", "date"),
            ] {
                cols.push(column(title, kind, 0, ""));
            }
            cols
        }
        ResourceId::NodeMetrics | ResourceId::SelfSubjectAccessReview => return None,
    })
}

fn cells(id: ResourceId, obj: &Value, now: SystemTime) -> Vec<Value> {
    match id {
        ResourceId::Node => node_cells(obj, now),
        ResourceId::Deployment => deployment_cells(obj, now),
        ResourceId::ConfigMap => vec![
            obj["metadata"]["name"].clone(),
            (map_len(&obj["data"]) + map_len(&obj["binaryData"])).into(),
            age(obj, "/metadata/creationTimestamp", now).into(),
        ],
        ResourceId::Namespace => vec![
            obj["metadata"]["name"].clone(),
            obj["status"]["phase"].clone(),
            age(obj, "/metadata/creationTimestamp", now).into(),
        ],
        ResourceId::Secret => vec![
            obj["metadata"]["name"].clone(),
            obj["type"].as_str().unwrap_or("Opaque").into(),
            map_len(&obj["data"]).into(),
            age(obj, "/metadata/creationTimestamp", now).into(),
        ],
        ResourceId::Event => event_cells(obj, now),
        ResourceId::HorizontalPodAutoscaler => hpa_cells(obj, now),
        ResourceId::ScaledObject => scaled_object_cells(obj, now),
        ResourceId::NodeMetrics | ResourceId::SelfSubjectAccessReview => Vec::new(),
    }
}

/// A meta.k8s.io/v1 Table of `objects`, or None for resources without a printer. `meta` is
/// the list metadata (resourceVersion and, for a page, `continue`), which a Table keeps.
pub fn render(
    def: &ResourceDef,
    objects: &[&Value],
    meta: Value,
    now: SystemTime,
) -> Option<Value> {
    let column_definitions = columns(def.id)?;
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            json!({
                "cells": cells(def.id, obj, now),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                }
            })
        })
        .collect();
    Some(json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": column_definitions,
        "rows": rows
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::resources;
    use crate::seed::Seed;
    use crate::selector::Selector;
    use crate::world::World;

    #[test]
    fn parses_what_clock_writes() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_493_261);
        assert_eq!(clock::parse_rfc3339(&clock::rfc3339(t)), Some(t));
        assert_eq!(clock::parse_rfc3339("garbage"), None);
    }

    #[test]
    fn node_and_deployment_rows_read_like_kubectl() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        world.set_node_unschedulable("worker-latvia", true).unwrap();
        let nodes = world.list(&resources::NODES, None, &Selector::default());
        let table = render(&resources::NODES, &nodes, json!({}), SystemTime::now()).unwrap();
        let rows = table["rows"].as_array().unwrap();
        assert_eq!(rows[0]["cells"][0], "control-plane");
        assert_eq!(rows[0]["cells"][2], "control-plane");
        assert_eq!(rows[3]["cells"][1], "Ready,SchedulingDisabled");
        assert_eq!(rows[1]["cells"][2], "<none>");
        assert_eq!(rows[1]["object"]["kind"], "PartialObjectMetadata");

        world.auto_ready = false;
        world.set_replicas("default", "nginx-france", 3).unwrap();
        let deploys = world.list(
            &resources::DEPLOYMENTS,
            Some("default"),
            &Selector::parse("region=france").unwrap(),
        );
        let table = render(
            &resources::DEPLOYMENTS,
            &deploys,
            json!({}),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(table["rows"][0]["cells"][1], "2/3");
        assert_eq!(table["rows"][0]["cells"][2], 3);
        assert!(render(&resources::NODE_METRICS, &[], json!({}), SystemTime::now()).is_none());
    }
}
