//! The lists a tick reads, deserialised into slim types that keep only the fields the rule
//! uses, each parsed once from the one buffer its answer arrived in. On a 5,000-node cluster a
//! full `Node` carries conditions' messages, addresses, images and managed fields, and the
//! NodeMetrics list is 1.5 MB: skipping what is not read, and borrowing the names NodeMetrics
//! carry instead of copying them, keeps a tick's memory and time small.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http_body::Body as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::skim::{Reader, Skimmed};
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

/// A NodeMetrics item: its name, scrape time and CPU, borrowed from the answer's buffer.
#[derive(Debug, Default, PartialEq)]
pub struct NodeMetricsItem<'a> {
    pub name: Cow<'a, str>,
    pub timestamp: Cow<'a, str>,
    pub cpu: Option<Cow<'a, str>>,
}

/// The items of a NodeMetrics list (`metrics.k8s.io/v1beta1` NodeMetricsList), each node's
/// labels, window and memory stepped over (see `skim`), passed to `each` as they are read: a
/// list of 5,000 nodes is never held as items besides what `each` makes of them. A field that
/// is absent is empty.
pub fn node_metrics<'a>(body: &'a [u8], mut each: impl FnMut(NodeMetricsItem<'a>)) -> Skimmed<()> {
    let mut r = Reader::new(body);
    r.object(|r, key| {
        if key != b"items" {
            return r.skip();
        }
        r.array(|r| {
            let mut item = NodeMetricsItem::default();
            r.object(|r, key| match key {
                b"metadata" => r.object(|r, key| match key {
                    b"name" => r.string().map(|name| item.name = name),
                    _ => r.skip(),
                }),
                b"timestamp" => r.string().map(|t| item.timestamp = t),
                b"usage" => r.object(|r, key| match key {
                    b"cpu" => r.string().map(|cpu| item.cpu = Some(cpu)),
                    _ => r.skip(),
                }),
                _ => r.skip(),
            })?;
            each(item);
            Ok(())
        })
    })?;
    r.end()
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

    /// GET at `path`, the answer's body in one buffer: items can borrow from it, and nothing
    /// is copied or checked twice on the way (kube's `Client::request` copies the body twice
    /// and validates it as UTF-8 before parsing). Each frame is copied in as it arrives and
    /// let go, so the HTTP layer reuses its read buffer instead of holding the whole answer a
    /// second time until the end (1.4 MB of NodeMetrics on 5,000 nodes).
    pub async fn get_body(&self, path: &str, query: Query<'_>) -> Result<Vec<u8>, kube::Error> {
        let request = http::Request::get(query.uri(path))
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(kube::Error::HttpError)?;
        self.body_of(request).await
    }

    /// Sends `request` and reads its answer's body as `get_body` does; an answer that is not
    /// a success is the server's `metav1.Status`, as kube reports it.
    pub async fn body_of(
        &self,
        request: http::Request<kube::client::Body>,
    ) -> Result<Vec<u8>, kube::Error> {
        self.call(async {
            let response = self.client.send(request).await?;
            let status = response.status();
            let mut body = response.into_body();
            let announced = body.size_hint().exact().unwrap_or(0);
            let mut buffer = Vec::with_capacity(announced.min(MAX_RESERVED) as usize);
            while let Some(frame) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
            {
                if let Ok(data) = frame?.into_data() {
                    buffer.extend_from_slice(&data);
                }
            }
            if status.is_client_error() || status.is_server_error() {
                return Err(api_error(status, &buffer));
            }
            Ok(buffer)
        })
        .await
    }
}

