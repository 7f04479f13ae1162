//! The three patch formats the API server accepts from clients that are not doing server-side
//! apply: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

use serde_json::Value;

/// Why a patch was refused; the two cases get different status codes from the API server.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchError {
    /// The patch document itself is unreadable (400 BadRequest).
    Decode(String),
    /// The patch is well formed but does not apply, e.g. a failed `test` (422 Invalid).
    Apply(String),
}

/// The patch formats, chosen by the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
}

impl PatchType {
    /// Media types in the order the API server lists them in its 415 message.
    pub const ACCEPTED: [&'static str; 3] = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ];

    /// What the API server lists for a custom resource, apply patches (not served here)
    /// included.
    pub const ACCEPTED_BY_CUSTOM_RESOURCES: [&'static str; 3] = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ];

    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media.to_ascii_lowercase().as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            _ => None,
        }
    }
}

/// Applies a patch body of the given type to `target`, returning the patched document.
pub fn apply(patch_type: PatchType, target: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| PatchError::Decode(format!("error decoding patch: {e}")))?;
    match patch_type {
        PatchType::Json => json_patch(target, &patch),
        // The objects the emulator serves (ConfigMap, Scale, Deployment spec.replicas) have no
        // lists that clients patch, where strategic merge would differ from a merge patch;
        // its `$patch` directives are therefore refused rather than silently mis-applied.
        PatchType::StrategicMerge if has_directive(&patch) => Err(PatchError::Decode(
            "strategic merge patch directives ($patch, $retainKeys, $setElementOrder) are not supported by kube-emulator".into(),
        )),
        PatchType::Merge | PatchType::StrategicMerge => {
            if !patch.is_object() {
                return Err(PatchError::Decode(
                    "error decoding patch: a merge patch must be a JSON object".into(),
                ));
            }
            let mut doc = target.clone();
            merge_patch(&mut doc, &patch);
            Ok(doc)
        }
    }
}

fn has_directive(patch: &Value) -> bool {
    match patch {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.starts_with('$') || has_directive(v)),
        Value::Array(items) => items.iter().any(has_directive),
        _ => false,
    }
}

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// JSON equality as Go's json-patch library sees it: all numbers are float64, so 3 == 3.0.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn field<'a>(op: &'a Value, name: &str, index: usize) -> Result<&'a Value, PatchError> {
    op.get(name).ok_or_else(|| {
        PatchError::Decode(format!("operation {index} is missing the {name:?} member"))
    })
}

fn path_field<'a>(op: &'a Value, name: &str, index: usize) -> Result<&'a str, PatchError> {
    field(op, name, index)?
        .as_str()
        .ok_or_else(|| PatchError::Decode(format!("operation {index}: {name:?} must be a string")))
}

