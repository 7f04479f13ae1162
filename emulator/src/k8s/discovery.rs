//! Discovery documents kubectl reads before it does anything: which groups, versions and
//! resources exist, with their kinds, verbs and short names (`cm`, `deploy`, `no`).

use serde_json::{json, Value};

use crate::k8s::resources::{self, ResourceDef, SUBRESOURCE_VERBS};

/// The Kubernetes version the emulator claims; the kubectl dispatcher picks its binary by it.
pub const VERSION: (&str, &str) = ("1", "33");

pub fn version() -> Value {
    json!({
        "major": VERSION.0,
        "minor": VERSION.1,
        "gitVersion": format!("v{}.{}.0", VERSION.0, VERSION.1),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub fn api_versions(host: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]
    })
}

fn group_version(name: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
}

/// The groups served, in the API server's order (built-in groups, then those of
/// CustomResourceDefinitions such as KEDA's keda.sh, then aggregated APIs); metrics.k8s.io
/// only while its APIService is "installed".
fn groups(metrics: bool) -> Vec<(&'static str, &'static str)> {
    let mut groups = vec![
        ("apps", "v1"),
        ("authorization.k8s.io", "v1"),
        ("autoscaling", "v2"),
        ("keda.sh", "v1alpha1"),
    ];
    if metrics {
        groups.push(("metrics.k8s.io", "v1beta1"));
    }
    groups
}

pub fn api_group_list(metrics: bool) -> Value {
    let groups: Vec<Value> = groups(metrics)
        .into_iter()
        .map(|(name, version)| group_version(name, version))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(name: &str, metrics: bool) -> Option<Value> {
    let (name, version) = groups(metrics).into_iter().find(|(n, _)| *n == name)?;
    let mut group = group_version(name, version);
    group["kind"] = "APIGroup".into();
    group["apiVersion"] = "v1".into();
    Some(group)
}

fn api_resource(def: &ResourceDef) -> Value {
    let mut r = json!({
        "name": def.gr.resource,
        "singularName": def.singular,
        "namespaced": def.namespaced,
        "kind": def.kind,
        "verbs": def.verbs,
    });
    if !def.short_names.is_empty() {
        r["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        r["categories"] = json!(def.categories);
    }
    r
}

/// The APIResourceList of one group version, or None if it is not served.
pub fn resource_list(group: &str, version: &str, metrics: bool) -> Option<Value> {
    let served = group.is_empty() && version == "v1" || groups(metrics).contains(&(group, version));
    if !served {
        return None;
    }
    let mut list = Vec::new();
    for def in resources::ALL
        .iter()
        .filter(|d| d.gr.group == group && d.version == version)
    {
        list.push(api_resource(def));
        if def.status {
            list.push(json!({
                "name": format!("{}/status", def.gr.resource),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": SUBRESOURCE_VERBS,
            }));
        }
    }
    if group == "apps" {
        list.push(json!({
            "name": "deployments/scale",
            "singularName": "",
            "namespaced": true,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": SUBRESOURCE_VERBS,
        }));
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": list
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &Value) -> Vec<&str> {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn core_and_apps_resources() {
        let core = resource_list("", "v1", true).unwrap();
        assert_eq!(
            names(&core),
            ["nodes", "configmaps", "secrets", "events", "namespaces"]
        );
        let apps = resource_list("apps", "v1", true).unwrap();
        assert_eq!(names(&apps), ["deployments", "deployments/scale"]);
        assert_eq!(apps["resources"][1]["kind"], "Scale");
        assert_eq!(apps["resources"][1]["group"], "autoscaling");
        assert_eq!(apps["resources"][0]["shortNames"][0], "deploy");
        let authorization = resource_list("authorization.k8s.io", "v1", false).unwrap();
        assert_eq!(
            authorization["resources"],
            json!([{"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview",
                    "namespaced": false, "kind": "SelfSubjectAccessReview", "verbs": ["create"]}])
        );
        assert_eq!(
            api_group("authorization.k8s.io", false).unwrap()["kind"],
            "APIGroup"
        );
    }

    #[test]
    fn autoscalers_are_listed_with_their_status_subresources() {
        let autoscaling = resource_list("autoscaling", "v2", true).unwrap();
        assert_eq!(
            names(&autoscaling),
            [
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status"
            ]
        );
        assert_eq!(autoscaling["resources"][0]["shortNames"], json!(["hpa"]));
        assert_eq!(autoscaling["resources"][0]["categories"], json!(["all"]));
        let keda = resource_list("keda.sh", "v1alpha1", true).unwrap();
        assert_eq!(names(&keda), ["scaledobjects", "scaledobjects/status"]);
        assert_eq!(keda["resources"][0]["kind"], "ScaledObject");
        assert_eq!(keda["resources"][1]["kind"], "ScaledObject");
        assert_eq!(
            api_group("keda.sh", false).unwrap()["preferredVersion"]["version"],
            "v1alpha1"
        );
        assert!(resource_list("autoscaling", "v1", true).is_none());
    }

    #[test]
    fn metrics_group_disappears_when_unavailable() {
        assert!(resource_list("metrics.k8s.io", "v1beta1", false).is_none());
        assert!(api_group("metrics.k8s.io", false).is_none());
        let groups = api_group_list(false);
        assert_eq!(groups["groups"].as_array().unwrap().len(), 4);
        assert_eq!(api_group_list(true)["groups"][4]["name"], "metrics.k8s.io");
        let metrics = resource_list("metrics.k8s.io", "v1beta1", true).unwrap();
        assert_eq!(metrics["resources"][0]["kind"], "NodeMetrics");
        assert!(resource_list("apps", "v2", true).is_none());
    }
}
