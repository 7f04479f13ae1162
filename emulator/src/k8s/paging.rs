//! `limit` and `continue` on lists, as the API server's storage pages them: at most `limit`
//! items, then an opaque `continue` token (base64url of `{"v","rv","start"}`, the key after
//! the last item and the list's resourceVersion, exactly as etcd3 storage encodes it) and,
//! when no selector filtered the list, `remainingItemCount`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::http::Request;
use crate::status::ApiError;
use crate::world::Stored;

/// What a list request asks of paging.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Paging {
    /// 0: no limit (also what a negative limit means to the API server).
    pub limit: usize,
    /// Where a `continue` token resumes, and the resourceVersion it was issued at.
    pub resume: Option<Resume>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    /// The storage key relative to the list's scope: `name` or, across namespaces,
    /// `namespace/name`, followed by NUL (items strictly after the key).
    pub start: String,
    /// None for a token that asks for the latest resourceVersion (a negative `rv`).
    pub resource_version: Option<u64>,
}

const VERSION: &str = "meta.k8s.io/v1";
const NOT_VALID: &str = "continue key is not valid";

impl Paging {
    pub fn from_request(req: &Request) -> Result<Paging, ApiError> {
        let limit = match req.param("limit").filter(|l| !l.is_empty()) {
            None => 0,
            Some(text) => {
                let n: i64 = text.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "strconv.ParseInt: parsing {}: invalid syntax",
                        crate::validation::go_quote(&text)
                    ))
                })?;
                usize::try_from(n).unwrap_or(0)
            }
        };
        let Some(token) = req.param("continue").filter(|c| !c.is_empty()) else {
            return Ok(Paging {
                limit,
                resume: None,
            });
        };
        let resume = decode(&token).map_err(|e| {
            ApiError::bad_request(format!("invalid continue token: {NOT_VALID}{e}"))
        })?;
        if req
            .param("resourceVersion")
            .is_some_and(|rv| !rv.is_empty() && rv != "0")
        {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        Ok(Paging {
            limit,
            resume: Some(resume),
        })
    }
}

#[derive(Serialize)]
struct Token<'a> {
    v: &'a str,
    rv: i64,
    start: &'a str,
}

/// `EncodeContinue`: the token that resumes after `last_key` at `resource_version`.
pub fn encode(last_key: &str, resource_version: u64) -> String {
    let start = format!("{last_key}\0");
    let token = Token {
        v: VERSION,
        rv: resource_version as i64,
        start: &start,
    };
    let json = serde_json::to_vec(&token).expect("a token serializes");
    base64url_encode(&json)
}

/// `DecodeContinue`; the error is what follows "continue key is not valid".
fn decode(token: &str) -> Result<Resume, String> {
    let bytes = base64url_decode(token).map_err(|e| format!(": {e}"))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!(": {}", json_error(&bytes, &e)))?;
    let Value::Object(map) = &value else {
        return Err(format!(
            ": json: cannot unmarshal {} into Go value of type storage.continueToken",
            json_type(&value)
        ));
    };
    let field = |name: &str, go_type: &str, ok: fn(&Value) -> bool| {
        match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) if ok(v) => Ok(Some(v.clone())),
        Some(v) => Err(format!(
            ": json: cannot unmarshal {} into Go struct field continueToken.{name} of type {go_type}",
            json_type(v)
        )),
    }
    };
    let version = field("v", "string", Value::is_string)?;
    let rv = field("rv", "int64", |v| v.is_i64())?;
    let start = field("start", "string", Value::is_string)?;
    let version = version.as_ref().and_then(Value::as_str).unwrap_or("");
    let rv = rv.as_ref().and_then(Value::as_i64).unwrap_or(0);
    let start = start.as_ref().and_then(Value::as_str).unwrap_or("");
    if version != VERSION {
        return Err(format!(
            ": server does not recognize this encoded version {version}"
        ));
    }
    if rv == 0 {
        return Err(format!(
            ": incorrect encoded start resourceVersion (version {VERSION})"
        ));
    }
    if start.is_empty() {
        return Err(format!(": encoded start key empty (version {VERSION})"));
    }
    // Path traversal: the key, made absolute, must be what Go's path.Clean leaves it as.
    let absolute = if start.starts_with('/') {
        start.to_string()
    } else {
        format!("/{start}")
    };
    if !is_clean_path(&absolute) {
        return Err(format!(": {start}"));
    }
    Ok(Resume {
        start: absolute[1..].to_string(),
        resource_version: u64::try_from(rv).ok(),
    })
}