/// The most reserved up front for an answer's announced length; a longer one grows as it
/// arrives.
const MAX_RESERVED: u64 = 64 * 1024 * 1024;

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

    /// Every item `node_metrics` passes on, in order.
    fn read_items(body: &[u8]) -> crate::k8s::skim::Skimmed<Vec<super::NodeMetricsItem<'_>>> {
        let mut items = Vec::new();
        super::node_metrics(body, |item| items.push(item))?;
        Ok(items)
    }

    #[test]
    fn node_metrics_borrow_their_names_and_skip_labels() {
        let body = br#"{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},
            "items":[{"metadata":{"name":"n1","labels":{"region":"x","a/b":"{["}},"timestamp":"2026-11-30T09:00:00Z","usage":{"cpu":"1500m","memory":"1Ki"},"window":"20s"},
                     {"metadata":{"name":"n\u0032"},"usage":{}}]}"#;
        let items = read_items(body).unwrap();
        assert!(matches!(items[0].name, std::borrow::Cow::Borrowed("n1")));
        assert_eq!(items[0].cpu.as_deref(), Some("1500m"));
        assert_eq!(items[0].timestamp, "2026-11-30T09:00:00Z");
        assert_eq!(items[1].name, "n2", "an escaped name is unescaped");
        assert_eq!((items[1].cpu.as_deref(), &*items[1].timestamp), (None, ""));
        assert_eq!(
            read_items(br#"{"items":[{"metadata":{"name":"n1"}}"#)
                .unwrap_err()
                .expected,
            "',' or ']'",
            "a list cut short is refused"
        );
        assert!(read_items(br#"{"items":null}"#).is_err());
        let label = b"{\"items\":[{\"metadata\":{\"labels\":{\"a\":\"\xff\"},\"name\":\"n1\"}}]}";
        assert_eq!(read_items(label).unwrap()[0].name, "n1");
        let name = b"{\"items\":[{\"metadata\":{\"name\":\"n\xff\"}}]}";
        assert_eq!(read_items(name).unwrap_err().expected, "UTF-8");
        assert!(read_items(br#"{"kind":"NodeMetricsList"}"#)
            .unwrap()
            .is_empty());
    }

    /// What a deserialiser of the same fields reads, field for field: the oracle the reader
    /// is checked against.
    #[derive(serde::Deserialize)]
    struct Oracle {
        items: Vec<OracleItem>,
    }

    #[derive(serde::Deserialize)]
    struct OracleItem {
        #[serde(default)]
        metadata: OracleName,
        #[serde(default)]
        timestamp: String,
        #[serde(default)]
        usage: OracleCpu,
    }

    #[derive(Default, serde::Deserialize)]
    struct OracleName {
        #[serde(default)]
        name: String,
    }

    #[derive(Default, serde::Deserialize)]
    struct OracleCpu {
        cpu: Option<String>,
    }

    /// Text with what must be escaped, brackets and non-ASCII.
    const TEXT: &str = "[a-z0-9é/\\\\\\-\"{}\\[\\]\n\t ]{0,10}";

    proptest::proptest! {
        /// Lists with labels, memory, nested and unknown fields around the three it reads
        /// (before and after them), compact or indented: the reader takes what the deserialiser
        /// takes, and refuses every list cut short.
        #[test]
        fn node_metrics_read_as_a_deserialiser_reads_them(
            items in proptest::collection::vec(
                (
                    TEXT,
                    proptest::option::of(TEXT),
                    TEXT,
                    proptest::collection::btree_map(TEXT, TEXT, 0..3),
                ),
                0..5,
            ),
            indented in proptest::bool::ANY,
        ) {
            let items: Vec<serde_json::Value> = items
                .into_iter()
                .map(|(name, cpu, timestamp, labels)| {
                    // Keys are written sorted: "name" after "labels", "cpu" before "memory".
                    let metadata = serde_json::json!({"labels": labels, "extra": [1, {"a": [null, true]}, -2.5e-3], "name": name});
                    let mut usage = serde_json::json!({"memory": "1Ki"});
                    if let Some(cpu) = cpu {
                        usage["cpu"] = serde_json::json!(cpu);
                    }
                    serde_json::json!({"window": "20s", "usage": usage, "metadata": metadata, "timestamp": timestamp})
                })
                .collect();
            let list = serde_json::json!({"kind": "NodeMetricsList", "metadata": {}, "items": items});
            let text = if indented {
                serde_json::to_string_pretty(&list).unwrap()
            } else {
                serde_json::to_string(&list).unwrap()
            };
            let read = read_items(text.as_bytes()).unwrap();
            let oracle: Oracle = serde_json::from_str(&text).unwrap();
            proptest::prop_assert_eq!(read.len(), oracle.items.len());
            for (ours, theirs) in read.iter().zip(&oracle.items) {
                proptest::prop_assert_eq!(&ours.name, &theirs.metadata.name);
                proptest::prop_assert_eq!(&ours.timestamp, &theirs.timestamp);
                proptest::prop_assert_eq!(ours.cpu.as_deref(), theirs.usage.cpu.as_deref());
            }
            for cut in 0..text.trim_end().len() {
                proptest::prop_assert!(read_items(&text.as_bytes()[..cut]).is_err(), "{}", cut);
            }
        }
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
