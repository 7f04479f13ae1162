//! The lists a tick reads, deserialised into slim types that keep only the fields the rule
//! uses, each parsed once from the one buffer its answer arrived in. On a 5,000-node cluster a
//! full `Node` carries conditions' messages, addresses, images and managed fields, and the
//! NodeMetrics list is 1.5 MB: skipping what is not read, and borrowing the names NodeMetrics
//! carry instead of copying them, keeps a tick's memory and time small.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::Cluster;

#[derive(Debug, Deserialize)]
pub struct List<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct SlimNode {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: NodeSpec,
    #[serde(default)]
    pub status: NodeStatus,
}

#[derive(Debug, Default, Deserialize)]
pub struct NodeSpec {
    #[serde(default)]
    pub unschedulable: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct NodeStatus {
    #[serde(default)]
    pub allocatable: BTreeMap<String, String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Deserialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

/// A NodeMetrics item: its name, scrape time and CPU, borrowed from the answer's buffer (its
/// labels, window and memory are skipped).
#[derive(Debug, Deserialize)]
pub struct SlimNodeMetrics<'a> {
    #[serde(borrow, default)]
    pub metadata: NameOnly<'a>,
    #[serde(borrow, default)]
    pub timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    pub usage: CpuUsage<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NameOnly<'a> {
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CpuUsage<'a> {
    #[serde(borrow, default)]
    pub cpu: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct SlimDeployment {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: DeploymentSpec,
    #[serde(default)]
    pub status: DeploymentStatus,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeploymentSpec {
    /// The API defaults it to 1 when unset.
    pub replicas: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    #[serde(default)]
    pub ready_replicas: i32,
    #[serde(default)]
    pub available_replicas: i32,
}

/// What a list asks for beyond its path.
#[derive(Debug, Default, Clone, Copy)]
pub struct Query<'a> {
    pub labels: Option<&'a str>,
    pub fields: Option<&'a str>,
    /// Lets the API server answer from its watch cache (resourceVersion=0), which is cheaper
    /// for it and fresh enough for node facts that change on the scale of minutes.
    pub cached: bool,
}

impl Query<'_> {
    fn uri(&self, path: &str) -> String {
        let mut query = Vec::new();
        if let Some(selector) = self.labels {
            query.push(format!("labelSelector={}", encode(selector)));
        }
        if let Some(selector) = self.fields {
            query.push(format!("fieldSelector={}", encode(selector)));
        }
        if self.cached {
            query.push("resourceVersion=0".to_string());
        }
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }
}

impl Cluster {
    /// GET a list at `path`, parsed into owned slim items.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query<'_>,
    ) -> Result<List<T>, kube::Error> {
        let body = self.get_body(path, query).await?;
        serde_json::from_slice(body.as_ref()).map_err(kube::Error::SerdeError)
    }

    /// GET at `path`, the answer's body as the one buffer it arrived in: items can borrow from
    /// it, and nothing is copied or checked twice on the way (kube's `Client::request` copies
    /// the body twice and validates it as UTF-8 before parsing).
    pub async fn get_body(
        &self,
        path: &str,
        query: Query<'_>,
    ) -> Result<impl AsRef<[u8]>, kube::Error> {
        let request = http::Request::get(query.uri(path))
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(kube::Error::HttpError)?;
        self.call(async {
            let response = self.client.send(request).await?;
            let status = response.status();
            let body = response.into_body().collect_bytes().await?;
            if status.is_client_error() || status.is_server_error() {
                return Err(api_error(status, &body));
            }
            Ok(body)
        })
        .await
    }
}

/// An answer that is not a success, as kube reports it: the `metav1.Status` the server sent,
/// or one made from its text when it sent something else (a proxy's page, a bare 404).
fn api_error(code: http::StatusCode, body: &[u8]) -> kube::Error {
    let status = serde_json::from_slice::<kube::core::Status>(body).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(body);
        kube::core::Status::failure(text.trim(), "Failed to parse error data")
            .with_code(code.as_u16())
    });
    kube::Error::Api(status.boxed())
}

/// Percent-encodes a label selector for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_selector_operators() {
        assert_eq!(
            super::encode("region,!node-role.kubernetes.io/control-plane"),
            "region%2C%21node-role.kubernetes.io%2Fcontrol-plane"
        );
    }

    #[test]
    fn a_query_carries_label_and_field_selectors_and_the_watch_cache() {
        let path = "/api/v1/nodes";
        assert_eq!(super::Query::default().uri(path), path);
        let cordoned = super::Query {
            labels: Some("region"),
            fields: Some("spec.unschedulable=true"),
            cached: true,
        };
        assert_eq!(
            cordoned.uri(path),
            "/api/v1/nodes?labelSelector=region&fieldSelector=spec.unschedulable%3Dtrue&resourceVersion=0"
        );
    }

    #[test]
    fn an_error_answer_is_the_servers_status_or_one_made_from_its_text() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes is forbidden","reason":"Forbidden","code":403}"#;
        let kube::Error::Api(s) = super::api_error(http::StatusCode::FORBIDDEN, status) else {
            panic!("an API error");
        };
        assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
        let kube::Error::Api(s) =
            super::api_error(http::StatusCode::BAD_GATEWAY, b" <html>proxy</html>\n")
        else {
            panic!("an API error");
        };
        assert_eq!((s.code, s.message.as_str()), (502, "<html>proxy</html>"));
    }

    #[test]
    fn node_metrics_borrow_their_names_and_skip_labels() {
        let list: super::List<super::SlimNodeMetrics> = serde_json::from_str(
            r#"{"items":[{"metadata":{"name":"n1","labels":{"region":"x"}},"timestamp":"2026-11-30T09:00:00Z","usage":{"cpu":"1500m","memory":"1Ki"},"window":"20s"},
                         {"metadata":{"name":"n\u0032"},"usage":{}}]}"#,
        )
        .unwrap();
        let first = &list.items[0];
        assert!(matches!(
            first.metadata.name,
            std::borrow::Cow::Borrowed("n1")
        ));
        assert_eq!(first.usage.cpu.as_deref(), Some("1500m"));
        assert_eq!(
            list.items[1].metadata.name, "n2",
            "an escaped name is unescaped"
        );
        assert_eq!(
            (
                list.items[1].usage.cpu.as_deref(),
                &*list.items[1].timestamp
            ),
            (None, "")
        );
    }

    #[test]
    fn slim_types_read_real_shapes_and_default_what_is_missing() {
        let node: super::SlimNode = serde_json::from_str(
            r#"{"metadata":{"name":"n","labels":{"region":"x"},"managedFields":[{"manager":"k"}]},
                "spec":{"unschedulable":true,"taints":[]},
                "status":{"allocatable":{"cpu":"3900m"},"conditions":[{"type":"Ready","status":"True","message":"ok"}],"images":[]}}"#,
        )
        .unwrap();
        assert_eq!(
            (node.metadata.name.as_str(), node.spec.unschedulable),
            ("n", true)
        );
        assert_eq!(node.status.allocatable["cpu"], "3900m");
        assert_eq!(node.status.conditions[0].type_, "Ready");
        let d: super::SlimDeployment =
            serde_json::from_str(r#"{"metadata":{"name":"d"},"spec":{},"status":{}}"#).unwrap();
        assert_eq!((d.spec.replicas, d.status.ready_replicas), (None, 0));
    }
}
