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
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn pointer_tokens(path: &str) -> Result<Vec<String>, PatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PatchError::Apply(format!(
            "JSON pointer {path:?} must start with '/'"
        )));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, PatchError> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let index: usize = token
        .parse()
        .map_err(|_| PatchError::Apply(format!("invalid array index {token:?}")))?;
    let limit = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if index > limit || (!allow_end && len == 0) {
        return Err(PatchError::Apply(format!(
            "array index {index} out of bounds"
        )));
    }
    Ok(index)
}

fn missing(op: &str, path: &str) -> PatchError {
    PatchError::Apply(format!(
        "{op} operation does not apply: doc is missing path: {path:?}: missing value"
    ))
}

/// The parent container of `path` and the last token, or an error naming the operation.
fn parent<'a>(
    doc: &'a mut Value,
    op: &str,
    path: &str,
) -> Result<(&'a mut Value, String), PatchError> {
    let mut tokens = pointer_tokens(path)?;
    let Some(last) = tokens.pop() else {
        return Err(PatchError::Apply(format!(
            "{op} operation on the whole document is not supported"
        )));
    };
    let mut node = doc;
    for token in &tokens {
        node = match node {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => {
                let i = array_index(token, items.len(), false)?;
                items.get_mut(i)
            }
            _ => None,
        }
        .ok_or_else(|| missing(op, path))?;
    }
    Ok((node, last))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (node, last) = parent(doc, "add", path)?;
    match node {
        Value::Object(map) => {
            map.insert(last, value);
        }
        Value::Array(items) => {
            let i = array_index(&last, items.len(), true)?;
            items.insert(i, value);
        }
        _ => return Err(missing("add", path)),
    }
    Ok(())
}

fn remove(doc: &mut Value, op: &str, path: &str) -> Result<Value, PatchError> {
    let (node, last) = parent(doc, op, path)?;
    match node {
        Value::Object(map) => map.remove(&last).ok_or_else(|| missing(op, path)),
        Value::Array(items) => {
            let i = array_index(&last, items.len(), false)?;
            Ok(items.remove(i))
        }
        _ => Err(missing(op, path)),
    }
}

fn get<'a>(doc: &'a Value, op: &str, path: &str) -> Result<&'a Value, PatchError> {
    let mut node = doc;
    for token in pointer_tokens(path)? {
        node = match node {
            Value::Object(map) => map.get(&token),
            Value::Array(items) => {
                let i = array_index(&token, items.len(), false)?;
                items.get(i)
            }
            _ => None,
        }
        .ok_or_else(|| missing(op, path))?;
    }
    Ok(node)
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
/// every one of them, `test` included, succeeds.
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
            "add" => add(&mut doc, path, field(op, "value", index)?.clone())?,
            "remove" => {
                remove(&mut doc, "remove", path)?;
            }
            "replace" => {
                remove(&mut doc, "replace", path)?;
                add(&mut doc, path, field(op, "value", index)?.clone())?;
            }
            "move" => {
                let from = path_field(op, "from", index)?;
                let value = remove(&mut doc, "move", from)?;
                add(&mut doc, path, value)?;
            }
            "copy" => {
                let from = path_field(op, "from", index)?;
                let value = get(&doc, "copy", from)?.clone();
                add(&mut doc, path, value)?;
            }
            "test" => {
                let want = field(op, "value", index)?;
                let found = get(&doc, "test", path).ok();
                if !found.is_some_and(|v| same(v, want)) {
                    return Err(PatchError::Apply(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => return Err(PatchError::Decode(format!("Unexpected kind: {other}"))),
        }
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
