//! The request log: every Kubernetes and carbon API request with its outcome and, for
//! Kubernetes, the RBAC verb and resource it needed, so benchmarks can count API calls per
//! tick and the RBAC manifest can be checked against what a test run really did.

use serde::Serialize;

use crate::status::Access;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// The status answered, or 0 when an injected fault dropped the connection.
    pub status: u16,
    /// When the request arrived, RFC 3339 with milliseconds.
    pub time: String,
    /// The RBAC verb (get, list, watch, create, update, patch, delete) for Kubernetes
    /// requests; for non-resource URLs (discovery) the lower-cased HTTP method.
    pub verb: Option<String>,
    /// `nodes`, `deployments/scale`, ...; None for non-resource URLs and carbon requests.
    pub resource: Option<String>,
    /// The API group of `resource` ("" for the core group).
    pub api_group: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// Who a Kubernetes request authenticated as: `kube-emulator` (the kubeconfig's token),
    /// `system:anonymous` (no token), or None (a wrong token, answered 401).
    pub user: Option<String>,
}

impl RequestRecord {
    pub fn new(method: &str, path: &str, query: &str, time: String) -> RequestRecord {
        RequestRecord {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            status: 0,
            time,
            verb: None,
            resource: None,
            api_group: None,
            namespace: None,
            name: None,
            user: None,
        }
    }

    /// Adds what the authorizer would see of a Kubernetes request.
    pub fn with_access(mut self, access: &Access) -> RequestRecord {
        self.verb = Some(access.verb.clone());
        if let Some(gr) = access.resource {
            self.resource = Some(match access.subresource {
                Some(sub) => format!("{}/{sub}", gr.resource),
                None => gr.resource.to_string(),
            });
            self.api_group = Some(gr.group.to_string());
            self.namespace = access.namespace.clone();
            self.name = (!access.name.is_empty()).then(|| access.name.clone());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::GroupResource;

    #[test]
    fn records_rbac_pairs_in_camel_case() {
        let access = Access {
            verb: "patch".into(),
            resource: Some(GroupResource {
                group: "apps",
                resource: "deployments",
            }),
            subresource: Some("scale"),
            namespace: Some("default".into()),
            name: "nginx-france".into(),
            path: "/apis/apps/v1/namespaces/default/deployments/nginx-france/scale".into(),
        };
        let record = RequestRecord::new("PATCH", &access.path, "", "t".into()).with_access(&access);
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["resource"], "deployments/scale");
        assert_eq!(json["apiGroup"], "apps");
        assert_eq!(json["verb"], "patch");
        assert_eq!(json["name"], "nginx-france");
    }
}
