//! Field validation as the Kubernetes 1.33 API server words it: the name and key checks of
//! apimachinery's `util/validation` package, the field errors of `util/validation/field` and
//! their aggregation into a 422 `Invalid` Status (`api/errors.NewInvalid`). kubectl prints
//! these messages verbatim, so the wording is copied, double spaces included.

use std::fmt;

use serde_json::{json, Map, Value};

use crate::status::ApiError;

/// The regex the API server reports for RFC 1123 subdomains (names of most objects).
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const CONFIG_MAP_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_MAP_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/// Longest RFC 1123 subdomain, and so longest object name and ConfigMap key.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;
const DNS1123_LABEL_MAX: usize = 63;

/// `core.MaxSecretSize`: the most bytes of values a ConfigMap or Secret may hold (1 MiB).
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

/// apimachinery's `RegexError`: the message, the examples and the regex. Go's loop writes
/// `'a', ` before each ` or `, hence the double spaces between examples.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

fn max_len_error(max: usize) -> String {
    format!("must be no more than {max} characters")
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

fn is_subdomain(s: &str) -> bool {
    s.split('.').all(is_label)
}

/// `IsDNS1123Subdomain`: what is wrong with a name that must be an RFC 1123 subdomain.
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !is_subdomain(value) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

/// `IsDNS1123Label`: namespace names.
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        errors.push(max_len_error(DNS1123_LABEL_MAX));
    }
    if !is_label(value) {
        if is_subdomain(value) {
            errors.push("must not contain dots".to_string());
        } else {
            errors.push(regex_error(
                DNS1123_LABEL_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errors
}

/// `IsConfigMapKey`: keys of ConfigMaps and Secrets.
pub fn config_map_key(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    let allowed = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_');
    if value.is_empty() || !value.bytes().all(allowed) {
        errors.push(regex_error(
            CONFIG_MAP_KEY_MSG,
            CONFIG_MAP_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if value == "." {
        errors.push("must not be '.'".to_string());
    } else if value == ".." {
        errors.push("must not be '..'".to_string());
    } else if value.starts_with("..") {
        errors.push("must not start with '..'".to_string());
    }
    errors
}

/// How a kind's names are checked (a `ValidateNameFunc`); `prefix` is for `generateName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `NameIsDNSSubdomain`: ConfigMaps, Secrets, Deployments, Nodes.
    Subdomain,
    /// `NameIsDNSLabel`: Namespaces.
    Label,
    /// `ValidatePathSegmentName`: all a core/v1 Event's name must be (its own validation
    /// leaves the name alone).
    PathSegment,
}

impl NameRule {
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        match self {
            NameRule::Subdomain | NameRule::Label => {
                // maskTrailingDash: a prefix may end in '-' (the generated suffix follows).
                let masked;
                let name = if prefix && name.len() > 1 && name.ends_with('-') {
                    masked = format!("{}a", &name[..name.len() - 2]);
                    masked.as_str()
                } else {
                    name
                };
                if self == NameRule::Label {
                    dns1123_label(name)
                } else {
                    dns1123_subdomain(name)
                }
            }
            NameRule::PathSegment => {
                if !prefix {
                    for bad in [".", ".."] {
                        if name == bad {
                            return vec![format!("may not be '{bad}'")];
                        }
                    }
                }
                ["/", "%"]
                    .iter()
                    .filter(|bad| name.contains(*bad))
                    .map(|bad| format!("may not contain '{bad}'"))
                    .collect()
            }
        }
    }
}

/// A `field.Error` of the types the emulator reports.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    reason: &'static str,
    field: String,
    /// The bad value as Go's `%q` (strings) or `%v` (numbers) prints it; None where the
    /// error type prints no value (Required, TooLong).
    value: Option<String>,
    detail: String,
}

impl FieldError {
    /// `field.Invalid` with a string value.
    pub fn invalid(field: impl Into<String>, value: &str, detail: impl Into<String>) -> Self {
        FieldError {
            reason: "FieldValueInvalid",
            field: field.into(),
            value: Some(go_quote(value)),
            detail: detail.into(),
        }
    }

    /// `field.Invalid` with a value already printed as Go would (`null`, a number).
    pub fn invalid_printed(
        field: impl Into<String>,
        printed: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            reason: "FieldValueInvalid",
            field: field.into(),
            value: Some(printed.into()),
            detail: detail.into(),
        }
    }

    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            reason: "FieldValueRequired",
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// `field.TooLong` with a byte limit: "may not be more than N bytes" (1.32 and later;
    /// earlier servers said "must have at most N bytes").
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        let unit = if max_bytes == 1 { "byte" } else { "bytes" };
        FieldError {
            reason: "FieldValueTooLong",
            field: field.into(),
            value: None,
            detail: format!("may not be more than {max_bytes} {unit}"),
        }
    }

    fn type_text(&self) -> &'static str {
        match self.reason {
            "FieldValueRequired" => "Required value",
            "FieldValueTooLong" => "Too long",
            _ => "Invalid value",
        }
    }

    /// `ErrorBody`: the message without the field, as a Status cause carries it.
    pub fn body(&self) -> String {
        let mut s = match &self.value {
            Some(value) => format!("{}: {value}", self.type_text()),
            None => self.type_text().to_string(),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// `metadata.generateName` and `metadata.name` as `ValidateObjectMetaAccessor` checks them.
pub fn object_meta(rule: NameRule, name: &str, generate_name: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !generate_name.is_empty() {
        for msg in rule.check(generate_name, true) {
            errors.push(FieldError::invalid(
                "metadata.generateName",
                generate_name,
                msg,
            ));
        }
    }
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in rule.check(name, false) {
            errors.push(FieldError::invalid("metadata.name", name, msg));
        }
    }
    errors
}

/// `apierrors.NewInvalid`: 422 with one cause per error; the message aggregates them (one
/// error alone, several as `[e1, e2]`, repeats dropped).
pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> ApiError {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let text = e.to_string();
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    let aggregate = match seen.len() {
        0 => String::new(),
        1 => format!(": {}", seen[0]),
        _ => format!(": [{}]", seen.join(", ")),
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.body(), "field": e.field}))
        .collect();
    let mut details = Map::new();
    for (key, value) in [("name", name), ("group", group), ("kind", kind)] {
        if !value.is_empty() {
            details.insert(key.into(), value.into());
        }
    }
    details.insert("causes".into(), causes.into());
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("{qualified} \"{name}\" is invalid{aggregate}"),
        details: Some(Value::Object(details)),
        retry_after: None,
    }
}

