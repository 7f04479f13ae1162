//! The Kubernetes API: discovery plus the resources carbonctl and kubectl use, answering as
//! the API server does (status codes, Status bodies, list shapes, server-side tables).

pub mod discovery;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod resources;
pub mod route;
pub mod scale;
pub mod table;

use serde_json::{json, Value};

use crate::fields::FieldSelector;
use crate::http::{Request, Response};
use crate::patch::{self, PatchError, PatchType};
use crate::protobuf;
use crate::selector::Selector;
use crate::status::ApiError;
use crate::validation::{self, FieldError};
use crate::world::World;
use paging::Paging;
use resources::{ResourceDef, ResourceId, SUBRESOURCE_VERBS};
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
                subresource: *subresource,
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
    /// `scale` (Deployments) or `status`.
    subresource: Option<&'static str>,
}

impl Call<'_> {
    fn scale(&self) -> bool {
        self.subresource == Some("scale")
    }

    fn status(&self) -> bool {
        self.subresource == Some("status")
    }
}

fn resource(world: &mut World, req: &Request, call: &Call) -> Result<Response, ApiError> {
    let verb = route::verb(req, call.name.is_some());
    let allowed = if call.subresource.is_some() {
        SUBRESOURCE_VERBS
    } else {
        call.def.verbs
    };
    if !allowed.contains(&verb.as_str()) {
        return Err(ApiError::method_not_allowed());
    }
    if call.def.id == ResourceId::NodeMetrics && !world.metrics_available {
        return Err(ApiError::path_not_found());
    }
    if call.def.id == ResourceId::SelfSubjectAccessReview {
        return access_review(req);
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
            let obj = body_json(req, if call.scale() { "Scale" } else { call.def.kind })?;
            Ok(Response::ok(&write(world, call, name, obj)?))
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
    if call.scale() {
        return Ok(Response::ok(&scale::get(world, call.ns, name)?));
    }
    let obj = world
        .get(call.def, call.ns, name)
        .ok_or_else(|| ApiError::not_found(call.def.gr, name))?;
    if table::wanted(req) {
        let meta = json!({"resourceVersion": world.resource_version().to_string()});
        if let Some(t) = table::render(call.def, &[obj], meta, world.now()) {
            return Ok(Response::ok(&t));
        }
    }
    Ok(Response::ok(obj))
}

fn list(world: &World, req: &Request, call: &Call) -> Result<Response, ApiError> {
    let label_text = req.param("labelSelector").unwrap_or_default();
    let field_text = req.param("fieldSelector").unwrap_or_default();
    let selector = Selector::parse(&label_text).map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(call.def.id, call.def.kind, &field_text)
        .map_err(ApiError::bad_request)?;
    if call.def.id == ResourceId::NodeMetrics {
        // metrics-server ignores limit and continue: its lists are never paged.
        return Ok(Response::json_bytes(
            200,
            metrics::answer(world, (&label_text, &selector), (&field_text, &fields)),
        ));
    }
    let paging = Paging::from_request(req)?;
    let ns = (!call.all_namespaces).then_some(call.ns);
    let scope = world.list_stored(call.def, ns, &Selector::default());
    let page = paging::page(
        scope,
        |obj| {
            // Fields first: a field selector (`spec.unschedulable=true`) usually rules out
            // nearly every object in one comparison, before any label is looked up.
            let indexed = obj.selectable();
            fields.matches_with(|f| indexed.field(f))
                && selector.matches_with(|k| indexed.labels.get(k))
        },
        &paging,
        call.all_namespaces && call.def.namespaced,
        !(label_text.trim().is_empty() && field_text.trim().is_empty()),
        world.resource_version(),
    );
    if table::wanted(req) {
        let values: Vec<&Value> = page.items.iter().map(|o| o.value()).collect();
        if let Some(t) = table::render(call.def, &values, page.meta.clone(), world.now()) {
            return Ok(Response::ok(&t));
        }
    }
    Ok(Response::json_bytes(
        200,
        list_body(
            &format!("{}List", call.def.kind),
            &call.def.api_version(),
            &page.meta,
            page.items.iter().map(|o| o.list_item_json()),
        ),
    ))
}

/// `{"apiVersion", "items", "kind", "metadata"}` (serde_json's key order) around items that
/// are already JSON: a list of thousands of objects is then one copy of their stored
/// renderings, with no per-request serialization of the objects.
fn list_body<'a>(
    kind: &str,
    api_version: &str,
    meta: &Value,
    items: impl Iterator<Item = &'a [u8]> + Clone,
) -> Vec<u8> {
    let size: usize = items.clone().map(|i| i.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 256);
    let write = |body: &mut Vec<u8>, v: &Value| {
        serde_json::to_writer(body, v).expect("writing to a Vec cannot fail")
    };
    body.extend_from_slice(br#"{"apiVersion":"#);
    write(&mut body, &api_version.into());
    body.extend_from_slice(br#","items":["#);
    for (i, item) in items.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(br#"],"kind":"#);
    write(&mut body, &kind.into());
    body.extend_from_slice(br#","metadata":"#);
    write(&mut body, meta);
    body.push(b'}');
    body
}

/// `POST selfsubjectaccessreviews` (what `kubectl auth can-i` sends): the review back with
/// its status. The emulator has no RBAC, so every well-formed review is allowed; like the API
/// server it stores nothing and answers 201.
fn access_review(req: &Request) -> Result<Response, ApiError> {
    let review = body_json(req, resources::SELF_SUBJECT_ACCESS_REVIEWS.kind)?;
    if !review.is_object() {
        return Err(ApiError::bad_request(
            "SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: json: cannot unmarshal into Go value",
        ));
    }
    let spec = &review["spec"];
    let present = |field: &str| spec.get(field).filter(|v| !v.is_null());
    let (resource, non_resource) = (
        present("resourceAttributes"),
        present("nonResourceAttributes"),
    );
    let mut errors = Vec::new();
    if let (Some(_), Some(attributes)) = (resource, non_resource) {
        // Go prints the internal struct with %#v.
        let text = |f: &str| validation::go_quote(attributes[f].as_str().unwrap_or(""));
        errors.push(FieldError::invalid_printed(
            "spec.nonResourceAttributes",
            format!(
                "authorization.NonResourceAttributes{{Path:{}, Verb:{}}}",
                text("path"),
                text("verb")
            ),
            "cannot be specified in combination with resourceAttributes",
        ));
    }
    if resource.is_none() && non_resource.is_none() {
        errors.push(FieldError::invalid_printed(
            "spec.resourceAttributes",
            "\"null\"",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    if !errors.is_empty() {
        // The decoded review is an internal object without a kind, so the API server names
        // only the group.
        return Err(validation::invalid("", "authorization.k8s.io", "", &errors));
    }
    let answer = json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": {"allowed": true}
    });
    Ok(Response::json(201, &answer))
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

/// The write an update (or a patch's result) makes: the Scale, the status, or the object.
fn write(world: &mut World, call: &Call, name: &str, obj: Value) -> Result<Value, ApiError> {
    if call.scale() {
        scale::write(world, call.ns, name, &obj)
    } else if call.status() {
        world.update_status(call.def, call.ns, name, obj)
    } else {
        world.update(call.def, call.ns, name, obj)
    }
}

fn patch(world: &mut World, req: &Request, call: &Call, name: &str) -> Result<Response, ApiError> {
    let patch_type = req
        .header("Content-Type")
        .and_then(PatchType::from_content_type)
        .filter(|t| !(call.def.custom && *t == PatchType::StrategicMerge));
    let Some(patch_type) = patch_type else {
        // Custom resources have no Go struct to merge strategically; the API server says
        // so with the media types their handler accepts.
        return Err(ApiError::unsupported_media_type(if call.def.custom {
            &PatchType::ACCEPTED_BY_CUSTOM_RESOURCES
        } else {
            &PatchType::ACCEPTED
        }));
    };
    let current = if call.scale() {
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
    Ok(Response::ok(&write(world, call, name, patched)?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let meta =
            json!({"resourceVersion": "1234", "continue": "eyJ2Ijo", "remainingItemCount": 3});
        let body = list_body(
            "ConfigMapList",
            "v1",
            &meta,
            rendered.iter().map(Vec::as_slice),
        );
        let want = json!({
            "kind": "ConfigMapList",
            "apiVersion": "v1",
            "metadata": meta,
            "items": items
        });
        assert_eq!(body, serde_json::to_vec(&want).unwrap());
        let empty = list_body(
            "NodeList",
            "v1",
            &json!({"resourceVersion": "7"}),
            std::iter::empty(),
        );
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            r#"{"apiVersion":"v1","items":[],"kind":"NodeList","metadata":{"resourceVersion":"7"}}"#
        );
    }
}
