//! KEDA's ScaledObjects (keda.sh/v1alpha1): the CustomResourceDefinition's schema checks
//! (KEDA 2.20's CRD, as the API server words structural-schema and CEL errors) and the
//! operator's reconcile, run synchronously after every ScaledObject write and before every
//! HPA pass, in place of KEDA watching: each ScaledObject owns an HPA `keda-hpa-<name>`
//! whose bounds and metrics follow the ScaledObject, so a write to that HPA by anyone else is
//! reverted by the next reconcile. Not modelled: scaling to zero and activation, fallback,
//! pausing annotations, KEDA's metrics server (external metrics stand at their target in the
//! HPA pass) and its admission webhook.

use serde_json::{json, Map, Value};

use crate::k8s::resources::{DEPLOYMENTS, HPAS, SCALED_OBJECTS};
use crate::selector::Selector;
use crate::validation::FieldError;
use crate::world::World;

/// The KEDA release whose CRD and behaviour the emulator follows (the HPA's version label).
pub const VERSION: &str = "2.20.2";

/// The label KEDA puts on each ScaledObject and its HPA, and selects external metrics by.
pub const NAME_LABEL: &str = "scaledobject.keda.sh/name";

/// The HPA KEDA makes for a ScaledObject.
pub fn hpa_name(scaled_object: &str) -> String {
    format!("keda-hpa-{scaled_object}")
}

/// `minReplicaCount` when absent, as KEDA reads it.
const DEFAULT_MIN: i64 = 0;
/// `maxReplicaCount` when absent.
const DEFAULT_MAX: i64 = 100;

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A kube-openapi error as the API server turns it into a field error.
fn schema_error(path: &str, value: &Value, message: String) -> FieldError {
    let printed = match value {
        Value::String(s) => crate::validation::go_quote(s),
        other => other.to_string(),
    };
    FieldError::invalid_printed(path, printed, format!("{path} in body {message}"))
}

/// An integer field with a minimum; None if absent.
fn integer(errors: &mut Vec<FieldError>, spec: &Value, field: &str, minimum: i64) -> Option<i64> {
    let path = format!("spec.{field}");
    let value = spec.get(field).filter(|v| !v.is_null())?;
    let kind = json_type(value);
    if kind != "integer" {
        errors.push(FieldError::invalid_printed(
            &path,
            format!("\"{kind}\""),
            format!("{path} in body must be of type integer: \"{kind}\""),
        ));
        return None;
    }
    let n = value.as_i64()?;
    if n < minimum {
        errors.push(schema_error(
            &path,
            value,
            format!("should be greater than or equal to {minimum}"),
        ));
    }
    Some(n)
}

/// The CRD's structural schema and its CEL rule, for the fields that matter: the scale
/// target's name, the replica bounds and the triggers.
pub fn schema_errors(so: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(spec) = so.get("spec").filter(|s| s.is_object()) else {
        errors.push(FieldError::required("spec", ""));
        return errors;
    };
    for field in ["scaleTargetRef", "triggers"] {
        if spec.get(field).is_none_or(Value::is_null) {
            errors.push(FieldError::required(format!("spec.{field}"), ""));
        }
    }
    let max = integer(&mut errors, spec, "maxReplicaCount", 1);
    let min = integer(&mut errors, spec, "minReplicaCount", 0);
    let target = &spec["scaleTargetRef"];
    if target.is_object() {
        match &target["name"] {
            Value::Null => errors.push(FieldError::required("spec.scaleTargetRef.name", "")),
            name @ Value::String(s) if s.is_empty() => errors.push(schema_error(
                "spec.scaleTargetRef.name",
                name,
                "should be at least 1 chars long".into(),
            )),
            _ => {}
        }
    }
    if let Some(triggers) = spec["triggers"].as_array() {
        if triggers.is_empty() {
            errors.push(schema_error(
                "spec.triggers",
                &0.into(),
                "should have at least 1 items".into(),
            ));
        }
        for (i, trigger) in triggers.iter().enumerate() {
            match &trigger["type"] {
                Value::Null => {
                    errors.push(FieldError::required(format!("spec.triggers[{i}].type"), ""))
                }
                t @ Value::String(s) if s.is_empty() => errors.push(schema_error(
                    &format!("spec.triggers[{i}].type"),
                    t,
                    "should be at least 1 chars long".into(),
                )),
                _ => {}
            }
            if trigger["metadata"].is_null() {
                errors.push(FieldError::required(
                    format!("spec.triggers[{i}].metadata"),
                    "",
                ));
            }
        }
    }
    if let Some(min) = min {
        if min > max.unwrap_or(DEFAULT_MAX) {
            errors.push(FieldError::invalid_printed(
                "spec",
                "\"object\"",
                "minReplicaCount must be less than or equal to maxReplicaCount",
            ));
        }
    }
    errors
}

