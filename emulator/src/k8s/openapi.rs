//! Just enough OpenAPI v3 for kubectl's `--validate=strict` (its default) to learn that the
//! server validates fields itself: each served object path has POST/PUT/PATCH operations
//! tagged with their group-version-kind and a `fieldValidation` query parameter. kubectl then
//! sends `fieldValidation=Strict` and skips client-side schema checks, so no schemas are needed.

use serde_json::{json, Map, Value};

use crate::http::Response;
use crate::k8s::resources::{self, ResourceDef, ResourceId};

/// A hash that changes with this crate's version, so kubectl's OpenAPI cache never serves
/// a document from another emulator build.
const HASH: &str = concat!("kube-emulator-", env!("CARGO_PKG_VERSION"));

fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs: Vec<(&str, &str)> = resources::ALL
        .iter()
        .filter(|d| d.id != ResourceId::NodeMetrics)
        .map(|d| (d.gr.group, d.version))
        .collect();
    gvs.dedup();
    gvs
}

fn url_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn operation(def: &ResourceDef, kind: &str, group: &str, version: &str, action: &str) -> Value {
    json!({
        "operationId": format!("{action}{kind}"),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
        "parameters": [
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}}
        ],
        "responses": {"200": {"description": "OK"}},
        "tags": [def.gr.resource]
    })
}

fn document(group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for def in resources::ALL
        .iter()
        .filter(|d| d.gr.group == group && d.version == version && d.id != ResourceId::NodeMetrics)
    {
        let base = if def.namespaced {
            format!(
                "/{}/namespaces/{{namespace}}/{}",
                url_path(group, version),
                def.gr.resource
            )
        } else {
            format!("/{}/{}", url_path(group, version), def.gr.resource)
        };
        let mut collection = Map::new();
        if def.allows("create") {
            collection.insert(
                "post".into(),
                operation(def, def.kind, group, version, "post"),
            );
        }
        paths.insert(base.clone(), Value::Object(collection));
        let mut item = Map::new();
        if def.allows("update") {
            item.insert(
                "put".into(),
                operation(def, def.kind, group, version, "put"),
            );
        }
        if def.allows("patch") {
            item.insert(
                "patch".into(),
                operation(def, def.kind, group, version, "patch"),
            );
        }
        if !item.is_empty() {
            paths.insert(format!("{base}/{{name}}"), Value::Object(item));
        }
        if def.id == ResourceId::Deployment {
            let scale = json!({
                "put": operation(def, "Scale", "autoscaling", "v1", "put"),
                "patch": operation(def, "Scale", "autoscaling", "v1", "patch"),
            });
            paths.insert(format!("{base}/{{name}}/scale"), scale);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {}
    })
}

/// `/openapi/v3` (the index) and `/openapi/v3/<group-version path>`.
pub fn v3(rest: &str) -> Option<Value> {
    if rest.is_empty() {
        let paths: Map<String, Value> = group_versions()
            .into_iter()
            .map(|(g, v)| {
                let p = url_path(g, v);
                let url = json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={HASH}")});
                (p, url)
            })
            .collect();
        return Some(json!({"paths": paths}));
    }
    group_versions()
        .into_iter()
        .find(|(g, v)| url_path(g, v) == rest)
        .map(|(g, v)| document(g, v))
}

/// `/openapi/v2`: kubectl 1.27 and 1.28 download it (as protobuf) before any validated write
/// and give up if it is missing, though with server-side validation they never read it. An
/// empty protobuf message is a valid, empty OpenAPI v2 document.
pub fn v2() -> Response {
    Response {
        status: 200,
        // Go's mime parser rejects the `@` of the media type kubectl asks for; client-go reads
        // the bytes whatever the header says.
        headers: vec![("Content-Type".into(), "application/octet-stream".into())],
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_each_served_group_version() {
        let index = v3("").unwrap();
        assert_eq!(
            index["paths"]["api/v1"]["serverRelativeURL"],
            format!("/openapi/v3/api/v1?hash={HASH}")
        );
        assert!(index["paths"]["apis/apps/v1"].is_object());
        assert!(v3("apis/batch/v1").is_none());
        let v2 = v2();
        assert_eq!(v2.status, 200);
        assert!(v2.body.is_empty());
    }

    #[test]
    fn patch_operations_advertise_field_validation() {
        let doc = v3("api/v1").unwrap();
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "ConfigMap"
        );
        assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
        let apps = v3("apis/apps/v1").unwrap();
        let scale = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
            ["patch"];
        assert_eq!(
            scale["x-kubernetes-group-version-kind"]["group"],
            "autoscaling"
        );
    }
}
