//! Reading the Kubernetes protobuf encoding for the bodies kubectl sends that way: since
//! 1.32, `kubectl create configmap` and `create namespace` POST
//! `application/vnd.kubernetes.protobuf`, and `kubectl auth can-i` always has. The envelope
//! is the magic `k8s\0` and a `runtime.Unknown` {typeMeta, raw}; `raw` is the generated
//! ConfigMap, Namespace or SelfSubjectAccessReview message. Only the fields the emulator keeps are decoded; others
//! are skipped.

use serde_json::{json, Map, Value};

pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\x00";

struct Reader<'a> {
    bytes: &'a [u8],
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skipped,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.bytes.split_first().ok_or("truncated varint")?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err("truncated field".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// The next (field number, value), or None at the end.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, String> {
        if self.bytes.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Skipped
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Skipped
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        Ok(Some((key >> 3, field)))
    }
}

fn fields(bytes: &[u8]) -> impl Iterator<Item = Result<(u64, Field<'_>), String>> {
    let mut reader = Reader { bytes };
    std::iter::from_fn(move || reader.next().transpose())
}

fn text(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "invalid UTF-8 in a string field".into())
}

/// A `map<string, string>` entry: {1: key, 2: value}.
fn map_entry(bytes: &[u8]) -> Result<(String, String), String> {
    let (mut key, mut value) = (String::new(), String::new());
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => key = text(b)?,
            (2, Field::Bytes(b)) => value = text(b)?,
            _ => {}
        }
    }
    Ok((key, value))
}

fn insert_entry(target: &mut Value, field: &str, bytes: &[u8]) -> Result<(), String> {
    let (k, v) = map_entry(bytes)?;
    if !target[field].is_object() {
        target[field] = json!({});
    }
    target[field][k] = v.into();
    Ok(())
}

fn object_meta(bytes: &[u8]) -> Result<Value, String> {
    let mut meta = Value::Object(Map::new());
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => meta["name"] = text(b)?.into(),
            (2, Field::Bytes(b)) => meta["generateName"] = text(b)?.into(),
            (3, Field::Bytes(b)) => meta["namespace"] = text(b)?.into(),
            (6, Field::Bytes(b)) => meta["resourceVersion"] = text(b)?.into(),
            (11, Field::Bytes(b)) => insert_entry(&mut meta, "labels", b)?,
            (12, Field::Bytes(b)) => insert_entry(&mut meta, "annotations", b)?,
            _ => {}
        }
    }
    Ok(meta)
}

fn config_map(bytes: &[u8]) -> Result<Value, String> {
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => cm["metadata"] = object_meta(b)?,
            (2, Field::Bytes(b)) => insert_entry(&mut cm, "data", b)?,
            (4, Field::Varint(v)) => cm["immutable"] = (v != 0).into(),
            (3, _) => {
                return Err(
                    "binaryData in protobuf bodies is not supported by kube-emulator".into(),
                )
            }
            _ => {}
        }
    }
    Ok(cm)
}

/// core/v1 Namespace: its metadata (spec and status are the server's).
fn namespace(bytes: &[u8]) -> Result<Value, String> {
    let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}});
    for field in fields(bytes) {
        if let (1, Field::Bytes(b)) = field? {
            ns["metadata"] = object_meta(b)?;
        }
    }
    Ok(ns)
}

/// The string fields of a message, by field number, as JSON; empty strings are left out, as
/// the API server's JSON (`omitempty`) leaves them out (generated messages always carry them).
fn strings(bytes: &[u8], names: &[(u64, &str)]) -> Result<Value, String> {
    let mut out = Map::new();
    for field in fields(bytes) {
        if let (n, Field::Bytes(b)) = field? {
            if let Some((_, name)) = names.iter().find(|(number, _)| *number == n) {
                if !b.is_empty() {
                    out.insert(name.to_string(), text(b)?.into());
                }
            }
        }
    }
    Ok(Value::Object(out))
}

const RESOURCE_ATTRIBUTES: [(u64, &str); 7] = [
    (1, "namespace"),
    (2, "verb"),
    (3, "group"),
    (4, "version"),
    (5, "resource"),
    (6, "subresource"),
    (7, "name"),
];

