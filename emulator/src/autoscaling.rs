//! HorizontalPodAutoscalers (autoscaling/v2): the API server's defaulting and validation,
//! and one pass of the HPA controller, run on demand (`Emulator::sync_hpas`,
//! `POST /_emulator/hpa-sync`) so tests decide when the autoscaler acts.
//!
//! The model, per HPA: the target Deployment's `spec.replicas` is the current count. Outside
//! `[minReplicas, maxReplicas]` it is brought back inside. Otherwise each metric proposes a
//! count: a CPU utilization target proposes `ceil(current * utilization / target)`, with the
//! utilization read as the average CPU usage of the nodes the Deployment's pods can run on
//! (`World::pod_cpu_percent`); metrics the emulator cannot measure (memory, external, pods,
//! object) report their target, so they propose the current count. The largest proposal,
//! clamped to the bounds, is written to the Deployment, whoever wrote it last. Status and
//! conditions are worded as the controller words them. Not modelled: the 10% tolerance, the
//! scale-up rate limit, stabilization windows and `behavior`.

use serde_json::{json, Value};

use crate::clock;
use crate::k8s::resources::{DEPLOYMENTS, EVENTS, HPAS};
use crate::quantity;
use crate::selector::Selector;
use crate::validation::{self, FieldError};
use crate::world::World;

/// What the API server fills in on create and update (`SetDefaults_HorizontalPodAutoscaler`):
/// `minReplicas` 1 and, without metrics, a CPU utilization target of 80%.
pub fn set_defaults(hpa: &mut Value) {
    if !hpa["spec"].is_object() {
        hpa["spec"] = json!({});
    }
    let spec = &mut hpa["spec"];
    if spec["minReplicas"].is_null() {
        spec["minReplicas"] = 1.into();
    }
    if spec["metrics"].as_array().is_none_or(Vec::is_empty) {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
}

/// `validateHorizontalPodAutoscalerSpec`'s checks of the bounds and the scale target (the
/// metrics and `behavior` are not checked).
pub fn spec_errors(hpa: &Value) -> Vec<FieldError> {
    let spec = &hpa["spec"];
    let mut errors = Vec::new();
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    // A missing maxReplicas decodes as 0 in Go.
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    if min < 1 {
        errors.push(FieldError::invalid_printed(
            "spec.minReplicas",
            min.to_string(),
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errors.push(FieldError::invalid_printed(
            "spec.maxReplicas",
            max.to_string(),
            "must be greater than 0",
        ));
    }
    if max < min {
        errors.push(FieldError::invalid_printed(
            "spec.maxReplicas",
            max.to_string(),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    for field in ["kind", "name"] {
        let path = format!("spec.scaleTargetRef.{field}");
        let value = spec["scaleTargetRef"][field].as_str().unwrap_or("");
        if value.is_empty() {
            errors.push(FieldError::required(path, ""));
        } else {
            for msg in validation::NameRule::PathSegment.check(value, false) {
                errors.push(FieldError::invalid(path.clone(), value, msg));
            }
        }
    }
    errors
}

/// `ValidateHorizontalPodAutoscalerStatusUpdate`: the counts may not be negative.
pub fn status_errors(hpa: &Value) -> Vec<FieldError> {
    ["currentReplicas", "desiredReplicas"]
        .into_iter()
        .filter_map(|field| {
            let n = hpa["status"][field].as_i64().filter(|n| *n < 0)?;
            Some(FieldError::invalid_printed(
                format!("status.{field}"),
                n.to_string(),
                "must be greater than or equal to 0",
            ))
        })
        .collect()
}

/// One metric's answer: the count it proposes, its name in condition messages and events,
/// and its `status.currentMetrics` entry.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    proposal: i64,
    name: String,
    status: Value,
}

/// A metric that could not be read: the condition reason and the error.
#[derive(Debug, Clone, PartialEq)]
struct Unreadable {
    reason: &'static str,
    error: String,
}

/// Go's `%+v` of a `*metav1.LabelSelector` (its generated `String`), as the controller puts
/// it in the names of external metrics.
fn go_selector(selector: &Value) -> String {
    if !selector.is_object() {
        return "<nil>".into();
    }
    let labels: String = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or("")))
        .collect();
    let expressions: String = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                e["key"].as_str().unwrap_or(""),
                e["operator"].as_str().unwrap_or(""),
                values.join(" ")
            )
        })
        .collect();
    format!("&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}")
}

