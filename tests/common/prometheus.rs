//! A real Prometheus Pushgateway and Prometheus (Debian's `prometheus-pushgateway` and
//! `prometheus`) on loopback, Prometheus scraping the gateway every second with
//! `honor_labels: true`, storage in a temp folder; and `promtool`. Missing binaries fail the
//! test with what to run: hack/setup.sh installs them, as CI does.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::temp_dir;

/// The path of a command the metrics journeys need, or a failure naming the fix.
pub fn require(command: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(command))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{command} is not installed: run hack/setup.sh (it installs Debian's prometheus and prometheus-pushgateway; CI does)"
        )
    })
}

/// A port free on loopback a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A child process killed when the test ends.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(command: &str, args: &[String], port: u16) -> Server {
        let log = temp_dir(command).join("log");
        let child = Command::new(require(command))
            .args(args)
            .env_clear()
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{command} starts: {e}"));
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(&server.url("/-/ready")).is_err() {
            assert!(
                Instant::now() < deadline,
                "{command} not ready in 30s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .proxy(None)
        .build()
        .into()
}

fn get(url: &str) -> Result<String, ureq::Error> {
    agent().get(url).call()?.into_body().read_to_string()
}

pub struct Pushgateway(Server);

impl Pushgateway {
    pub fn start() -> Pushgateway {
        let port = free_port();
        let args = vec![
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--persistence.file=".to_string(),
        ];
        Pushgateway(Server::start("prometheus-pushgateway", &args, port))
    }

    pub fn url(&self) -> String {
        self.0.url("")
    }

    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// Everything the gateway exposes (its own metrics and the pushed groups).
    pub fn scrape(&self) -> String {
        get(&self.0.url("/metrics")).expect("the gateway answers")
    }
}

pub struct Prometheus(Server);

impl Prometheus {
    /// Prometheus scraping `gateway` every second.
    pub fn start(gateway: &Pushgateway) -> Prometheus {
        let dir = temp_dir("prometheus");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n\
                 \x20   static_configs:\n      - targets: ['127.0.0.1:{}']\n",
                gateway.port()
            ),
        )
        .unwrap();
        let port = free_port();
        let args = vec![
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        Prometheus(Server::start("prometheus", &args, port))
    }

    /// An instant query's result vector: each series' labels and value.
    pub fn query(&self, expr: &str) -> Vec<(serde_json::Value, f64)> {
        let url = self.0.url("/api/v1/query");
        let body = agent()
            .get(&url)
            .query("query", expr)
            .call()
            .unwrap_or_else(|e| panic!("query {expr:?}: {e}"))
            .into_body()
            .read_to_string()
            .unwrap();
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
        let result = &answer["data"]["result"];
        match answer["data"]["resultType"].as_str() {
            Some("vector") => result
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (s["metric"].clone(), value(&s["value"][1])))
                .collect(),
            Some("scalar") => vec![(serde_json::Value::Null, value(&result[1]))],
            other => panic!("{expr}: unexpected result type {other:?}"),
        }
    }

    /// The query's result once it satisfies `ready` (Prometheus scrapes every second).
    pub fn wait_for(
        &self,
        expr: &str,
        ready: impl Fn(&[(serde_json::Value, f64)]) -> bool,
    ) -> Vec<(serde_json::Value, f64)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self.query(expr);
            if ready(&result) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "{expr} never became ready: {result:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn value(v: &serde_json::Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// `promtool check metrics` on `text`: its exit code and everything it printed.
pub fn promtool_check(text: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(require("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), printed)
}

/// A loopback stand-in for a Pushgateway: it records each request (request line, headers and
/// body) and answers 200, or, hanging, accepts connections and never answers.
pub struct StandIn {
    pub port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl StandIn {
    pub fn start(hang: bool) -> StandIn {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if hang {
                    held.push(stream);
                    continue;
                }
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                head.push_str("\r\n");
                head.push_str(&String::from_utf8_lossy(&body));
                seen.lock().unwrap().push(head);
                let _ = reader.into_inner().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        StandIn { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}
