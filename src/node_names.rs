//! The node names of a node snapshot, kept as one comma-joined string. A Node's name is a DNS
//! subdomain and cannot hold a comma, so nothing is lost; in exchange the state's 5,000 names
//! are read and written as one string per group instead of one each, and the JSON held in a
//! ConfigMap value (itself JSON) needs no escaped quotes around every name. The form written
//! before, an array of names, is still read.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Names joined by commas, each non-empty and free of commas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeNames(String);

impl NodeNames {
    /// `names` joined, in their order; None when one is empty or holds a comma.
    pub fn join<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<NodeNames> {
        let mut joined = String::new();
        for name in names {
            if !valid(name) {
                return None;
            }
            if !joined.is_empty() {
                joined.push(',');
            }
            joined.push_str(name);
        }
        Some(NodeNames(joined))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let none = self.0.is_empty();
        self.0.split(',').filter(move |_| !none)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn valid(name: &str) -> bool {
    !name.is_empty() && !name.contains(',')
}

/// Whether every name `text` joins is `valid`: no empty name at either end or between two
/// commas (three searches of the whole text, not one per name).
fn valid_joined(text: &str) -> bool {
    text.is_empty() || !(text.starts_with(',') || text.ends_with(',') || text.contains(",,"))
}

impl Serialize for NodeNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NodeNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NodeNames, D::Error> {
        deserializer.deserialize_any(NamesVisitor)
    }
}

struct NamesVisitor;

const EXPECTED: &str = "node names joined by commas (or an array of names)";

impl<'de> Visitor<'de> for NamesVisitor {
    type Value = NodeNames;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<NodeNames, E> {
        if valid_joined(text) {
            Ok(NodeNames(text.to_string()))
        } else {
            Err(E::invalid_value(de::Unexpected::Str(text), &EXPECTED))
        }
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<NodeNames, E> {
        if valid_joined(&text) {
            Ok(NodeNames(text))
        } else {
            Err(E::invalid_value(de::Unexpected::Str(&text), &EXPECTED))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeNames, A::Error> {
        let mut joined = String::new();
        while let Some(name) = seq.next_element::<String>()? {
            if !valid(&name) {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Str(&name),
                    &"a node name (not empty, no comma)",
                ));
            }
            if !joined.is_empty() {
                joined.push(',');
            }
            joined.push_str(&name);
        }
        Ok(NodeNames(joined))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_and_split_back_in_order() {
        let names = NodeNames::join(["b", "a.example", "c-1"]).unwrap();
        assert_eq!(
            serde_json::to_string(&names).unwrap(),
            r#""b,a.example,c-1""#
        );
        assert_eq!(names.iter().collect::<Vec<_>>(), ["b", "a.example", "c-1"]);
        let none = NodeNames::join([]).unwrap();
        assert!(none.is_empty());
        assert_eq!(none.iter().count(), 0, "no names, not one empty name");
        assert_eq!(NodeNames::join(["a", "b,c"]), None);
        assert_eq!(NodeNames::join(["a", ""]), None);
    }

    #[test]
    fn names_read_joined_or_as_an_array_and_are_written_joined() {
        let joined: NodeNames = serde_json::from_str(r#""a,b""#).unwrap();
        let array: NodeNames = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert_eq!(joined, array);
        assert_eq!(serde_json::to_string(&array).unwrap(), r#""a,b""#);
        let empty: NodeNames = serde_json::from_str(r#""""#).unwrap();
        assert!(empty.is_empty());
        let escaped: NodeNames = serde_json::from_str(r#"["a\u002db"]"#).unwrap();
        assert_eq!(escaped.iter().collect::<Vec<_>>(), ["a-b"]);
        for bad in [
            r#""a,,b""#,
            r#"",a""#,
            r#""a,""#,
            r#"["a,b"]"#,
            r#"["a",""]"#,
            "3",
        ] {
            assert!(
                serde_json::from_str::<NodeNames>(bad).is_err(),
                "{bad} is refused"
            );
        }
        let error = serde_json::from_str::<NodeNames>("3")
            .unwrap_err()
            .to_string();
        assert!(error.contains("node names joined by commas"), "{error}");
    }

    #[test]
    fn an_owned_string_is_checked_as_a_borrowed_one() {
        let owned: NodeNames = serde_json::from_value(serde_json::json!("a,b")).unwrap();
        assert_eq!(owned.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(serde_json::from_value::<NodeNames>(serde_json::json!("a,,b")).is_err());
    }
}