/// How the controller names a metric in its messages.
fn metric_name(metric: &Value) -> String {
    let kind = metric["type"].as_str().unwrap_or("");
    let source = match kind {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "External" => "external",
        "Pods" => "pods",
        "Object" => "object",
        other => return format!("{other} metric"),
    };
    let spec = &metric[source];
    let utilization = spec["target"]["type"] == "Utilization";
    let name = spec["metric"]["name"].as_str().unwrap_or("");
    match (kind, utilization) {
        ("Resource", true) => format!(
            "{} resource utilization (percentage of request)",
            spec["name"].as_str().unwrap_or("")
        ),
        ("Resource", false) => format!("{} resource", spec["name"].as_str().unwrap_or("")),
        ("ContainerResource", true) => format!(
            "{} container resource utilization (percentage of request)",
            spec["name"].as_str().unwrap_or("")
        ),
        ("ContainerResource", false) => {
            format!("{} container resource", spec["name"].as_str().unwrap_or(""))
        }
        ("External", _) => format!(
            "external metric {name}({})",
            go_selector(&spec["metric"]["selector"])
        ),
        ("Pods", _) => format!("pods metric {name}"),
        _ => format!(
            "{} metric {name}",
            spec["describedObject"]["kind"].as_str().unwrap_or("")
        ),
    }
}

/// The `currentMetrics` entry of a metric that stands at its target.
fn at_target(metric: &Value) -> Value {
    let kind = metric["type"].as_str().unwrap_or("");
    let Some((source, spec)) = metric.as_object().and_then(|m| {
        m.iter()
            .find(|(k, v)| k.as_str() != "type" && v.is_object())
    }) else {
        return json!({"type": kind});
    };
    let mut status = spec.clone();
    let mut current = spec["target"].clone();
    if let Some(map) = current.as_object_mut() {
        map.remove("type");
    }
    if let Some(map) = status.as_object_mut() {
        map.remove("target");
    }
    status["current"] = current;
    json!({"type": kind, source.clone(): status})
}

/// One metric's proposal for `current` replicas, given the pods' CPU utilization and CPU
/// request (millicores per pod), if known.
fn read(
    metric: &Value,
    current: i64,
    cpu_percent: Option<u32>,
    request_millis: u64,
) -> Result<Reading, Unreadable> {
    let resource = &metric["resource"];
    let cpu_utilization = metric["type"] == "Resource"
        && resource["name"] == "cpu"
        && resource["target"]["type"] == "Utilization";
    let name = metric_name(metric);
    if !cpu_utilization {
        return Ok(Reading {
            proposal: current,
            name,
            status: at_target(metric),
        });
    }
    let Some(utilization) = cpu_percent else {
        return Err(Unreadable {
            reason: "FailedGetResourceMetric",
            error: "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API".into(),
        });
    };
    let target = resource["target"]["averageUtilization"]
        .as_i64()
        .filter(|t| *t > 0)
        .unwrap_or(80);
    let utilization = i64::from(utilization);
    let average_millis = request_millis as i64 * utilization / 100;
    Ok(Reading {
        proposal: (current * utilization + target - 1) / target,
        name,
        status: json!({"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": utilization,
            "averageValue": format!("{average_millis}m"),
        }}}),
    })
}

/// A condition as the controller sets it.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    kind: &'static str,
    status: &'static str,
    reason: &'static str,
    message: String,
}

fn condition(
    kind: &'static str,
    status: &'static str,
    reason: &'static str,
    message: impl Into<String>,
) -> Condition {
    Condition {
        kind,
        status,
        reason,
        message: message.into(),
    }
}

/// What one pass decides for an HPA whose target currently has `current` replicas.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// The count to write, with the reason the SuccessfulRescale event gives; None: no write.
    rescale: Option<(i64, String)>,
    /// `status.desiredReplicas`; None keeps the previous value (the metrics failed).
    desired: Option<i64>,
    /// `status.currentMetrics` (one entry per readable metric); None keeps the previous value.
    metrics: Option<Vec<Value>>,
    conditions: Vec<Condition>,
    /// A metric that could not be read: a Warning event.
    failure: Option<Unreadable>,
}

