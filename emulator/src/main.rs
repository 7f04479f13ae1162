//! `kube-emulator`: serve the emulated cluster and carbon API until killed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kube_emulator::{Emulator, Seed};

/// Kubernetes API and ElectricityMaps API emulator on 127.0.0.1 (plain HTTP).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// `demo` for the built-in three-region cluster, `region:NAME[:ZONE]` for one region's own
    /// cluster (a fleet member), `large:REGIONS:NODES` for REGIONS regions of NODES workers
    /// each (prints the REGIONS setting that names them), or a seed JSON file.
    #[arg(long, default_value = "demo")]
    seed: String,
    /// Write a kubeconfig for this emulator (server and bearer token) to this path.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig's context, cluster and user (distinct names let the
    /// kubeconfigs of several emulators merge).
    #[arg(long, default_value = "kube-emulator")]
    context_name: String,
    /// Answer 401 to Kubernetes requests without the bearer token. Off by default because
    /// kubectl sends no token over plain HTTP; a wrong token is always refused.
    #[arg(long)]
    require_token: bool,
    /// Run KEDA's reconcile and the HPA controller's pass every N seconds (the real
    /// controller's period is 15). Off by default: tests call `POST /_emulator/hpa-sync`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    hpa_sync_seconds: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let seed = match cli.seed.split_once(':') {
        _ if cli.seed == "demo" => Seed::demo(),
        Some(("region", spec)) => {
            let (region, zone) = match spec.split_once(':') {
                Some((region, zone)) => (region, Some(zone)),
                None => (spec, None),
            };
            Seed::region(region, zone)
        }
        Some(("large", spec)) => {
            let sizes = spec
                .split_once(':')
                .and_then(|(r, n)| Some((r.parse().ok()?, n.parse().ok()?)));
            let Some((regions, per_region)) = sizes else {
                anyhow::bail!(
                    "--seed large:REGIONS:NODES takes two whole numbers, e.g. large:100:50"
                );
            };
            let (seed, names) = Seed::large(regions, per_region);
            println!("REGIONS={names}");
            seed
        }
        _ => Seed::from_file(cli.seed.as_ref())?,
    };
    let emulator = Emulator::start_on_port(seed, cli.port)?;
    emulator.set_allow_anonymous(!cli.require_token);
    if let Some(path) = &cli.kubeconfig {
        emulator.write_kubeconfig_named(path, &cli.context_name)?;
    }
    let mut banner = format!(
        "{}\nElectricityMaps API: {} (auth-token header)\n",
        emulator.base_url(),
        emulator.carbon_base_url()
    );
    if cli.seed == "demo" || cli.seed.starts_with("region:") || cli.seed.starts_with("large:") {
        banner.push_str("demo carbon token: demo-token\n");
    }
    // One write: a reader that stops after the first line (`| head -1`) cannot make a later
    // line fail with a broken pipe and take the server down.
    let mut out = std::io::stdout().lock();
    out.write_all(banner.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    drop(out);
    match cli.hpa_sync_seconds {
        Some(seconds) => loop {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            emulator.sync_hpas();
        },
        None => loop {
            std::thread::park();
        },
    }
}
