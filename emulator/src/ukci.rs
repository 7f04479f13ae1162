//! The UK Carbon Intensity API (NESO, api.carbonintensity.org.uk): no token; `GET /intensity`
//! answers the national half hour with `forecast` and `actual`, `GET /regional/regionid/{id}`
//! one of the 17 regions with a `forecast` only, each with the qualitative `index`; errors are
//! `{"error": {"code": "400 Bad Request", "message": ...}}`. Served under `/ukci`, so
//! carbonctl's `UKCI_API_URL` is `http://127.0.0.1:PORT/ukci`.

use serde_json::{json, Value};

use crate::clock;
use crate::http::{Request, Response};
use crate::world::World;

/// The path prefix the emulator serves this API under.
pub const PREFIX: &str = "/ukci";

/// Region ids with their DNO region and short name, as the API names them.
pub const REGIONS: [(u8, &str, &str); 17] = [
    (
        1,
        "Scottish Hydro Electric Power Distribution",
        "North Scotland",
    ),
    (2, "SP Distribution", "South Scotland"),
    (3, "Electricity North West", "North West England"),
    (4, "NPG North East", "North East England"),
    (5, "NPG Yorkshire", "Yorkshire"),
    (6, "SP Manweb", "North Wales & Merseyside"),
    (7, "WPD South Wales", "South Wales"),
    (8, "WPD West Midlands", "West Midlands"),
    (9, "WPD East Midlands", "East Midlands"),
    (10, "UKPN East", "East England"),
    (11, "WPD South West", "South West England"),
    (12, "SSE South", "South England"),
    (13, "UKPN London", "London"),
    (14, "UKPN South East", "South East England"),
    (15, "England", "England"),
    (16, "Scotland", "Scotland"),
    (17, "Wales", "Wales"),
];

/// Starting values (gCO2/kWh) by region id, until `PUT /_emulator/ukci` sets one: Scotland's
/// wind and nuclear clean, the Midlands and Wales gas-heavy.
const REGIONAL: [f64; 17] = [
    20.0, 35.0, 140.0, 90.0, 190.0, 120.0, 230.0, 210.0, 200.0, 160.0, 150.0, 180.0, 170.0, 165.0,
    175.0, 28.0, 200.0,
];
const NATIONAL: f64 = 150.0;

/// Whether `key` names an area the API answers for: a region id or `national`.
pub fn is_area(key: &str) -> bool {
    key == "national" || key.parse::<u8>().is_ok_and(|id| (1..=17).contains(&id))
}

/// The value the world holds for `key`, or the starting one.
fn value(world: &World, key: &str) -> f64 {
    world
        .ukci
        .get(key)
        .copied()
        .unwrap_or_else(|| match key.parse::<usize>() {
            Ok(id @ 1..=17) => REGIONAL[id - 1],
            _ => NATIONAL,
        })
}

fn error(status: u16, reason: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"error": {"code": format!("{status} {reason}"), "message": message}}),
    )
}

/// The answer for an injected status fault on this API's paths.
pub fn fault(status: u16) -> Response {
    match status {
        400 => invalid_path(),
        429 => error(
            429,
            "Too Many Requests",
            "Too many requests, please try again later.",
        )
        .with_header("Retry-After", "1"),
        500 => error(500, "Internal Server Error", "Internal Server Error"),
        503 => error(503, "Service Unavailable", "Service Unavailable"),
        other => error(other, "Error", "The request failed."),
    }
}

fn invalid_path() -> Response {
    error(
        400,
        "Bad Request",
        "Please enter a valid path e.g. /intensity/",
    )
}

/// The API sends whole grams.
fn grams(value: f64) -> Value {
    json!(value.round() as i64)
}

/// The qualitative band the API attaches, with bands close to its published national ones
/// (which it revises yearly); carbonctl reads only the number.
fn index(g: f64) -> &'static str {
    match g {
        g if g < 40.0 => "very low",
        g if g < 120.0 => "low",
        g if g < 200.0 => "moderate",
        g if g < 290.0 => "high",
        _ => "very high",
    }
}

