//! metrics.k8s.io NodeMetrics as metrics-server serves them: usage in nanocores and Ki, a
//! scrape `timestamp` and `window`, and the node's labels so label selectors work.

use std::cell::RefCell;
use std::io::Write;

use serde_json::{json, Value};

use crate::clock;
use crate::fields::FieldSelector;
use crate::k8s::resources::NODE_METRICS;
use crate::quantity;
use crate::selector::Selector;
use crate::status::ApiError;
use crate::world::World;

/// The timestamps every item of one answer shares: now (the item's `creationTimestamp`) and
/// the scrape, which lags by the configured metrics age.
struct Stamps {
    now: String,
    scraped: String,
}

impl Stamps {
    fn new(world: &World) -> Stamps {
        let now = world.now();
        let scraped = now.checked_sub(world.metrics_age).unwrap_or(now);
        Stamps {
            now: clock::rfc3339(now),
            scraped: clock::rfc3339(scraped),
        }
    }
}

/// The last NodeMetrics list answered and what it was made of. metrics-server serves its
/// lists from the samples it holds; a benchmark asking the same list every tick should measure
/// the client, so an unchanged world, query and clock second answer with the same bytes.
#[derive(Default)]
pub struct Memo(RefCell<Option<(MemoKey, Vec<u8>)>>);

#[derive(PartialEq)]
struct MemoKey {
    labels: String,
    fields: String,
    now: String,
    scraped: String,
    generation: u64,
}

/// The NodeMetricsList for a query (`labels` and `fields` as sent, and parsed), from the memo
/// when nothing it was made of has changed.
pub fn answer(
    world: &World,
    (labels, selector): (&str, &Selector),
    (fields, field_selector): (&str, &FieldSelector),
) -> Vec<u8> {
    let stamps = Stamps::new(world);
    let key = MemoKey {
        labels: labels.to_string(),
        fields: fields.to_string(),
        now: stamps.now.clone(),
        scraped: stamps.scraped.clone(),
        generation: world.metrics_generation(),
    };
    let mut memo = world.node_metrics_memo.0.borrow_mut();
    match &*memo {
        Some((k, body)) if *k == key => body.clone(),
        _ => {
            let body = render(world, &stamps, selector, field_selector);
            *memo = Some((key, body.clone()));
            body
        }
    }
}

