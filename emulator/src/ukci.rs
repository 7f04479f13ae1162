//! The UK Carbon Intensity API (NESO, api.carbonintensity.org.uk): no token; `GET /intensity`
//! answers the national half hour with `forecast` and `actual`, `GET /regional/regionid/{id}`
//! one of the 17 regions with a `forecast` only, each with the qualitative `index`; the
//! forecasts `GET /intensity/{from}/fw24h` (or `fw48h`) and `GET
//! /regional/intensity/{from}/fw24h/regionid/{id}` answer the half hours from `{from}`, the
//! regional one with the region as an object rather than a list; errors are `{"error": {"code":
//! "400 Bad Request", "message": ...}}`. Served under `/ukci`, so carbonctl's `UKCI_API_URL` is
//! `http://127.0.0.1:PORT/ukci`.

use std::time::{Duration, UNIX_EPOCH};

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

/// The forecast for `key` over the half hour starting `at`: the values set from the current half
/// hour on (the last one repeating), else the area's value.
fn forecast_at(world: &World, key: &str, at: u64) -> f64 {
    let now = world
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let current = now - now % 1800;
    let set = world.ukci_forecasts.get(key).filter(|_| at >= current);
    set.and_then(|v| {
        let k = ((at - current) / 1800) as usize;
        v.get(k).or(v.last()).copied()
    })
    .unwrap_or_else(|| value(world, key))
}

/// `{from}/fw24h` or `{from}/fw48h` at the start of `rest`: the half hours asked for, and what
/// follows them in the path.
fn window(rest: &str) -> Option<(u64, u64, &str)> {
    let (from, rest) = rest.split_once('/')?;
    let (periods, rest) = match rest.split_once('/') {
        Some((fw, rest)) => (fw, rest),
        None => (rest, ""),
    };
    let periods = match periods {
        "fw24h" => 48,
        "fw48h" => 96,
        _ => return None,
    };
    let at = clock::parse_rfc3339(from)?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((at - at % 1800, periods, rest))
}

/// A half hour's ends as the API words them.
fn ends(start: u64) -> (String, String) {
    clock::half_hour(UNIX_EPOCH + Duration::from_secs(start))
}

fn forecast_periods(
    world: &World,
    key: &str,
    start: u64,
    periods: u64,
    regional: bool,
) -> Vec<Value> {
    let now = world
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    (0..periods)
        .map(|k| {
            let at = start + k * 1800;
            let (from, to) = ends(at);
            let g = forecast_at(world, key, at);
            if regional {
                json!({"from": from, "to": to, "intensity": {"forecast": grams(g), "index": index(g)}, "generationmix": generation_mix()})
            } else {
                // The estimated actual exists only for half hours that have begun.
                let actual = if at <= now { grams(g) } else { Value::Null };
                json!({"from": from, "to": to, "intensity": {"forecast": grams(g), "actual": actual, "index": index(g)}})
            }
        })
        .collect()
}

/// A regional half hour's generation mix (the same for every one here; carbonctl does not read
/// it, but it makes up most of a regional answer's size).
fn generation_mix() -> Value {
    json!([
        {"fuel": "biomass", "perc": 5.1},
        {"fuel": "coal", "perc": 0.0},
        {"fuel": "imports", "perc": 9.4},
        {"fuel": "gas", "perc": 31.2},
        {"fuel": "nuclear", "perc": 14.8},
        {"fuel": "other", "perc": 0.3},
        {"fuel": "hydro", "perc": 1.6},
        {"fuel": "solar", "perc": 2.9},
        {"fuel": "wind", "perc": 34.7}
    ])
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
    if let Some(rest) = path.strip_prefix("/intensity/") {
        let Some((start, periods, "")) = window(rest) else {
            return invalid_path();
        };
        return Response::ok(
            &json!({"data": forecast_periods(world, "national", start, periods, false)}),
        );
    }
    if let Some(rest) = path.strip_prefix("/regional/intensity/") {
        let Some((start, periods, region)) = window(rest) else {
            return invalid_path();
        };
        let Some((id, dno, short)) = region
            .strip_prefix("regionid/")
            .and_then(|id| id.parse::<u8>().ok())
            .and_then(|id| REGIONS.iter().find(|(r, _, _)| *r == id))
        else {
            return error(
                400,
                "Bad Request",
                "Please enter a valid region id e.g. /regional/intensity/2018-05-15T12:00Z/fw24h/regionid/1",
            );
        };
        return Response::ok(&json!({"data": {
            "regionid": id,
            "dnoregion": dno,
            "shortname": short,
            "data": forecast_periods(world, &id.to_string(), start, periods, true)
        }}));
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
            "generationmix": generation_mix()
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
    fn forecasts_answer_the_half_hours_from_the_time_asked() {
        let mut world = World::from_seed(&Seed::demo()).unwrap();
        let now = world.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let current = now - now % 1800;
        let (from, _) = ends(current);
        world
            .ukci_forecasts
            .insert("13".into(), vec![100.0, 140.0, 300.0]);
        let (status, body) = get(
            &world,
            &format!("/regional/intensity/{from}/fw24h/regionid/13"),
        );
        assert_eq!(status, 200);
        assert_eq!(body["data"]["shortname"], "London");
        let periods = body["data"]["data"].as_array().unwrap();
        assert_eq!(periods.len(), 48);
        assert_eq!(periods[0]["from"], from.as_str());
        let values: Vec<i64> = periods
            .iter()
            .map(|p| p["intensity"]["forecast"].as_i64().unwrap())
            .collect();
        assert_eq!(&values[..4], [100, 140, 300, 300]);
        let (status, body) = get(&world, &format!("/intensity/{from}/fw48h"));
        assert_eq!(status, 200);
        let periods = body["data"].as_array().unwrap();
        assert_eq!(periods.len(), 96);
        assert_eq!(
            periods[0]["intensity"]["forecast"], 150,
            "national's value throughout"
        );
        assert_eq!(
            periods[1]["intensity"]["actual"],
            Value::Null,
            "no actual for what has not begun"
        );
        for bad in [
            format!("/intensity/{from}/fw12h"),
            "/intensity/yesterday/fw24h".to_string(),
            format!("/regional/intensity/{from}/fw24h/regionid/18"),
        ] {
            assert_eq!(get(&world, &bad).0, 400, "{bad}");
        }
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
