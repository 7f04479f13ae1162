//! metrics.k8s.io NodeMetrics as metrics-server serves them: usage in nanocores and Ki, a
//! scrape `timestamp` and `window`, and the node's labels so label selectors work.

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::clock;
use crate::k8s::resources::NODE_METRICS;
use crate::quantity;
use crate::selector::Selector;
use crate::status::ApiError;
use crate::world::{NodeUsage, World};

fn item(world: &World, node: &Value, usage: NodeUsage) -> Value {
    let now = SystemTime::now();
    let scraped = now.checked_sub(world.metrics_age).unwrap_or(now);
    json!({
        "metadata": {
            "name": node["metadata"]["name"],
            "creationTimestamp": clock::rfc3339(now),
            "labels": node["metadata"]["labels"],
        },
        "timestamp": clock::rfc3339(scraped),
        "window": "20.047s",
        "usage": {
            "cpu": quantity::format_nanocores(usage.cpu_millis),
            "memory": quantity::format_kibibytes(usage.memory_bytes),
        }
    })
}

pub fn list(world: &World, selector: &Selector) -> Value {
    let items: Vec<Value> = world
        .metric_nodes(selector)
        .into_iter()
        .map(|(node, usage)| item(world, node, usage))
        .collect();
    json!({
        "kind": "NodeMetricsList",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {},
        "items": items
    })
}

pub fn get(world: &World, name: &str) -> Result<Value, ApiError> {
    let (node, usage) = world
        .metric_nodes(&Selector::default())
        .into_iter()
        .find(|(n, _)| n["metadata"]["name"] == name)
        .ok_or_else(|| ApiError::not_found(NODE_METRICS.gr, name))?;
    let mut one = item(world, node, usage);
    one["kind"] = "NodeMetrics".into();
    one["apiVersion"] = "metrics.k8s.io/v1beta1".into();
    Ok(one)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;
    use std::time::Duration;

    #[test]
    fn list_filters_by_node_labels_and_reports_nanocores() {
        let world = World::from_seed(&Seed::demo()).unwrap();
        let list = list(&world, &Selector::parse("region=france").unwrap());
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["metadata"]["name"], "worker-france");
        assert_eq!(items[0]["usage"]["cpu"], "1800000000n");
        assert!(items[0]["usage"]["memory"]
            .as_str()
            .unwrap()
            .ends_with("Ki"));
    }

    #[test]
    fn age_moves_the_timestamp_back_and_missing_nodes_are_not_found() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        world.metrics_age = Duration::from_secs(3600);
        let one = get(&world, "worker-latvia").unwrap();
        let stamp = one["timestamp"].as_str().unwrap();
        let hour_ago = clock::rfc3339(SystemTime::now() - Duration::from_secs(3600));
        assert_eq!(&stamp[..15], &hour_ago[..15]);
        let err = get(&world, "worker-mars").unwrap_err();
        assert_eq!(
            err.message,
            "nodes.metrics.k8s.io \"worker-mars\" not found"
        );
    }
}
