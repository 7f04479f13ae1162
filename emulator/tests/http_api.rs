//! The emulator over real HTTP on loopback, through the library handle: what carbonctl's
//! client will see (status codes, Status bodies, headers) and what tests can change.

use std::collections::BTreeMap;
use std::time::Duration;

use kube_emulator::{Emulator, Fault, FaultKind, Seed};
use serde_json::{json, Value};

struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Client {
    fn new(emu: &Emulator) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        Client {
            agent,
            base: emu.base_url(),
            token: Some(emu.token()),
        }
    }

    fn anonymous(mut self) -> Client {
        self.token = None;
        self
    }

    fn with_token(mut self, token: &str) -> Client {
        self.token = Some(token.into());
        self
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Result<Answer, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        let request = builder
            .body(body.unwrap_or("").as_bytes().to_vec())
            .unwrap();
        let mut response = self.agent.run(request)?;
        let retry_after = response
            .headers()
            .get("Retry-After")
            .map(|v| v.to_str().unwrap().to_string());
        Ok(Answer {
            status: response.status().as_u16(),
            retry_after,
            text: response.body_mut().read_to_string()?,
        })
    }

    fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None, None).unwrap()
    }

    fn call_with_accept(&self, path: &str, accept: &str) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.header("Accept", accept).call().unwrap();
        Answer {
            status: response.status().as_u16(),
            retry_after: None,
            text: response.body_mut().read_to_string().unwrap(),
        }
    }

    fn send(&self, method: &str, path: &str, content_type: &str, body: &Value) -> Answer {
        self.call(method, path, Some(content_type), Some(&body.to_string()))
            .unwrap()
    }

    fn carbon(&self, zone: &str, token: &str) -> Answer {
        self.carbon_api(&format!("latest?zone={zone}"), token)
    }

    /// `GET /v3/carbon-intensity/{what}` with the `auth-token` header.
    fn carbon_api(&self, what: &str, token: &str) -> Answer {
        let url = format!("{}/v3/carbon-intensity/{what}", self.base);
        let mut response = self
            .agent
            .get(&url)
            .header("auth-token", token)
            .call()
            .unwrap();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .map(|v| v.to_str().unwrap().to_string());
        Answer {
            status: response.status().as_u16(),
            retry_after,
            text: response.body_mut().read_to_string().unwrap(),
        }
    }
}

fn demo() -> (Emulator, Client) {
    let emu = Emulator::start(Seed::demo()).unwrap();
    let client = Client::new(&emu);
    (emu, client)
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

const SCALE: &str = "/apis/apps/v1/namespaces/default/deployments/nginx-france/scale";
const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[test]
fn tokens_anonymous_access_and_the_request_log() {
    let (emu, client) = demo();
    assert_eq!(client.get("/api/v1/nodes").status, 200);
    let wrong = Client::new(&emu).with_token("nope").get("/api/v1/nodes");
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["reason"], "Unauthorized");
    assert_eq!(wrong.json()["code"], 401);
    let anonymous = Client::new(&emu).anonymous();
    assert_eq!(anonymous.get("/api/v1/nodes").status, 200);
    emu.set_allow_anonymous(false);
    assert_eq!(anonymous.get("/api/v1/nodes").status, 401);
    let log = emu.requests();
    let users: Vec<_> = log.iter().map(|r| r.user.as_deref()).collect();
    assert_eq!(
        users,
        [Some("kube-emulator"), None, Some("system:anonymous"), None]
    );
    assert_eq!(log[0].verb.as_deref(), Some("list"));
    assert_eq!(log[0].resource.as_deref(), Some("nodes"));
    assert_eq!(log[0].api_group.as_deref(), Some(""));
    assert_eq!(log[1].status, 401);
    emu.clear_requests();
    assert!(emu.requests().is_empty());
}

#[test]
fn node_lists_accept_selector_forms_and_kube_rs_query_strings() {
    let (_emu, client) = demo();
    let cases = [
        ("?&labelSelector=region%3Dfrance", vec!["worker-france"]),
        (
            "?labelSelector=region%21%3Dfrance",
            vec!["control-plane", "worker-denmark", "worker-latvia"],
        ),
        (
            "?labelSelector=region+in+(france,latvia)",
            vec!["worker-france", "worker-latvia"],
        ),
        (
            "?labelSelector=region+notin+(france)",
            vec!["control-plane", "worker-denmark", "worker-latvia"],
        ),
        (
            "?labelSelector=region",
            vec!["worker-denmark", "worker-france", "worker-latvia"],
        ),
        ("?labelSelector=%21region", vec!["control-plane"]),
        (
            "?",
            vec![
                "control-plane",
                "worker-denmark",
                "worker-france",
                "worker-latvia",
            ],
        ),
    ];
    for (query, want) in cases {
        let list = client.get(&format!("/api/v1/nodes{query}")).json();
        assert_eq!(list["kind"], "NodeList");
        assert_eq!(names(&list), want, "{query}");
        assert!(
            list["items"][0].get("kind").is_none(),
            "list items carry no kind"
        );
    }
    let bad = client.get("/api/v1/nodes?labelSelector=region+in+(a");
    assert_eq!(
        (bad.status, bad.json()["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let node = client.get("/api/v1/nodes/worker-latvia").json();
    assert_eq!(node["status"]["allocatable"]["cpu"], "4");
    assert_eq!(node["kind"], "Node");
}

#[test]
fn scale_subresource_get_put_and_all_patch_types() {
    let (emu, client) = demo();
    let scale = client.get(SCALE).json();
    assert_eq!(
        (scale["kind"].as_str(), scale["apiVersion"].as_str()),
        (Some("Scale"), Some("autoscaling/v1"))
    );
    assert_eq!(scale["spec"]["replicas"], 2);

    let merged = client.send(
        "PATCH",
        SCALE,
        "application/merge-patch+json",
        &json!({"spec": {"replicas": 3}}),
    );
    assert_eq!(merged.status, 200);
    assert_eq!(emu.replicas("default", "nginx-france"), Some(3));
    let strategic = client.send(
        "PATCH",
        SCALE,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"replicas": 4}}),
    );
    assert_eq!(strategic.json()["spec"]["replicas"], 4);

    let conditional = json!([{"op": "test", "path": "/spec/replicas", "value": 4},
                             {"op": "replace", "path": "/spec/replicas", "value": 5}]);
    assert_eq!(
        client
            .send("PATCH", SCALE, "application/json-patch+json", &conditional)
            .status,
        200
    );
    assert_eq!(emu.replicas("default", "nginx-france"), Some(5));
    let refused = client.send("PATCH", SCALE, "application/json-patch+json", &conditional);
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["reason"], "Invalid");
    assert_eq!(
        refused.json()["message"],
        "the server rejected our request due to an error in our request"
    );
    assert_eq!(emu.replicas("default", "nginx-france"), Some(5));

    let apply = client.send("PATCH", SCALE, "application/apply-patch+yaml", &json!({}));
    assert_eq!(apply.status, 415);
    assert_eq!(apply.json()["reason"], "UnsupportedMediaType");

    let mut stale = scale.clone();
    stale["spec"]["replicas"] = 1.into();
    let conflict = client.send("PUT", SCALE, "application/json", &stale);
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.json()["reason"], "Conflict");
    assert_eq!(
        conflict.json()["details"],
        json!({"name": "nginx-france", "group": "apps", "kind": "deployments"})
    );
    let mut fresh = client.get(SCALE).json();
    fresh["spec"]["replicas"] = 1.into();
    assert_eq!(
        client.send("PUT", SCALE, "application/json", &fresh).status,
        200
    );
    assert_eq!(emu.replicas("default", "nginx-france"), Some(1));
    assert_eq!(emu.ready_replicas("default", "nginx-france"), Some(1));

    let log = emu.requests();
    let pairs: Vec<_> = log
        .iter()
        .map(|r| (r.verb.clone().unwrap(), r.resource.clone().unwrap()))
        .collect();
    assert!(pairs.contains(&("patch".into(), "deployments/scale".into())));
    assert!(pairs.contains(&("update".into(), "deployments/scale".into())));
}

