//! Injected failures: the next `count` requests matching a method and path prefix are
//! answered with an error status, delayed, dropped or garbled, so tests can show how a
//! client behaves when the API server or the carbon API misbehaves.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// Answer with this status: a metav1.Status body on Kubernetes paths (with Retry-After
    /// for 429), an ElectricityMaps error body on `/v3/` paths.
    Status(u16),
    /// Wait this long, then answer normally: a slow server, or a timeout for the client.
    DelayMs(u64),
    /// Close the connection without answering.
    Drop,
    /// Answer 200 with a truncated JSON body.
    Malformed,
    /// Answer 200 with this JSON body: a well-formed answer with absurd content.
    Body(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// HTTP method to match (any when None), compared case-insensitively.
    pub method: Option<String>,
    pub path_prefix: String,
    pub kind: FaultKind,
    /// How many matching requests it applies to before it is used up.
    pub count: u32,
}

impl Fault {
    /// A fault on the next request of any method whose path starts with `path_prefix`.
    pub fn new(path_prefix: &str, kind: FaultKind) -> Fault {
        Fault {
            method: None,
            path_prefix: path_prefix.into(),
            kind,
            count: 1,
        }
    }

    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    pub fn times(mut self, count: u32) -> Fault {
        self.count = count;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.count > 0
            && path.starts_with(&self.path_prefix)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The admin API's JSON form of a fault: exactly one of `status`, `delayMs`, `drop`,
/// `malformed`, `body`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    method: Option<String>,
    path_prefix: String,
    status: Option<u16>,
    delay_ms: Option<u64>,
    #[serde(default)]
    drop: bool,
    #[serde(default)]
    malformed: bool,
    body: Option<serde_json::Value>,
    count: Option<u32>,
}

impl FaultSpec {
    pub fn into_fault(self) -> Result<Fault, String> {
        let mut kinds = Vec::new();
        if let Some(code) = self.status {
            if !(100..=599).contains(&code) {
                return Err(format!("status must be an HTTP status code, got {code}"));
            }
            kinds.push(FaultKind::Status(code));
        }
        if let Some(ms) = self.delay_ms {
            kinds.push(FaultKind::DelayMs(ms));
        }
        if self.drop {
            kinds.push(FaultKind::Drop);
        }
        if self.malformed {
            kinds.push(FaultKind::Malformed);
        }
        if let Some(body) = self.body {
            kinds.push(FaultKind::Body(body));
        }
        if kinds.len() != 1 {
            return Err(
                "give exactly one of status, delayMs, drop: true, malformed: true, body".into(),
            );
        }
        let count = self.count.unwrap_or(1);
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        let mut fault = Fault::new(&self.path_prefix, kinds.remove(0)).times(count);
        if let Some(m) = self.method {
            fault = fault.method(&m);
        }
        Ok(fault)
    }
}

/// Faults in the order they were injected; the first match wins and is used up.
#[derive(Debug, Default)]
pub struct Faults {
    active: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.active.push(fault);
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let i = self.active.iter().position(|f| f.matches(method, path))?;
        let fault = &mut self.active[i];
        fault.count -= 1;
        let kind = fault.kind.clone();
        if fault.count == 0 {
            self.active.remove(i);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_method_and_prefix_and_run_out() {
        let mut faults = Faults::default();
        faults.add(Fault::new("/v3/", FaultKind::Status(429)).times(2));
        faults.add(Fault::new("/api/v1/nodes", FaultKind::Drop).method("get"));
        assert_eq!(faults.take("PUT", "/api/v1/nodes"), None);
        assert_eq!(faults.take("GET", "/api/v1/nodes"), Some(FaultKind::Drop));
        assert_eq!(faults.take("GET", "/api/v1/nodes"), None);
        assert_eq!(
            faults.take("GET", "/v3/carbon-intensity/latest"),
            Some(FaultKind::Status(429))
        );
        assert_eq!(
            faults.take("GET", "/v3/carbon-intensity/latest"),
            Some(FaultKind::Status(429))
        );
        assert_eq!(faults.take("GET", "/v3/carbon-intensity/latest"), None);
        faults.add(Fault::new("/", FaultKind::Malformed).times(5));
        faults.clear();
        assert_eq!(faults.take("GET", "/api"), None);
    }

    #[test]
    fn specs_need_exactly_one_kind() {
        let parse = |json: &str| {
            serde_json::from_str::<FaultSpec>(json)
                .unwrap()
                .into_fault()
        };
        let f = parse(r#"{"method":"get","pathPrefix":"/v3/","status":429,"count":3}"#).unwrap();
        assert_eq!(
            f,
            Fault::new("/v3/", FaultKind::Status(429))
                .method("GET")
                .times(3)
        );
        assert_eq!(
            parse(r#"{"pathPrefix":"/","delayMs":50}"#).unwrap().kind,
            FaultKind::DelayMs(50)
        );
        assert!(parse(r#"{"pathPrefix":"/","drop":true,"status":500}"#).is_err());
        assert!(parse(r#"{"pathPrefix":"/"}"#).is_err());
        assert!(parse(r#"{"pathPrefix":"/","status":42}"#).is_err());
        assert!(parse(r#"{"pathPrefix":"/","malformed":true,"count":0}"#).is_err());
    }
}
