//! From a URL and method to what the API server's request-info resolver sees: which resource,
//! namespace, name and subresource, and which RBAC verb. Handlers route on it and the request
//! log records it, so rbac.yaml can be checked against the pairs a test run really used.

use crate::http::Request;
use crate::k8s::resources::{self, ResourceDef, ResourceId};
use crate::status::Access;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Discovery, /version, /openapi and health paths: non-resource URLs for RBAC.
    NonResource,
    Resource {
        def: &'static ResourceDef,
        namespace: Option<String>,
        name: Option<String>,
        subresource: Option<&'static str>,
    },
    /// A resource URL the emulator does not serve.
    Unknown,
}

/// Resolves a path under /api or /apis; other paths are non-resource URLs.
pub fn resolve(path: &str) -> Target {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => return Target::NonResource,
    };
    let (namespace, plural, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] => (Some(ns.to_string()), *plural, tail),
        [plural, tail @ ..] => (None, *plural, tail),
        [] => return Target::Unknown,
    };
    let Some(def) = resources::lookup(group, version, plural) else {
        return Target::Unknown;
    };
    if namespace.is_some() && !def.namespaced {
        return Target::Unknown;
    }
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some(name.to_string()), None),
        [name, "scale"] if def.id == ResourceId::Deployment => {
            (Some(name.to_string()), Some("scale"))
        }
        [name, "status"] if def.status => (Some(name.to_string()), Some("status")),
        _ => return Target::Unknown,
    };
    // Namespaced objects are addressed inside their namespace; without one only the
    // all-namespaces list exists.
    if def.namespaced && namespace.is_none() && name.is_some() {
        return Target::Unknown;
    }
    Target::Resource {
        def,
        namespace,
        name,
        subresource,
    }
}

/// The RBAC verb for a resource request, as the API server derives it.
pub fn verb(req: &Request, has_name: bool) -> String {
    let watching = matches!(req.param("watch").as_deref(), Some("true" | "1"));
    match (req.method.as_str(), has_name) {
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) if watching => "watch",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (other, _) => return other.to_ascii_lowercase(),
    }
    .to_string()
}

/// What the authorizer would be asked to allow.
pub fn access(req: &Request, target: &Target) -> Access {
    match target {
        Target::Resource {
            def,
            namespace,
            name,
            subresource,
        } => Access {
            verb: verb(req, name.is_some()),
            resource: Some(def.gr),
            subresource: *subresource,
            namespace: namespace.clone(),
            name: name.clone().unwrap_or_default(),
            path: req.path.clone(),
        },
        Target::NonResource | Target::Unknown => Access {
            verb: req.method.to_ascii_lowercase(),
            resource: None,
            subresource: None,
            namespace: None,
            name: String::new(),
            path: req.path.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, query: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn classify(
        method: &str,
        path: &str,
        query: &str,
    ) -> (String, Option<String>, Option<&'static str>) {
        let r = req(method, path, query);
        let a = access(&r, &resolve(path));
        let resource = a.resource.map(|gr| match a.subresource {
            Some(sub) => format!("{}/{sub}", gr.resource),
            None => gr.resource.to_string(),
        });
        (a.verb, resource, a.resource.map(|gr| gr.group))
    }

    #[test]
    fn classifies_the_requests_carbonctl_makes() {
        let cases = [
            (
                "GET",
                "/api/v1/nodes",
                "&labelSelector=region",
                "list",
                Some("nodes"),
                Some(""),
            ),
            (
                "GET",
                "/apis/metrics.k8s.io/v1beta1/nodes",
                "",
                "list",
                Some("nodes"),
                Some("metrics.k8s.io"),
            ),
            (
                "GET",
                "/apis/apps/v1/namespaces/default/deployments/web",
                "",
                "get",
                Some("deployments"),
                Some("apps"),
            ),
            (
                "PATCH",
                "/apis/apps/v1/namespaces/default/deployments/web/scale",
                "",
                "patch",
                Some("deployments/scale"),
                Some("apps"),
            ),
            (
                "PUT",
                "/api/v1/namespaces/default/configmaps/state",
                "",
                "update",
                Some("configmaps"),
                Some(""),
            ),
            (
                "POST",
                "/api/v1/namespaces/default/events",
                "",
                "create",
                Some("events"),
                Some(""),
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps",
                "watch=true",
                "watch",
                Some("configmaps"),
                Some(""),
            ),
            (
                "DELETE",
                "/api/v1/namespaces/default/configmaps/x",
                "",
                "delete",
                Some("configmaps"),
                Some(""),
            ),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                "",
                "create",
                Some("selfsubjectaccessreviews"),
                Some("authorization.k8s.io"),
            ),
            (
                "GET",
                "/api/v1/namespaces/nope",
                "",
                "get",
                Some("namespaces"),
                Some(""),
            ),
            ("GET", "/apis/apps/v1", "", "get", None, None),
            ("GET", "/version", "", "get", None, None),
        ];
        for (method, path, query, verb, resource, group) in cases {
            let got = classify(method, path, query);
            assert_eq!(
                got,
                (verb.to_string(), resource.map(String::from), group),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn unknown_shapes_are_not_resources() {
        for path in [
            "/api/v1/pods",
            "/api/v1/namespaces/default/nodes",
            "/api/v1/configmaps/name-without-namespace",
            "/apis/apps/v1/namespaces/default/deployments/web/status",
            "/api/v1/namespaces/default/configmaps/a/b/c",
            "/api/v1/namespaces/default/finalize",
        ] {
            assert_eq!(resolve(path), Target::Unknown, "{path}");
        }
        assert_eq!(resolve("/openapi/v3"), Target::NonResource);
        assert!(matches!(
            resolve("/api/v1/configmaps"),
            Target::Resource {
                name: None,
                namespace: None,
                ..
            }
        ));
    }
}