/// RFC 6902, all or nothing: the operations run on a copy that replaces `target` only if
/// every one of them, `test` included, succeeds. Each operation is checked for its members
/// first, so a malformed one is refused with the words the API server uses.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Array(ops) = patch else {
        return Err(PatchError::Decode(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
        ));
    };
    let mut doc = target.clone();
    for (index, op) in ops.iter().enumerate() {
        let name = path_field(op, "op", index)?;
        let path = path_field(op, "path", index)?;
        match name {
            "add" | "replace" | "test" => drop(field(op, "value", index)?),
            "move" | "copy" => drop(path_field(op, "from", index)?),
            "remove" => {}
            other => return Err(PatchError::Decode(format!("Unexpected kind: {other}"))),
        }
        if name == "test" {
            // Go's json-patch compares numbers as float64 (3 == 3.0); serde_json does not.
            let found = doc.pointer(path);
            if !found.is_some_and(|v| same(v, &op["value"])) {
                return Err(PatchError::Apply(format!(
                    "testing value {path} failed: test failed"
                )));
            }
            continue;
        }
        let one: json_patch::Patch = serde_json::from_value(Value::Array(vec![op.clone()]))
            .map_err(|e| PatchError::Decode(format!("operation {index}: {e}")))?;
        json_patch::patch(&mut doc, &one).map_err(|e| {
            PatchError::Apply(format!("{name} operation does not apply: {path:?}: {e}"))
        })?;
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scale() -> Value {
        json!({"metadata": {"name": "web", "resourceVersion": "7"}, "spec": {"replicas": 2}})
    }

    #[test]
    fn merge_patch_merges_replaces_and_deletes() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1, 2], "e": "x"});
        merge_patch(
            &mut doc,
            &json!({"a": {"b": 9, "c": null}, "d": [3], "f": true}),
        );
        assert_eq!(doc, json!({"a": {"b": 9}, "d": [3], "e": "x", "f": true}));
    }

    #[test]
    fn json_patch_test_then_replace() {
        let body = br#"[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":3}]"#;
        let out = apply(PatchType::Json, &scale(), body).unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
    }

    #[test]
    fn failed_test_rejects_the_whole_patch() {
        let body = br#"[{"op":"replace","path":"/spec/replicas","value":5},{"op":"test","path":"/spec/replicas","value":4}]"#;
        let err = apply(PatchType::Json, &scale(), body).unwrap_err();
        assert_eq!(
            err,
            PatchError::Apply("testing value /spec/replicas failed: test failed".into())
        );
    }

    #[test]
    fn test_compares_numbers_as_go_does() {
        let ops = json!([{"op": "test", "path": "/spec/replicas", "value": 2.0}]);
        assert!(json_patch(&scale(), &ops).is_ok());
        let absent = json!([{"op": "test", "path": "/spec/missing", "value": null}]);
        assert!(matches!(
            json_patch(&scale(), &absent),
            Err(PatchError::Apply(_))
        ));
    }

    #[test]
    fn add_remove_move_copy_and_arrays() {
        let doc = json!({"list": [1, 3], "obj": {"k": "v"}});
        let ops = json!([
            {"op": "add", "path": "/list/1", "value": 2},
            {"op": "add", "path": "/list/-", "value": 4},
            {"op": "copy", "from": "/obj/k", "path": "/copied"},
            {"op": "move", "from": "/obj/k", "path": "/moved"},
            {"op": "remove", "path": "/list/0"},
            {"op": "add", "path": "/a~1b", "value": "slash"}
        ]);
        let out = json_patch(&doc, &ops).unwrap();
        assert_eq!(
            out,
            json!({"list": [2, 3, 4], "obj": {}, "copied": "v", "moved": "v", "a/b": "slash"})
        );
    }

    #[test]
    fn replace_of_a_missing_path_does_not_apply() {
        let ops = json!([{"op": "replace", "path": "/spec/nope/deeper", "value": 1}]);
        assert!(matches!(
            json_patch(&scale(), &ops),
            Err(PatchError::Apply(_))
        ));
        let ops = json!([{"op": "remove", "path": "/list/5"}]);
        assert!(matches!(
            json_patch(&json!({"list": []}), &ops),
            Err(PatchError::Apply(_))
        ));
    }

    #[test]
    fn malformed_patches_are_decode_errors() {
        assert!(matches!(
            apply(PatchType::Json, &scale(), b"{"),
            Err(PatchError::Decode(_))
        ));
        assert!(matches!(
            apply(PatchType::Json, &scale(), b"{}"),
            Err(PatchError::Decode(_))
        ));
        assert!(matches!(
            apply(PatchType::Merge, &scale(), b"[1]"),
            Err(PatchError::Decode(_))
        ));
        let bogus = br#"[{"op":"frobnicate","path":"/a"}]"#;
        assert!(matches!(
            apply(PatchType::Json, &scale(), bogus),
            Err(PatchError::Decode(_))
        ));
        let directive = br#"{"spec":{"$patch":"replace"}}"#;
        assert!(matches!(
            apply(PatchType::StrategicMerge, &scale(), directive),
            Err(PatchError::Decode(_))
        ));
    }

    #[test]
    fn strategic_merge_on_scale_sets_replicas() {
        let out = apply(
            PatchType::StrategicMerge,
            &scale(),
            br#"{"spec":{"replicas":4}}"#,
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 4);
        assert_eq!(out["metadata"]["name"], "web");
    }

    #[test]
    fn content_types_are_recognised_with_parameters() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchType::Merge)
        );
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml"),
            None
        );
        assert_eq!(PatchType::from_content_type("application/json"), None);
    }
}
