//! Label selectors as the API server parses them (`labels.Parse`): equality (`=`, `==`, `!=`),
//! set (`in`, `notin`) and existence (`key`, `!key`) requirements, all of which must hold.

#[cfg(test)]
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed selector; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 316
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Splits on the commas that separate requirements, not those inside `in (a,b)`.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let mut terms = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(format!(
                "unable to parse requirement: unbalanced parentheses in {text:?}"
            ));
        }
    }
    if depth != 0 {
        return Err(format!(
            "unable to parse requirement: unbalanced parentheses in {text:?}"
        ));
    }
    terms.push(&text[start..]);
    Ok(terms)
}

fn checked_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    if valid_key(key) {
        Ok(key.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.'"
        ))
    }
}

fn checked_value(value: &str) -> Result<String, String> {
    let value = value.trim();
    if valid_value(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label value: {value:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
        ))
    }
}

fn parse_term(term: &str) -> Result<Requirement, String> {
    let term = term.trim();
    if let Some(open) = term.find('(') {
        let head: Vec<&str> = term[..open].split_whitespace().collect();
        let Some(inner) = term[open + 1..].strip_suffix(')') else {
            return Err(format!(
                "unable to parse requirement: found {term:?}, expected: ')'"
            ));
        };
        let values = inner
            .split(',')
            .map(checked_value)
            .collect::<Result<Vec<_>, _>>()?;
        return match head.as_slice() {
            [key, "in"] => Ok(Requirement::In(checked_key(key)?, values)),
            [key, "notin"] => Ok(Requirement::NotIn(checked_key(key)?, values)),
            _ => Err(format!(
                "unable to parse requirement: found {term:?}, expected: in, notin"
            )),
        };
    }
    if let Some(key) = term.strip_prefix('!') {
        if !key.contains('=') {
            return Ok(Requirement::DoesNotExist(checked_key(key)?));
        }
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(Requirement::NotEquals(
            checked_key(key)?,
            checked_value(value)?,
        ));
    }
    if let Some((key, value)) = term.split_once("==") {
        return Ok(Requirement::Equals(
            checked_key(key)?,
            checked_value(value)?,
        ));
    }
    if let Some((key, value)) = term.split_once('=') {
        return Ok(Requirement::Equals(
            checked_key(key)?,
            checked_value(value)?,
        ));
    }
    Ok(Requirement::Exists(checked_key(term)?))
}

impl Selector {
    /// Parses the `labelSelector` query parameter; an empty string selects everything.
    pub fn parse(text: &str) -> Result<Selector, String> {
        if text.trim().is_empty() {
            return Ok(Selector::default());
        }
        let requirements = split_terms(text)?
            .into_iter()
            .map(parse_term)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selector { requirements })
    }

    /// Whether an object's `metadata.labels` (absent means no labels) satisfies every requirement.
    #[cfg(test)]
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        self.matches_with(|key| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// As `matches`, with the labels read through `get`.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            // As on the real server, `!=` and `notin` also select objects without the key.
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selects(selector: &str, labels: Value) -> bool {
        Selector::parse(selector).unwrap().matches(Some(&labels))
    }

    #[test]
    fn equality_forms() {
        let fr = json!({"region": "france", "tier": "web"});
        assert!(selects("region=france", fr.clone()));
        assert!(selects("region==france", fr.clone()));
        assert!(!selects("region=latvia", fr.clone()));
        assert!(selects("region!=latvia", fr.clone()));
        assert!(!selects("region!=france", fr.clone()));
        assert!(selects("region=france,tier=web", fr.clone()));
        assert!(!selects("region=france,tier=db", fr));
    }

    #[test]
    fn not_equals_and_notin_select_objects_without_the_key() {
        let cp = json!({"node-role.kubernetes.io/control-plane": ""});
        assert!(selects("region!=france", cp.clone()));
        assert!(selects("region notin (france)", cp.clone()));
        assert!(!selects("region in (france)", cp.clone()));
        assert!(Selector::parse("region!=france").unwrap().matches(None));
    }

    #[test]
    fn set_and_existence_forms() {
        let lv = json!({"region": "latvia", "node-role.kubernetes.io/control-plane": ""});
        assert!(selects("region in (france, latvia)", lv.clone()));
        assert!(!selects("region notin (france,latvia)", lv.clone()));
        assert!(selects("region", lv.clone()));
        assert!(!selects("!region", lv.clone()));
        assert!(selects("node-role.kubernetes.io/control-plane", lv.clone()));
        assert!(selects("!zone", lv.clone()));
        assert!(selects("region in (latvia),!zone,region!=france", lv));
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(selects("", json!({})));
        assert!(Selector::parse("  ").unwrap().matches(None));
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for bad in [
            "region in (a",
            "region in a)",
            "region foo (a)",
            "reg ion=x",
            "a=b c",
            "=x",
            "a in (b,c))",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