/// The NodeMetricsList, written as text around each node's pre-rendered labels and name: a
/// list of thousands of nodes is then a few copies per item and no `serde_json::Value`s. The
/// bytes are exactly serde_json's for the same list (its key order, no spaces).
fn render(world: &World, stamps: &Stamps, selector: &Selector, fields: &FieldSelector) -> Vec<u8> {
    let mut nodes = world.metric_nodes_stored(selector);
    // metrics-server filters by `metadata.name`, a NodeMetrics item's name being its node's.
    nodes.retain(|(node, _)| fields.matches_with(|f| node.selectable().field(f)));
    let mut body = Vec::with_capacity(nodes.len() * 320 + 128);
    body.extend_from_slice(br#"{"apiVersion":"metrics.k8s.io/v1beta1","items":["#);
    // Timestamps and quantities are digits and letters: nothing in them needs escaping.
    for (i, (node, usage)) in nodes.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(br#"{"metadata":{"creationTimestamp":""#);
        body.extend_from_slice(stamps.now.as_bytes());
        body.extend_from_slice(b"\",");
        body.extend_from_slice(&node.node_metrics_parts().labels_and_name_json);
        body.extend_from_slice(br#"},"timestamp":""#);
        body.extend_from_slice(stamps.scraped.as_bytes());
        write!(
            body,
            r#"","usage":{{"cpu":"{}","memory":"{}"}},"window":"{WINDOW}"}}"#,
            quantity::format_nanocores(usage.cpu_nanos),
            quantity::format_kibibytes(usage.memory_bytes),
        )
        .expect("writing to a Vec cannot fail");
    }
    body.extend_from_slice(br#"],"kind":"NodeMetricsList","metadata":{}}"#);
    body
}

const WINDOW: &str = "20.047s";

pub fn get(world: &World, name: &str) -> Result<Value, ApiError> {
    let (node, usage) = world
        .metric_nodes(&Selector::default())
        .into_iter()
        .find(|(n, _)| n["metadata"]["name"] == name)
        .ok_or_else(|| ApiError::not_found(NODE_METRICS.gr, name))?;
    let stamps = Stamps::new(world);
    Ok(json!({
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": node["metadata"]["name"],
            "creationTimestamp": stamps.now,
            "labels": node["metadata"]["labels"],
        },
        "timestamp": stamps.scraped,
        "window": WINDOW,
        "usage": {
            "cpu": quantity::format_nanocores(usage.cpu_nanos),
            "memory": quantity::format_kibibytes(usage.memory_bytes),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::resources::ResourceId;
    use crate::seed::Seed;
    use std::time::{Duration, SystemTime};

    /// The list as a client asking with these selectors gets it.
    fn list(world: &World, labels: &str, fields: &str) -> Vec<u8> {
        let selector = Selector::parse(labels).unwrap();
        let field_selector =
            FieldSelector::parse(ResourceId::NodeMetrics, "NodeMetrics", fields).unwrap();
        answer(world, (labels, &selector), (fields, &field_selector))
    }

    fn cpu_of(body: &[u8], node: &str) -> Value {
        let list: Value = serde_json::from_slice(body).unwrap();
        let items = list["items"].as_array().unwrap();
        let item = items.iter().find(|i| i["metadata"]["name"] == node);
        item.map_or(Value::Null, |i| i["usage"]["cpu"].clone())
    }

    #[test]
    fn list_filters_by_node_labels_and_reports_nanocores() {
        let world = World::from_seed(&Seed::demo()).unwrap();
        let body = list(&world, "region=france", "");
        let list_of = |body: &[u8]| -> Value { serde_json::from_slice(body).unwrap() };
        let named = list_of(&list(&world, "", "metadata.name=worker-latvia"));
        assert_eq!(named["items"][0]["metadata"]["name"], "worker-latvia");
        assert_eq!(named["items"].as_array().unwrap().len(), 1);
        let list = list_of(&body);
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["metadata"]["name"], "worker-france");
        assert_eq!(items[0]["usage"]["cpu"], "1800000000n");
        assert!(items[0]["usage"]["memory"]
            .as_str()
            .unwrap()
            .ends_with("Ki"));
    }

    /// The text is what serde_json writes for the same list built as a `Value`.
    #[test]
    fn list_bytes_are_those_of_the_equivalent_value() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        world.set_node_ready("worker-latvia", false).unwrap();
        let body = list(&world, "", "");
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        let items: Vec<Value> = world
            .metric_nodes(&Selector::default())
            .into_iter()
            .enumerate()
            .map(|(i, (node, usage))| {
                serde_json::json!({
                    "metadata": {
                        "name": node["metadata"]["name"],
                        "creationTimestamp": parsed["items"][i]["metadata"]["creationTimestamp"],
                        "labels": node["metadata"]["labels"],
                    },
                    "timestamp": parsed["items"][i]["timestamp"],
                    "window": "20.047s",
                    "usage": {
                        "cpu": quantity::format_nanocores(usage.cpu_nanos),
                        "memory": quantity::format_kibibytes(usage.memory_bytes),
                    }
                })
            })
            .collect();
        assert_eq!(items.len(), 3);
        let want = serde_json::json!({
            "kind": "NodeMetricsList",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {},
            "items": items
        });
        assert_eq!(body, serde_json::to_vec(&want).unwrap());
    }

    /// The memo answers only while nothing the list is made of has changed: usage, a node,
    /// the query, the clock.
    #[test]
    fn a_remembered_list_is_made_again_when_anything_in_it_changes() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        world.clock = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let first = list(&world, "region", "");
        assert_eq!(list(&world, "region", ""), first);
        assert_ne!(list(&world, "region=france", ""), first);
        world.set_cpu_percent(Some("worker-latvia"), 10.0).unwrap();
        let cooler = list(&world, "region", "");
        assert_ne!(
            cpu_of(&cooler, "worker-latvia"),
            cpu_of(&first, "worker-latvia")
        );
        world.set_node_ready("worker-latvia", false).unwrap();
        let gone = list(&world, "region", "");
        assert_eq!(cpu_of(&gone, "worker-latvia"), Value::Null);
        world.clock = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_001));
        let later: Value = serde_json::from_slice(&list(&world, "region", "")).unwrap();
        let created = &later["items"][0]["metadata"]["creationTimestamp"];
        assert_eq!(created, "2023-11-14T22:13:21Z");
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