/// KEDA's `ScaledObject.GetHPAMinReplicas` and `GetHPAMaxReplicas`.
fn hpa_bounds(spec: &Value) -> (i64, i64) {
    let min = spec["minReplicaCount"]
        .as_i64()
        .unwrap_or(DEFAULT_MIN)
        .max(1);
    let max = spec["maxReplicaCount"].as_i64().unwrap_or(DEFAULT_MAX);
    (min, max)
}

/// The HPA metrics KEDA's scalers would declare: CPU and memory triggers are resource
/// metrics (target type `metricType`, default Utilization, from `metadata.value`), every
/// other trigger an external metric `s<index>-<type>` selected by the ScaledObject's name
/// (target `metadata.value`, default 1, as an AverageValue unless `metricType` says Value).
/// Sorted by type, as KEDA sorts them.
fn metrics(so_name: &str, triggers: &[Value]) -> Result<Vec<Value>, String> {
    let mut specs = Vec::new();
    for (i, trigger) in triggers.iter().enumerate() {
        let kind = trigger["type"].as_str().unwrap_or("");
        let value = trigger["metadata"]["value"].as_str();
        let metric_type = trigger["metricType"].as_str();
        if kind == "cpu" || kind == "memory" {
            let value = value.ok_or_else(|| format!("no value given for the {kind} trigger"))?;
            let target = match metric_type.unwrap_or("Utilization") {
                "Utilization" => {
                    let percent: i64 = value.parse().map_err(|_| {
                        format!("error parsing {kind} metadata: value {value:?} is not an integer")
                    })?;
                    json!({"type": "Utilization", "averageUtilization": percent})
                }
                other => json!({"type": other, "averageValue": value}),
            };
            specs.push(json!({"type": "Resource", "resource": {"name": kind, "target": target}}));
        } else {
            let target = match metric_type.unwrap_or("AverageValue") {
                "Value" => json!({"type": "Value", "value": value.unwrap_or("1")}),
                other => json!({"type": other, "averageValue": value.unwrap_or("1")}),
            };
            specs.push(json!({"type": "External", "external": {
                "metric": {"name": format!("s{i}-{kind}"),
                           "selector": {"matchLabels": {NAME_LABEL: so_name}}},
                "target": target}}));
        }
    }
    specs.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    Ok(specs)
}

/// The HPA KEDA's operator writes for a ScaledObject (`newHPAForScaledObject`).
fn desired_hpa(so: &Value, metrics: Vec<Value>) -> Value {
    let meta = &so["metadata"];
    let name = meta["name"].as_str().unwrap_or("");
    let hpa = hpa_name(name);
    let mut label_name = hpa.clone();
    if label_name.len() > 63 {
        label_name.truncate(63);
        while label_name.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
            label_name.pop();
        }
    }
    let mut labels = json!({
        "app.kubernetes.io/name": label_name,
        "app.kubernetes.io/version": VERSION,
        "app.kubernetes.io/part-of": name,
        "app.kubernetes.io/managed-by": "keda-operator",
    });
    for (k, v) in meta["labels"].as_object().into_iter().flatten() {
        labels[k] = v.clone();
    }
    labels[NAME_LABEL] = name.into();
    let (min, max) = hpa_bounds(&so["spec"]);
    let mut metadata = json!({
        "name": hpa,
        "labels": labels,
        "ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                             "name": name, "uid": meta["uid"],
                             "controller": true, "blockOwnerDeletion": true}],
    });
    if let Some(annotations) = meta.get("annotations").filter(|a| a.is_object()) {
        metadata["annotations"] = annotations.clone();
    }
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": so["spec"]["scaleTargetRef"]["name"]},
            "minReplicas": min,
            "maxReplicas": max,
            "metrics": metrics,
        }
    })
}