#[test]
fn deployment_patch_with_a_failed_test_changes_nothing() {
    let (emu, client) = demo();
    let path = "/apis/apps/v1/namespaces/default/deployments/nginx-latvia";
    emu.set_replicas("default", "nginx-latvia", 3);
    let ops = json!([{"op": "test", "path": "/spec/replicas", "value": 2},
                     {"op": "replace", "path": "/spec/replicas", "value": 1}]);
    let before = client.get(path).json();
    assert_eq!(
        client
            .send("PATCH", path, "application/json-patch+json", &ops)
            .status,
        422
    );
    assert_eq!(
        client.get(path).json()["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    let deployment = client.get(path).json();
    assert_eq!(deployment["status"]["readyReplicas"], 3);
    assert_eq!(
        deployment["status"]["observedGeneration"],
        deployment["metadata"]["generation"]
    );
}

#[test]
fn configmap_lifecycle_with_optimistic_concurrency() {
    let (emu, client) = demo();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "state"}, "data": {"v": "1"}});
    let created = client
        .call("POST", CMS, None, Some(&cm.to_string()))
        .unwrap();
    assert_eq!(created.status, 201, "POST without Content-Type is JSON");
    let again = client.send("POST", CMS, "application/json", &cm);
    assert_eq!(
        (again.status, again.json()["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    assert_eq!(
        again.json()["message"],
        "configmaps \"state\" already exists"
    );

    let current = created.json();
    let mut next = current.clone();
    next["data"]["v"] = "2".into();
    let updated = client.send("PUT", &format!("{CMS}/state"), "application/json", &next);
    assert_eq!(updated.status, 200);
    let rv_before: u64 = current["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rv_after: u64 = updated.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv_after > rv_before);
    let stale = client.send("PUT", &format!("{CMS}/state"), "application/json", &next);
    assert_eq!(stale.status, 409);
    assert_eq!(stale.json()["reason"], "Conflict");

    let mut blind = next.clone();
    blind["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    blind["data"]["v"] = "3".into();
    assert_eq!(
        client
            .send("PUT", &format!("{CMS}/state"), "application/json", &blind)
            .status,
        200
    );
    let patched = client.send(
        "PATCH",
        &format!("{CMS}/state"),
        "application/merge-patch+json",
        &json!({"data": {"w": "x"}}),
    );
    assert_eq!(patched.status, 200);
    assert_eq!(
        emu.configmap_data("default", "state").unwrap(),
        BTreeMap::from([("v".into(), "3".into()), ("w".into(), "x".into())])
    );

    let deleted = client
        .call("DELETE", &format!("{CMS}/state"), None, None)
        .unwrap();
    assert_eq!(deleted.json()["status"], "Success");
    let missing = client.get(&format!("{CMS}/state"));
    assert_eq!(
        (missing.status, missing.json()["message"].as_str()),
        (404, Some("configmaps \"state\" not found"))
    );

    let malformed = client
        .call("POST", CMS, Some("application/json"), Some("{not json"))
        .unwrap();
    assert_eq!(
        (malformed.status, malformed.json()["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let yaml = client
        .call("POST", CMS, Some("application/yaml"), Some("a: b"))
        .unwrap();
    assert_eq!(yaml.status, 415);
}

#[test]
fn unknown_paths_wrong_methods_and_discovery() {
    let (_emu, client) = demo();
    let unknown = client.get("/api/v1/pods");
    assert_eq!(
        (unknown.status, unknown.json()["reason"].as_str()),
        (404, Some("NotFound"))
    );
    assert_eq!(client.get("/nonsense").status, 404);
    let wrong = client.send("POST", "/api/v1/nodes", "application/json", &json!({}));
    assert_eq!(
        (wrong.status, wrong.json()["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
    assert_eq!(
        client
            .send("DELETE", SCALE, "application/json", &json!({}))
            .status,
        405
    );
    let apps = client.get("/apis/apps/v1").json();
    assert_eq!(apps["resources"][1]["name"], "deployments/scale");
    assert_eq!(client.get("/version").json()["major"], "1");
    let groups = client.get("/apis").json();
    let group_names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        group_names,
        [
            "apps",
            "authorization.k8s.io",
            "autoscaling",
            "keda.sh",
            "metrics.k8s.io"
        ]
    );
}

#[test]
fn node_metrics_follow_cpu_availability_and_age() {
    let (emu, client) = demo();
    let path = "/apis/metrics.k8s.io/v1beta1/nodes";
    let list = client.get(&format!("{path}?labelSelector=region")).json();
    assert_eq!(
        names(&list),
        ["worker-denmark", "worker-france", "worker-latvia"]
    );
    assert_eq!(list["items"][0]["usage"]["cpu"], "1800000000n");
    emu.set_cpu_percent(Some("worker-france"), 82.0);
    let one = client.get(&format!("{path}/worker-france")).json();
    assert_eq!(one["usage"]["cpu"], "3280000000n");
    emu.set_cpu_percent(None, 10.0);
    assert_eq!(
        client.get(&format!("{path}/worker-latvia")).json()["usage"]["cpu"],
        "400000000n"
    );
    // Whole nanocores, as metrics-server reports them, not millicores.
    emu.set_cpu_percent(Some("worker-latvia"), 30.8333333);
    assert_eq!(
        client.get(&format!("{path}/worker-latvia")).json()["usage"]["cpu"],
        "1233333332n"
    );

    emu.set_node_ready("worker-latvia", false);
    assert_eq!(client.get(&format!("{path}/worker-latvia")).status, 404);
    let node = client.get("/api/v1/nodes/worker-latvia").json();
    assert!(node["spec"]["taints"].to_string().contains("not-ready"));

    emu.set_metrics_age(Duration::from_secs(600));
    let stamp = client.get(&format!("{path}/worker-france")).json()["timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let created = client.get(&format!("{path}/worker-france")).json()["metadata"]
        ["creationTimestamp"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stamp < created, "{stamp} should be older than {created}");

    emu.set_metrics_available(false);
    assert_eq!(client.get(path).status, 404);
    assert_eq!(client.get("/apis/metrics.k8s.io/v1beta1").status, 404);
    assert!(!client.get("/apis").text.contains("metrics.k8s.io"));
}

#[test]
fn the_clock_can_stand_at_a_set_time_and_timestamps_follow_it() {
    let (_emu, client) = demo();
    let set = |now: Value| {
        client.send(
            "PUT",
            "/_emulator/clock",
            "application/json",
            &json!({ "now": now }),
        )
    };
    let answer = set(json!("2022-10-31T06:07:30Z"));
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"now": "2022-10-31T06:07:30Z", "fixed": true})
    );
    let fr = client.carbon("FR", "demo-token").json();
    assert_eq!(fr["datetime"], "2022-10-31T06:00:00.000Z");
    assert_eq!(fr["updatedAt"], "2022-10-31T06:07:30.000Z");
    let metrics = client
        .get("/apis/metrics.k8s.io/v1beta1/nodes/worker-france")
        .json();
    assert_eq!(
        metrics["metadata"]["creationTimestamp"],
        "2022-10-31T06:07:30Z"
    );
    assert_eq!(
        metrics["timestamp"], "2022-10-31T06:07:15Z",
        "the scrape lags by 15 s"
    );
    let event = json!({"metadata": {"generateName": "nginx-france."}, "reason": "ScaledUp",
                       "involvedObject": {"kind": "Deployment", "name": "nginx-france"}, "type": "Normal"});
    let created = client.send(
        "POST",
        "/api/v1/namespaces/default/events",
        "application/json",
        &event,
    );
    assert_eq!(
        created.json()["metadata"]["creationTimestamp"],
        "2022-10-31T06:07:30Z"
    );

    let bad = set(json!("yesterday"));
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("RFC 3339"));
    assert_eq!(
        client.get("/_emulator/clock").json()["now"],
        "2022-10-31T06:07:30Z"
    );
    let real = set(Value::Null);
    assert_eq!(real.json()["fixed"], false);
    assert!(
        real.json()["now"].as_str().unwrap() > "2026",
        "the real clock again"
    );
}

#[test]
fn events_with_generate_name() {
    let (emu, client) = demo();
    let event = json!({"metadata": {"generateName": "nginx-france."}, "reason": "ScaledUp",
                       "involvedObject": {"kind": "Deployment", "name": "nginx-france"}, "type": "Normal"});
    let path = "/api/v1/namespaces/default/events";
    let first = client.send("POST", path, "application/json", &event);
    assert_eq!(first.status, 201);
    assert!(first.json()["metadata"]["name"]
        .as_str()
        .unwrap()
        .starts_with("nginx-france."));
    let mut second = event.clone();
    second["reason"] = "ScaledDown".into();
    client.send("POST", path, "application/json", &second);
    assert_eq!(names(&client.get(path).json()).len(), 2);
    let reasons: Vec<_> = emu
        .events("default")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert_eq!(reasons, ["ScaledUp", "ScaledDown"], "oldest first");
    assert!(emu.events("kube-system").is_empty());
}

#[test]
fn carbon_api_tokens_zones_and_updates() {
    let (emu, client) = demo();
    let fr = client.carbon("FR", "demo-token");
    assert_eq!(fr.status, 200);
    assert_eq!(fr.json()["carbonIntensity"], 38);
    emu.set_carbon("FR", 43.5);
    assert_eq!(
        client.carbon("FR", "demo-fr").json()["carbonIntensity"],
        43.5
    );
    assert_eq!(client.carbon("LV", "demo-fr").status, 401);
    assert_eq!(
        client.carbon("FR", "bogus").json()["error"],
        "Invalid auth-token"
    );
    assert_eq!(client.carbon("XX", "demo-token").status, 404);
    let record = emu.requests().pop().unwrap();
    assert_eq!(
        (record.path.as_str(), record.query.as_str()),
        ("/v3/carbon-intensity/latest", "zone=XX")
    );
    assert_eq!(record.verb, None);
}

#[test]
fn faults_status_delay_drop_and_malformed() {
    let (emu, client) = demo();
    emu.inject_fault(
        Fault::new(
            "/api/v1/namespaces/default/configmaps",
            FaultKind::Status(409),
        )
        .method("PUT"),
    );
    emu.inject_fault(Fault::new("/api/v1/nodes", FaultKind::Status(403)));
    emu.inject_fault(Fault::new("/v3/", FaultKind::Status(429)).times(2));
    let forbidden = client.get("/api/v1/nodes");
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json()["message"], "nodes is forbidden: User \"kube-emulator\" cannot list resource \"nodes\" in API group \"\" at the cluster scope");
    assert_eq!(
        client.get("/api/v1/nodes").status,
        200,
        "a count-1 fault is used up"
    );
    let conflict = client.send("PUT", &format!("{CMS}/x"), "application/json", &json!({}));
    assert_eq!(
        (conflict.status, conflict.json()["reason"].as_str()),
        (409, Some("Conflict"))
    );
    for _ in 0..2 {
        let limited = client.carbon("FR", "demo-token");
        assert_eq!(
            (limited.status, limited.retry_after.as_deref()),
            (429, Some("1"))
        );
        assert!(limited.json()["error"].is_string());
    }
    assert_eq!(client.carbon("FR", "demo-token").status, 200);

    emu.inject_fault(Fault::new("/v3/", FaultKind::Status(500)));
    assert_eq!(client.carbon("FR", "demo-token").status, 500);
    emu.inject_fault(Fault::new("/api/v1/nodes", FaultKind::Status(429)));
    assert_eq!(
        client.get("/api/v1/nodes").retry_after.as_deref(),
        Some("1")
    );

    emu.inject_fault(Fault::new("/api/v1/nodes", FaultKind::Malformed));
    let garbled = client.get("/api/v1/nodes");
    assert_eq!(garbled.status, 200);
    assert!(serde_json::from_str::<Value>(&garbled.text).is_err());

    emu.inject_fault(Fault::new("/api/v1/nodes", FaultKind::Drop));
    assert!(client.call("GET", "/api/v1/nodes", None, None).is_err());
    assert_eq!(emu.requests().last().unwrap().status, 0);

    let impatient = Client {
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_millis(200)))
            .build()
            .into(),
        base: emu.base_url(),
        token: Some(emu.token()),
    };
    emu.inject_fault(Fault::new("/api/v1/nodes", FaultKind::DelayMs(1500)));
    assert!(impatient.call("GET", "/api/v1/nodes", None, None).is_err());
    emu.inject_fault(Fault::new("/api/v1/nodes", FaultKind::DelayMs(50)));
    assert_eq!(
        impatient.get("/api/v1/nodes").status,
        200,
        "a short delay still answers"
    );

    emu.inject_fault(Fault::new("/", FaultKind::Status(500)).times(100));
    emu.clear_faults();
    assert_eq!(client.get("/api/v1/nodes").status, 200);
}

#[test]
fn forecasts_are_hourly_from_the_current_hour_for_the_horizon_asked() {
    let (_emu, client) = demo();
    let set = client.send(
        "PUT",
        "/_emulator/carbon",
        "application/json",
        &json!({"zone": "FR", "carbonIntensity": 43, "forecast": [43, 60, 120]}),
    );
    assert_eq!(set.status, 200);
    let answer = client.carbon_api("forecast?zone=FR&horizonHours=6", "demo-token");
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["zone"], "FR");
    let points = body["forecast"].as_array().unwrap();
    let values: Vec<i64> = points
        .iter()
        .map(|p| p["carbonIntensity"].as_i64().unwrap())
        .collect();
    assert_eq!(
        values,
        [43, 60, 120, 120, 120, 120],
        "the last value repeats"
    );
    assert!(points[0]["datetime"]
        .as_str()
        .unwrap()
        .ends_with(":00:00.000Z"));
    let day = client.carbon_api("forecast?zone=DK", "demo-token").json();
    assert_eq!(
        day["forecast"].as_array().unwrap().len(),
        24,
        "24 hours unless asked"
    );
    assert_eq!(
        day["forecast"][23]["carbonIntensity"],
        day["forecast"][0]["carbonIntensity"]
    );

    let cases = [
        (
            "forecast?zone=FR&horizonHours=12",
            "demo-token",
            400,
            "horizonHours must be one of",
        ),
        ("forecast?zone=FR", "demo-dk", 401, "requestType=forecast"),
        ("forecast?zone=FR", "nope", 401, "Invalid auth-token"),
        ("forecast", "demo-token", 400, "Please provide a zone"),
    ];
    for (what, token, status, excerpt) in cases {
        let answer = client.carbon_api(what, token);
        assert_eq!(answer.status, status, "{what}: {}", answer.text);
        assert!(answer.text.contains(excerpt), "{what}: {}", answer.text);
    }
    let bad = client.send(
        "PUT",
        "/_emulator/carbon",
        "application/json",
        &json!({"zone": "FR", "carbonIntensity": 43, "forecast": []}),
    );
    assert_eq!(bad.status, 400);
    let bad = client.send(
        "PUT",
        "/_emulator/ukci",
        "application/json",
        &json!({"region": "13", "carbonIntensity": 43, "forecast": [-1]}),
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn admin_api_changes_the_world_and_is_not_logged() {
    let (emu, client) = demo();
    let cpu = client.send(
        "PUT",
        "/_emulator/cpu",
        "application/json",
        &json!({"percent": 85}),
    );
    assert_eq!(
        cpu.json()["nodes"],
        json!(["worker-denmark", "worker-france", "worker-latvia"])
    );
    client.send(
        "PUT",
        "/_emulator/cpu",
        "application/json",
        &json!({"percent": 10, "node": "worker-france"}),
    );
    let metrics = client
        .get("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=region")
        .json();
    assert_eq!(metrics["items"][0]["usage"]["cpu"], "3400000000n");
    assert_eq!(metrics["items"][1]["usage"]["cpu"], "400000000n");
    assert_eq!(
        client
            .send(
                "PUT",
                "/_emulator/cpu",
                "application/json",
                &json!({"percent": 1, "node": "nope"})
            )
            .status,
        400
    );

    client.send(
        "PUT",
        "/_emulator/carbon",
        "application/json",
        &json!({"zone": "FR", "carbonIntensity": 43}),
    );
    assert_eq!(
        client.carbon("FR", "demo-token").json()["carbonIntensity"],
        43
    );

    let london = client.send(
        "PUT",
        "/_emulator/ukci",
        "application/json",
        &json!({"region": "13", "carbonIntensity": 64}),
    );
    assert_eq!(london.status, 200);
    let regional = client.get("/ukci/regional/regionid/13").json();
    assert_eq!(regional["data"][0]["data"][0]["intensity"]["forecast"], 64);
    let wrong = client.send(
        "PUT",
        "/_emulator/ukci",
        "application/json",
        &json!({"region": "18", "carbonIntensity": 64}),
    );
    assert_eq!(wrong.status, 400);
    let fault = json!({"pathPrefix": "/ukci/", "status": 503, "count": 1});
    client.send("POST", "/_emulator/faults", "application/json", &fault);
    let unavailable = client.get("/ukci/intensity");
    assert_eq!(unavailable.status, 503);
    assert_eq!(
        unavailable.json()["error"]["code"],
        "503 Service Unavailable"
    );

    let fault = json!({"method": "GET", "pathPrefix": "/v3/", "status": 401, "count": 1});
    assert_eq!(
        client
            .send("POST", "/_emulator/faults", "application/json", &fault)
            .status,
        201
    );
    assert_eq!(client.carbon("FR", "demo-token").status, 401);
    client.send(
        "POST",
        "/_emulator/faults",
        "application/json",
        &json!({"pathPrefix": "/", "drop": true, "count": 5}),
    );
    assert_eq!(
        client
            .call("DELETE", "/_emulator/faults", None, None)
            .unwrap()
            .status,
        200
    );
    assert_eq!(client.get("/api").status, 200);
    let bad = client.send(
        "POST",
        "/_emulator/faults",
        "application/json",
        &json!({"pathPrefix": "/", "status": 500, "drop": true}),
    );
    assert_eq!(bad.status, 400);

    client.send(
        "PUT",
        "/_emulator/metrics",
        "application/json",
        &json!({"available": false}),
    );
    assert_eq!(client.get("/apis/metrics.k8s.io/v1beta1/nodes").status, 404);
    client.send(
        "PUT",
        "/_emulator/auth",
        "application/json",
        &json!({"allowAnonymous": false}),
    );
    assert_eq!(Client::new(&emu).anonymous().get("/api").status, 401);

    let log = client.get("/_emulator/requests").json();
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().all(|p| !p.starts_with("/_emulator")),
        "{paths:?}"
    );
    assert_eq!(paths.len(), emu.requests().len());
    assert_eq!(log[0]["apiGroup"], "metrics.k8s.io");
    client
        .call("DELETE", "/_emulator/requests", None, None)
        .unwrap();
    assert!(emu.requests().is_empty());
}

#[test]
fn admin_nodes_join_leave_and_change_allocatable_cpu() {
    let (_emu, client) = demo();
    let joined = client.send(
        "POST",
        "/_emulator/nodes",
        "application/json",
        &json!({"name": "worker-denmark-2", "labels": {"region": "denmark"}, "cpuPercent": 50}),
    );
    assert_eq!(joined.status, 200, "{}", joined.text);
    let again = client.send(
        "POST",
        "/_emulator/nodes",
        "application/json",
        &json!({"name": "worker-denmark-2"}),
    );
    assert_eq!(again.status, 400, "a name in use");
    let metrics = client
        .get("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=region%3Ddenmark")
        .json();
    assert_eq!(
        names(&metrics),
        ["worker-denmark", "worker-denmark-2"],
        "the new node reports NodeMetrics"
    );
    let changed = client.send(
        "PUT",
        "/_emulator/nodes",
        "application/json",
        &json!({"node": "worker-denmark-2", "allocatableCpu": "8"}),
    );
    assert_eq!(changed.json()["status"]["allocatable"]["cpu"], "8");
    let bad = client.send(
        "PUT",
        "/_emulator/nodes",
        "application/json",
        &json!({"node": "worker-denmark-2", "allocatableCpu": "lots"}),
    );
    assert_eq!(bad.status, 400);
    let deleted = client.send(
        "DELETE",
        "/_emulator/nodes",
        "application/json",
        &json!({"node": "worker-denmark-2"}),
    );
    assert_eq!(deleted.status, 200);
    assert_eq!(client.get("/api/v1/nodes/worker-denmark-2").status, 404);
    let metrics = client
        .get("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=region%3Ddenmark")
        .json();
    assert_eq!(names(&metrics), ["worker-denmark"]);
    let gone = client.send(
        "DELETE",
        "/_emulator/nodes",
        "application/json",
        &json!({"node": "worker-denmark-2"}),
    );
    assert_eq!(gone.status, 400);
}

#[test]
fn library_changes_are_visible_over_http() {
    let (emu, client) = demo();
    let deploy = "/apis/apps/v1/namespaces/default/deployments/nginx-denmark";
    let rv = |d: &Value| {
        d["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = client.get(deploy).json();
    emu.set_auto_ready(false);
    emu.set_replicas("default", "nginx-denmark", 4);
    let after = client.get(deploy).json();
    assert!(rv(&after) > rv(&before));
    assert_eq!(
        (
            after["spec"]["replicas"].as_i64(),
            after["status"]["readyReplicas"].as_i64()
        ),
        (Some(4), Some(2))
    );
    emu.set_ready_replicas("default", "nginx-denmark", 4);
    assert_eq!(emu.ready_replicas("default", "nginx-denmark"), Some(4));
    assert_eq!(emu.replicas("default", "nginx-mars"), None);
    let generation =
        emu.deployment("default", "nginx-denmark").unwrap()["metadata"]["generation"].clone();
    emu.set_replicas("default", "nginx-denmark", 4);
    assert_eq!(
        emu.deployment("default", "nginx-denmark").unwrap()["metadata"]["generation"],
        generation,
        "no-op"
    );

    emu.put_configmap(
        "default",
        "carbonctl-state",
        BTreeMap::from([("state.json".into(), "{}".into())]),
    );
    let cm = client.get(&format!("{CMS}/carbonctl-state")).json();
    assert_eq!(cm["data"]["state.json"], "{}");
    emu.put_configmap(
        "default",
        "carbonctl-state",
        BTreeMap::from([("state.json".into(), "{\"v\":1}".into())]),
    );
    assert!(rv(&emu.configmap("default", "carbonctl-state").unwrap()) > rv(&cm));

    emu.set_node_unschedulable("worker-france", true);
    assert_eq!(
        client.get("/api/v1/nodes/worker-france").json()["spec"]["unschedulable"],
        true
    );

    let secret = client
        .get("/api/v1/namespaces/default/secrets/electricitymap-secret")
        .json();
    assert_eq!(secret["data"]["france"], "ZGVtby1mcg==");

    let dir = std::env::temp_dir().join(format!("kube-emulator-http-{}", std::process::id()));
    let path = dir.join("kubeconfig");
    emu.write_kubeconfig(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("server: {}", emu.base_url())));
    assert!(text.contains(&format!("token: {}", emu.token())));
    std::fs::remove_dir_all(&dir).unwrap();

    let base = emu.base_url();
    drop(emu);
    let refused = Client { base, ..client }.call("GET", "/api", None, None);
    assert!(refused.is_err(), "the server stops with its handle");
}

#[test]
fn seed_files_describe_custom_clusters() {
    let seed = Seed::from_json(
        r#"{"nodes": [{"name": "edge-1", "labels": {"region": "norway"}, "cpu": "8", "cpuUsage": "2"}],
            "deployments": [{"name": "web-norway", "namespace": "shop", "replicas": 1, "labels": {"region": "norway"}}],
            "configMaps": [{"name": "carbonctl-state", "namespace": "shop", "data": {"k": "v"}}],
            "carbon": {"NO-NO1": 24.5},
            "tokens": {"t-no": ["NO-NO1"]}}"#,
    )
    .unwrap();
    let emu = Emulator::start(seed).unwrap();
    let client = Client::new(&emu);
    let metrics = client
        .get("/apis/metrics.k8s.io/v1beta1/nodes/edge-1")
        .json();
    assert_eq!(metrics["usage"]["cpu"], "2000000000n");
    assert_eq!(emu.replicas("shop", "web-norway"), Some(1));
    assert_eq!(
        emu.configmap_data("shop", "carbonctl-state").unwrap()["k"],
        "v"
    );
    assert_eq!(
        client.carbon("NO-NO1", "t-no").json()["carbonIntensity"],
        24.5
    );
    assert!(
        Emulator::start(Seed::from_json(r#"{"nodes":[{"name":"n","cpu":"lots"}]}"#).unwrap())
            .is_err()
    );
}

#[test]
fn concurrent_writers_with_the_same_resource_version_have_one_winner() {
    let (emu, client) = demo();
    emu.put_configmap(
        "default",
        "claim",
        BTreeMap::from([("owner".into(), "none".into())]),
    );
    let current = client.get(&format!("{CMS}/claim")).json();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let mut next = current.clone();
                next["data"]["owner"] = format!("tick-{i}").into();
                let client = Client::new(&emu);
                scope.spawn(move || {
                    client
                        .send("PUT", &format!("{CMS}/claim"), "application/json", &next)
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_ne!(
        emu.configmap_data("default", "claim").unwrap()["owner"],
        "none"
    );
}

const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const KEY_RULE: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

#[test]
fn writes_are_refused_as_the_api_server_refuses_them() {
    let (emu, client) = demo();
    let post = |path: &str, body: &Value| client.send("POST", path, "application/json", body);

    let bad_name = post(
        CMS,
        &json!({"metadata": {"name": "Bad_Name"}, "data": {"k": "v"}}),
    );
    assert_eq!(bad_name.status, 422);
    let cause = format!("Invalid value: \"Bad_Name\": {SUBDOMAIN_RULE}");
    assert_eq!(
        bad_name.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("ConfigMap \"Bad_Name\" is invalid: metadata.name: {cause}"),
            "reason": "Invalid",
            "details": {"name": "Bad_Name", "kind": "ConfigMap",
                        "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": "metadata.name"}]},
            "code": 422
        })
    );
    let long = post(CMS, &json!({"metadata": {"name": "a".repeat(254)}}));
    assert_eq!(
        long.json()["details"]["causes"][0]["message"],
        format!(
            "Invalid value: \"{}\": must be no more than 253 characters",
            "a".repeat(254)
        )
    );

    let bad_key = post(
        CMS,
        &json!({"metadata": {"name": "keys"}, "data": {"bad key!": "v"}}),
    );
    assert_eq!(bad_key.status, 422);
    assert_eq!(
        bad_key.json()["message"],
        format!("ConfigMap \"keys\" is invalid: data[bad key!]: Invalid value: \"bad key!\": {KEY_RULE}")
    );
    assert_eq!(
        bad_key.json()["details"]["causes"][0]["field"],
        "data[bad key!]"
    );

    let big =
        json!({"metadata": {"name": "big"}, "data": {"a": "x".repeat(1024 * 1024), "b": "y"}});
    let too_big = post(CMS, &big);
    assert_eq!(too_big.status, 422);
    assert_eq!(
        too_big.json()["message"],
        "ConfigMap \"big\" is invalid: []: Too long: may not be more than 1048576 bytes"
    );
    assert_eq!(
        too_big.json()["details"]["causes"],
        json!([{"reason": "FieldValueTooLong", "message": "Too long: may not be more than 1048576 bytes", "field": "[]"}])
    );
    assert!(emu.configmap("default", "big").is_none());

    let nowhere = post(
        "/api/v1/namespaces/nope/configmaps",
        &json!({"metadata": {"name": "fine"}}),
    );
    assert_eq!(
        (nowhere.status, nowhere.json()),
        (
            404,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "namespaces \"nope\" not found", "reason": "NotFound",
                   "details": {"name": "nope", "kind": "namespaces"}, "code": 404})
        )
    );
    let event = post(
        "/api/v1/namespaces/nope/events",
        &json!({"metadata": {"generateName": "x."}}),
    );
    assert_eq!(event.status, 404);
    // Reads in a missing namespace answer as for any missing object.
    let missing = client.get("/api/v1/namespaces/nope/configmaps/fine");
    assert_eq!(
        (missing.status, missing.json()["message"].as_str()),
        (404, Some("configmaps \"fine\" not found"))
    );
    let empty = client.get("/api/v1/namespaces/nope/configmaps").json();
    assert_eq!(empty["items"], json!([]));
    let nope = client.get("/api/v1/namespaces/nope");
    assert_eq!(
        (nope.status, nope.json()["message"].as_str()),
        (404, Some("namespaces \"nope\" not found"))
    );
    let default = client.get("/api/v1/namespaces/default").json();
    assert_eq!(
        (
            &default["kind"],
            &default["status"],
            &default["metadata"]["labels"]
        ),
        (
            &json!("Namespace"),
            &json!({"phase": "Active"}),
            &json!({"kubernetes.io/metadata.name": "default"})
        )
    );
    let created = post("/api/v1/namespaces", &json!({"metadata": {"name": "web"}}));
    assert_eq!(created.status, 201);
    assert_eq!(
        created.json()["spec"],
        json!({"finalizers": ["kubernetes"]})
    );
    assert_eq!(
        post(
            "/api/v1/namespaces/web/configmaps",
            &json!({"metadata": {"name": "fine"}})
        )
        .status,
        201
    );
    assert_eq!(
        names(&client.get("/api/v1/namespaces").json()),
        [
            "default",
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "web"
        ]
    );
    let dotted = post("/api/v1/namespaces", &json!({"metadata": {"name": "a.b"}}));
    assert_eq!(
        dotted.json()["message"],
        "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": must not contain dots"
    );

    // Updates and patches are checked like creates, and change nothing when refused.
    let created = post(
        CMS,
        &json!({"metadata": {"name": "state"}, "data": {"k": "v"}}),
    )
    .json();
    let patched = client.send(
        "PATCH",
        &format!("{CMS}/state"),
        "application/merge-patch+json",
        &json!({"data": {"..bad": "v"}}),
    );
    assert_eq!(patched.status, 422);
    assert_eq!(
        patched.json()["message"],
        "ConfigMap \"state\" is invalid: data[..bad]: Invalid value: \"..bad\": must not start with '..'"
    );
    let mut replaced = created.clone();
    replaced["data"]["a b"] = "c".into();
    replaced["data"]["c d"] = "e".into();
    let put = client.send(
        "PUT",
        &format!("{CMS}/state"),
        "application/json",
        &replaced,
    );
    assert_eq!(put.status, 422);
    assert_eq!(
        put.json()["message"],
        format!("ConfigMap \"state\" is invalid: [data[a b]: Invalid value: \"a b\": {KEY_RULE}, data[c d]: Invalid value: \"c d\": {KEY_RULE}]")
    );
    assert_eq!(
        emu.configmap("default", "state").unwrap()["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
}

/// Follows `continue` tokens from `first`, collecting names and each page's metadata.
fn pages(client: &Client, first: &str) -> (Vec<String>, Vec<Value>) {
    let (mut all, mut metas) = (Vec::new(), Vec::new());
    let mut path = first.to_string();
    loop {
        let page = client.get(&path).json();
        all.extend(names(&page));
        metas.push(page["metadata"].clone());
        let Some(token) = page["metadata"]["continue"].as_str() else {
            return (all, metas);
        };
        path = format!("{first}&continue={token}");
    }
}

#[test]
fn lists_page_with_limit_and_continue() {
    let seed = Seed::from_json(
        r#"{"namespaces": ["web"],
            "configMaps": [{"name": "a"}, {"name": "b"}, {"name": "c", "labels": {"pick": "yes"}},
                           {"name": "d"}, {"name": "e", "labels": {"pick": "yes"}},
                           {"namespace": "web", "name": "a"}],
            "nodes": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}]}"#,
    )
    .unwrap();
    let emu = Emulator::start(seed).unwrap();
    let client = Client::new(&emu);

    let (all, metas) = pages(&client, &format!("{CMS}?limit=2"));
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    let remaining: Vec<&Value> = metas.iter().map(|m| &m["remainingItemCount"]).collect();
    assert_eq!(remaining, [&json!(3), &json!(1), &Value::Null]);
    // Every page is served at the first page's resourceVersion, as a snapshot would be.
    assert!(metas
        .iter()
        .all(|m| m["resourceVersion"] == metas[0]["resourceVersion"]));

    // The token is what etcd3 storage writes: base64url (no padding) of {"v","rv","start"}.
    let token = metas[0]["continue"].as_str().unwrap();
    let rv = metas[0]["resourceVersion"].as_str().unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!(r#"{{"v":"meta.k8s.io/v1","rv":{rv},"start":"b\u0000"}}"#)
    );

    // A selector drops remainingItemCount; a token is given while objects follow the page.
    let (picked, metas) = pages(&client, &format!("{CMS}?limit=1&labelSelector=pick%3Dyes"));
    assert_eq!(picked, ["c", "e"]);
    assert!(metas.iter().all(|m| m.get("remainingItemCount").is_none()));
    assert_eq!(metas.len(), 2);
    let (all_ns, _) = pages(&client, "/api/v1/configmaps?limit=4");
    assert_eq!(all_ns, ["a", "b", "c", "d", "e", "a"]);
    let (nodes, _) = pages(&client, "/api/v1/nodes?limit=1");
    assert_eq!(nodes, ["n1", "n2", "n3"]);
    let (everything, metas) = pages(&client, &format!("{CMS}?limit=5"));
    assert_eq!((everything.len(), metas.len()), (5, 1));
    assert!(metas[0].get("continue").is_none());

    // Tables (kubectl get) carry the same metadata.
    let table = client
        .call_with_accept(
            &format!("{CMS}?limit=2"),
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .json();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["rows"].as_array().unwrap().len(), 2);
    assert_eq!(table["metadata"]["remainingItemCount"], 3);
    assert!(table["metadata"]["continue"].is_string());

    // NodeMetrics are never paged, as metrics-server does not page them.
    let metrics = client
        .get("/apis/metrics.k8s.io/v1beta1/nodes?limit=1")
        .json();
    assert_eq!(names(&metrics).len(), 3);

    let bad = client.get(&format!("{CMS}?limit=1&continue=not-a-token!"));
    assert_eq!(
        (bad.status, bad.json()),
        (
            400,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "invalid continue token: continue key is not valid: illegal base64 data at input byte 11",
                   "reason": "BadRequest", "code": 400})
        )
    );
}

