//! The request and response shapes handlers work with: plain owned data, so every handler is
//! a synchronous function of the world and the request, and only the server knows about hyper.

use serde::Serialize;

use crate::status::ApiError;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of a query parameter, percent-decoded. Empty pairs, as in kube-rs's
    /// `?&labelSelector=...`, are skipped.
    pub fn param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .last()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Any serializable body, so large answers can be written straight from borrowed data
    /// rather than first built as a `serde_json::Value`.
    pub fn json(status: u16, body: &(impl Serialize + ?Sized)) -> Response {
        Response::json_bytes(
            status,
            serde_json::to_vec(body).expect("the emulator's bodies always serialize"),
        )
    }

    /// A body that is already JSON text.
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }

    pub fn ok(body: &(impl Serialize + ?Sized)) -> Response {
        Response::json(200, body)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A metav1.Status error answer, with Retry-After when the error asks for a delay.
    pub fn status(error: &ApiError) -> Response {
        let response = Response::json(error.code, &error.body());
        match error.retry_after {
            Some(secs) => response.with_header("Retry-After", &secs.to_string()),
            None => response,
        }
    }
}

impl From<ApiError> for Response {
    fn from(error: ApiError) -> Response {
        Response::status(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/api/v1/nodes".into(),
            query: query.into(),
            headers: vec![("content-TYPE".into(), "application/json".into())],
            body: Vec::new(),
        }
    }

    #[test]
    fn params_tolerate_kube_rs_query_strings() {
        assert_eq!(
            request("&labelSelector=region%3Dfrance")
                .param("labelSelector")
                .as_deref(),
            Some("region=france")
        );
        assert_eq!(request("").param("labelSelector"), None);
        assert_eq!(request("a=1&a=2").param("a").as_deref(), Some("2"));
        assert_eq!(
            request("labelSelector=region+in+(a,b)")
                .param("labelSelector")
                .as_deref(),
            Some("region in (a,b)")
        );
    }

    #[test]
    fn headers_are_case_insensitive_and_errors_carry_retry_after() {
        assert_eq!(request("").header("Content-Type"), Some("application/json"));
        let mut e = ApiError::unauthorized();
        e.retry_after = Some(3);
        let r = Response::from(e);
        assert_eq!(r.status, 401);
        assert!(r.headers.contains(&("Retry-After".into(), "3".into())));
    }
}