/// Creates KEDA's HPA, or rewrites its spec, labels, annotations and owner (an unchanged HPA
/// keeps its resourceVersion).
fn ensure_hpa(world: &mut World, ns: &str, desired: Value) -> Result<(), String> {
    let name = desired["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let result = match world.get(&HPAS, ns, &name).cloned() {
        None => world.create(&HPAS, ns, desired),
        Some(mut hpa) => {
            for field in ["labels", "annotations", "ownerReferences"] {
                match desired["metadata"].get(field) {
                    Some(v) => hpa["metadata"][field] = v.clone(),
                    None => {
                        if let Some(m) = hpa["metadata"].as_object_mut() {
                            m.remove(field);
                        }
                    }
                }
            }
            hpa["spec"] = desired["spec"].clone();
            hpa["metadata"]["resourceVersion"] = Value::Null;
            world.update(&HPAS, ns, &name, hpa)
        }
    };
    result.map(drop).map_err(|e| e.message)
}

/// Sets a condition's status, reason and message, keeping its place in the list.
fn set(conditions: &mut [Value], kind: &str, status: &str, reason: &str, message: &str) {
    if let Some(c) = conditions.iter_mut().find(|c| c["type"] == kind) {
        *c = json!({"type": kind, "status": status, "reason": reason, "message": message});
    }
}

/// `GetInitializedConditions`: Ready, Active and Fallback Unknown, Paused False.
fn initial_conditions() -> Vec<Value> {
    vec![
        json!({"type": "Ready", "status": "Unknown"}),
        json!({"type": "Active", "status": "Unknown"}),
        json!({"type": "Fallback", "status": "Unknown"}),
        json!({"type": "Paused", "status": "False"}),
    ]
}

