//! The control API under `/_emulator/`: tests, benchmarks and demos change the world and read
//! the request log over HTTP when they cannot link the library (shell scripts, other
//! languages). No token, and never recorded in the request log.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock;
use crate::faults::FaultSpec;
use crate::http::{Request, Response};
use crate::k8s::resources::NODES;
use crate::seed::NodeSeed;
use crate::shared::Shared;
use crate::world::World;

fn bad(message: impl Into<String>) -> Response {
    Response::json(400, &json!({"error": message.into()}))
}

fn parse<'a, T: Deserialize<'a>>(req: &'a Request) -> Result<T, Response> {
    serde_json::from_slice(&req.body).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CpuSpec {
    percent: f64,
    node: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CarbonSpec {
    zone: String,
    carbon_intensity: f64,
    /// The zone's hourly forecast from the current hour; absent keeps the one set before.
    #[serde(default)]
    forecast: Option<Vec<f64>>,
}

/// A WattTime signal index for a region code.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WattTimeSpec {
    region: String,
    value: f64,
}

/// A UK Carbon Intensity value: `region` is a region id (`"13"`) or `"national"`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UkciSpec {
    region: String,
    carbon_intensity: f64,
    /// The area's half-hourly forecast from the current half hour; absent keeps the one set.
    #[serde(default)]
    forecast: Option<Vec<f64>>,
}