#[test]
fn self_subject_access_reviews_are_allowed_and_logged() {
    let (emu, client) = demo();
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let review = json!({
        "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "patch", "group": "apps",
                                        "resource": "deployments", "subresource": "scale"}},
        "status": {"allowed": false}
    });
    let answer = client.send("POST", path, "application/json", &review);
    assert_eq!(answer.status, 201);
    let mut want = review.clone();
    want["status"] = json!({"allowed": true});
    assert_eq!(answer.json(), want);
    let anonymous = Client::new(&emu)
        .anonymous()
        .send("POST", path, "application/json", &review);
    assert_eq!(anonymous.json()["status"]["allowed"], true);

    let empty = client.send("POST", path, "application/json", &json!({"spec": {}}));
    assert_eq!(empty.status, 422);
    assert_eq!(
        empty.json()["message"],
        ".authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"
    );
    assert_eq!(client.get(path).status, 405);

    let record = &emu.requests()[0];
    assert_eq!(
        (
            record.verb.as_deref(),
            record.resource.as_deref(),
            record.api_group.as_deref(),
            record.status
        ),
        (
            Some("create"),
            Some("selfsubjectaccessreviews"),
            Some("authorization.k8s.io"),
            201
        )
    );
    let discovery = client.get("/apis/authorization.k8s.io/v1").json();
    assert_eq!(
        discovery["resources"][0]["name"],
        "selfsubjectaccessreviews"
    );
    assert_eq!(
        client.get("/apis/authorization.k8s.io").json()["preferredVersion"]["version"],
        "v1"
    );
}

