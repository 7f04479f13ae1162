//! `carbonctl tick`: connect, load, observe, plan, claim, act, fall back, record the Event, log,
//! push the metrics.
//! Every decision is made in `plan`; this file only performs the I/O and handles its failures.
//! The state lives in the home cluster; a change and its Event go to the cluster of the region
//! it is made in (the same cluster, unless REGION_CONTEXTS gives each region its own). A tick
//! about to change replicas first looks for HPAs, and plans again without the regions they own.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::choices::ScaleTarget;
use crate::cli::TickArgs;
use crate::config::{Connect, Settings};
use crate::error::Error;
use crate::k8s::{Cluster, Fleet, Saved, Scaled};
use crate::logging;
use crate::metrics::TickReport;
use crate::pipeline::{self, managed};
use crate::plan::plan;
use crate::policy::Decision;
use crate::render::Durations;
use crate::state::State;
use crate::totals::Outcome;

/// The namespace of the state and the exposition of a tick that claimed it.
type Metrics = Option<(String, String)>;

pub fn run(settings: &Settings, connect: &Connect, args: &TickArgs) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let mut metrics = None;
    let body = tick(settings, connect, args, started, &mut metrics);
    let result = super::block_on_bounded(connect, body);
    // A record step: its failure is a warning and changes neither the outcome nor the exit code.
    if let (Some(url), Some((namespace, text))) = (&connect.pushgateway_url, metrics) {
        let limit = Duration::from_secs(connect.tick_timeout_secs as u64);
        let budget = limit.saturating_sub(started.elapsed());
        match crate::metrics::push::push(url, &namespace, text, budget) {
            Ok(()) => log::debug!("metrics pushed to the Pushgateway"),
            Err(why) => log::warn!("metrics not pushed to the Pushgateway: {why}"),
        }
    }
    result
}

