//! WattTime v3 (api.watttime.org): `GET /login` with HTTP Basic credentials answers `{"token":
//! ...}`, a bearer token for the data endpoints; `GET /v3/signal-index?region=R&signal_type=co2_moer`
//! answers the region's current index of the marginal rate, 0 (the cleanest it has been
//! lately) to 100, as `{"data": [{point_time, value}], "meta": {..., "units": "percentile"}}`.
//! Served under `/watttime`, so carbonctl's `WATTTIME_API_URL` is `http://127.0.0.1:PORT/watttime`.
//! Error bodies are `{"error": ...}`; WattTime does not document their wording, so it is this
//! emulator's own.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use crate::clock;
use crate::http::{Request, Response};
use crate::world::World;

/// The path prefix the emulator serves this API under.
pub const PREFIX: &str = "/watttime";

/// The demo account, the only one that can log in.
pub const USERNAME: &str = "demo-user";
pub const PASSWORD: &str = "demo-password";

/// The index of a region nobody has set.
const STARTING_INDEX: f64 = 50.0;

fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"error": message}))
}

/// The answer for an injected status fault on this API's paths.
pub fn fault(status: u16) -> Response {
    match status {
        429 => error(429, "Too many requests").with_header("Retry-After", "1"),
        other => error(other, "The request failed."),
    }
}

/// `user:password` from an `Authorization: Basic ...` header.
fn basic(req: &Request) -> Option<(String, String)> {
    use base64::Engine;
    let encoded = req.header("Authorization")?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Serves `/watttime/...` requests.
pub fn handle(world: &mut World, req: &Request) -> Response {
    let path = req.path.strip_prefix(PREFIX).unwrap_or(&req.path);
    let path = path.trim_end_matches('/');
    if req.method != "GET" {
        return error(405, "Method not allowed");
    }
    match path {
        "/login" => login(world, req),
        "/v3/signal-index" => signal_index(world, req),
        _ => error(404, "Not found"),
    }
}

fn login(world: &mut World, req: &Request) -> Response {
    match basic(req) {
        Some((user, password)) if user == USERNAME && password == PASSWORD => {
            world.watttime_logins += 1;
            let token = format!("wt-{}-{}", std::process::id(), world.watttime_logins);
            world.watttime_tokens.push(token.clone());
            Response::ok(&json!({"token": token}))
        }
        _ => error(401, "Invalid username or password"),
    }
}

fn signal_index(world: &World, req: &Request) -> Response {
    let token = req
        .header("Authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    if !token.is_some_and(|t| world.watttime_tokens.iter().any(|k| k == t)) {
        return error(401, "Invalid or expired token; log in again at /login");
    }
    let Some(region) = req.param("region").filter(|r| !r.is_empty()) else {
        return error(400, "region is required");
    };
    let signal = req
        .param("signal_type")
        .unwrap_or_else(|| "co2_moer".into());
    if signal != "co2_moer" {
        return error(400, "signal_type must be co2_moer for the signal index");
    }
    let value = world
        .watttime
        .get(&region)
        .copied()
        .unwrap_or(STARTING_INDEX);
    let now = world
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let point = UNIX_EPOCH + Duration::from_secs(now - now % 300);
    let point_time = clock::rfc3339(point).replace('Z', "+00:00");
    Response::ok(&json!({
        "data": [{"point_time": point_time, "value": value}],
        "meta": {
            "data_point_period_seconds": 300,
            "region": region,
            "signal_type": "co2_moer",
            "units": "percentile",
            "warnings": [],
            "generated_at_period_seconds": 300,
            "generated_at": point_time,
            "model": {"date": "2024-10-01"}
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;
    use base64::Engine;

    fn get(
        world: &mut World,
        path: &str,
        query: &str,
        auth: Option<String>,
    ) -> (u16, serde_json::Value) {
        let req = Request {
            method: "GET".into(),
            path: format!("{PREFIX}{path}"),
            query: query.into(),
            headers: auth
                .map(|a| ("Authorization".to_string(), a))
                .into_iter()
                .collect(),
            body: Vec::new(),
        };
        let r = handle(world, &req);
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    fn basic_auth(user: &str, password: &str) -> String {
        let pair = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    #[test]
    fn a_login_gives_the_token_the_signal_index_asks_for() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        world.watttime.insert("CAISO_NORTH".into(), 23.0);
        let (status, body) = get(
            &mut world,
            "/login",
            "",
            Some(basic_auth(USERNAME, PASSWORD)),
        );
        assert_eq!(status, 200);
        let bearer = format!("Bearer {}", body["token"].as_str().unwrap());
        let (status, body) = get(
            &mut world,
            "/v3/signal-index",
            "region=CAISO_NORTH&signal_type=co2_moer",
            Some(bearer.clone()),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"][0]["value"], 23.0);
        assert!(body["data"][0]["point_time"]
            .as_str()
            .unwrap()
            .ends_with(":00+00:00"));
        assert_eq!(body["meta"]["units"], "percentile");
        assert_eq!(body["meta"]["region"], "CAISO_NORTH");
        let (_, other) = get(
            &mut world,
            "/v3/signal-index",
            "region=PJM_DC",
            Some(bearer.clone()),
        );
        assert_eq!(
            other["data"][0]["value"], 50.0,
            "a region nobody set starts at 50"
        );

        let cases = [
            ("/login", "", Some(basic_auth(USERNAME, "wrong")), 401),
            ("/login", "", None, 401),
            (
                "/v3/signal-index",
                "region=CAISO_NORTH",
                Some("Bearer made-up".into()),
                401,
            ),
            ("/v3/signal-index", "region=CAISO_NORTH", None, 401),
            ("/v3/signal-index", "", Some(bearer.clone()), 400),
            (
                "/v3/signal-index",
                "region=CAISO_NORTH&signal_type=health_damage",
                Some(bearer),
                400,
            ),
            ("/v3/forecast", "", None, 404),
        ];
        for (path, query, auth, want) in cases {
            let (status, body) = get(&mut world, path, query, auth);
            assert_eq!(status, want, "{path}?{query}: {body}");
            assert!(body["error"].is_string(), "{body}");
        }
    }
}