/// The controller's decision (`reconcileAutoscaler` and `normalizeDesiredReplicas`, without
/// tolerance, rate limits or stabilization), from the numbers alone.
fn plan(current: i64, min: i64, max: i64, readings: Vec<Result<Reading, Unreadable>>) -> Plan {
    let mut plan = Plan {
        rescale: None,
        desired: Some(current),
        metrics: None,
        conditions: Vec::new(),
        failure: None,
    };
    if current == 0 && min != 0 {
        plan.conditions.push(condition(
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        ));
        return plan;
    }
    if current > max {
        plan.rescale = Some((
            max,
            "Current number of replicas above Spec.MaxReplicas".into(),
        ));
        plan.desired = Some(max);
        return plan;
    }
    if current < min {
        plan.rescale = Some((
            min,
            "Current number of replicas below Spec.MinReplicas".into(),
        ));
        plan.desired = Some(min);
        return plan;
    }
    let (valid, invalid): (Vec<_>, Vec<_>) = readings.into_iter().partition(Result::is_ok);
    let valid: Vec<Reading> = valid.into_iter().filter_map(Result::ok).collect();
    let first_error = invalid.into_iter().find_map(Result::err);
    // The largest proposal wins; the first metric wins a tie.
    let best = valid
        .iter()
        .fold(None::<&Reading>, |best, r| match best {
            Some(b) if b.proposal >= r.proposal => Some(b),
            _ => Some(r),
        })
        .cloned();
    // With a metric missing, the controller does not scale down on the others.
    let metrics_fail = match (&best, &first_error) {
        (None, _) => true,
        (Some(b), Some(_)) => b.proposal < current,
        (Some(_), None) => false,
    };
    if let (true, Some(error)) = (metrics_fail, &first_error) {
        plan.desired = None;
        plan.conditions.push(condition(
            "ScalingActive",
            "False",
            error.reason,
            format!(
                "the HPA was unable to compute the replica count: {}",
                error.error
            ),
        ));
        plan.failure = Some(error.clone());
        return plan;
    }
    let Some(best) = best else {
        // Defaulting gives every HPA a metric; without one there is nothing to decide.
        return plan;
    };
    plan.conditions.push(condition(
        "ScalingActive",
        "True",
        "ValidMetricFound",
        format!(
            "the HPA was able to successfully calculate a replica count from {}",
            best.name
        ),
    ));
    plan.metrics = Some(valid.iter().map(|r| r.status.clone()).collect());
    plan.conditions.push(condition(
        "AbleToScale",
        "True",
        "ReadyForNewScale",
        "recommended size matches current size",
    ));
    let proposal = best.proposal;
    let (desired, limited) = if proposal < min {
        (
            min,
            condition(
                "ScalingLimited",
                "True",
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            ),
        )
    } else if proposal > max {
        (
            max,
            condition(
                "ScalingLimited",
                "True",
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            ),
        )
    } else {
        (
            proposal,
            condition(
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
            ),
        )
    };
    plan.conditions.push(limited);
    plan.desired = Some(desired);
    if desired != current {
        let reason = if proposal > current {
            format!("{} above target", best.name)
        } else {
            "All metrics below target".to_string()
        };
        plan.rescale = Some((desired, reason));
    }
    plan
}

/// `setCondition`: the transition time moves only when the status changes.
fn set_condition(conditions: &mut Vec<Value>, c: &Condition, now: &str) {
    let fresh = json!({"type": c.kind, "status": c.status, "lastTransitionTime": now,
                       "reason": c.reason, "message": c.message});
    match conditions.iter_mut().find(|x| x["type"] == c.kind) {
        Some(existing) => {
            if existing["status"] != c.status {
                existing["lastTransitionTime"] = now.into();
            }
            existing["status"] = c.status.into();
            existing["reason"] = c.reason.into();
            existing["message"] = c.message.clone().into();
        }
        None => conditions.push(fresh),
    }
}

