//! `carbonctl status`: what carbonctl sees and remembers, without changing anything.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::choices::ScaleTarget;
use crate::cli::{StatusArgs, StatusFormat};
use crate::config::{Connect, LogFormat, Settings};
use crate::error::Error;
use crate::k8s::Fleet;
use crate::pipeline::{self, managed};
use crate::plan::plan;
use crate::render::{self, ActionView, AutoscalerStatus, LedgerView, RegionStatus, StatusReport};

pub fn run(settings: &Settings, connect: &Connect, args: &StatusArgs) -> Result<ExitCode, Error> {
    if args.watch {
        return watch(settings, connect, args);
    }
    let report = super::block_on_bounded(connect, gather(settings, connect, args.refresh))?;
    render::print(&text(settings, args.output, &report))?;
    Ok(ExitCode::SUCCESS)
}

fn text(settings: &Settings, output: StatusFormat, report: &StatusReport) -> String {
    let console = settings.log_format == LogFormat::Console;
    match output {
        StatusFormat::Table => render::status_table(report, console, false),
        StatusFormat::Wide => render::status_table(report, console, true),
        StatusFormat::Json => render::to_json(report),
        StatusFormat::Yaml => render::to_yaml(report),
    }
}

/// `status --watch`: the status again every interval, like `watch carbonctl status`. On a
/// terminal each refresh replaces the last; piped, refreshes follow one another, each under a
/// line with its time. A failed refresh is shown and the next one tried, as `watch` does;
/// the watch ends when interrupted or when its reader goes away.
fn watch(settings: &Settings, connect: &Connect, args: &StatusArgs) -> Result<ExitCode, Error> {
    use std::io::{IsTerminal, Write};
    let secs = crate::config::duration("--interval", &args.interval)?.max(1);
    let interval = Duration::from_secs(secs as u64);
    let in_place = std::io::stdout().is_terminal();
    loop {
        let started = Instant::now();
        let now = crate::clock::to_rfc3339(crate::clock::now());
        let body = match super::block_on_bounded(connect, gather(settings, connect, args.refresh)) {
            Ok(report) => text(settings, args.output, &report),
            Err(e) => format!("carbonctl: {e}"),
        };
        let clear = if in_place { "\x1b[H\x1b[2J" } else { "" };
        let every = crate::duration::format_secs(secs);
        let frame = format!("{clear}Every {every}: carbonctl status    {now}\n\n{body}\n\n");
        let mut out = std::io::stdout().lock();
        match out.write_all(frame.as_bytes()).and_then(|_| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(Error::Output(e)),
            Ok(()) => {}
        }
        drop(out);
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
    }
}

