//! Field selectors (`fieldSelector=involvedObject.name=web,type!=Normal`) for the fields the API
//! server indexes: `metadata.name` and `metadata.namespace` everywhere, plus the Event fields
//! `kubectl describe` and event recorders filter on. Others are refused as the server does.

use serde_json::Value;

use crate::k8s::resources::ResourceId;

#[derive(Debug, Clone, PartialEq)]
struct Term {
    path: String,
    value: String,
    equal: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSelector {
    terms: Vec<Term>,
}

const EVENT_FIELDS: [&str; 11] = [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

fn supported(id: ResourceId, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || (id == ResourceId::Event && EVENT_FIELDS.contains(&field))
        || (id == ResourceId::Node && field == "spec.unschedulable")
}

/// The fields the server indexes for an object of `kind`, each with its value as the
/// server's field set renders it (absent is empty, or `false` for `spec.unschedulable`;
/// `source` is the reporting component): what the watch cache keeps beside each object.
pub fn field_set(kind: &str, obj: &Value) -> Vec<(&'static str, String)> {
    let extra: &[&'static str] = match kind {
        "Event" => &EVENT_FIELDS,
        "Node" => &["spec.unschedulable"],
        _ => &[],
    };
    ["metadata.name", "metadata.namespace"]
        .iter()
        .chain(extra)
        .map(|field| {
            let pointer = match *field {
                "source" => "/source/component".to_string(),
                other => format!("/{}", other.replace('.', "/")),
            };
            let value = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ if *field == "spec.unschedulable" => "false".into(),
                _ => String::new(),
            };
            (*field, value)
        })
        .collect()
}

impl FieldSelector {
    pub fn parse(id: ResourceId, kind: &str, text: &str) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (path, value, equal) = if let Some((p, v)) = term.split_once("!=") {
                (p, v, false)
            } else if let Some((p, v)) = term.split_once("==") {
                (p, v, true)
            } else if let Some((p, v)) = term.split_once('=') {
                (p, v, true)
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                ));
            };
            let path = path.trim();
            if !supported(id, path) {
                return Err(format!("field label not supported: {path} (for {kind})"));
            }
            terms.push(Term {
                path: path.to_string(),
                value: value.trim().to_string(),
                equal,
            });
        }
        Ok(FieldSelector { terms })
    }

    #[cfg(test)]
    pub fn matches(&self, obj: &Value) -> bool {
        let kind = obj["kind"].as_str().unwrap_or_default();
        let set = field_set(kind, obj);
        self.matches_with(|field| {
            set.iter()
                .find(|(f, _)| *f == field)
                .map(|(_, v)| v.as_str())
        })
    }

    /// Whether an object whose indexed fields `get` reads is selected: only fields the kind
    /// indexes pass `parse`, so each has a value.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.terms
            .iter()
            .all(|t| (get(&t.path).unwrap_or_default() == t.value) == t.equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
               "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default"},
               "type": "Normal", "reason": "ScaledUp", "source": {"component": "carbonctl"}})
    }

    #[test]
    fn selects_events_like_kubectl_describe() {
        let describe = "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid=";
        let sel = FieldSelector::parse(ResourceId::Event, "Event", describe).unwrap();
        assert!(sel.matches(&event()));
        let other =
            FieldSelector::parse(ResourceId::Event, "Event", "involvedObject.name=db").unwrap();
        assert!(!other.matches(&event()));
        let warnings = FieldSelector::parse(ResourceId::Event, "Event", "type!=Normal").unwrap();
        assert!(!warnings.matches(&event()));
        let source = FieldSelector::parse(ResourceId::Event, "Event", "source==carbonctl").unwrap();
        assert!(source.matches(&event()));
    }

    #[test]
    fn names_work_everywhere_and_other_fields_are_refused() {
        let sel = FieldSelector::parse(ResourceId::ConfigMap, "ConfigMap", "metadata.name=web.1")
            .unwrap();
        assert!(sel.matches(&event()));
        assert!(FieldSelector::parse(ResourceId::ConfigMap, "ConfigMap", "")
            .unwrap()
            .matches(&event()));
        let err = FieldSelector::parse(ResourceId::ConfigMap, "ConfigMap", "data.k=v").unwrap_err();
        assert_eq!(err, "field label not supported: data.k (for ConfigMap)");
        assert!(FieldSelector::parse(ResourceId::Event, "Event", "reason").is_err());
        let cordoned =
            FieldSelector::parse(ResourceId::Node, "Node", "spec.unschedulable=false").unwrap();
        assert!(cordoned.matches(&json!({"kind": "Node", "spec": {}})));
        assert!(!cordoned.matches(&json!({"kind": "Node", "spec": {"unschedulable": true}})));
    }
}
