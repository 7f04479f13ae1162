//! `carbonctl tick`: connect, load, observe, plan, claim, act, fall back, record the Event, log.
//! Every decision is made in `plan`; this file only performs the I/O and handles its failures.

use std::process::ExitCode;
use std::time::Instant;

use crate::cli::TickArgs;
use crate::config::{Connect, Settings};
use crate::error::Error;
use crate::k8s::{Cluster, Saved, Scaled};
use crate::logging;
use crate::pipeline;
use crate::plan::plan;
use crate::policy::Decision;
use crate::render::Durations;

pub fn run(settings: &Settings, connect: &Connect, args: &TickArgs) -> Result<ExitCode, Error> {
    super::block_on_bounded(connect, tick(settings, connect, args))
}

async fn tick(settings: &Settings, connect: &Connect, args: &TickArgs) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let now = crate::clock::now();
    let tick_id = format!("{now}-{}", std::process::id());
    let cluster = Cluster::connect(connect).await?;
    let loaded = cluster.load_state(&settings.state_configmap, now).await?;
    let observed =
        pipeline::observe(&cluster, settings, connect, &loaded.state.carbon, now, true).await?;
    observed.require_deployments(settings, &cluster.namespace)?;
    let observe_ms = started.elapsed().as_millis();
    let plan = plan(
        &loaded.state,
        &observed.observation,
        &observed.carbon,
        settings,
        now,
    );
    let sentence = plan.decision.to_string();
    let report = |level, message: &str, flag: Option<String>, outcome: &str| {
        let took = Durations {
            observe_ms,
            total_ms: started.elapsed().as_millis(),
        };
        let fields = plan
            .fields
            .line(&tick_id, &cluster.namespace, outcome, took);
        logging::event(level, message, flag, fields);
    };

    if args.dry_run {
        crate::render::print(&sentence)?;
        report(
            log::Level::Info,
            &sentence,
            plan.fields.flag.clone(),
            "dry_run",
        );
        return Ok(ExitCode::SUCCESS);
    }

    let claimed = match cluster.save_state(&loaded.object, &plan.claim).await? {
        Saved::Won(object) => object,
        Saved::Lost => {
            let message = "another tick wrote the state first; this tick does nothing";
            report(log::Level::Info, message, None, "lost_claim");
            return Ok(ExitCode::SUCCESS);
        }
    };

    if let Some(settled) = plan.settlement.as_ref().filter(|s| s.owes_event()) {
        let a = &settled.attempt;
        let uid = observed.deployment_uid(&a.region);
        let event = cluster.record_event(a.action, &a.deployment, &a.reason, uid, now);
        if let Err(e) = event.await {
            log::warn!(
                "the previous tick's change took effect, but its Event was not recorded: {e}"
            );
        }
    }

    let Decision::Change(change) = &plan.decision else {
        report(log::Level::Info, &sentence, None, "held");
        return Ok(ExitCode::SUCCESS);
    };
    let scaled = cluster
        .scale(&change.deployment, change.from, change.to)
        .await;
    let (state, outcome, failure) = match &scaled {
        Ok(Scaled::Applied) => {
            let uid = observed.deployment_uid(&change.region);
            let event =
                cluster.record_event(change.action, &change.deployment, &sentence, uid, now);
            if let Err(e) = event.await {
                log::warn!("scaled, but the Event was not recorded: {e}");
            }
            report(
                log::Level::Info,
                &sentence,
                plan.fields.flag.clone(),
                "applied",
            );
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Scaled::Changed(message)) => {
            let failure = format!("not applied: replicas changed since observed ({message})");
            (plan.refused(&failure, now), "replicas_changed", failure)
        }
        // No readable answer: the write may have been applied, so the claim stands and the
        // next tick settles it against what it observes.
        Err(e @ Error::ScaleFailed { unknown: true, .. }) => {
            let failure = e.to_string();
            (plan.unanswered(&failure, now), "scale_unanswered", failure)
        }
        Err(e) => {
            let failure = e.to_string();
            (plan.refused(&failure, now), "scale_failed", failure)
        }
    };
    if let Err(e) = cluster.save_state(&claimed, &state).await {
        log::warn!("could not record the failed scale in the state: {e}");
    }
    report(
        log::Level::Warn,
        &format!("{sentence}: {failure}"),
        None,
        outcome,
    );
    scaled.map(|_| ExitCode::SUCCESS)
}