/// Serves `/ukci/...` requests.
pub fn handle(world: &World, req: &Request) -> Response {
    let path = req.path.strip_prefix(PREFIX).unwrap_or(&req.path);
    let path = path.trim_end_matches('/');
    if req.method != "GET" {
        return invalid_path();
    }
    let (from, to) = clock::half_hour(world.now());
    if path == "/intensity" {
        let g = value(world, "national");
        return Response::ok(&json!({"data": [{
            "from": from,
            "to": to,
            "intensity": {"forecast": grams(g), "actual": grams(g), "index": index(g)}
        }]}));
    }
    let Some(id) = path.strip_prefix("/regional/regionid/") else {
        return invalid_path();
    };
    let Some((id, dno, short)) = id
        .parse::<u8>()
        .ok()
        .and_then(|id| REGIONS.iter().find(|(r, _, _)| *r == id))
    else {
        return error(
            400,
            "Bad Request",
            "Please enter a valid region id e.g. /regional/regionid/1",
        );
    };
    let g = value(world, &id.to_string());
    Response::ok(&json!({"data": [{
        "regionid": id,
        "dnoregion": dno,
        "shortname": short,
        "data": [{
            "from": from,
            "to": to,
            "intensity": {"forecast": grams(g), "index": index(g)},
            "generationmix": [
                {"fuel": "biomass", "perc": 5.1},
                {"fuel": "coal", "perc": 0.0},
                {"fuel": "imports", "perc": 9.4},
                {"fuel": "gas", "perc": 31.2},
                {"fuel": "nuclear", "perc": 14.8},
                {"fuel": "other", "perc": 0.3},
                {"fuel": "hydro", "perc": 1.6},
                {"fuel": "solar", "perc": 2.9},
                {"fuel": "wind", "perc": 34.7}
            ]
        }]
    }]}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;

    fn get(world: &World, path: &str) -> (u16, Value) {
        let req = Request {
            method: "GET".into(),
            path: format!("{PREFIX}{path}"),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let r = handle(world, &req);
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    #[test]
    fn national_and_regional_answers_have_the_documented_shapes() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        world.ukci.insert("13".into(), 121.4);
        let (status, body) = get(&world, "/regional/regionid/13");
        assert_eq!(status, 200);
        let region = &body["data"][0];
        assert_eq!(region["regionid"], 13);
        assert_eq!(region["shortname"], "London");
        let period = &region["data"][0];
        assert_eq!(period["intensity"]["forecast"], 121);
        assert_eq!(period["intensity"]["index"], "moderate");
        assert!(
            period["intensity"].get("actual").is_none(),
            "regional is forecast only"
        );
        let from = period["from"].as_str().unwrap();
        assert!(from.ends_with(":00Z") || from.ends_with(":30Z"), "{from}");
        assert_eq!(from.len(), "2026-11-30T09:30Z".len());

        let (status, body) = get(&world, "/intensity");
        assert_eq!(status, 200);
        assert_eq!(body["data"][0]["intensity"]["actual"], 150);
        assert_eq!(body["data"][0]["intensity"]["forecast"], 150);
        let (_, body) = get(&world, "/regional/regionid/16");
        assert_eq!(body["data"][0]["data"][0]["intensity"]["forecast"], 28);
        assert!(is_area("national") && is_area("1") && is_area("17"));
        assert!(!is_area("0") && !is_area("18") && !is_area("London"));
    }

    #[test]
    fn bad_paths_and_region_ids_get_the_api_error_body() {
        let world = World::from_seed(&Seed::demo()).unwrap();
        for path in ["/regional/regionid/18", "/regional/regionid/x", "/nothing"] {
            let (status, body) = get(&world, path);
            assert_eq!(status, 400, "{path}");
            assert_eq!(body["error"]["code"], "400 Bad Request", "{path}");
        }
        let r = fault(429);
        assert_eq!(r.status, 429);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Retry-After" && v == "1"));
    }
}