/// The controller's event recorder: a repeat of an event (same object, type, reason and
/// message) bumps its count, as client-go's correlator does.
fn record_event(world: &mut World, hpa: &Value, kind: &str, reason: &str, message: &str) {
    let meta = &hpa["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or("");
    let name = meta["name"].as_str().unwrap_or("");
    let now = clock::rfc3339(world.now());
    let repeat = world
        .list(&EVENTS, Some(ns), &Selector::default())
        .into_iter()
        .find(|e| {
            e["involvedObject"]["uid"] == meta["uid"]
                && e["type"] == kind
                && e["reason"] == reason
                && e["message"] == message
        })
        .and_then(|e| e["metadata"]["name"].as_str().map(String::from));
    if let Some(event) = repeat {
        world.controller_write(&EVENTS, ns, &event, |e| {
            e["count"] = (e["count"].as_i64().unwrap_or(1) + 1).into();
            e["lastTimestamp"] = now.clone().into();
        });
        return;
    }
    let event = json!({
        "metadata": {"generateName": format!("{name}.")},
        "involvedObject": {"kind": "HorizontalPodAutoscaler", "namespace": ns, "name": name,
                           "uid": meta["uid"], "apiVersion": "autoscaling/v2",
                           "resourceVersion": meta["resourceVersion"]},
        "reason": reason, "message": message, "type": kind,
        "source": {"component": "horizontal-pod-autoscaler"},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "reportingComponent": "horizontal-pod-autoscaler", "reportingInstance": ""
    });
    world
        .create(&EVENTS, ns, event)
        .expect("an HPA's namespace exists and its name makes a valid event name");
}

/// The CPU each of a Deployment's pods requests, in millicores (its containers' sum).
fn request_millis(deployment: &Value) -> u64 {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["resources"]["requests"]["cpu"].as_str())
        .filter_map(|q| quantity::cpu_millis(q).ok())
        .sum()
}

