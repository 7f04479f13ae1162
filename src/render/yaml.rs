//! `-o yaml` without a YAML library: block YAML from the report's JSON form (strings are
//! written as double-quoted JSON strings, which YAML reads as they are).

use serde::Serialize;

pub fn to_yaml<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("report serialises");
    let mut out = String::new();
    yaml_value(&value, 0, &mut out);
    out.trim_end().to_string()
}

fn yaml_scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => Some("null".into()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(serde_json::Value::String(s.clone()).to_string()),
        serde_json::Value::Array(a) if a.is_empty() => Some("[]".into()),
        serde_json::Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn yaml_value(value: &serde_json::Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match yaml_scalar(v) {
                    Some(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml_value(v, indent + 2, out);
                    }
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                match yaml_scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        let mut inner = String::new();
                        yaml_value(item, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}", inner.trim_start()));
                    }
                }
            }
        }
        scalar => out.push_str(&format!(
            "{pad}{}\n",
            yaml_scalar(scalar).unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn nested_objects_and_lists_become_block_yaml() {
        let value =
            json!({"a": 1, "b": {"c": "x\"y", "d": null}, "e": [{"f": true, "g": []}, 2], "h": {}});
        assert_eq!(
            super::to_yaml(&value),
            "a: 1\nb:\n  c: \"x\\\"y\"\n  d: null\ne:\n  - f: true\n    g: []\n  - 2\nh: {}"
        );
    }
}
