//! Figures for the "done when": how fast `kube-emulator --seed demo` is ready (time to
//! its first stdout line) and how many node-list requests per second it serves on loopback;
//! and how long the large lists of carbonctl's 5,000-node benchmark cluster take, since
//! there the emulator's own time is most of a tick's. Printed, never asserted: timings depend
//! on the machine. Bounded in count and time.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube_emulator::{Emulator, NodeSeed, Seed};

const STARTS: usize = 10;
const CLIENTS: usize = 2;
const REQUESTS_PER_CLIENT: usize = 3000;
const LARGE_REQUESTS: usize = 21;

fn startup() -> Vec<Duration> {
    let binary = env!("CARGO_BIN_EXE_kube-emulator");
    (0..STARTS)
        .map(|_| {
            let started = Instant::now();
            let mut child = Command::new(binary)
                .args(["--port", "0", "--seed", "demo"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("the kube-emulator binary runs");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let elapsed = started.elapsed();
            assert!(
                line.starts_with("http://127.0.0.1:"),
                "first line was {line:?}"
            );
            child.kill().unwrap();
            child.wait().unwrap();
            elapsed
        })
        .collect()
}

fn node_list_rate(emu: &Emulator) -> f64 {
    let url = format!("{}/api/v1/nodes", emu.base_url());
    let token = emu.token();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .proxy(None)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .into();
                for _ in 0..REQUESTS_PER_CLIENT {
                    let mut response = agent
                        .get(&url)
                        .header("Authorization", format!("Bearer {token}"))
                        .call()
                        .expect("node list answers");
                    let body = response.body_mut().read_to_string().unwrap();
                    assert!(body.contains("worker-france"));
                }
            });
        }
    });
    (CLIENTS * REQUESTS_PER_CLIENT) as f64 / started.elapsed().as_secs_f64()
}

/// The shape of carbonctl's large benchmark cluster: 100 regions of 50 nodes at 45% CPU.
fn large_seed() -> Seed {
    let mut seed = Seed::default();
    for r in 0..100 {
        for n in 0..50 {
            let mut node = NodeSeed::new(&format!("worker-r{r:03}-{n:02}"));
            node.labels.insert("region".into(), format!("r{r:03}"));
            node.cpu_percent = Some(45.0);
            seed.nodes.push(node);
        }
    }
    seed
}

/// The first request's time (renderings are made then), then the median of the rest.
fn large_list(emu: &Emulator, path: &str) -> (Duration, Duration, usize) {
    let url = format!("{}{path}", emu.base_url());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let get = || {
        let started = Instant::now();
        let body = agent
            .get(&url)
            .call()
            .expect("large list answers")
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap();
        (started.elapsed(), body.len())
    };
    let (first, size) = get();
    let mut times: Vec<Duration> = (0..LARGE_REQUESTS).map(|_| get().0).collect();
    times.sort();
    (first, times[LARGE_REQUESTS / 2], size)
}

fn main() {
    let mut starts = startup();
    starts.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "startup to first line ({STARTS} runs of kube-emulator --seed demo): median {:.1} ms, max {:.1} ms",
        ms(starts[STARTS / 2]),
        ms(starts[STARTS - 1])
    );

    let emu = Emulator::start(Seed::demo()).expect("emulator starts");
    let rate = node_list_rate(&emu);
    println!(
        "GET /api/v1/nodes on loopback ({CLIENTS} keep-alive clients x {REQUESTS_PER_CLIENT}): {rate:.0} requests/s"
    );
    let logged = emu.requests().len();
    println!("request log entries: {logged}");

    let large = Emulator::start(large_seed()).expect("emulator starts");
    for path in [
        "/api/v1/nodes?labelSelector=region",
        "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=region",
    ] {
        let (first, median, size) = large_list(&large, path);
        println!(
            "GET {path} on 5,000 nodes ({:.1} MB): first {:.1} ms, then median {:.1} ms of {LARGE_REQUESTS}",
            size as f64 / 1e6,
            ms(first),
            ms(median)
        );
    }
}