/// Whether `path.Clean` would leave an absolute path unchanged.
fn is_clean_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    !path.ends_with('/') && path[1..].split('/').all(|s| !matches!(s, "" | "." | ".."))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// encoding/json's syntax errors where they are easy to tell apart; serde_json's otherwise.
fn json_error(bytes: &[u8], e: &serde_json::Error) -> String {
    let first = bytes.iter().find(|b| !b" \t\r\n".contains(b));
    match first {
        None => "unexpected end of JSON input".into(),
        Some(&c) if !b"{[\"tfn-0123456789".contains(&c) => {
            format!(
                "invalid character {} looking for beginning of value",
                go_quote_byte(c)
            )
        }
        Some(_) => e.to_string(),
    }
}

/// encoding/json's `quoteChar`.
fn go_quote_byte(c: u8) -> String {
    match c {
        b'\'' => r"'\''".into(),
        b'"' => r#"'"'"#.into(),
        c => {
            let quoted = crate::validation::go_quote(&char::from(c).to_string());
            format!("'{}'", &quoted[1..quoted.len() - 1])
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Go's `base64.RawURLEncoding.DecodeString`, with its error text: the offset of the first
/// byte outside the alphabet (`=` included), or of the last byte when one is left over.
fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let corrupt = |at: usize| format!("illegal base64 data at input byte {at}");
    let mut sextets = Vec::with_capacity(text.len());
    for (i, c) in text.bytes().enumerate() {
        match ALPHABET.iter().position(|a| *a == c) {
            Some(v) => sextets.push(v as u32),
            // The decoder skips line breaks.
            None if c == b'\n' || c == b'\r' => {}
            None => return Err(corrupt(i)),
        }
    }
    if sextets.len() % 4 == 1 {
        return Err(corrupt(text.len() - 1));
    }
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, s)| n | s << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Ok(out)
}

/// One page of a list: its items, and the list metadata that says how to go on.
pub struct Page<'a> {
    pub items: Vec<&'a Stored>,
    pub meta: Value,
}