const HPAS: &str = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
const SCALED_OBJECTS: &str = "/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects";

fn hpa_body(name: &str, min: i64, max: i64) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": name, "labels": {"tier": "web"}},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx-france"},
                    "minReplicas": min, "maxReplicas": max}})
}

fn causes(answer: &Answer) -> Vec<String> {
    answer.json()["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c["field"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn hpas_are_defaulted_validated_and_written_with_optimistic_concurrency() {
    let (emu, client) = demo();
    let refused = client.send(
        "POST",
        HPAS,
        "application/json",
        &json!({"metadata": {"name": "web"}, "spec": {"minReplicas": 0, "scaleTargetRef": {"name": "x"}}}),
    );
    assert_eq!(
        (refused.status, refused.json()["reason"].as_str()),
        (422, Some("Invalid"))
    );
    assert_eq!(
        refused.json()["message"],
        "HorizontalPodAutoscaler.autoscaling \"web\" is invalid: [spec.minReplicas: Invalid value: 0: must be greater than or equal to 1, spec.maxReplicas: Invalid value: 0: must be greater than 0, spec.scaleTargetRef.kind: Required value]"
    );
    assert_eq!(refused.json()["details"]["group"], "autoscaling");
    let inverted = client.send("POST", HPAS, "application/json", &hpa_body("web", 3, 2));
    assert_eq!(
        causes(&inverted),
        ["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]
    );
    let typed = client.send(
        "POST",
        HPAS,
        "application/json",
        &json!({"metadata": {"name": "web"}, "spec": {"maxReplicas": "six"}}),
    );
    assert_eq!(typed.status, 400);

    // Created: defaults filled in, any status sent is dropped.
    let mut body = hpa_body("web", 2, 6);
    body["spec"].as_object_mut().unwrap().remove("minReplicas");
    body["status"] = json!({"currentReplicas": 9});
    let created = client.send("POST", HPAS, "application/json", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["spec"]["minReplicas"], 1);
    assert_eq!(
        created["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    );
    assert!(created.get("status").is_none());
    assert_eq!(
        client
            .send("POST", HPAS, "application/json", &hpa_body("web", 2, 6))
            .status,
        409
    );

    // A stale PUT conflicts; a current one writes.
    let path = format!("{HPAS}/web");
    let mut update = created.clone();
    update["spec"]["minReplicas"] = 2.into();
    assert_eq!(
        client
            .send("PUT", &path, "application/json", &update)
            .status,
        200
    );
    let stale = client.send("PUT", &path, "application/json", &update);
    assert_eq!(stale.status, 409);
    assert_eq!(
        stale.json()["message"],
        "Operation cannot be fulfilled on horizontalpodautoscalers.autoscaling \"web\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // JSON patch with a failing test changes nothing; a passing one writes.
    let rv = emu.hpa("default", "web").unwrap()["metadata"]["resourceVersion"].clone();
    let failed = client.call(
        "PATCH",
        &path,
        Some("application/json-patch+json"),
        Some(r#"[{"op":"test","path":"/spec/minReplicas","value":3},{"op":"replace","path":"/spec/minReplicas","value":4}]"#),
    ).unwrap();
    assert_eq!(
        (failed.status, failed.json()["reason"].as_str()),
        (422, Some("Invalid"))
    );
    assert_eq!(
        emu.hpa("default", "web").unwrap()["metadata"]["resourceVersion"],
        rv
    );
    let passed = client.call(
        "PATCH",
        &path,
        Some("application/json-patch+json"),
        Some(r#"[{"op":"test","path":"/spec/minReplicas","value":2},{"op":"replace","path":"/spec/minReplicas","value":4}]"#),
    ).unwrap();
    assert_eq!(passed.status, 200, "{}", passed.text);
    assert_eq!(emu.hpa("default", "web").unwrap()["spec"]["minReplicas"], 4);
    let merge = client.send(
        "PATCH",
        &path,
        "application/merge-patch+json",
        &json!({"spec": {"maxReplicas": 3}}),
    );
    assert_eq!(
        causes(&merge),
        ["spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"]
    );
    let strategic = client.send(
        "PATCH",
        &path,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"maxReplicas": 8}}),
    );
    assert_eq!(strategic.json()["spec"]["maxReplicas"], 8);

    // Someone else's change bumps the resourceVersion, so a write based on the old one conflicts.
    let before = emu.hpa("default", "web").unwrap();
    emu.set_hpa_min("default", "web", 5);
    let after = emu.hpa("default", "web").unwrap();
    assert_ne!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert_eq!(
        client
            .send("PUT", &path, "application/json", &before)
            .status,
        409
    );

    // Status goes through /status only.
    let mut with_status = after.clone();
    with_status["status"] = json!({"currentReplicas": 3, "desiredReplicas": 3});
    let main = client
        .send("PUT", &path, "application/json", &with_status)
        .json();
    assert!(main.get("status").is_none(), "{main}");
    let status = client.send(
        "PUT",
        &format!("{path}/status"),
        "application/json",
        &with_status,
    );
    assert_eq!(status.json()["status"]["desiredReplicas"], 3);
    let negative = client.send(
        "PATCH",
        &format!("{path}/status"),
        "application/merge-patch+json",
        &json!({"status": {"desiredReplicas": -1}}),
    );
    assert_eq!(
        causes(&negative),
        ["status.desiredReplicas: Invalid value: -1: must be greater than or equal to 0"]
    );
    assert_eq!(
        client.get(&format!("{path}/status")).json()["status"]["currentReplicas"],
        3
    );

    // Lists select and page like the other resources; delete answers Success.
    client.send("POST", HPAS, "application/json", &hpa_body("api", 1, 2));
    assert_eq!(
        names(
            &client
                .get(&format!("{HPAS}?labelSelector=tier%3Dweb"))
                .json()
        ),
        ["api", "web"]
    );
    assert_eq!(
        names(
            &client
                .get(&format!("{HPAS}?fieldSelector=metadata.name%3Dweb"))
                .json()
        ),
        ["web"]
    );
    let all = client
        .get("/apis/autoscaling/v2/horizontalpodautoscalers")
        .json();
    assert_eq!(all["kind"], "HorizontalPodAutoscalerList");
    let (paged, _) = pages(&client, &format!("{HPAS}?limit=1"));
    assert_eq!(paged, ["api", "web"]);
    let deleted = client.call("DELETE", &path, None, None).unwrap();
    assert_eq!(deleted.json()["status"], "Success");
    let gone = client.get(&path);
    assert_eq!(
        gone.json()["message"],
        "horizontalpodautoscalers.autoscaling \"web\" not found"
    );
}

#[test]
fn scaled_objects_are_served_as_keda_s_crd_and_own_their_hpa() {
    let emu = Emulator::start(Seed::demo().with_keda("latvia")).unwrap();
    let client = Client::new(&emu);
    let so = client.get(&format!("{SCALED_OBJECTS}/nginx-latvia")).json();
    assert_eq!(so["kind"], "ScaledObject");
    assert_eq!(
        so["metadata"]["labels"]["scaledobject.keda.sh/name"],
        "nginx-latvia"
    );
    assert_eq!(so["status"]["scaleTargetKind"], "apps/v1.Deployment");
    assert_eq!(so["status"]["hpaName"], "keda-hpa-nginx-latvia");
    let conditions: Vec<(&str, &str)> = so["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        conditions,
        [
            ("Ready", "True"),
            ("Active", "True"),
            ("Fallback", "False"),
            ("Paused", "False")
        ]
    );
    assert_eq!(
        so["status"]["conditions"][0]["message"],
        "ScaledObject is defined correctly and is ready for scaling"
    );

    let hpa = emu.hpa("default", "keda-hpa-nginx-latvia").unwrap();
    assert_eq!(
        (&hpa["spec"]["minReplicas"], &hpa["spec"]["maxReplicas"]),
        (&json!(2), &json!(6))
    );
    let owner = &hpa["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["controller"], &owner["uid"]),
        (&json!("ScaledObject"), &json!(true), &so["metadata"]["uid"])
    );
    assert_eq!(
        hpa["metadata"]["labels"]["scaledobject.keda.sh/name"],
        "nginx-latvia"
    );
    assert_eq!(
        hpa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "keda-operator"
    );

    // The ScaledObject's bounds reach its HPA at once; min 0 is a floor of 1 for the HPA.
    let path = format!("{SCALED_OBJECTS}/nginx-latvia");
    let patched = client.send(
        "PATCH",
        &path,
        "application/merge-patch+json",
        &json!({"spec": {"minReplicaCount": 3}}),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["metadata"]["generation"], 2);
    assert_eq!(
        emu.hpa("default", "keda-hpa-nginx-latvia").unwrap()["spec"]["minReplicas"],
        3
    );
    emu.set_scaled_object_min("default", "nginx-latvia", 0);
    assert_eq!(
        emu.hpa("default", "keda-hpa-nginx-latvia").unwrap()["spec"]["minReplicas"],
        1
    );
    let json_patch = client.call("PATCH", &path, Some("application/json-patch+json"),
        Some(r#"[{"op":"test","path":"/spec/minReplicaCount","value":0},{"op":"replace","path":"/spec/minReplicaCount","value":4}]"#)).unwrap();
    assert_eq!(json_patch.status, 200);
    assert_eq!(
        emu.hpa("default", "keda-hpa-nginx-latvia").unwrap()["spec"]["minReplicas"],
        4
    );
    let failed = client
        .call(
            "PATCH",
            &path,
            Some("application/json-patch+json"),
            Some(r#"[{"op":"test","path":"/spec/minReplicaCount","value":0}]"#),
        )
        .unwrap();
    assert_eq!(failed.status, 422);

    // A custom resource has no strategic merge patch.
    let strategic = client.send(
        "PATCH",
        &path,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"minReplicaCount": 2}}),
    );
    assert_eq!(
        (strategic.status, strategic.json()["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    assert_eq!(strategic.json()["message"], "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");

    // The CRD's schema and CEL rule.
    let bad = client.send(
        "PATCH",
        &path,
        "application/merge-patch+json",
        &json!({"spec": {"minReplicaCount": 7}}),
    );
    assert_eq!(bad.json()["message"], "ScaledObject.keda.sh \"nginx-latvia\" is invalid: spec: Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount");
    let empty = client.send("POST", SCALED_OBJECTS, "application/json",
        &json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"}, "spec": {"scaleTargetRef": {"name": "nginx-france"}}}));
    assert_eq!(causes(&empty), ["spec.triggers: Required value"]);

    // A write to KEDA's HPA is accepted, then reverted by KEDA's next reconcile.
    let hpa_path = format!("{HPAS}/keda-hpa-nginx-latvia");
    let own = client.send(
        "PATCH",
        &hpa_path,
        "application/merge-patch+json",
        &json!({"spec": {"minReplicas": 5}}),
    );
    assert_eq!(own.json()["spec"]["minReplicas"], 5);
    emu.sync_hpas();
    assert_eq!(
        emu.hpa("default", "keda-hpa-nginx-latvia").unwrap()["spec"]["minReplicas"],
        4
    );
    emu.set_hpa_min("default", "keda-hpa-nginx-latvia", 6);
    client.send(
        "PATCH",
        &path,
        "application/merge-patch+json",
        &json!({"metadata": {"labels": {"team": "web"}}}),
    );
    let reverted = emu.hpa("default", "keda-hpa-nginx-latvia").unwrap();
    assert_eq!(
        reverted["spec"]["minReplicas"], 4,
        "a ScaledObject write reconciles too"
    );
    assert_eq!(reverted["metadata"]["labels"]["team"], "web");

    // A ScaledObject whose target is missing is not Ready and makes no HPA.
    let orphan = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "orphan"},
                        "spec": {"scaleTargetRef": {"name": "nginx-mars"}, "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}});
    assert_eq!(
        client
            .send("POST", SCALED_OBJECTS, "application/json", &orphan)
            .status,
        201
    );
    let orphan = emu.scaled_object("default", "orphan").unwrap();
    assert_eq!(orphan["status"]["conditions"][0]["status"], "False");
    assert_eq!(orphan["status"]["conditions"][0]["message"], "ScaledObject doesn't have correct scaleTargetRef specification: deployments.apps \"nginx-mars\" not found");
    assert!(emu.hpa("default", "keda-hpa-orphan").is_none());

    // Status is KEDA's: writes to the main resource keep it. Deleting the ScaledObject
    // deletes its HPA, as the garbage collector would.
    let mut overwrite = emu.scaled_object("default", "nginx-latvia").unwrap();
    overwrite["status"] = json!({});
    let kept = client
        .send("PUT", &path, "application/json", &overwrite)
        .json();
    assert_eq!(kept["status"]["hpaName"], "keda-hpa-nginx-latvia");
    assert_eq!(
        client.call("DELETE", &path, None, None).unwrap().status,
        200
    );
    assert!(emu.hpa("default", "keda-hpa-nginx-latvia").is_none());
    assert_eq!(names(&client.get(SCALED_OBJECTS).json()), ["orphan"]);
}

fn condition<'a>(hpa: &'a Value, kind: &str) -> (&'a str, &'a str) {
    let c = hpa["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {hpa}"));
    (c["status"].as_str().unwrap(), c["reason"].as_str().unwrap())
}

#[test]
fn the_hpa_loop_overwrites_replicas_from_node_cpu() {
    let emu = Emulator::start(Seed::demo().with_hpas().with_keda("latvia")).unwrap();
    let client = Client::new(&emu);
    assert!(
        emu.hpa("default", "nginx-france")
            .unwrap()
            .get("status")
            .is_none(),
        "no pass yet"
    );

    // 45% on a 60% target: ceil(2 * 45 / 60) = 2, so nothing moves.
    let sync = client
        .call("POST", "/_emulator/hpa-sync", None, None)
        .unwrap()
        .json();
    assert_eq!(sync["hpas"].as_array().unwrap().len(), 3);
    assert_eq!(sync["hpas"][0]["name"], "keda-hpa-nginx-latvia");
    let france = emu.hpa("default", "nginx-france").unwrap();
    assert_eq!(
        france["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
        45
    );
    assert_eq!(
        (
            &france["status"]["currentReplicas"],
            &france["status"]["desiredReplicas"]
        ),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        condition(&france, "AbleToScale"),
        ("True", "ReadyForNewScale")
    );
    assert_eq!(
        condition(&france, "ScalingActive"),
        ("True", "ValidMetricFound")
    );
    assert_eq!(
        condition(&france, "ScalingLimited"),
        ("False", "DesiredWithinRange")
    );
    let rv = france["metadata"]["resourceVersion"].clone();
    emu.sync_hpas();
    assert_eq!(
        emu.hpa("default", "nginx-france").unwrap()["metadata"]["resourceVersion"],
        rv,
        "a pass that changes nothing writes nothing"
    );

    // France's node at 95%: ceil(2 * 95 / 60) = 4.
    emu.set_cpu_percent(Some("worker-france"), 95.0);
    emu.sync_hpas();
    assert_eq!(emu.replicas("default", "nginx-france"), Some(4));
    let france = emu.hpa("default", "nginx-france").unwrap();
    assert_eq!(
        condition(&france, "AbleToScale"),
        ("True", "SucceededRescale")
    );
    assert!(france["status"]["lastScaleTime"].is_string());
    assert_eq!(emu.replicas("default", "nginx-denmark"), Some(2));

    // The fight: a write by anyone else is overwritten on the next pass.
    emu.set_replicas("default", "nginx-france", 1);
    emu.sync_hpas();
    assert_eq!(
        emu.replicas("default", "nginx-france"),
        Some(2),
        "below minReplicas"
    );
    emu.set_replicas("default", "nginx-france", 9);
    emu.sync_hpas();
    assert_eq!(
        emu.replicas("default", "nginx-france"),
        Some(6),
        "above maxReplicas"
    );
    emu.sync_hpas();
    let france = emu.hpa("default", "nginx-france").unwrap();
    assert_eq!(
        condition(&france, "ScalingLimited"),
        ("True", "TooManyReplicas"),
        "ceil(6 * 95 / 60) = 10 > 6"
    );
    emu.set_cpu_percent(Some("worker-france"), 10.0);
    emu.sync_hpas();
    assert_eq!(emu.replicas("default", "nginx-france"), Some(2));
    assert_eq!(
        condition(
            &emu.hpa("default", "nginx-france").unwrap(),
            "ScalingLimited"
        ),
        ("True", "TooFewReplicas")
    );

    // KEDA's HPA follows the same loop; its floor is the ScaledObject's.
    emu.set_cpu_percent(Some("worker-latvia"), 100.0);
    emu.sync_hpas();
    assert_eq!(emu.replicas("default", "nginx-latvia"), Some(4));

    // The controller's events, on the HPA (with its uid, as kubectl describe looks them up).
    let uid = emu.hpa("default", "nginx-france").unwrap()["metadata"]["uid"].clone();
    let rescales: Vec<String> = emu
        .events("default")
        .into_iter()
        .filter(|e| e["involvedObject"]["uid"] == uid)
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        rescales,
        [
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
            "New size: 2; reason: Current number of replicas below Spec.MinReplicas",
            "New size: 6; reason: Current number of replicas above Spec.MaxReplicas",
            "New size: 2; reason: All metrics below target",
        ]
    );

    // Without metrics.k8s.io nothing moves, and the HPA says why (its Warning counted, not repeated).
    emu.set_replicas("default", "nginx-france", 3);
    emu.set_metrics_available(false);
    emu.sync_hpas();
    emu.sync_hpas();
    assert_eq!(emu.replicas("default", "nginx-france"), Some(3));
    let france = emu.hpa("default", "nginx-france").unwrap();
    assert_eq!(
        condition(&france, "ScalingActive"),
        ("False", "FailedGetResourceMetric")
    );
    let warnings: Vec<Value> = emu
        .events("default")
        .into_iter()
        .filter(|e| e["involvedObject"]["uid"] == uid && e["type"] == "Warning")
        .collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        (&warnings[0]["reason"], &warnings[0]["count"]),
        (&json!("FailedGetResourceMetric"), &json!(2))
    );
}

#[test]
fn events_about_hpas_and_scaled_objects_are_found_by_their_involved_object() {
    let emu = Emulator::start(Seed::demo().with_hpas().with_keda("latvia")).unwrap();
    let client = Client::new(&emu);
    let path = "/api/v1/namespaces/default/events";
    let hpa = emu.hpa("default", "nginx-france").unwrap();
    let so = emu.scaled_object("default", "nginx-latvia").unwrap();
    for (kind, api_version, object) in [
        ("HorizontalPodAutoscaler", "autoscaling/v2", &hpa),
        ("ScaledObject", "keda.sh/v1alpha1", &so),
    ] {
        let name = object["metadata"]["name"].as_str().unwrap();
        let event = json!({"metadata": {"generateName": format!("{name}.")},
            "involvedObject": {"kind": kind, "apiVersion": api_version, "name": name,
                               "namespace": "default", "uid": object["metadata"]["uid"]},
            "reason": "CarbonFloor", "message": "minReplicas 2->3", "type": "Normal",
            "source": {"component": "carbonctl"}});
        assert_eq!(
            client.send("POST", path, "application/json", &event).status,
            201
        );
        // What kubectl describe sends.
        let selector = format!(
            "involvedObject.name%3D{name},involvedObject.namespace%3Ddefault,involvedObject.kind%3D{kind},involvedObject.uid%3D{}",
            object["metadata"]["uid"].as_str().unwrap()
        );
        let found = client
            .get(&format!("{path}?fieldSelector={selector}"))
            .json();
        assert_eq!(
            found["items"].as_array().unwrap().len(),
            1,
            "{kind}: {found}"
        );
        assert_eq!(found["items"][0]["involvedObject"]["kind"], kind);
    }
}