/// `now`: an RFC 3339 time the emulator's clock stands at until the next call, or null for
/// the real clock again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSpec {
    now: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuthSpec {
    allow_anonymous: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MetricsSpec {
    available: Option<bool>,
    age_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NodeSpec {
    node: String,
    ready: Option<bool>,
    unschedulable: Option<bool>,
    allocatable_cpu: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeName {
    node: String,
}

fn clock_json(world: &World) -> Value {
    json!({"now": clock::rfc3339(world.now()), "fixed": world.clock.is_some()})
}

pub fn handle(shared: &Shared, req: &Request) -> Response {
    let result = match (req.method.as_str(), req.path.trim_end_matches('/')) {
        ("PUT", "/_emulator/cpu") => parse::<CpuSpec>(req).and_then(|spec| {
            let mut world = shared.world();
            world
                .set_cpu_percent(spec.node.as_deref(), spec.percent)
                .map(|nodes| Response::ok(&json!({"nodes": nodes, "percent": spec.percent})))
                .map_err(bad)
        }),
        ("PUT", "/_emulator/carbon") => parse::<CarbonSpec>(req).and_then(|spec| {
            let valid = |g: f64| g.is_finite() && g >= 0.0;
            if !valid(spec.carbon_intensity) {
                return Err(bad("carbonIntensity must be a non-negative number"));
            }
            if spec.forecast.as_ref().is_some_and(|f| f.is_empty() || !f.iter().all(|g| valid(*g))) {
                return Err(bad("forecast must be a non-empty list of non-negative numbers"));
            }
            let mut world = shared.world();
            world.carbon.insert(spec.zone.clone(), spec.carbon_intensity);
            if let Some(forecast) = &spec.forecast {
                world.forecasts.insert(spec.zone.clone(), forecast.clone());
            }
            Ok(Response::ok(
                &json!({"zone": spec.zone, "carbonIntensity": spec.carbon_intensity, "forecast": spec.forecast}),
            ))
        }),
        ("PUT", "/_emulator/ukci") => parse::<UkciSpec>(req).and_then(|spec| {
            if !(spec.carbon_intensity.is_finite() && spec.carbon_intensity >= 0.0) {
                return Err(bad("carbonIntensity must be a non-negative number"));
            }
            if !crate::ukci::is_area(&spec.region) {
                return Err(bad("region must be a region id from 1 to 17, or national"));
            }
            let valid = |g: &f64| g.is_finite() && *g >= 0.0;
            if spec.forecast.as_ref().is_some_and(|f| f.is_empty() || !f.iter().all(valid)) {
                return Err(bad("forecast must be a non-empty list of non-negative numbers"));
            }
            let mut world = shared.world();
            world.ukci.insert(spec.region.clone(), spec.carbon_intensity);
            if let Some(forecast) = &spec.forecast {
                world.ukci_forecasts.insert(spec.region.clone(), forecast.clone());
            }
            Ok(Response::ok(
                &json!({"region": spec.region, "carbonIntensity": spec.carbon_intensity, "forecast": spec.forecast}),
            ))
        }),
        ("PUT", "/_emulator/watttime") => parse::<WattTimeSpec>(req).and_then(|spec| {
            if !(0.0..=100.0).contains(&spec.value) {
                return Err(bad("value must be a number from 0 to 100"));
            }
            shared.world().watttime.insert(spec.region.clone(), spec.value);
            Ok(Response::ok(&json!({"region": spec.region, "value": spec.value})))
        }),
        ("PUT", "/_emulator/metrics") => parse::<MetricsSpec>(req).and_then(|spec| {
            let mut world = shared.world();
            if let Some(on) = spec.available {
                world.metrics_available = on;
            }
            if let Some(age) = spec.age_seconds {
                let age = std::time::Duration::try_from_secs_f64(age)
                    .map_err(|_| bad("ageSeconds must be a non-negative number"))?;
                world.metrics_age = age;
            }
            Ok(Response::ok(&json!({
                "available": world.metrics_available,
                "ageSeconds": world.metrics_age.as_secs_f64()
            })))
        }),
        ("PUT", "/_emulator/nodes") => parse::<NodeSpec>(req).and_then(|spec| {
            let mut world = shared.world();
            let mut node = None;
            if let Some(ready) = spec.ready {
                node = Some(world.set_node_ready(&spec.node, ready));
            }
            if let Some(cordoned) = spec.unschedulable {
                node = Some(world.set_node_unschedulable(&spec.node, cordoned));
            }
            if let Some(cpu) = &spec.allocatable_cpu {
                node = Some(world.set_node_allocatable_cpu(&spec.node, cpu));
            }
            match node {
                Some(Ok(node)) => Ok(Response::ok(&node)),
                Some(Err(e)) if e.code == 404 => Err(bad(format!("no node named {:?}", spec.node))),
                Some(Err(e)) => Err(bad(e.message)),
                None => Err(bad("give ready, unschedulable and/or allocatableCpu")),
            }
        }),
        ("POST", "/_emulator/nodes") => parse::<NodeSeed>(req).and_then(|seed| {
            let mut world = shared.world();
            if world.get(&NODES, "", &seed.name).is_some() {
                return Err(bad(format!("node {:?} already exists", seed.name)));
            }
            world.join_node(&seed).map_err(|e| bad(format!("{e:#}")))?;
            let node = world.get(&NODES, "", &seed.name).cloned();
            Ok(Response::ok(&node))
        }),
        ("DELETE", "/_emulator/nodes") => parse::<NodeName>(req).and_then(|spec| {
            shared
                .world()
                .remove_node(&spec.node)
                .map_err(|_| bad(format!("no node named {:?}", spec.node)))?;
            Ok(Response::ok(&json!({"deleted": spec.node})))
        }),
        ("PUT", "/_emulator/clock") => parse::<ClockSpec>(req).and_then(|spec| {
            let clock = match spec.now.as_deref() {
                None => None,
                Some(text) => Some(clock::parse_rfc3339(text).ok_or_else(|| {
                    bad(format!(
                        "now must be an RFC 3339 time like 2022-10-31T06:00:00Z, got {text:?}"
                    ))
                })?),
            };
            let mut world = shared.world();
            world.clock = clock;
            Ok(Response::ok(&clock_json(&world)))
        }),
        ("GET", "/_emulator/clock") => Ok(Response::ok(&clock_json(&shared.world()))),
        ("PUT", "/_emulator/auth") => parse::<AuthSpec>(req).map(|spec| {
            shared.world().allow_anonymous = spec.allow_anonymous;
            Response::ok(&json!({"allowAnonymous": spec.allow_anonymous}))
        }),
        ("POST", "/_emulator/faults") => parse::<FaultSpec>(req).and_then(|spec| {
            let fault = spec.into_fault().map_err(bad)?;
            shared.faults().add(fault);
            Ok(Response::json(201, &json!({"added": true})))
        }),
        ("POST", "/_emulator/hpa-sync") => {
            let hpas = crate::autoscaling::sync(&mut shared.world());
            Ok(Response::ok(&json!({"hpas": hpas})))
        }
        ("DELETE", "/_emulator/faults") => {
            shared.faults().clear();
            Ok(Response::ok(&json!({"cleared": true})))
        }
        ("GET", "/_emulator/requests") => {
            let log: Value = serde_json::to_value(&*shared.log()).expect("records serialize");
            Ok(Response::ok(&log))
        }
        ("DELETE", "/_emulator/requests") => {
            shared.log().clear();
            Ok(Response::ok(&json!({"cleared": true})))
        }
        (
            _,
            "/_emulator/cpu"
            | "/_emulator/nodes"
            | "/_emulator/carbon"
            | "/_emulator/ukci"
            | "/_emulator/watttime"
            | "/_emulator/metrics"
            | "/_emulator/clock"
            | "/_emulator/faults"
            | "/_emulator/hpa-sync"
            | "/_emulator/requests",
        ) => Err(Response::json(
            405,
            &json!({"error": format!("{} is not allowed on {}", req.method, req.path)}),
        )),
        _ => Err(Response::json(
            404,
            &json!({"error": format!("no admin endpoint {}", req.path)}),
        )),
    };
    result.unwrap_or_else(|e| e)
}