/// A list's storage key for an object: what a token's `start` holds.
fn key_of(obj: &Value, across_namespaces: bool) -> String {
    let m = &obj["metadata"];
    let name = m["name"].as_str().unwrap_or("");
    match m["namespace"].as_str() {
        Some(ns) if across_namespaces => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Whether `key` sorts after the resume point. Objects are listed by namespace, then name,
/// so keys compare the same way (a `/` in the key separates the two).
fn after(key: &str, start: &str) -> bool {
    let split = |k: &str| -> (String, String) {
        match k.split_once('/') {
            Some((ns, name)) => (ns.to_string(), name.to_string()),
            None => (String::new(), k.to_string()),
        }
    };
    split(key) >= split(start)
}

/// Pages `scope` (every object of the list's resource and namespace, in list order), keeping
/// those `matches` accepts. As with etcd3 storage: a token is given when any object, matching
/// or not, follows the last item returned; `remainingItemCount` only when nothing was filtered
/// (`filtered` is false); resumed pages report the token's resourceVersion.
pub fn page<'a>(
    scope: Vec<&'a Stored>,
    matches: impl Fn(&Stored) -> bool,
    paging: &Paging,
    across_namespaces: bool,
    filtered: bool,
    current_rv: u64,
) -> Page<'a> {
    let rv = paging
        .resume
        .as_ref()
        .and_then(|r| r.resource_version)
        .unwrap_or(current_rv);
    let first = match &paging.resume {
        None => 0,
        Some(resume) => scope
            .iter()
            .position(|o| after(&key_of(o.value(), across_namespaces), &resume.start))
            .unwrap_or(scope.len()),
    };
    let mut items = Vec::new();
    let mut last = None;
    for (i, stored) in scope.iter().enumerate().skip(first) {
        if paging.limit > 0 && items.len() == paging.limit {
            break;
        }
        if matches(stored) {
            items.push(*stored);
            last = Some(i);
        }
    }
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(last) = last.filter(|_| paging.limit > 0 && items.len() == paging.limit) {
        let remaining = scope.len() - last - 1;
        if remaining > 0 {
            meta["continue"] = encode(&key_of(scope[last].value(), across_namespaces), rv).into();
            if !filtered {
                meta["remainingItemCount"] = remaining.into();
            }
        }
    }
    Page { items, meta }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/api/v1/namespaces/default/configmaps".into(),
            query: query.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn tokens_are_what_etcd3_storage_writes() {
        // Go: base64.RawURLEncoding of {"v":"meta.k8s.io/v1","rv":1042,"start":"b\u0000"}
        let token = encode("b", 1042);
        assert_eq!(
            base64url_decode(&token).unwrap(),
            br#"{"v":"meta.k8s.io/v1","rv":1042,"start":"b\u0000"}"#
        );
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
        let resume = decode(&token).unwrap();
        assert_eq!(resume.start, "b\0");
        assert_eq!(resume.resource_version, Some(1042));
        for len in 0..7 {
            let bytes: Vec<u8> = (0..len).map(|i| 250 - i as u8 * 40).collect();
            assert_eq!(base64url_decode(&base64url_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64url_encode(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn malformed_tokens_are_refused_with_the_api_server_wording() {
        let err = |query: &str| Paging::from_request(&request(query)).unwrap_err().message;
        assert_eq!(
            err("limit=1&continue=not-a-token!"),
            "invalid continue token: continue key is not valid: illegal base64 data at input byte 11"
        );
        assert_eq!(
            err("continue=abcde"),
            "invalid continue token: continue key is not valid: illegal base64 data at input byte 4"
        );
        assert_eq!(
            err("continue=YWJj%3D"),
            "invalid continue token: continue key is not valid: illegal base64 data at input byte 4"
        );
        let token = |json: &str| base64url_encode(json.as_bytes());
        assert_eq!(
            err(&format!("continue={}", token("garbage"))),
            "invalid continue token: continue key is not valid: invalid character 'g' looking for beginning of value"
        );
        assert_eq!(
            err(&format!("continue={}", token(r#"{"v":"v2","rv":1,"start":"a"}"#))),
            "invalid continue token: continue key is not valid: server does not recognize this encoded version v2"
        );
        assert_eq!(
            err(&format!("continue={}", token(r#"{"v":"meta.k8s.io/v1","start":"a"}"#))),
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        );
        assert_eq!(
            err(&format!("continue={}", token(r#"{"v":"meta.k8s.io/v1","rv":3}"#))),
            "invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
        );
        assert_eq!(
            err(&format!("continue={}", token(r#"{"v":"meta.k8s.io/v1","rv":"3","start":"a"}"#))),
            "invalid continue token: continue key is not valid: json: cannot unmarshal string into Go struct field continueToken.rv of type int64"
        );
        assert_eq!(
            err(&format!(
                "continue={}",
                token(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../x"}"#)
            )),
            "invalid continue token: continue key is not valid: ../x"
        );
        assert_eq!(
            err(&format!("continue={}&resourceVersion=5", encode("a", 5))),
            "specifying resource version is not allowed when using continue"
        );
        assert_eq!(
            err("limit=ten"),
            "strconv.ParseInt: parsing \"ten\": invalid syntax"
        );
        let ok = Paging::from_request(&request("limit=-3")).unwrap();
        assert_eq!(ok, Paging::default());
    }

    #[test]
    fn resume_points_compare_by_namespace_then_name() {
        assert!(after("a\0", "a\0"));
        assert!(!after("a", "a\0"));
        assert!(after("b", "a\0"));
        assert!(after("default/b", "default/a\0"));
        assert!(after("kube-system/a", "default/z\0"));
        assert!(!after("default/a", "default/a\0"));
    }
}
