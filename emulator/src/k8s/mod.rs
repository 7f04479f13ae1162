//! The Kubernetes API: discovery plus the resources carbonctl and kubectl use, answering as
//! the API server does (status codes, Status bodies, list shapes, server-side tables).

pub mod discovery;
pub mod metrics;
pub mod openapi;
pub mod resources;
pub mod route;
pub mod scale;
pub mod table;

use serde_json::Value;

use crate::fields::FieldSelector;
use crate::http::{Request, Response};
use crate::patch::{self, PatchError, PatchType};
use crate::protobuf;
use crate::selector::Selector;
use crate::status::ApiError;
use crate::world::World;
use resources::{ResourceDef, ResourceId, SCALE_VERBS};
use route::Target;

/// Answers one authenticated Kubernetes request against the world.
pub fn handle(world: &mut World, req: &Request, target: &Target, host: &str) -> Response {
    let result = match target {
        Target::NonResource => non_resource(world, req, host),
        Target::Unknown => Err(ApiError::path_not_found()),
        Target::Resource {
            def,
            namespace,
            name,
            subresource,
        } => {
            let call = Call {
                def,
                ns: namespace.as_deref().unwrap_or(""),
                all_namespaces: namespace.is_none(),
                name: name.as_deref(),
                scale: subresource.is_some(),
            };
            resource(world, req, &call)
        }
    };
    result.unwrap_or_else(Response::from)
}

fn non_resource(world: &World, req: &Request, host: &str) -> Result<Response, ApiError> {
    if req.method != "GET" {
        return Err(ApiError::method_not_allowed());
    }
    let metrics = world.metrics_available;
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let body = match segments.as_slice() {
        ["version"] => Some(discovery::version()),
        ["api"] => Some(discovery::api_versions(host)),
        ["api", version] => discovery::resource_list("", version, metrics),
        ["apis"] => Some(discovery::api_group_list(metrics)),
        ["apis", group] => discovery::api_group(group, metrics),
        ["apis", group, version] => discovery::resource_list(group, version, metrics),
        ["healthz" | "livez" | "readyz"] => {
            return Ok(Response {
                status: 200,
                headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
                body: b"ok".to_vec(),
            })
        }
        ["openapi", "v2"] => return Ok(openapi::v2()),
        ["openapi", "v3", rest @ ..] => openapi::v3(&rest.join("/")),
        _ => None,
    };
    body.map(|b| Response::ok(&b))
        .ok_or_else(ApiError::path_not_found)
}

struct Call<'a> {
    def: &'static ResourceDef,
    ns: &'a str,
    all_namespaces: bool,
    name: Option<&'a str>,
    scale: bool,
}

