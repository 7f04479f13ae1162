//! metav1.Status bodies worded as the API server words them (apimachinery's `errors` package),
//! because clients branch on `code` and `reason` and kubectl prints `message` verbatim.

use serde_json::{json, Map, Value};

/// A resource as errors name it: `configmaps`, `deployments.apps`, `nodes.metrics.k8s.io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupResource {
    pub group: &'static str,
    pub resource: &'static str,
}

impl GroupResource {
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    fn details(&self, name: &str) -> Value {
        let mut details = Map::new();
        if !name.is_empty() {
            details.insert("name".into(), name.into());
        }
        if !self.group.is_empty() {
            details.insert("group".into(), self.group.into());
        }
        details.insert("kind".into(), self.resource.into());
        Value::Object(details)
    }
}

/// An error answer: the HTTP status, the Status body and, for 429, the Retry-After header.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn not_found(gr: GroupResource, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", gr.qualified()),
        )
        .with_details(gr.details(name))
    }

    /// Unknown URL: the API server's generic 404 (no resource named).
    pub fn path_not_found() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(gr: GroupResource, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", gr.qualified()),
        )
        .with_details(gr.details(name))
    }

    pub fn conflict(gr: GroupResource, name: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                gr.qualified()
            ),
        )
        .with_details(gr.details(name))
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn unsupported_media_type(accepted: &[&str]) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// A JSON patch that is well formed but does not apply (a failed `test` among them): the
    /// API server answers with a generic 422 that names no resource and drops the cause.
    pub fn patch_does_not_apply() -> ApiError {
        ApiError::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        )
        .with_details(json!({}))
    }

    /// The error the API server would send with this status code for `user`'s request,
    /// used by injected faults so clients see realistic bodies.
    pub fn for_code(code: u16, access: &Access, user: &str) -> ApiError {
        let gr = access.resource;
        let name = access.name.as_str();
        match code {
            401 => ApiError::unauthorized(),
            403 => ApiError::new(403, "Forbidden", access.forbidden_message(user))
                .with_details(gr.map(|gr| gr.details(name)).unwrap_or_else(|| json!({}))),
            404 => match gr {
                Some(gr) if !name.is_empty() => ApiError::not_found(gr, name),
                _ => ApiError::path_not_found(),
            },
            405 => ApiError::method_not_allowed(),
            409 => match gr {
                Some(gr) => ApiError::conflict(gr, name),
                None => ApiError::new(409, "Conflict", "the server reported a conflict"),
            },
            422 => ApiError::patch_does_not_apply(),
            429 => {
                let mut e = ApiError::new(
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                )
                .with_details(json!({"retryAfterSeconds": 1}));
                e.retry_after = Some(1);
                e
            }
            500 => ApiError::new(500, "InternalError", "Internal error occurred: injected fault")
                .with_details(json!({"causes": [{"message": "injected fault"}]})),
            503 => ApiError::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            504 => ApiError::new(
                504,
                "Timeout",
                "Timeout: request did not complete within the allotted timeout",
            ),
            400 => ApiError::bad_request("the server rejected our request for an unknown reason"),
            other if other >= 500 => ApiError::new(
                other,
                "InternalError",
                "an error on the server (\"injected fault\") has prevented the request from succeeding",
            ),
            other => ApiError::new(
                other,
                "",
                format!(
                    "the server responded with the status code {other} but did not return more information"
                ),
            ),
        }
    }

    pub fn body(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            status["reason"] = self.reason.into();
        }
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// What the RBAC authorizer sees of a request: the inputs to a 403 message.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub verb: String,
    pub resource: Option<GroupResource>,
    pub subresource: Option<&'static str>,
    pub namespace: Option<String>,
    pub name: String,
    pub path: String,
}

impl Access {
    /// The authorizer's wording.
    fn forbidden_message(&self, user: &str) -> String {
        let user = format!("User \"{user}\"");
        let Some(gr) = self.resource else {
            return format!(
                "forbidden: {user} cannot {} path \"{}\"",
                self.verb, self.path
            );
        };
        let subject = if self.name.is_empty() {
            gr.qualified()
        } else {
            format!("{} \"{}\"", gr.qualified(), self.name)
        };
        let resource = match self.subresource {
            Some(sub) => format!("{}/{sub}", gr.resource),
            None => gr.resource.to_string(),
        };
        let scope = match &self.namespace {
            Some(ns) => format!(" in the namespace \"{ns}\""),
            None => " at the cluster scope".to_string(),
        };
        format!(
            "{subject} is forbidden: {user} cannot {} resource \"{resource}\" in API group \"{}\"{scope}",
            self.verb, gr.group
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM: GroupResource = GroupResource {
        group: "",
        resource: "configmaps",
    };
    const DEPLOY: GroupResource = GroupResource {
        group: "apps",
        resource: "deployments",
    };

    #[test]
    fn conflict_body_matches_the_api_server() {
        let body = ApiError::conflict(CM, "carbonctl-state").body();
        assert_eq!(
            body,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Operation cannot be fulfilled on configmaps \"carbonctl-state\": the object has been modified; please apply your changes to the latest version and try again",
                "reason": "Conflict",
                "details": {"name": "carbonctl-state", "kind": "configmaps"},
                "code": 409
            })
        );
    }

    #[test]
    fn grouped_resources_are_qualified() {
        let body = ApiError::not_found(DEPLOY, "nginx-mars").body();
        assert_eq!(body["message"], "deployments.apps \"nginx-mars\" not found");
        assert_eq!(body["details"]["group"], "apps");
        assert_eq!(body["code"], 404);
    }

    #[test]
    fn forbidden_names_verb_resource_and_namespace() {
        let access = Access {
            verb: "patch".into(),
            resource: Some(DEPLOY),
            subresource: Some("scale"),
            namespace: Some("default".into()),
            name: "nginx-france".into(),
            path: "/apis/apps/v1/namespaces/default/deployments/nginx-france/scale".into(),
        };
        let e = ApiError::for_code(403, &access, "kube-emulator");
        assert_eq!(e.reason, "Forbidden");
        assert_eq!(
            e.message,
            "deployments.apps \"nginx-france\" is forbidden: User \"kube-emulator\" cannot patch resource \"deployments/scale\" in API group \"apps\" in the namespace \"default\""
        );
    }

    #[test]
    fn injected_codes_carry_reason_and_retry_after() {
        let access = Access {
            verb: "get".into(),
            resource: None,
            subresource: None,
            namespace: None,
            name: String::new(),
            path: "/api".into(),
        };
        let too_many = ApiError::for_code(429, &access, "kube-emulator");
        assert_eq!(too_many.retry_after, Some(1));
        assert_eq!(too_many.body()["reason"], "TooManyRequests");
        assert_eq!(
            ApiError::for_code(500, &access, "u").reason,
            "InternalError"
        );
        assert_eq!(ApiError::for_code(503, &access, "u").code, 503);
        assert_eq!(
            ApiError::for_code(403, &access, "system:anonymous").message,
            "forbidden: User \"system:anonymous\" cannot get path \"/api\""
        );
        assert_eq!(ApiError::for_code(418, &access, "u").body()["code"], 418);
    }
}
