//! What one tick costs, printed (never asserted): kube and carbon API requests per tick from the
//! emulator's request log, wall time and peak RSS of a `carbonctl tick` process next to
//! `kubectl get nodes` against the same emulator, the same tick over a fleet of three clusters
//! (one per region, plus the home cluster), the same tick on a 5,000-node / 100-region
//! cluster, and the binary's size. `make bench` runs it; BENCHMARKS.md records a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use kube_emulator::{Emulator, Seed};

const RUNS: usize = 21;
const NS: &str = "default";
const STATE: &str = "carbonctl-state";

struct Env {
    emu: Emulator,
    kubeconfig: PathBuf,
    vars: Vec<(String, String)>,
}

/// The empty state, exactly as `state-configmap.yaml` ships it.
fn initial_state() -> BTreeMap<String, String> {
    carbonctl::state::State::default().to_data()
}

fn bench_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("carbonctl-bench-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Env {
    fn start(seed: Seed, regions: &str, label: &str) -> Env {
        let emu = Emulator::start(seed).expect("emulator starts");
        emu.put_configmap(NS, STATE, initial_state());
        let dir = bench_dir(label);
        let kubeconfig = dir.join("kubeconfig");
        emu.write_kubeconfig(&kubeconfig).unwrap();
        let vars = vec![
            ("CARBON_API_URL".into(), emu.carbon_base_url()),
            ("CARBON_API_TOKEN".into(), "demo-token".into()),
            ("REGIONS".into(), regions.into()),
            ("HOME".into(), dir.display().to_string()),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ];
        Env {
            emu,
            kubeconfig,
            vars,
        }
    }

    /// Runs `program` through a fresh copy of this benchmark (see `main`), so the peak RSS
    /// measured is the program's own and not this process's, which holds the emulator.
    fn measure(&self, program: &Path, args: &[&str], extra: &[(&str, &str)]) -> (f64, i64) {
        let out = Command::new(std::env::current_exe().unwrap())
            .arg(MEASURE)
            .arg(program)
            .args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("KUBECONFIG", &self.kubeconfig)
            .envs(extra.iter().copied())
            .output()
            .expect("measuring process runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        match (
            parts.next().and_then(|w| w.parse().ok()),
            parts.next().and_then(|r| r.parse().ok()),
        ) {
            (Some(wall), Some(rss)) => (wall, rss),
            _ => panic!(
                "{} {args:?} failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    fn tick(&self, extra: &[(&str, &str)]) -> (f64, i64) {
        self.measure(Path::new(env!("CARGO_BIN_EXE_carbonctl")), &["tick"], extra)
    }
}

/// First argument that turns this binary into a small launcher: it runs the rest of its
/// arguments as a command and prints its wall milliseconds and peak RSS (KiB). A child's
/// `ru_maxrss` includes the memory of the process it was forked from, so the launcher must be
/// small.
const MEASURE: &str = "--measure-child";

/// Wall milliseconds and peak RSS (KiB) of one process run to completion.
// The child is reaped by wait4, which std's Child::wait cannot do while also returning rusage.
#[allow(clippy::zombie_processes)]
fn timed(cmd: &mut Command) -> (f64, i64) {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let child = cmd.spawn().expect("process starts");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid we hold; status and usage are valid pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    (wall, usage.ru_maxrss)
}

/// `GET /api/v1/nodes`, with the field selector when there is one (the cordoned nodes only).
fn request_line(r: &kube_emulator::RequestRecord) -> String {
    let fields = r
        .query
        .split('&')
        .find(|p| p.starts_with("fieldSelector="))
        .map(|p| format!("?{}", p.replace("%3D", "=")))
        .unwrap_or_default();
    format!("{} {}{fields}", r.method, r.path)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Requests made by one tick, grouped as `METHOD path`.
fn requests_of_one_tick(env: &Env, extra: &[(&str, &str)]) -> (BTreeMap<String, usize>, usize) {
    env.emu.clear_requests();
    env.tick(extra);
    let mut kube = BTreeMap::new();
    let mut carbon = 0;
    for r in env.emu.requests() {
        if r.path.starts_with("/v3/") {
            carbon += 1;
        } else {
            *kube.entry(request_line(&r)).or_insert(0) += 1;
        }
    }
    (kube, carbon)
}

fn print_requests(name: &str, (kube, carbon): (BTreeMap<String, usize>, usize)) {
    let total: usize = kube.values().sum();
    println!("\n{name}: {total} kube requests, {carbon} carbon requests");
    for (call, n) in kube {
        println!("  {n} x {call}");
    }
}

fn kubectl() -> PathBuf {
    let listed = Command::new("dpkg")
        .args(["-L", "kubectl"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    listed
        .lines()
        .find(|l| l.ends_with("/kubectl.1.33"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/google-cloud-sdk/bin/kubectl.1.33"))
}

/// The demo's three regions as a fleet: the home cluster (the state, and the carbon API) and one
/// emulated cluster per region, their kubeconfigs merged by kubectl as a user would.
fn start_fleet(regions: &str) -> (Env, Vec<Emulator>) {
    let mut env = Env::start(Seed::demo(), regions, "fleet");
    let dir = bench_dir("fleet");
    let mut files = vec![dir.join("home")];
    env.emu.write_kubeconfig_named(&files[0], "home").unwrap();
    let mut members = Vec::new();
    let mut contexts = Vec::new();
    for region in ["denmark", "france", "latvia"] {
        let member = Emulator::start(Seed::region(region, None)).expect("member starts");
        let file = dir.join(region);
        member.write_kubeconfig_named(&file, region).unwrap();
        files.push(file);
        members.push(member);
        contexts.push(format!("{region}={region}"));
    }
    let merged = Command::new("kubectl")
        .args(["config", "view", "--flatten"])
        .env("KUBECONFIG", std::env::join_paths(&files).unwrap())
        .output()
        .expect("kubectl runs");
    assert!(
        merged.status.success(),
        "kubectl config view --flatten failed"
    );
    env.kubeconfig = dir.join("merged");
    std::fs::write(&env.kubeconfig, merged.stdout).unwrap();
    env.vars
        .push(("REGION_CONTEXTS".into(), contexts.join(",")));
    (env, members)
}

/// Requests one tick made of each of several emulators, grouped as `METHOD path`.
fn fleet_requests(env: &Env, members: &[Emulator]) {
    let all: Vec<&Emulator> = std::iter::once(&env.emu).chain(members).collect();
    for emu in &all {
        emu.clear_requests();
    }
    env.tick(&[]);
    for (name, emu) in ["home", "denmark", "france", "latvia"].iter().zip(all) {
        let mut kube = BTreeMap::new();
        let mut carbon = 0;
        for r in emu.requests() {
            if r.path.starts_with("/v3/") {
                carbon += 1;
            } else {
                *kube.entry(request_line(&r)).or_insert(0) += 1;
            }
        }
        print_requests(&format!("  {name} cluster"), (kube, carbon));
    }
}

/// The emulator's kubeconfig with a CA added to its cluster, as real kubeconfigs carry one:
/// carbonctl then trusts that CA alone (without one it would need no trust roots for an
/// `http://` server). The CA is made by `openssl` for the run.
fn with_ca(env: &Env, label: &str) -> PathBuf {
    let dir = bench_dir(label);
    let pem = dir.join("ca.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-subj",
            "/CN=carbonctl-bench-ca",
            "-days",
            "1",
            "-keyout",
        ])
        .arg(dir.join("ca.key"))
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // certificate-authority-data is the PEM, base64-encoded once more.
    let encoded = Command::new("openssl")
        .args(["base64", "-A", "-in"])
        .arg(&pem)
        .output()
        .expect("openssl runs");
    let data = String::from_utf8(encoded.stdout).unwrap();
    let text = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if let Some(server) = line.find("server:") {
            let indent = " ".repeat(server);
            out.push_str(&format!("{indent}certificate-authority-data: {data}\n"));
        }
    }
    let path = dir.join("kubeconfig-with-ca");
    std::fs::write(&path, out).unwrap();
    path
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MEASURE) {
        let (wall, rss) = timed(Command::new(&args[2]).args(&args[3..]));
        println!("{wall} {rss}");
        return;
    }
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_carbonctl"));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!(
        "machine: {} cores, {cpu}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "binary: {} ({} bytes, {:.1} MB)",
        binary.display(),
        std::fs::metadata(&binary).unwrap().len(),
        std::fs::metadata(&binary).unwrap().len() as f64 / 1e6
    );

    // Requests per tick.
    let demo = "denmark=DK,france=FR,latvia=LV";
    let env = Env::start(Seed::demo(), demo, "requests");
    print_requests(
        "holding tick, cold carbon cache",
        requests_of_one_tick(&env, &[]),
    );
    print_requests(
        "holding tick, warm carbon cache",
        requests_of_one_tick(&env, &[]),
    );
    env.emu.set_cpu_percent(None, 90.0);
    print_requests(
        "acting tick (HOLD_CYCLES=1), warm cache",
        requests_of_one_tick(&env, &[("HOLD_CYCLES", "1")]),
    );

    // Wall time and peak RSS next to kubectl get nodes, alternating.
    let env = Env::start(Seed::demo(), demo, "time");
    env.tick(&[]);
    let kubectl = kubectl();
    let (mut tick_ms, mut tick_rss, mut kubectl_ms, mut kubectl_rss) =
        (vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let (ms, rss) = env.tick(&[]);
        tick_ms.push(ms);
        tick_rss.push(rss as f64);
        let (ms, rss) = env.measure(&kubectl, &["get", "nodes"], &[]);
        kubectl_ms.push(ms);
        kubectl_rss.push(rss as f64);
    }
    let (t, k) = (median(tick_ms.clone()), median(kubectl_ms));
    println!("\nwall time, median of {RUNS} alternating runs (holding tick, warm cache):");
    println!("  carbonctl tick        {t:7.1} ms");
    println!(
        "  kubectl.1.33 get nodes {k:6.1} ms   ({})",
        kubectl.display()
    );
    println!("  ratio tick/kubectl    {:7.2}", t / k);
    println!("peak RSS, max over runs:");
    println!(
        "  carbonctl tick        {:7.1} MB",
        tick_rss.iter().copied().fold(0.0, f64::max) / 1024.0
    );
    println!(
        "  kubectl.1.33 get nodes {:6.1} MB",
        kubectl_rss.iter().copied().fold(0.0, f64::max) / 1024.0
    );

    // The same tick over a fleet of three clusters, alternating with the one-cluster tick.
    let (fleet, members) = start_fleet(demo);
    fleet.tick(&[]);
    println!("\nfleet of three clusters, holding tick, warm cache, requests per cluster:");
    fleet_requests(&fleet, &members);
    let (mut one_ms, mut fleet_ms, mut fleet_rss) = (vec![], vec![], vec![]);
    for _ in 0..RUNS {
        one_ms.push(env.tick(&[]).0);
        let (ms, rss) = fleet.tick(&[]);
        fleet_ms.push(ms);
        fleet_rss.push(rss as f64);
    }
    let (one, f) = (median(one_ms), median(fleet_ms));
    println!(
        "\nfleet of three clusters, holding tick, warm cache, median of {RUNS} alternating runs:"
    );
    println!("  one cluster           {one:7.1} ms");
    println!("  three clusters + home {f:7.1} ms   ratio {:.2}", f / one);
    println!(
        "  peak RSS              {:7.1} MB",
        fleet_rss.iter().copied().fold(0.0, f64::max) / 1024.0
    );
    drop(members);

    // The same tick on a large cluster, alternating with the three-region tick, with the
    // emulators' kubeconfigs as they are and with a CA added to each.
    let (seed, regions) = Seed::large(100, 50);
    let large = Env::start(seed, &regions, "large");
    print_requests(
        "large cluster (5,000 nodes, 100 regions), first tick: cold cache, every node read",
        requests_of_one_tick(&large, &[]),
    );
    print_requests(
        "large cluster, holding tick, warm cache",
        requests_of_one_tick(&large, &[]),
    );
    let state_bytes: usize = large
        .emu
        .configmap_data(NS, STATE)
        .unwrap()
        .values()
        .map(String::len)
        .sum();
    println!("  state ConfigMap data with the node snapshot: {state_bytes} bytes");
    let small_ca = with_ca(&env, "small-ca");
    let large_ca = with_ca(&large, "large-ca");
    for (label, small_config, large_config) in [
        (
            "kubeconfig without a CA",
            env.kubeconfig.clone(),
            large.kubeconfig.clone(),
        ),
        ("kubeconfig with a CA", small_ca, large_ca),
    ] {
        let small_kc = [("KUBECONFIG", small_config.to_str().unwrap())];
        let large_kc = [("KUBECONFIG", large_config.to_str().unwrap())];
        let every_node = [large_kc[0], ("NODE_REFRESH", "0s")];
        let (mut small_ms, mut large_ms, mut full_ms) = (vec![], vec![], vec![]);
        let (mut large_rss, mut full_rss, mut fresh_ms) = (vec![], vec![], vec![]);
        for _ in 0..RUNS {
            small_ms.push(env.tick(&small_kc).0);
            let (ms, rss) = large.tick(&large_kc);
            large_ms.push(ms);
            large_rss.push(rss as f64);
            let (ms, rss) = large.tick(&every_node);
            full_ms.push(ms);
            full_rss.push(rss as f64);
            // The emulator answers a NodeMetrics list asked again within the same second with
            // nothing changed from memory; ticks a minute apart never are. Setting every
            // node's CPU to the seed's own 45% changes nothing a tick sees but makes the
            // emulator render the list afresh, as a real metrics-server encodes every answer.
            large.emu.set_cpu_percent(None, 45.0);
            fresh_ms.push(large.tick(&large_kc).0);
        }
        let fresh = median(fresh_ms);
        let (small, l, full) = (median(small_ms), median(large_ms), median(full_ms));
        let max_mb = |xs: &[f64]| xs.iter().copied().fold(0.0, f64::max) / 1024.0;
        println!("\nlarge cluster, holding tick, warm cache, {label}, median of {RUNS} alternating runs:");
        println!("  three regions                         {small:7.1} ms");
        println!(
            "  5,000 nodes, snapshot stands          {l:7.1} ms   ratio {:.2}   peak RSS {:.1} MB",
            l / small,
            max_mb(&large_rss)
        );
        println!(
            "  5,000 nodes, snapshot stands, NodeMetrics rendered afresh {fresh:7.1} ms   ratio {:.2}",
            fresh / small
        );
        println!(
            "  5,000 nodes, every node read          {full:7.1} ms   ratio {:.2}   peak RSS {:.1} MB",
            full / small,
            max_mb(&full_rss)
        );
        println!(
            "  mean over NODE_REFRESH=10m (9 ticks standing, 1 reading every node): {:.1} ms   ratio {:.2}",
            (9.0 * l + full) / 10.0,
            (9.0 * l + full) / 10.0 / small
        );
    }
    // What the server side alone costs: the two big lists fetched by a plain HTTP client that
    // does not parse them.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut fetch_ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        bytes = 0;
        for path in [
            "/api/v1/nodes?labelSelector=region&resourceVersion=0",
            "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=region",
        ] {
            let url = format!("{}{path}", large.emu.base_url());
            let body = agent
                .get(&url)
                .call()
                .expect("list answers")
                .into_body()
                .read_to_vec();
            bytes += body.map(|b| b.len()).unwrap_or(0);
        }
        fetch_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "  the node and NodeMetrics lists alone ({:.1} MB), fetched one after the other without parsing: {:.1} ms",
        bytes as f64 / 1e6,
        median(fetch_ms)
    );
}