async fn gather(
    settings: &Settings,
    connect: &Connect,
    refresh: bool,
) -> Result<StatusReport, Error> {
    let now = crate::clock::now();
    let fleet = Fleet::connect(connect).await?;
    let cluster = &fleet.home;
    let (loaded, observed) =
        pipeline::load_and_observe(&fleet, settings, connect, now, refresh).await?;
    let state = &loaded.state;
    // In `replicas` mode a tick reads HPAs only when it would act; status always shows them.
    // A failure to read them is shown, not fatal: status changes nothing.
    let (rule_settings, mut hands_off) = observed.floors(settings);
    let mut autoscalers_error = None;
    let autoscalers = match &observed.view.autoscalers {
        Some(found) => found.clone(),
        None => match fleet
            .autoscalers(settings, &observed.view.unobserved, None)
            .await
        {
            Ok(found) => {
                hands_off = managed(&found);
                found
            }
            Err(e) => {
                autoscalers_error = Some(e.to_string());
                Default::default()
            }
        },
    };
    let policy = &rule_settings.policy;
    let plan = plan(
        state,
        &observed.observation,
        &observed.carbon,
        observed.fleet_nodes(),
        &hands_off,
        &rule_settings,
        now,
    );
    let ranked = &plan.ranked;
    let regions = settings
        .regions
        .iter()
        .map(|r| {
            let entry = observed.carbon.get(&r.name).filter(|e| e.zone == r.zone);
            let hours = policy.rebalance_forecast_secs.map(|s| (s / 3600) as u32);
            let forecast = entry.filter(|e| hours.is_some() && e.forecast_hours == hours);
            let deployment = observed.view.deployments.get(&r.name).cloned().flatten();
            let node_names: HashSet<&str> = observed
                .view
                .nodes
                .iter()
                .filter(|n| n.region.as_deref() == Some(r.name.as_str()) && n.schedulable_worker())
                .map(|n| &*n.name)
                .collect();
            let cpus: Vec<f64> = observed
                .view
                .node_cpu
                .iter()
                .filter(|(n, _)| node_names.contains(&**n))
                .filter_map(|(_, c)| *c)
                .collect();
            let bounds = policy.bounds(&r.name);
            let floors = settings.scale_target == ScaleTarget::HpaMin;
            RegionStatus {
                autoscaler: autoscalers
                    .get(&r.name)
                    .map(|a| AutoscalerStatus::new(a, floors)),
                left_alone: hands_off.get(&r.name).cloned(),
                region: r.name.clone(),
                zone: r.zone.clone(),
                grams_per_kwh: entry.and_then(|e| e.grams_per_kwh),
                usable: ranked.iter().any(|x| x.name == r.name && x.grams.is_some()),
                carbon_datetime: entry.and_then(|e| e.datetime.clone()),
                carbon_age_secs: entry.and_then(|e| e.fetched_at).map(|t| now - t),
                emission_factor_type: entry.and_then(|e| e.emission_factor_type.clone()),
                carbon_error: entry.and_then(|e| e.last_error.clone()),
                // What a tick would use: a forecast fetched for the horizon asked now.
                forecast_grams_per_kwh: forecast.and_then(|e| e.forecast_grams_per_kwh),
                forecast_hours: forecast.and_then(|e| e.forecast_hours),
                forecast_error: forecast.and_then(|e| e.forecast_error.clone()),
                rank: ranked.iter().position(|x| x.name == r.name).map(|p| p + 1),
                deployment: settings.deployment_name(&r.name),
                replicas: deployment.as_ref().map(|d| d.replicas),
                ready: deployment.as_ref().map(|d| d.ready),
                min: bounds.min,
                max: bounds.max,
                nodes: node_names.len(),
                context: fleet.context_of(&r.name).map(str::to_string),
                unobserved: observed.view.unobserved.get(&r.name).cloned(),
                not_growing: observed
                    .observation
                    .regions
                    .iter()
                    .find(|o| o.name == r.name)
                    .and_then(|o| o.unhealthy())
                    .map(|u| render::health_text(&r.name, u)),
                cpu: (!cpus.is_empty())
                    .then(|| render::round1(cpus.iter().sum::<f64>() / cpus.len() as f64)),
            }
        })
        .collect();
    Ok(StatusReport {
        scale_target: match settings.scale_target {
            ScaleTarget::Replicas => "replicas",
            ScaleTarget::HpaMin => "hpa-min",
        }
        .into(),
        carbon_unit: render::unit_label(policy.carbon_unit).into(),
        autoscalers_error,
        namespace: cluster.namespace.clone(),
        state_configmap: settings.state_configmap.clone(),
        regions,
        cpu: render::cpu_json(&observed.observation.cpu),
        trigger: render::trigger_label(policy.trigger).into(),
        scale_up_threshold: policy.scale_up_threshold,
        scale_down_threshold: policy.scale_down_threshold,
        hold_up: state.policy.hold_up,
        hold_down: state.policy.hold_down,
        hold_cycles: policy.hold_cycles,
        cooldown_remaining_secs: state.policy.cooldown_left(policy, now),
        last_scale: state
            .policy
            .last_scale
            .as_ref()
            .map(|a| ActionView::new(a, now)),
        last_heal: state
            .policy
            .last_heal
            .as_ref()
            .map(|a| ActionView::new(a, now)),
        last_rebalance: state
            .policy
            .last_rebalance
            .as_ref()
            .map(|a| ActionView::new(a, now)),
        pending_move: state.policy.pending_move.clone(),
        last_failure: state.last_failure.clone(),
        carbon_cache_ttl_secs: settings.carbon_cache_ttl_secs,
        ledger: state
            .ledger
            .as_ref()
            .map(|l| LedgerView::new(l, settings.watts_per_replica)),
        next_tick: plan.decision,
    })
}
