//! The three lists a tick reads, deserialised into slim types that keep only the fields the
//! rule uses. On a 5,000-node cluster a full `Node` carries conditions' messages, addresses,
//! images and managed fields; skipping them while parsing keeps a tick's memory and time small.

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

#[derive(Debug, Deserialize)]
pub struct SlimNodeMetrics {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub usage: BTreeMap<String, String>,
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

impl Cluster {
    /// GET a list at `path` with an optional label selector; `cached` lets the API server
    /// answer from its watch cache (resourceVersion=0), which is cheaper for it and fresh
    /// enough for node facts that change on the scale of minutes.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        selector: Option<&str>,
        cached: bool,
    ) -> Result<List<T>, kube::Error> {
        let mut query = Vec::new();
        if let Some(selector) = selector {
            query.push(format!("labelSelector={}", encode(selector)));
        }
        if cached {
            query.push("resourceVersion=0".to_string());
        }
        let uri = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(kube::Error::HttpError)?;
        self.call(self.client.request(request)).await
    }
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
