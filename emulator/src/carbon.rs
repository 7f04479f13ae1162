//! The ElectricityMaps v3 `carbon-intensity/latest` and `carbon-intensity/forecast` endpoints:
//! the response shapes, the `auth-token` header with per-zone access, and error bodies of the
//! form `{"error": ..., "message": ...}` that the real service answers with.

use std::time::Duration;

use serde_json::{json, Value};

use crate::clock;
use crate::http::{Request, Response};
use crate::world::World;

fn error(status: u16, error: &str, message: &str) -> Response {
    Response::json(status, &json!({"error": error, "message": message}))
}

/// The answer for an injected status fault on a carbon path.
pub fn fault(status: u16) -> Response {
    match status {
        401 => invalid_token(),
        429 => error(
            429,
            "Too Many Requests",
            "You have exceeded the rate limit of your plan. Please try again later.",
        )
        .with_header("Retry-After", "1"),
        500 => error(
            500,
            "Internal Server Error",
            "An unexpected error occurred.",
        ),
        503 => error(
            503,
            "Service Unavailable",
            "The service is temporarily unavailable.",
        ),
        other => error(
            other,
            "Error",
            &format!("The request failed with status {other}."),
        ),
    }
}

fn invalid_token() -> Response {
    error(
        401,
        "Invalid auth-token",
        "The provided token is invalid. If this token used to work, please visit https://help.electricitymaps.com to get support",
    )
}

fn grams(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// The forecast horizons the service offers (`horizonHours`; 24 when not given).
const HORIZONS: [u32; 4] = [6, 24, 48, 72];

/// Serves `/v3/...` requests.
pub fn handle(world: &World, req: &Request) -> Response {
    let path = req.path.trim_end_matches('/');
    let request_type = match path {
        "/v3/carbon-intensity/latest" => "latest",
        "/v3/carbon-intensity/forecast" => "forecast",
        _ => {
            return error(
                404,
                "Not Found",
                &format!("Cannot {} {}", req.method, req.path),
            )
        }
    };
    if req.method != "GET" {
        return error(
            405,
            "Method Not Allowed",
            &format!("Cannot {} {}", req.method, req.path),
        );
    }
    let Some(token) = req.header("auth-token").filter(|t| !t.is_empty()) else {
        return error(
            401,
            "Invalid auth-token",
            "Please provide a valid authentication header. See https://portal.electricitymaps.com/docs/getting-started#authorization for details",
        );
    };
    let Some(zones) = world.tokens.get(token) else {
        return invalid_token();
    };
    let Some(zone) = req.param("zone").filter(|z| !z.is_empty()) else {
        return error(
            400,
            "Bad Request",
            "Please provide a zone, or lat and lon query parameters.",
        );
    };
    let Some(&intensity) = world.carbon.get(&zone) else {
        return error(
            404,
            "Not Found",
            &format!("Zone '{zone}' does not exist or has no data."),
        );
    };
    if !zones.iter().any(|z| z == "*" || *z == zone) {
        // The service's wording for a token whose plan does not include the zone.
        return Response::json(
            401,
            &json!({"error": format!("Request unauthorized for zoneKey={zone},requestType={request_type},dataType=carbon-intensity.")}),
        );
    }
    if request_type == "forecast" {
        return forecast(world, req, &zone, intensity);
    }
    let factor = req
        .param("emissionFactorType")
        .unwrap_or_else(|| "lifecycle".into());
    if factor != "lifecycle" && factor != "direct" {
        return error(
            400,
            "Bad Request",
            "emissionFactorType must be one of: lifecycle, direct",
        );
    }
    let now = world.now();
    let hour = clock::hour_floor(now);
    let created = hour
        .checked_sub(Duration::from_secs(3 * 86_400))
        .unwrap_or(hour);
    Response::ok(&json!({
        "zone": zone,
        "carbonIntensity": grams(intensity),
        "datetime": clock::rfc3339_millis(hour),
        "updatedAt": clock::rfc3339_millis(now),
        "createdAt": clock::rfc3339_millis(created),
        "emissionFactorType": factor,
        "isEstimated": false,
        "estimationMethod": null
    }))
}

/// The hourly forecast from the current hour: the values set for the zone, else its latest value
/// throughout.
fn forecast(world: &World, req: &Request, zone: &str, intensity: f64) -> Response {
    let horizon = match req.param("horizonHours") {
        None => 24,
        Some(text) => match text.parse::<u32>() {
            Ok(h) if HORIZONS.contains(&h) => h,
            _ => {
                return error(
                    400,
                    "Bad Request",
                    "horizonHours must be one of: 6, 24, 48, 72",
                )
            }
        },
    };
    let now = world.now();
    let hour = clock::hour_floor(now);
    let set = world.forecasts.get(zone);
    let points: Vec<Value> = (0..horizon as usize)
        .map(|k| {
            let value = set.map_or(intensity, |v| {
                v.get(k).or(v.last()).copied().unwrap_or(intensity)
            });
            let at = hour + Duration::from_secs(3600 * k as u64);
            json!({"carbonIntensity": grams(value), "datetime": clock::rfc3339_millis(at)})
        })
        .collect();
    Response::ok(&json!({
        "zone": zone,
        "forecast": points,
        "updatedAt": clock::rfc3339_millis(now),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;

    fn get(world: &World, query: &str, token: Option<&str>) -> (u16, Value) {
        let req = Request {
            method: "GET".into(),
            path: "/v3/carbon-intensity/latest".into(),
            query: query.into(),
            headers: token
                .map(|t| ("auth-token".to_string(), t.to_string()))
                .into_iter()
                .collect(),
            body: Vec::new(),
        };
        let r = handle(world, &req);
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    #[test]
    fn latest_has_the_real_shape() {
        let world = World::from_seed(&Seed::demo()).unwrap();
        let (status, body) = get(&world, "zone=FR", Some("demo-token"));
        assert_eq!(status, 200);
        assert_eq!(body["zone"], "FR");
        assert_eq!(body["carbonIntensity"], 38);
        assert!(body["datetime"].as_str().unwrap().ends_with(":00:00.000Z"));
        assert_eq!(body["emissionFactorType"], "lifecycle");
        assert_eq!(body["isEstimated"], false);
        assert!(body["estimationMethod"].is_null());
        assert!(body["updatedAt"].is_string() && body["createdAt"].is_string());
    }

    #[test]
    fn tokens_are_checked_per_zone() {
        let world = World::from_seed(&Seed::demo()).unwrap();
        assert_eq!(get(&world, "zone=FR", Some("demo-fr")).0, 200);
        let (status, body) = get(&world, "zone=DK", Some("demo-fr"));
        assert_eq!(status, 401);
        assert_eq!(
            body["error"],
            "Request unauthorized for zoneKey=DK,requestType=latest,dataType=carbon-intensity."
        );
        let (status, body) = get(&world, "zone=FR", Some("wrong"));
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("Invalid auth-token"))
        );
        assert_eq!(get(&world, "zone=FR", None).0, 401);
        assert_eq!(get(&world, "zone=XX", Some("demo-token")).0, 404);
        assert_eq!(get(&world, "", Some("demo-token")).0, 400);
        assert_eq!(
            get(
                &world,
                "zone=FR&emissionFactorType=direct",
                Some("demo-token")
            )
            .1["emissionFactorType"],
            "direct"
        );
    }

    #[test]
    fn fractional_intensities_stay_fractional() {
        assert_eq!(grams(43.0), json!(43));
        assert_eq!(grams(43.5), json!(43.5));
        let r = fault(429);
        assert_eq!(r.status, 429);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Retry-After" && v == "1"));
    }
}