/// The operator's reconcile of one ScaledObject: its name label, its HPA, its status.
pub fn reconcile(world: &mut World, ns: &str, name: &str) {
    let Some(so) = world.controller_write(&SCALED_OBJECTS, ns, name, |so| {
        so["metadata"]["labels"][NAME_LABEL] = name.into();
    }) else {
        return;
    };
    let spec = &so["spec"];
    let mut conditions = so["status"]["conditions"]
        .as_array()
        .filter(|cs| cs.len() >= 4)
        .cloned()
        .unwrap_or_else(initial_conditions);
    let mut status: Map<String, Value> = so["status"].as_object().cloned().unwrap_or_default();
    let target = &spec["scaleTargetRef"];
    let target_name = target["name"].as_str().unwrap_or("");
    let kind = target["kind"].as_str().unwrap_or("Deployment");
    let deployment = (kind == "Deployment")
        .then(|| world.get(&DEPLOYMENTS, ns, target_name).cloned())
        .flatten();
    let triggers = spec["triggers"].as_array().cloned().unwrap_or_default();
    let checked = match &deployment {
        None if kind == "Deployment" => Err(format!(
            "ScaledObject doesn't have correct scaleTargetRef specification: deployments.apps \"{target_name}\" not found"
        )),
        None => Err(format!(
            "ScaledObject doesn't have correct scaleTargetRef specification: no matches for kind \"{kind}\" in the emulator (it scales Deployments only)"
        )),
        Some(_) => metrics(name, &triggers).map_err(|e| {
            format!("failed to ensure HPA is correctly created for ScaledObject: {e}")
        }),
    };
    let result = checked.and_then(|metrics| {
        let (resource, external): (Vec<&Value>, Vec<&Value>) =
            metrics.iter().partition(|m| m["type"] == "Resource");
        let names = |ms: Vec<&Value>, pointer: &str| -> Vec<Value> {
            ms.iter()
                .filter_map(|m| m.pointer(pointer).cloned())
                .collect()
        };
        let resource_names = names(resource, "/resource/name");
        let external_names = names(external, "/external/metric/name");
        ensure_hpa(world, ns, desired_hpa(&so, metrics)).map_err(|e| {
            format!("failed to ensure HPA is correctly created for ScaledObject: {e}")
        })?;
        Ok((resource_names, external_names))
    });
    match result {
        Err(message) => {
            set(
                &mut conditions,
                "Ready",
                "False",
                "ScaledObjectCheckFailed",
                &message,
            );
            set(
                &mut conditions,
                "Active",
                "Unknown",
                "UnknownState",
                "ScaledObject check failed",
            );
        }
        Ok((resource_names, external_names)) => {
            let replicas = deployment
                .as_ref()
                .and_then(|d| d["spec"]["replicas"].as_i64())
                .unwrap_or(0);
            status.insert("scaleTargetKind".into(), "apps/v1.Deployment".into());
            status.insert(
                "scaleTargetGVKR".into(),
                json!({"group": "apps", "kind": "Deployment", "resource": "deployments", "version": "v1"}),
            );
            status
                .entry("originalReplicaCount")
                .or_insert(replicas.into());
            status.insert("hpaName".into(), hpa_name(name).into());
            let mut types: Vec<&str> = Vec::new();
            for t in triggers.iter().filter_map(|t| t["type"].as_str()) {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            status.insert("triggersTypes".into(), types.join(",").into());
            status.insert("authenticationsTypes".into(), "".into());
            for (field, names) in [
                ("resourceMetricNames", resource_names),
                ("externalMetricNames", external_names),
            ] {
                if names.is_empty() {
                    status.remove(field);
                } else {
                    status.insert(field.into(), Value::Array(names));
                }
            }
            set(
                &mut conditions,
                "Ready",
                "True",
                "ScaledObjectReady",
                "ScaledObject is defined correctly and is ready for scaling",
            );
            if replicas > 0 {
                set(
                    &mut conditions,
                    "Active",
                    "True",
                    "ScalerActive",
                    "Scaling is performed because triggers are active",
                );
            } else {
                set(
                    &mut conditions,
                    "Active",
                    "False",
                    "ScalerNotActive",
                    "Scaling is not performed because triggers are not active",
                );
            }
        }
    }
    set(
        &mut conditions,
        "Fallback",
        "False",
        "NoFallbackFound",
        "No fallbacks are active on this scaled object",
    );
    status.insert("conditions".into(), Value::Array(conditions));
    world.controller_write(&SCALED_OBJECTS, ns, name, |so| {
        so["status"] = Value::Object(status);
    });
}

/// Reconciles every ScaledObject, in namespace and name order.
pub fn reconcile_all(world: &mut World) {
    let names: Vec<(String, String)> = world
        .list(&SCALED_OBJECTS, None, &Selector::default())
        .into_iter()
        .map(|so| {
            let m = &so["metadata"];
            (
                m["namespace"].as_str().unwrap_or("").to_string(),
                m["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (ns, name) in names {
        reconcile(world, &ns, &name);
    }
}

/// The garbage collector after a ScaledObject is deleted: HPAs it controlled go too.
pub fn collect_garbage(world: &mut World, ns: &str, deleted: &Value) {
    let uid = &deleted["metadata"]["uid"];
    let owned: Vec<String> = world
        .list(&HPAS, Some(ns), &Selector::default())
        .into_iter()
        .filter(|h| {
            h["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| &r["uid"] == uid))
        })
        .filter_map(|h| h["metadata"]["name"].as_str().map(String::from))
        .collect();
    for name in owned {
        world
            .delete(&HPAS, ns, &name)
            .expect("the HPA was listed just above");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn so(spec: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": spec})
    }

    fn texts(errors: &[FieldError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_crd_schema_refuses_what_the_api_server_refuses() {
        let ok = so(json!({"scaleTargetRef": {"name": "web"},
                           "triggers": [{"type": "cpu", "metadata": {"value": "60"}}]}));
        assert!(schema_errors(&ok).is_empty());
        assert_eq!(
            texts(&schema_errors(&json!({"metadata": {}}))),
            ["spec: Required value"]
        );
        assert_eq!(
            texts(&schema_errors(&so(json!({})))),
            [
                "spec.scaleTargetRef: Required value",
                "spec.triggers: Required value"
            ]
        );
        let bad = so(
            json!({"scaleTargetRef": {"name": ""}, "minReplicaCount": "two",
                            "maxReplicaCount": 0, "triggers": [{"type": ""}]}),
        );
        assert_eq!(
            texts(&schema_errors(&bad)),
            [
                "spec.maxReplicaCount: Invalid value: 0: spec.maxReplicaCount in body should be greater than or equal to 1",
                "spec.minReplicaCount: Invalid value: \"string\": spec.minReplicaCount in body must be of type integer: \"string\"",
                "spec.scaleTargetRef.name: Invalid value: \"\": spec.scaleTargetRef.name in body should be at least 1 chars long",
                "spec.triggers[0].type: Invalid value: \"\": spec.triggers[0].type in body should be at least 1 chars long",
                "spec.triggers[0].metadata: Required value",
            ]
        );
        let inverted = so(
            json!({"scaleTargetRef": {"name": "web"}, "minReplicaCount": 7,
                                 "maxReplicaCount": 6, "triggers": [{"type": "cpu", "metadata": {}}]}),
        );
        assert_eq!(
            texts(&schema_errors(&inverted)),
            ["spec: Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount"]
        );
        let over_default = so(
            json!({"scaleTargetRef": {"name": "web"}, "minReplicaCount": 101,
                                     "triggers": []}),
        );
        assert_eq!(
            texts(&schema_errors(&over_default)),
            [
                "spec.triggers: Invalid value: 0: spec.triggers in body should have at least 1 items",
                "spec: Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount",
            ]
        );
    }

    #[test]
    fn triggers_become_hpa_metrics_sorted_by_type() {
        let triggers = [
            json!({"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}),
            json!({"type": "cron", "metadata": {"timezone": "Europe/Riga"}}),
        ];
        let m = metrics("web", &triggers).unwrap();
        assert_eq!(m[0]["type"], "External");
        assert_eq!(m[0]["external"]["metric"]["name"], "s1-cron");
        assert_eq!(
            m[0]["external"]["metric"]["selector"]["matchLabels"][NAME_LABEL],
            "web"
        );
        assert_eq!(
            m[0]["external"]["target"],
            json!({"type": "AverageValue", "averageValue": "1"})
        );
        assert_eq!(
            m[1]["resource"],
            json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}})
        );
        let bad = [json!({"type": "cpu", "metadata": {"value": "lots"}})];
        assert_eq!(
            metrics("web", &bad).unwrap_err(),
            "error parsing cpu metadata: value \"lots\" is not an integer"
        );
    }

    #[test]
    fn the_hpa_takes_bounds_labels_and_owner_from_the_scaled_object() {
        let so = json!({"metadata": {"name": "web", "uid": "u-1", "labels": {"team": "a"}},
                        "spec": {"scaleTargetRef": {"name": "nginx"}}});
        let hpa = desired_hpa(&so, Vec::new());
        assert_eq!(hpa["metadata"]["name"], "keda-hpa-web");
        assert_eq!(
            (&hpa["spec"]["minReplicas"], &hpa["spec"]["maxReplicas"]),
            (&json!(1), &json!(100))
        );
        assert_eq!(hpa["metadata"]["labels"]["team"], "a");
        assert_eq!(hpa["metadata"]["labels"][NAME_LABEL], "web");
        assert_eq!(
            hpa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "keda-operator"
        );
        assert_eq!(hpa["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(hpa["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "nginx");
        assert_eq!(
            hpa_bounds(&json!({"minReplicaCount": 3, "maxReplicaCount": 5})),
            (3, 5)
        );
        let long = json!({"metadata": {"name": format!("{}-x", "a".repeat(53))}, "spec": {}});
        let label =
            desired_hpa(&long, Vec::new())["metadata"]["labels"]["app.kubernetes.io/name"].clone();
        assert_eq!(
            label.as_str().unwrap().len(),
            62,
            "cut to 63, then the dash dropped"
        );
    }
}
