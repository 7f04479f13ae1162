//! NodeMetrics samples with the one table of their names a tick builds. The node snapshot is
//! checked against it, the node facts share its names, and the CPU join looks samples up in
//! it: on 5,000 nodes each name is hashed into one table, not one table per use.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::name_hash::Fnv;

/// A NodeMetrics sample.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeUsage {
    pub name: Arc<str>,
    pub cores: f64,
    /// Unix seconds of the sample.
    pub timestamp: i64,
}

#[derive(Debug, Default)]
pub struct Usage {
    samples: Vec<NodeUsage>,
    /// Each name, with the place of its first sample: a name listed twice (no metrics-server
    /// does) counts its first.
    places: HashMap<Arc<str>, usize, BuildHasherDefault<Fnv>>,
}

impl Usage {
    pub fn new(samples: Vec<NodeUsage>) -> Usage {
        let mut places = HashMap::default();
        places.reserve(samples.len());
        for (place, sample) in samples.iter().enumerate() {
            places.entry(sample.name.clone()).or_insert(place);
        }
        Usage { samples, places }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.places.contains_key(name)
    }

    /// The place of `name`'s sample: a number below `places()`, one per name.
    pub fn place(&self, name: &str) -> Option<usize> {
        self.places.get(name).copied()
    }

    pub fn places(&self) -> usize {
        self.samples.len()
    }

    /// Each name with the place of its sample, in no order.
    pub fn named(&self) -> impl Iterator<Item = (&str, usize)> {
        self.places.iter().map(|(name, &place)| (&**name, place))
    }

    /// The name as NodeMetrics give it, to share instead of copying.
    pub fn shared_name(&self, name: &str) -> Option<&Arc<str>> {
        self.places.get_key_value(name).map(|(shared, _)| shared)
    }

    pub fn sample(&self, name: &str) -> Option<&NodeUsage> {
        self.place(name).map(|place| &self.samples[place])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, cores: f64) -> NodeUsage {
        NodeUsage {
            name: name.into(),
            cores,
            timestamp: 0,
        }
    }

    #[test]
    fn a_name_is_placed_once_at_its_first_sample() {
        let usage = Usage::new(vec![sample("a", 1.0), sample("b", 2.0), sample("a", 3.0)]);
        assert_eq!(usage.places(), 3);
        assert_eq!((usage.place("a"), usage.place("b")), (Some(0), Some(1)));
        assert_eq!(usage.sample("a").map(|s| s.cores), Some(1.0));
        assert!(usage.contains("b") && !usage.contains("c"));
        assert_eq!(usage.place("c"), None);
        let mut named: Vec<(&str, usize)> = usage.named().collect();
        named.sort();
        assert_eq!(named, [("a", 0), ("b", 1)]);
        let shared = usage.shared_name("b").unwrap();
        assert!(
            Arc::ptr_eq(shared, &usage.samples[1].name),
            "shared, not copied"
        );
    }
}