/// authorization/v1 SelfSubjectAccessReview: metadata and the spec's resource or
/// non-resource attributes (field and label selectors are not decoded).
fn self_subject_access_review(bytes: &[u8]) -> Result<Value, String> {
    let mut review = json!({"apiVersion": "authorization.k8s.io/v1",
                            "kind": "SelfSubjectAccessReview", "metadata": {}, "spec": {}});
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => review["metadata"] = object_meta(b)?,
            (2, Field::Bytes(spec)) => {
                for f in fields(spec) {
                    match f? {
                        (1, Field::Bytes(b)) => {
                            review["spec"]["resourceAttributes"] = strings(b, &RESOURCE_ATTRIBUTES)?
                        }
                        (2, Field::Bytes(b)) => {
                            review["spec"]["nonResourceAttributes"] =
                                strings(b, &[(1, "path"), (2, "verb")])?
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(review)
}

/// An int32 field: negative values arrive as ten-byte two's complement varints.
fn int32(v: u64) -> i64 {
    i64::from(v as i32)
}

/// autoscaling/v2 MetricTarget {1: type, 2: value, 3: averageValue, 4: averageUtilization};
/// quantities are {1: string}.
fn metric_target(bytes: &[u8]) -> Result<Value, String> {
    let mut target = Value::Object(Map::new());
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => target["type"] = text(b)?.into(),
            (n @ (2 | 3), Field::Bytes(b)) => {
                let quantity = strings(b, &[(1, "string")])?;
                target[if n == 2 { "value" } else { "averageValue" }] = quantity["string"].clone();
            }
            (4, Field::Varint(v)) => target["averageUtilization"] = int32(v).into(),
            _ => {}
        }
    }
    Ok(target)
}

/// autoscaling/v2 HorizontalPodAutoscaler as `kubectl autoscale` sends it: metadata, the
/// scale target, the bounds and resource metrics (other metric sources and `behavior` are
/// refused: send JSON for those).
fn horizontal_pod_autoscaler(bytes: &[u8]) -> Result<Value, String> {
    let mut hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                         "metadata": {}, "spec": {}});
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(b)) => hpa["metadata"] = object_meta(b)?,
            (2, Field::Bytes(spec)) => {
                for f in fields(spec) {
                    match f? {
                        (1, Field::Bytes(b)) => {
                            hpa["spec"]["scaleTargetRef"] =
                                strings(b, &[(1, "kind"), (2, "name"), (3, "apiVersion")])?
                        }
                        (2, Field::Varint(v)) => hpa["spec"]["minReplicas"] = int32(v).into(),
                        (3, Field::Varint(v)) => hpa["spec"]["maxReplicas"] = int32(v).into(),
                        (4, Field::Bytes(b)) => {
                            let mut metric = Value::Object(Map::new());
                            for m in fields(b) {
                                match m? {
                                    (1, Field::Bytes(t)) => metric["type"] = text(t)?.into(),
                                    (4, Field::Bytes(r)) => {
                                        let mut resource = Value::Object(Map::new());
                                        for rf in fields(r) {
                                            match rf? {
                                                (1, Field::Bytes(n)) => {
                                                    resource["name"] = text(n)?.into()
                                                }
                                                (2, Field::Bytes(t)) => {
                                                    resource["target"] = metric_target(t)?
                                                }
                                                _ => {}
                                            }
                                        }
                                        metric["resource"] = resource;
                                    }
                                    (n, Field::Bytes(_)) => {
                                        return Err(format!("kube-emulator decodes only resource metrics of HorizontalPodAutoscalers in protobuf (field {n}); send JSON"))
                                    }
                                    _ => {}
                                }
                            }
                            if !hpa["spec"]["metrics"].is_array() {
                                hpa["spec"]["metrics"] = json!([]);
                            }
                            hpa["spec"]["metrics"]
                                .as_array_mut()
                                .expect("made an array above")
                                .push(metric);
                        }
                        (5, Field::Bytes(_)) => {
                            return Err("kube-emulator does not decode HorizontalPodAutoscaler behavior in protobuf; send JSON".into())
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(hpa)
}

/// Decodes a protobuf request body into the JSON the API would have received, for the
/// kinds kubectl sends as protobuf. Errors read like the API server's decoding errors.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body.strip_prefix(MAGIC).ok_or(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
    )?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for field in fields(envelope) {
        match field? {
            (1, Field::Bytes(type_meta)) => {
                for f in fields(type_meta) {
                    match f? {
                        (1, Field::Bytes(b)) => api_version = text(b)?,
                        (2, Field::Bytes(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => config_map(raw),
        ("v1", "Namespace") => namespace(raw),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => self_subject_access_review(raw),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => horizontal_pod_autoscaler(raw),
        _ => Err(format!(
            "kube-emulator decodes protobuf only for v1 ConfigMap, v1 Namespace, authorization.k8s.io/v1 SelfSubjectAccessReview and autoscaling/v2 HorizontalPodAutoscaler, not {api_version} {kind}; send JSON"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    fn entry(k: &str, v: &str) -> Vec<u8> {
        [field(1, k.as_bytes()), field(2, v.as_bytes())].concat()
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, api_version.as_bytes()), field(2, kind.as_bytes())].concat();
        [
            MAGIC.to_vec(),
            field(1, &type_meta),
            field(2, raw),
            field(3, b""),
            field(4, b""),
        ]
        .concat()
    }

    #[test]
    fn decodes_a_configmap_as_kubectl_sends_it() {
        let meta = [
            field(1, b"carbonctl-state"),
            field(3, b"default"),
            field(11, &entry("app", "carbonctl")),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &entry("a", "1")),
            field(2, &entry("b", "two")),
            vec![0x20, 1],
        ]
        .concat();
        let cm = decode(&envelope("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(
            cm,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "immutable": true,
                   "metadata": {"name": "carbonctl-state", "namespace": "default", "labels": {"app": "carbonctl"}},
                   "data": {"a": "1", "b": "two"}})
        );
    }

    #[test]
    fn decodes_an_access_review_as_kubectl_auth_can_i_sends_it() {
        let attributes = [
            field(1, b"default"),
            field(2, b"patch"),
            field(3, b"apps"),
            field(4, b""),
            field(5, b"deployments"),
            field(6, b"scale"),
            field(7, b""),
        ]
        .concat();
        let raw = [
            field(1, b""),
            field(2, &field(1, &attributes)),
            field(3, &[0x08, 0x00]),
        ]
        .concat();
        let review = decode(&envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            &raw,
        ))
        .unwrap();
        assert_eq!(
            review,
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                   "metadata": {},
                   "spec": {"resourceAttributes": {"namespace": "default", "verb": "patch",
                            "group": "apps", "resource": "deployments", "subresource": "scale"}}})
        );
        let non_resource = [field(1, b"/healthz"), field(2, b"get")].concat();
        let raw = field(2, &field(2, &non_resource));
        let review = decode(&envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            &raw,
        ))
        .unwrap();
        assert_eq!(
            review["spec"],
            json!({"nonResourceAttributes": {"path": "/healthz", "verb": "get"}})
        );
    }

    #[test]
    fn decodes_a_namespace() {
        let raw = [
            field(1, &field(1, b"web")),
            field(2, &field(1, b"kubernetes")),
        ]
        .concat();
        assert_eq!(
            decode(&envelope("v1", "Namespace", &raw)).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
        );
    }

    #[test]
    fn decodes_an_hpa_as_kubectl_autoscale_sends_it() {
        let target_ref = [
            field(1, b"Deployment"),
            field(2, b"nginx-france"),
            field(3, b"apps/v1"),
        ]
        .concat();
        let target = [field(1, b"Utilization"), vec![0x20, 60]].concat();
        let resource = [field(1, b"cpu"), field(2, &target)].concat();
        let metric = [field(1, b"Resource"), field(4, &resource)].concat();
        let spec = [
            field(1, &target_ref),
            vec![0x10, 2, 0x18, 6],
            field(4, &metric),
        ]
        .concat();
        let raw = [field(1, &field(1, b"nginx-france")), field(2, &spec)].concat();
        let hpa = decode(&envelope("autoscaling/v2", "HorizontalPodAutoscaler", &raw)).unwrap();
        assert_eq!(
            hpa["spec"],
            json!({"scaleTargetRef": {"kind": "Deployment", "name": "nginx-france", "apiVersion": "apps/v1"},
                   "minReplicas": 2, "maxReplicas": 6,
                   "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 60}}}]})
        );
        assert_eq!(hpa["metadata"]["name"], "nginx-france");
        let negative = [vec![0x10], vec![0xff; 9], vec![0x01]].concat();
        let raw = field(2, &negative);
        let hpa = decode(&envelope("autoscaling/v2", "HorizontalPodAutoscaler", &raw)).unwrap();
        assert_eq!(hpa["spec"]["minReplicas"], -1);
        let external = field(2, &field(4, &field(5, b"")));
        assert!(decode(&envelope(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            &external
        ))
        .unwrap_err()
        .contains("only resource metrics"));
    }

    #[test]
    fn refuses_other_kinds_and_garbage() {
        assert!(decode(&envelope("v1", "Secret", b""))
            .unwrap_err()
            .contains("only for v1 ConfigMap"));
        assert!(decode(b"{\"kind\":\"ConfigMap\"}").is_err());
        let truncated = [MAGIC.to_vec(), vec![0x0a, 0x09, b'x']].concat();
        assert!(decode(&truncated).is_err());
    }
}