async fn tick(
    settings: &Settings,
    connect: &Connect,
    args: &TickArgs,
    started: Instant,
    metrics: &mut Metrics,
) -> Result<ExitCode, Error> {
    let now = crate::clock::now();
    let tick_id = format!("{now}-{}", std::process::id());
    let fleet = Fleet::connect(connect).await?;
    let home = &fleet.home;
    let (mut loaded, mut observed) =
        pipeline::load_and_observe(&fleet, settings, connect, now, true).await?;
    // The nodes as found are remembered with the rest of the claim.
    let seen = std::mem::take(&mut observed.view.snapshots);
    loaded.state.nodes.replace(seen);
    observed.require_deployments(settings, &home.namespace)?;
    let (rule_settings, mut hands_off) = observed.floors(settings);
    let planned = |hands_off: &_| {
        plan(
            &loaded.state,
            &observed.observation,
            &observed.carbon,
            observed.fleet_nodes(),
            hands_off,
            &rule_settings,
            now,
        )
    };
    let mut plan = planned(&hands_off);
    // Only a tick that would change replicas asks for HPAs, so a holding tick keeps its five
    // requests; the HPA list of the changed region's cluster costs an acting tick one more.
    // A region an HPA owns is left alone and the tick plans again; the new choice may lie in
    // another cluster of a fleet, whose HPAs are read in turn.
    let mut looked: Vec<&Cluster> = Vec::new();
    let replicas = settings.scale_target == ScaleTarget::Replicas;
    while let Some(change) = plan.decision.change().filter(|_| replicas) {
        let Some(cluster) = fleet.cluster_of(&change.region) else {
            break;
        };
        if looked.iter().any(|c| std::ptr::eq(*c, cluster)) {
            break;
        }
        looked.push(cluster);
        let unobserved = &observed.view.unobserved;
        let found = fleet
            .autoscalers(settings, unobserved, Some(&change.region))
            .await?;
        if found.is_empty() {
            break;
        }
        hands_off.extend(managed(&found));
        plan = planned(&hands_off);
    }
    for (region, why) in &hands_off {
        log::warn!("region {region} left alone: {why}");
    }
    let observe_ms = started.elapsed().as_millis();
    let sentence = plan.decision.to_string();
    let report = |level, message: &str, flag: Option<String>, outcome: &str| {
        let took = Durations {
            observe_ms,
            total_ms: started.elapsed().as_millis(),
        };
        let fields = plan.fields.line(&tick_id, &home.namespace, outcome, took);
        logging::event(level, message, flag, fields);
    };
    // What a tick that claimed the state pushes (a dry run and a lost claim push nothing: the
    // tick that won pushes the truth).
    let namespace = &home.namespace;
    let measure = |outcome: Outcome, state: &State| {
        connect.pushgateway_url.as_ref()?;
        let report = TickReport {
            now,
            duration_secs: started.elapsed().as_secs_f64(),
            outcome,
            decision: &plan.decision,
            state,
            observation: &observed.observation,
            settings: &rule_settings,
        };
        Some((namespace.clone(), crate::metrics::text(&report)))
    };
    // Regions left out because their cluster did not answer make the tick a failure once it
    // has done what it could for the others, so a Job history shows it.
    let done = || {
        if observed.view.unobserved.is_empty() {
            ExitCode::SUCCESS
        } else {
            let regions = observed.unobserved_text();
            log::error!("the tick went on without some regions: {regions}");
            ExitCode::from(crate::EXIT_FAILURE)
        }
    };

    if args.dry_run {
        crate::render::print(&sentence)?;
        report(
            log::Level::Info,
            &sentence,
            plan.fields.flag.clone(),
            "dry_run",
        );
        return Ok(done());
    }

    let claimed = match home.save_state(&loaded.object, &plan.claim).await? {
        Saved::Won(object) => object,
        Saved::Lost => {
            let message = "another tick wrote the state first; this tick does nothing";
            report(log::Level::Info, message, None, Outcome::LostClaim.label());
            count_lost_claim(home, &settings.state_configmap, now).await;
            return Ok(ExitCode::SUCCESS);
        }
    };

    if let Some(settled) = plan.settlement.as_ref().filter(|s| s.owes_event()) {
        let a = &settled.attempt;
        if let Some(cluster) = fleet.cluster_of(&a.region) {
            let target = observed.target(settings, &a.region, &a.deployment);
            let object = observed.subject(&target, &a.region);
            let event = cluster.record_event(a.action, &object, &a.reason, now);
            if let Err(e) = event.await {
                log::warn!(
                    "the previous tick's change took effect, but its Event was not recorded: {e}"
                );
            }
        }
    }

    let Decision::Change(change) = &plan.decision else {
        report(log::Level::Info, &sentence, None, Outcome::Held.label());
        *metrics = measure(Outcome::Held, &plan.claim);
        return Ok(done());
    };
    let cluster = fleet
        .cluster_of(&change.region)
        .expect("the rule only changes regions it observed, so their cluster answered");
    let target = observed.target(settings, &change.region, &change.deployment);
    let scaled = cluster.change(&target, change.from, change.to).await;
    let (state, outcome, failure) = match &scaled {
        Ok(Scaled::Applied) => {
            let object = observed.subject(&target, &change.region);
            let event = cluster.record_event(change.action, &object, &sentence, now);
            if let Err(e) = event.await {
                log::warn!("scaled, but the Event was not recorded: {e}");
            }
            report(
                log::Level::Info,
                &sentence,
                plan.fields.flag.clone(),
                Outcome::Applied.label(),
            );
            *metrics = measure(Outcome::Applied, &plan.claim);
            return Ok(done());
        }
        Ok(Scaled::Changed(message)) => {
            let failure = format!(
                "not applied: {} changed since observed ({message})",
                target.describe()
            );
            (
                plan.refused(&failure, now, Outcome::ReplicasChanged),
                Outcome::ReplicasChanged,
                failure,
            )
        }
        // No readable answer: the write may have been applied, so the claim stands and the
        // next tick settles it against what it observes.
        Err(e @ Error::ScaleFailed { unknown: true, .. }) => {
            let failure = e.to_string();
            (
                plan.unanswered(&failure, now),
                Outcome::ScaleUnanswered,
                failure,
            )
        }
        Err(e) => {
            let failure = e.to_string();
            (
                plan.refused(&failure, now, Outcome::ScaleFailed),
                Outcome::ScaleFailed,
                failure,
            )
        }
    };
    // The metrics follow the state as the next tick will read it, so a counter never goes down.
    match home.save_state(&claimed, &state).await {
        Ok(Saved::Won(_)) => *metrics = measure(outcome, &state),
        Ok(Saved::Lost) => {
            log::warn!(
                "could not record the failed scale in the state: another tick wrote it first"
            )
        }
        // The write may have landed or not: nothing is pushed, and the next tick pushes the
        // state as it finds it (pushing the claim could show a count it then takes back).
        Err(e) => log::warn!("could not record the failed scale in the state: {e}"),
    }
    report(
        log::Level::Warn,
        &format!("{sentence}: {failure}"),
        None,
        outcome.label(),
    );
    scaled.map(|_| done())
}

/// Counts a lost claim in the state the winning tick wrote, so `carbonctl_ticks_total` shows
/// overlapping runs. Only the totals change, and only while that state carries no `attempt`:
/// a winner changing replicas may still write its state again, and a write here would make it
/// lose its own record. Losers contending with each other retry a few times; a claim that
/// cannot be counted is a warning, never a failed tick.
async fn count_lost_claim(home: &Cluster, name: &str, now: i64) {
    for _ in 0..3 {
        let loaded = match home.load_state(name, now).await {
            Ok(loaded) => loaded,
            Err(e) => {
                log::warn!("the lost claim was not counted: {e}");
                return;
            }
        };
        if loaded.state.attempt.is_some() {
            log::info!("the lost claim was not counted: the winning tick's change is in flight");
            return;
        }
        let totals = loaded.state.totals.unwrap_or_default();
        let counted = State {
            totals: Some(totals.count(Outcome::LostClaim)),
            ..loaded.state
        };
        match home.save_state(&loaded.object, &counted).await {
            Ok(Saved::Won(_)) => return,
            Ok(Saved::Lost) => continue,
            Err(e) => {
                log::warn!("the lost claim was not counted: {e}");
                return;
            }
        }
    }
    log::warn!("the lost claim was not counted: the state kept changing");
}
