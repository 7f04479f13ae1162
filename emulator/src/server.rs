//! The HTTP side: hyper's HTTP/1.1 connection handling, then one dispatch step that applies
//! injected faults, authenticates, routes to the Kubernetes, carbon or admin handlers and
//! records the outcome. A dropped-connection fault is an error from the service, which makes
//! hyper close the socket without answering.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::faults::FaultKind;
use crate::http::{Request, Response};
use crate::k8s::{self, route};
use crate::requests::RequestRecord;
use crate::shared::Shared;
use crate::status::ApiError;
use crate::{admin, carbon, clock, ukci, watttime};

/// The service's error: the only one is a deliberate dropped connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

fn is_carbon(path: &str) -> bool {
    path == "/v3" || path.starts_with("/v3/") || is_ukci(path) || is_watttime(path)
}

fn is_watttime(path: &str) -> bool {
    path == watttime::PREFIX || path.starts_with("/watttime/")
}

fn is_ukci(path: &str) -> bool {
    path == ukci::PREFIX || path.starts_with("/ukci/")
}

/// The user a request authenticates as, or None for a rejected credential. kubectl (client-go)
/// never sends a bearer token over plain HTTP, so a request without one is anonymous, which is
/// allowed unless the world requires the token; a wrong token is always 401, as on a real
/// API server.
fn user(shared: &Shared, req: &Request, allow_anonymous: bool) -> Option<&'static str> {
    match req.header("Authorization") {
        None if allow_anonymous => Some(ANONYMOUS),
        None => None,
        Some(h) => h
            .strip_prefix("Bearer ")
            .filter(|t| t.trim() == shared.token)
            .map(|_| USER),
    }
}

/// The kubeconfig user's name, as 403 messages and the request log show it.
pub const USER: &str = "kube-emulator";
pub const ANONYMOUS: &str = "system:anonymous";

fn answer(shared: &Shared, req: &Request, target: Option<&route::Target>) -> Response {
    let Some(target) = target else {
        if is_ukci(&req.path) {
            return ukci::handle(&shared.world(), req);
        }
        if is_watttime(&req.path) {
            return watttime::handle(&mut shared.world(), req);
        }
        return carbon::handle(&shared.world(), req);
    };
    let mut world = shared.world();
    if user(shared, req, world.allow_anonymous).is_none() {
        return ApiError::unauthorized().into();
    }
    k8s::handle(&mut world, req, target, &shared.host)
}

fn malformed() -> Response {
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"kind":"Status","apiVersion":"v1","metadata":{},"sta"#.to_vec(),
    }
}

/// Request log entries kept; the oldest tenth is dropped when it is full.
const LOG_LIMIT: usize = 100_000;

/// One request, start to finish; None means "drop the connection".
pub async fn dispatch(shared: &Shared, req: Request) -> Option<Response> {
    if req.path == "/_emulator" || req.path.starts_with("/_emulator/") {
        return Some(admin::handle(shared, &req));
    }
    let time = clock::rfc3339_millis(shared.world().now());
    let target = (!is_carbon(&req.path)).then(|| route::resolve(&req.path));
    let access = target.as_ref().map(|t| route::access(&req, t));
    let allow_anonymous = shared.world().allow_anonymous;
    let user = user(shared, &req, allow_anonymous);
    let fault = shared.faults().take(&req.method, &req.path);
    let response = match fault {
        None => Some(answer(shared, &req, target.as_ref())),
        Some(FaultKind::DelayMs(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Some(answer(shared, &req, target.as_ref()))
        }
        Some(FaultKind::Drop) => None,
        Some(FaultKind::Malformed) => Some(malformed()),
        Some(FaultKind::Body(body)) => Some(Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }),
        Some(FaultKind::Status(code)) => Some(match &access {
            Some(access) => ApiError::for_code(code, access, user.unwrap_or(USER)).into(),
            None if is_ukci(&req.path) => ukci::fault(code),
            None if is_watttime(&req.path) => watttime::fault(code),
            None => carbon::fault(code),
        }),
    };
    let mut record = RequestRecord::new(&req.method, &req.path, &req.query, time);
    if let Some(access) = &access {
        record = record.with_access(access);
        record.user = user.map(String::from);
    }
    record.status = response.as_ref().map_or(0, |r| r.status);
    let mut log = shared.log();
    if log.len() >= LOG_LIMIT {
        // A demo left running must not grow without bound; tests clear the log long before.
        log.drain(..LOG_LIMIT / 10);
    }
    log.push(record);
    drop(log);
    response
}

async fn serve_one(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let Ok(collected) = body.collect().await else {
        return Err(Dropped);
    };
    let request = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: collected.to_bytes().to_vec(),
    };
    let response = dispatch(&shared, request).await.ok_or(Dropped)?;
    let mut builder = hyper::Response::builder().status(response.status);
    for (k, v) in &response.headers {
        builder = builder.header(k, v);
    }
    Ok(builder
        .body(Full::new(Bytes::from(response.body)))
        .expect("status and headers come from the handlers and are valid"))
}

/// Accepts connections until `shutdown` fires (or its sender is dropped).
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| serve_one(shared.clone(), req));
            // Connection errors (including our own dropped ones) end only that connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            Ok::<(), Infallible>(())
        });
    }
}
