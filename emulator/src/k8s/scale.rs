//! The `deployments/scale` subresource: an autoscaling/v1 Scale view of a Deployment whose
//! resourceVersion is the Deployment's, so a stale Scale write conflicts like a stale update.

use serde_json::{json, Value};

use crate::k8s::resources::DEPLOYMENTS;
use crate::status::ApiError;
use crate::world::World;

/// The Scale of a Deployment object.
pub fn of(deployment: &Value) -> Value {
    let m = &deployment["metadata"];
    let selector = deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]
        },
        // ScaleSpec.replicas is `omitempty` in autoscaling/v1: a real server sends `"spec":{}`
        // for a Deployment scaled to zero, and clients patching it must cope.
        "spec": match deployment["spec"]["replicas"].as_i64() {
            Some(0) => json!({}),
            _ => json!({"replicas": deployment["spec"]["replicas"]}),
        },
        "status": {"replicas": deployment["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector}
    })
}

pub fn get(world: &World, ns: &str, name: &str) -> Result<Value, ApiError> {
    world
        .get(&DEPLOYMENTS, ns, name)
        .map(of)
        .ok_or_else(|| ApiError::not_found(DEPLOYMENTS.gr, name))
}

fn invalid(name: &str, value: &Value) -> ApiError {
    let cause = format!("Invalid value: {value}: must be greater than or equal to 0");
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("Scale.autoscaling \"{name}\" is invalid: spec.replicas: {cause}"),
        details: Some(json!({
            "name": name, "group": "autoscaling", "kind": "Scale",
            "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": "spec.replicas"}]
        })),
        retry_after: None,
    }
}

/// PUT (or the result of a PATCH): writes `spec.replicas` to the Deployment, refusing a
/// stale `metadata.resourceVersion` with the Deployment's Conflict.
pub fn write(world: &mut World, ns: &str, name: &str, scale: &Value) -> Result<Value, ApiError> {
    let Some(current) = world.get(&DEPLOYMENTS, ns, name).cloned() else {
        return Err(ApiError::not_found(DEPLOYMENTS.gr, name));
    };
    if !scale.is_object() {
        return Err(ApiError::bad_request(
            "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal into Go value of type autoscaling.Scale",
        ));
    }
    let body_name = scale["metadata"]["name"].as_str().unwrap_or("");
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let rv = scale["metadata"]["resourceVersion"].as_str().unwrap_or("");
    if !rv.is_empty() && Some(rv) != current["metadata"]["resourceVersion"].as_str() {
        return Err(ApiError::conflict(DEPLOYMENTS.gr, name));
    }
    // An absent spec.replicas decodes as zero in Go, and scales to zero on a real server too.
    let replicas = &scale["spec"]["replicas"];
    let n = match replicas {
        Value::Null => 0,
        v => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(
                "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal into Go struct field ScaleSpec.spec.replicas of type int32",
            )
        })?,
    };
    if n < 0 || n > i64::from(i32::MAX) {
        return Err(invalid(name, replicas));
    }
    let mut next = current;
    next["spec"]["replicas"] = n.into();
    let updated = world.update(&DEPLOYMENTS, ns, name, next)?;
    Ok(of(&updated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;

    #[test]
    fn scale_reflects_the_deployment() {
        let world = World::from_seed(&Seed::demo()).unwrap();
        let s = get(&world, "default", "nginx-france").unwrap();
        assert_eq!(s["spec"]["replicas"], 2);
        assert_eq!(s["status"]["replicas"], 2);
        assert_eq!(s["status"]["selector"], "app=nginx-france");
        assert_eq!(get(&world, "default", "nope").unwrap_err().code, 404);
    }

    #[test]
    fn a_scale_at_zero_omits_spec_replicas_as_the_real_server_does() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        let mut s = get(&world, "default", "nginx-france").unwrap();
        s["spec"]["replicas"] = 0.into();
        let out = write(&mut world, "default", "nginx-france", &s).unwrap();
        assert_eq!(out["spec"], json!({}));
        assert_eq!(out["status"]["replicas"], 0);
    }

    #[test]
    fn write_checks_resource_version_and_value() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        let mut s = get(&world, "default", "nginx-france").unwrap();
        s["spec"]["replicas"] = 3.into();
        let out = write(&mut world, "default", "nginx-france", &s).unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
        let err = write(&mut world, "default", "nginx-france", &s).unwrap_err();
        assert_eq!(err.message, "Operation cannot be fulfilled on deployments.apps \"nginx-france\": the object has been modified; please apply your changes to the latest version and try again");
        let negative = json!({"spec": {"replicas": -1}});
        assert_eq!(
            write(&mut world, "default", "nginx-france", &negative)
                .unwrap_err()
                .code,
            422
        );
        let text = json!({"spec": {"replicas": "three"}});
        assert_eq!(
            write(&mut world, "default", "nginx-france", &text)
                .unwrap_err()
                .code,
            400
        );
    }
}