fn resource(world: &mut World, req: &Request, call: &Call) -> Result<Response, ApiError> {
    let verb = route::verb(req, call.name.is_some());
    let allowed = if call.scale {
        SCALE_VERBS
    } else {
        call.def.verbs
    };
    if !allowed.contains(&verb.as_str()) {
        return Err(ApiError::method_not_allowed());
    }
    if call.def.id == ResourceId::NodeMetrics && !world.metrics_available {
        return Err(ApiError::path_not_found());
    }
    match (verb.as_str(), call.name) {
        ("list", _) => list(world, req, call),
        ("get", Some(name)) => get(world, req, call, name),
        ("create", _) => {
            let obj = body_json(req, call.def.kind)?;
            let created = world.create(call.def, call.ns, obj)?;
            Ok(Response::json(201, &created))
        }
        ("update", Some(name)) => {
            let obj = body_json(req, if call.scale { "Scale" } else { call.def.kind })?;
            let updated = if call.scale {
                scale::write(world, call.ns, name, &obj)?
            } else {
                world.update(call.def, call.ns, name, obj)?
            };
            Ok(Response::ok(&updated))
        }
        ("patch", Some(name)) => patch(world, req, call, name),
        ("delete", Some(name)) => Ok(Response::ok(&world.delete(call.def, call.ns, name)?)),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn get(world: &World, req: &Request, call: &Call, name: &str) -> Result<Response, ApiError> {
    if call.def.id == ResourceId::NodeMetrics {
        return Ok(Response::ok(&metrics::get(world, name)?));
    }
    if call.scale {
        return Ok(Response::ok(&scale::get(world, call.ns, name)?));
    }
    let obj = world
        .get(call.def, call.ns, name)
        .ok_or_else(|| ApiError::not_found(call.def.gr, name))?;
    if table::wanted(req) {
        if let Some(t) = table::render(call.def, &[obj], world.resource_version()) {
            return Ok(Response::ok(&t));
        }
    }
    Ok(Response::ok(obj))
}

fn list(world: &World, req: &Request, call: &Call) -> Result<Response, ApiError> {
    let selector = Selector::parse(&req.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(
        call.def.id,
        call.def.kind,
        &req.param("fieldSelector").unwrap_or_default(),
    )
    .map_err(ApiError::bad_request)?;
    if call.def.id == ResourceId::NodeMetrics {
        return Ok(Response::json_bytes(200, metrics::list(world, &selector)));
    }
    let ns = (!call.all_namespaces).then_some(call.ns);
    let mut objects = world.list_stored(call.def, ns, &selector);
    objects.retain(|o| fields.matches(o.value()));
    if table::wanted(req) {
        let values: Vec<&Value> = objects.iter().map(|o| o.value()).collect();
        if let Some(t) = table::render(call.def, &values, world.resource_version()) {
            return Ok(Response::ok(&t));
        }
    }
    Ok(Response::json_bytes(
        200,
        list_body(
            &format!("{}List", call.def.kind),
            &call.def.api_version(),
            world.resource_version(),
            objects.iter().map(|o| o.list_item_json()),
        ),
    ))
}

/// `{"apiVersion", "items", "kind", "metadata": {"resourceVersion"}}` (serde_json's key order)
/// around items that are already JSON: a list of thousands of objects is then one copy of
/// their stored renderings, with no per-request serialization of the objects.
fn list_body<'a>(
    kind: &str,
    api_version: &str,
    resource_version: u64,
    items: impl Iterator<Item = &'a [u8]> + Clone,
) -> Vec<u8> {
    let size: usize = items.clone().map(|i| i.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 128);
    let string = |body: &mut Vec<u8>, s: &str| {
        serde_json::to_writer(body, s).expect("writing to a Vec cannot fail")
    };
    body.extend_from_slice(br#"{"apiVersion":"#);
    string(&mut body, api_version);
    body.extend_from_slice(br#","items":["#);
    for (i, item) in items.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(br#"],"kind":"#);
    string(&mut body, kind);
    body.extend_from_slice(br#","metadata":{"resourceVersion":"#);
    string(&mut body, &resource_version.to_string());
    body.extend_from_slice(b"}}");
    body
}

/// Reads a create or update body; kubectl may send no Content-Type, which means JSON.
fn body_json(req: &Request, kind: &str) -> Result<Value, ApiError> {
    let media = req
        .header("Content-Type")
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == protobuf::MEDIA_TYPE {
        return protobuf::decode(&req.body).map_err(ApiError::bad_request);
    }
    if !(media.is_empty() || media == "application/json" || media == "*/*") {
        return Err(ApiError::unsupported_media_type(&[
            "application/json",
            protobuf::MEDIA_TYPE,
        ]));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: {e}"
        ))
    })
}

fn patch(world: &mut World, req: &Request, call: &Call, name: &str) -> Result<Response, ApiError> {
    let patch_type = req
        .header("Content-Type")
        .and_then(PatchType::from_content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(&PatchType::ACCEPTED))?;
    let current = if call.scale {
        scale::get(world, call.ns, name)?
    } else {
        world
            .get(call.def, call.ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(call.def.gr, name))?
    };
    let patched = patch::apply(patch_type, &current, &req.body).map_err(|e| match e {
        PatchError::Decode(message) => ApiError::bad_request(message),
        PatchError::Apply(_) => ApiError::patch_does_not_apply(),
    })?;
    let updated = if call.scale {
        scale::write(world, call.ns, name, &patched)?
    } else {
        world.update(call.def, call.ns, name, patched)?
    };
    Ok(Response::ok(&updated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_body_is_what_serde_json_writes_for_the_list() {
        let items = [
            json!({"metadata": {"name": "a"}, "data": {"k": "v\"q"}}),
            json!({}),
        ];
        let rendered: Vec<Vec<u8>> = items
            .iter()
            .map(|i| serde_json::to_vec(i).unwrap())
            .collect();
        let body = list_body(
            "ConfigMapList",
            "v1",
            1234,
            rendered.iter().map(Vec::as_slice),
        );
        let want = json!({
            "kind": "ConfigMapList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1234"},
            "items": items
        });
        assert_eq!(body, serde_json::to_vec(&want).unwrap());
        let empty = list_body("NodeList", "v1", 7, std::iter::empty());
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            r#"{"apiVersion":"v1","items":[],"kind":"NodeList","metadata":{"resourceVersion":"7"}}"#
        );
    }
}