/// One pass of the controller over one HPA; returns `{namespace, name, currentReplicas,
/// desiredReplicas, rescaled}`.
fn sync_one(world: &mut World, ns: &str, name: &str) -> Value {
    let hpa = world
        .get(&HPAS, ns, name)
        .cloned()
        .expect("sync_one is called for stored HPAs");
    let now = clock::rfc3339(world.now());
    let spec = &hpa["spec"];
    let target = &spec["scaleTargetRef"];
    let target_name = target["name"].as_str().unwrap_or("");
    let deployment = (target["kind"] == "Deployment")
        .then(|| world.get(&DEPLOYMENTS, ns, target_name).cloned())
        .flatten();
    let mut conditions: Vec<Value> = hpa["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(deployment) = deployment else {
        let error = if target["kind"] == "Deployment" {
            format!("deployments.apps \"{target_name}\" not found")
        } else {
            format!(
                "no matches for kind \"{}\" in the emulator (it scales Deployments only)",
                target["kind"].as_str().unwrap_or("")
            )
        };
        record_event(world, &hpa, "Warning", "FailedGetScale", &error);
        let failed = condition(
            "AbleToScale",
            "False",
            "FailedGetScale",
            format!("the HPA controller was unable to get the target's current scale: {error}"),
        );
        set_condition(&mut conditions, &failed, &now);
        world.controller_write(&HPAS, ns, name, |h| {
            h["status"]["conditions"] = Value::Array(conditions);
        });
        return json!({"namespace": ns, "name": name, "error": error});
    };
    set_condition(
        &mut conditions,
        &condition(
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        ),
        &now,
    );
    let current = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    let max = spec["maxReplicas"].as_i64().unwrap_or(min);
    let cpu = world.pod_cpu_percent(&deployment);
    let request = request_millis(&deployment);
    let readings = spec["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| read(m, current, cpu, request))
        .collect();
    let plan = plan(current, min, max, readings);
    for c in &plan.conditions {
        set_condition(&mut conditions, c, &now);
    }
    if let Some(failure) = &plan.failure {
        record_event(world, &hpa, "Warning", failure.reason, &failure.error);
    }
    if let Some((desired, reason)) = &plan.rescale {
        let n = i32::try_from(*desired).expect("bounded by maxReplicas, an int32");
        world
            .set_replicas(ns, target_name, n)
            .expect("the target Deployment was read above and replicas are not negative");
        record_event(
            world,
            &hpa,
            "Normal",
            "SuccessfulRescale",
            &format!("New size: {desired}; reason: {reason}"),
        );
        let rescaled = condition(
            "AbleToScale",
            "True",
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
        );
        set_condition(&mut conditions, &rescaled, &now);
    }
    let written = world
        .controller_write(&HPAS, ns, name, |h| {
            let status = &mut h["status"];
            if !status.is_object() {
                *status = json!({});
            }
            status["currentReplicas"] = current.into();
            if let Some(desired) = plan.desired {
                status["desiredReplicas"] = desired.into();
            }
            if let Some(metrics) = &plan.metrics {
                status["currentMetrics"] = Value::Array(metrics.clone());
            }
            if plan.rescale.is_some() {
                status["lastScaleTime"] = now.clone().into();
            }
            status["conditions"] = Value::Array(conditions);
        })
        .expect("the HPA was read above");
    json!({"namespace": ns, "name": name, "currentReplicas": current,
           "desiredReplicas": written["status"]["desiredReplicas"],
           "rescaled": plan.rescale.is_some()})
}

/// One pass over every HPA, after KEDA has reconciled every ScaledObject (so a change to an
/// HPA KEDA owns is reverted first, as KEDA's next reconcile would); HPAs in name order.
pub fn sync(world: &mut World) -> Vec<Value> {
    crate::keda::reconcile_all(world);
    let names: Vec<(String, String)> = world
        .list(&HPAS, None, &Selector::default())
        .into_iter()
        .map(|h| {
            let m = &h["metadata"];
            (
                m["namespace"].as_str().unwrap_or("").to_string(),
                m["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    names
        .iter()
        .map(|(ns, name)| sync_one(world, ns, name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(target: i64) -> Value {
        json!({"type": "Resource", "resource": {"name": "cpu",
               "target": {"type": "Utilization", "averageUtilization": target}}})
    }

    fn external() -> Value {
        json!({"type": "External", "external": {
            "metric": {"name": "s0-cron", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "web"}}},
            "target": {"type": "AverageValue", "averageValue": "1"}}})
    }

    fn limited(plan: &Plan) -> Option<&'static str> {
        plan.conditions
            .iter()
            .find(|c| c.kind == "ScalingLimited")
            .map(|c| c.reason)
    }

    #[test]
    fn cpu_proposals_round_up_and_are_clamped_to_the_bounds() {
        // (name, current, utilization, target, min, max, desired, limited)
        let cases = [
            ("at target", 2, 60, 60, 2, 6, 2, "DesiredWithinRange"),
            (
                "just above target rounds up",
                2,
                61,
                60,
                2,
                6,
                3,
                "DesiredWithinRange",
            ),
            (
                "below target stays at the floor",
                2,
                45,
                60,
                2,
                6,
                2,
                "DesiredWithinRange",
            ),
            (
                "far below target: the floor limits",
                4,
                10,
                60,
                2,
                6,
                2,
                "TooFewReplicas",
            ),
            (
                "far above target: the ceiling limits",
                4,
                200,
                60,
                2,
                6,
                6,
                "TooManyReplicas",
            ),
            (
                "exactly the ceiling",
                3,
                120,
                60,
                2,
                6,
                6,
                "DesiredWithinRange",
            ),
            (
                "one below the floor's proposal",
                3,
                20,
                60,
                2,
                6,
                2,
                "TooFewReplicas",
            ),
        ];
        for (name, current, util, target, min, max, desired, reason) in cases {
            let reading = read(&cpu(target), current, Some(util), 100);
            let plan = plan(current, min, max, vec![reading]);
            assert_eq!(plan.desired, Some(desired), "{name}");
            assert_eq!(limited(&plan), Some(reason), "{name}");
            assert_eq!(
                plan.rescale.as_ref().map(|r| r.0),
                (desired != current).then_some(desired),
                "{name}"
            );
        }
    }

    #[test]
    fn a_count_outside_the_bounds_is_brought_back_without_reading_metrics() {
        let missing = || vec![read(&cpu(60), 9, None, 100)];
        let above = plan(9, 2, 6, missing());
        assert_eq!(
            above.rescale,
            Some((
                6,
                "Current number of replicas above Spec.MaxReplicas".into()
            ))
        );
        assert!(above.conditions.is_empty());
        let below = plan(1, 2, 6, missing());
        assert_eq!(
            below.rescale,
            Some((
                2,
                "Current number of replicas below Spec.MinReplicas".into()
            ))
        );
        let zero = plan(0, 2, 6, missing());
        assert_eq!((zero.rescale, zero.desired), (None, Some(0)));
        assert_eq!(zero.conditions[0].reason, "ScalingDisabled");
    }

    #[test]
    fn missing_cpu_metrics_change_nothing_and_say_why() {
        let p = plan(3, 2, 6, vec![read(&cpu(60), 3, None, 100)]);
        assert_eq!((p.rescale, p.desired, p.metrics), (None, None, None));
        assert_eq!(p.conditions[0].kind, "ScalingActive");
        assert_eq!(p.conditions[0].status, "False");
        assert_eq!(p.conditions[0].message, "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API");
        assert_eq!(p.failure.unwrap().reason, "FailedGetResourceMetric");
        // Another metric proposing a scale-up still acts; one proposing less does not.
        let up = plan(
            3,
            2,
            6,
            vec![
                read(&cpu(60), 3, None, 100),
                read(&cpu(50), 3, Some(100), 100),
            ],
        );
        assert_eq!(up.desired, Some(6));
        let down = plan(
            3,
            2,
            6,
            vec![
                read(&cpu(60), 3, None, 100),
                read(&cpu(50), 3, Some(10), 100),
            ],
        );
        assert_eq!(down.desired, None);
    }

    #[test]
    fn unmeasured_metrics_stand_at_their_target() {
        let reading = read(&external(), 4, None, 100).unwrap();
        assert_eq!(reading.proposal, 4);
        assert_eq!(
            reading.name,
            "external metric s0-cron(&LabelSelector{MatchLabels:map[string]string{scaledobject.keda.sh/name: web,},MatchExpressions:[]LabelSelectorRequirement{},})"
        );
        assert_eq!(
            reading.status,
            json!({"type": "External", "external": {
                "metric": {"name": "s0-cron", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "web"}}},
                "current": {"averageValue": "1"}}})
        );
        let p = plan(4, 2, 6, vec![Ok(reading)]);
        assert_eq!((p.rescale, p.desired), (None, Some(4)));
        assert!(p.conditions[0]
            .message
            .starts_with("the HPA was able to successfully calculate a replica count from external metric s0-cron("));
    }

    #[test]
    fn readings_name_the_metric_and_report_utilization_and_value() {
        let reading = read(&cpu(60), 2, Some(90), 100).unwrap();
        assert_eq!(reading.proposal, 3);
        assert_eq!(
            reading.name,
            "cpu resource utilization (percentage of request)"
        );
        assert_eq!(
            reading.status["resource"]["current"],
            json!({"averageUtilization": 90, "averageValue": "90m"})
        );
        let p = plan(2, 2, 6, vec![Ok(reading)]);
        assert_eq!(
            p.rescale,
            Some((
                3,
                "cpu resource utilization (percentage of request) above target".into()
            ))
        );
        let down = plan(4, 2, 6, vec![read(&cpu(60), 4, Some(30), 100)]);
        assert_eq!(down.rescale, Some((2, "All metrics below target".into())));
        assert_eq!(
            go_selector(&json!({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]})),
            "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:a,Operator:In,Values:[x y],},},}"
        );
        assert_eq!(go_selector(&Value::Null), "<nil>");
    }

    #[test]
    fn defaults_and_validation_follow_the_api_server() {
        let mut hpa = json!({"spec": {"maxReplicas": 3,
                             "scaleTargetRef": {"kind": "Deployment", "name": "web"}}});
        set_defaults(&mut hpa);
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(hpa["spec"]["metrics"][0], cpu(80));
        assert!(spec_errors(&hpa).is_empty());
        let bad = json!({"spec": {"minReplicas": 0, "scaleTargetRef": {"name": "a/b"}}});
        let texts: Vec<String> = spec_errors(&bad).iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
                "spec.maxReplicas: Invalid value: 0: must be greater than 0",
                "spec.scaleTargetRef.kind: Required value",
                "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'",
            ]
        );
        let inverted = json!({"spec": {"minReplicas": 4, "maxReplicas": 2,
                              "scaleTargetRef": {"kind": "Deployment", "name": "web"}}});
        assert_eq!(
            spec_errors(&inverted)[0].to_string(),
            "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
        );
        let negative = json!({"status": {"currentReplicas": -1, "desiredReplicas": 2}});
        assert_eq!(
            status_errors(&negative)[0].to_string(),
            "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0"
        );
    }

    #[test]
    fn conditions_move_their_transition_time_only_on_a_status_change() {
        let mut conditions = Vec::new();
        let c = condition("AbleToScale", "True", "ReadyForNewScale", "m");
        set_condition(&mut conditions, &c, "t1");
        set_condition(
            &mut conditions,
            &condition("AbleToScale", "True", "SucceededRescale", "n"),
            "t2",
        );
        assert_eq!(conditions[0]["lastTransitionTime"], "t1");
        assert_eq!(conditions[0]["reason"], "SucceededRescale");
        set_condition(
            &mut conditions,
            &condition("AbleToScale", "False", "FailedGetScale", "x"),
            "t3",
        );
        assert_eq!(conditions[0]["lastTransitionTime"], "t3");
        assert_eq!(conditions.len(), 1);
    }
}