/// Go's `strconv.Quote` for the strings names and keys are made of.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c == '\u{a0}' || c == '\u{ad}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBDOMAIN_ERROR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    #[test]
    fn subdomains_as_apimachinery_checks_them() {
        for good in ["a", "carbonctl-state", "nginx-france.18a2b", "0.1-x"] {
            assert!(dns1123_subdomain(good).is_empty(), "{good}");
        }
        for bad in [
            "Bad_Name", "-a", "a-", "a..b", ".a", "a.", "", "UPPER", "a b",
        ] {
            assert_eq!(dns1123_subdomain(bad), [SUBDOMAIN_ERROR], "{bad}");
        }
        let long = "a".repeat(254);
        assert_eq!(
            dns1123_subdomain(&long),
            ["must be no more than 253 characters"]
        );
        assert!(dns1123_subdomain(&"a".repeat(253)).is_empty());
        assert_eq!(dns1123_label("a.b"), ["must not contain dots"]);
        assert!(dns1123_label("kube-system").is_empty());
        assert_eq!(dns1123_label("Shop")[0], "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    }

    #[test]
    fn config_keys_with_go_regex_error_double_spaces() {
        for good in ["state.json", "KEY_NAME", "key-name", ".hidden", "a..b"] {
            assert!(config_map_key(good).is_empty(), "{good}");
        }
        assert_eq!(
            config_map_key("bad key!"),
            ["a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]
        );
        assert_eq!(config_map_key("."), ["must not be '.'"]);
        assert_eq!(config_map_key(".."), ["must not be '..'"]);
        assert_eq!(config_map_key("..data"), ["must not start with '..'"]);
        assert_eq!(config_map_key(&"k".repeat(254)).len(), 1);
        assert_eq!(config_map_key("").len(), 1);
    }

    #[test]
    fn generate_name_prefixes_may_end_in_a_dash_and_events_only_avoid_slashes() {
        assert!(NameRule::Subdomain.check("nginx-france-", true).is_empty());
        assert!(!NameRule::Subdomain.check("nginx-france-", false).is_empty());
        assert!(NameRule::PathSegment.check("Bad_Name", false).is_empty());
        assert_eq!(
            NameRule::PathSegment.check("a/b%c", false),
            ["may not contain '/'", "may not contain '%'"]
        );
        assert_eq!(
            NameRule::PathSegment.check("..", false),
            ["may not be '..'"]
        );
        assert!(NameRule::PathSegment.check("..", true).is_empty());
    }

    #[test]
    fn invalid_aggregates_like_new_invalid() {
        let one = invalid(
            "ConfigMap",
            "",
            "Bad_Name",
            &object_meta(NameRule::Subdomain, "Bad_Name", ""),
        );
        assert_eq!(
            one.message,
            format!("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_ERROR}")
        );
        assert_eq!(
            one.details.unwrap(),
            json!({"name": "Bad_Name", "kind": "ConfigMap", "causes": [{
                "reason": "FieldValueInvalid", "field": "metadata.name",
                "message": format!("Invalid value: \"Bad_Name\": {SUBDOMAIN_ERROR}")}]})
        );
        let errors = [
            FieldError::too_long("[]", MAX_DATA_SIZE),
            FieldError::too_long("[]", MAX_DATA_SIZE),
            FieldError::required("metadata.name", "name or generateName is required"),
        ];
        let two = invalid("Deployment", "apps", "", &errors);
        assert_eq!(
            two.message,
            "Deployment.apps \"\" is invalid: [[]: Too long: may not be more than 1048576 bytes, metadata.name: Required value: name or generateName is required]"
        );
        assert_eq!(two.details.unwrap()["causes"].as_array().unwrap().len(), 3);
        let none = invalid("ConfigMap", "", "x", &[]);
        assert_eq!(none.message, "ConfigMap \"x\" is invalid");
    }

    #[test]
    fn values_are_quoted_as_go_quotes_them() {
        assert_eq!(go_quote("bad key!"), "\"bad key!\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("tab\there\u{1}"), "\"tab\\there\\x01\"");
        assert_eq!(go_quote("é\u{85}"), "\"é\\u0085\"");
    }
}
