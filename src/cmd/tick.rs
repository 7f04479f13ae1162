//! `carbonctl tick`: load state, observe, decide, claim, act once, record.

use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;

use crate::cli::TickArgs;
use crate::clock::to_rfc3339;
use crate::config::{Connect, Settings};
use crate::error::Error;
use crate::k8s::{Cluster, Saved, Scaled};
use crate::ledger::Ledger;
use crate::logging;
use crate::pipeline;
use crate::policy::{decide, rank};
use crate::state::State;

pub fn run(settings: &Settings, connect: &Connect, args: &TickArgs) -> Result<ExitCode, Error> {
    super::block_on_bounded(connect, tick(settings, connect, args))
}

async fn tick(settings: &Settings, connect: &Connect, args: &TickArgs) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let now = crate::clock::now();
    let tick_id = format!("{now}-{}", std::process::id());
    let cluster = Cluster::connect(connect).await?;
    let loaded = cluster.load_state(&settings.state_configmap).await?;
    let observed =
        pipeline::observe(&cluster, settings, connect, &loaded.state.carbon, now, true).await?;
    let (decision, policy_state) = decide(
        &observed.observation,
        &loaded.state.policy,
        &settings.policy,
        now,
    );
    let observed_ms = started.elapsed().as_millis();
    let ranked = rank(&observed.observation, &settings.policy, now);
    let signal = observed
        .carbon
        .values()
        .find_map(|e| e.emission_factor_type.clone());
    let mut next = State {
        policy: policy_state,
        carbon: observed.carbon.clone(),
        ledger: Some(Ledger::accrue(
            loaded.state.ledger.as_ref(),
            &settings
                .regions
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            &ranked,
            signal.as_deref(),
            now,
        )),
        ..loaded.state.clone()
    };
    let holds = (next.policy.hold_up, next.policy.hold_down);
    let fields = |outcome: &str| {
        json!({
            "tickId": tick_id,
            "namespace": cluster.namespace,
            "decision": decision,
            "outcome": outcome,
            "cpu": super::cpu_json(&observed.observation.cpu),
            "holdUp": holds.0,
            "holdDown": holds.1,
            "carbon": super::carbon_json(&observed.observation, settings, &settings.policy, now),
            "durationsMs": {"observe": observed_ms, "total": started.elapsed().as_millis()},
        })
    };

    if args.dry_run {
        crate::render::print(&decision.reason)?;
        logging::event(
            log::Level::Info,
            &decision.reason,
            flag_for(settings, &decision.region),
            fields("dry_run"),
        );
        return Ok(ExitCode::SUCCESS);
    }

    let claimed = match cluster.save_state(&loaded.object, &next).await? {
        Saved::Won(object) => object,
        Saved::Lost => {
            logging::event(
                log::Level::Info,
                "another tick wrote the state first; this tick does nothing",
                None,
                fields("lost_claim"),
            );
            return Ok(ExitCode::SUCCESS);
        }
    };

    let (Some(region), Some(from), Some(to)) =
        (decision.region.clone(), decision.from, decision.to)
    else {
        logging::event(log::Level::Info, &decision.reason, None, fields("held"));
        return Ok(ExitCode::SUCCESS);
    };
    let deployment = observed
        .view
        .deployments
        .get(&region)
        .cloned()
        .flatten()
        .expect("the rule only picks regions whose Deployment was observed");
    let scaled = cluster.scale(&deployment.name, from, to).await;
    let failure = match &scaled {
        Ok(Scaled::Applied) => None,
        Ok(Scaled::Changed(message)) => Some(format!(
            "not applied: replicas changed since observed ({message})"
        )),
        // A timeout or a dropped connection may come after the server applied the patch.
        Err(e) => Some(format!(
            "outcome unknown, the next tick observes what happened: {e}"
        )),
    };
    if let Some(failure) = failure {
        // The claim recorded the change as made; it was not (or may not have been), so the
        // rule's memory goes back to before it: no cooldown, no pending move for a change
        // that did not happen.
        next.policy = loaded.state.policy.clone();
        next.last_failure = Some(format!(
            "{} {}: {failure}",
            to_rfc3339(now),
            decision.reason
        ));
        if let Err(e) = cluster.save_state(&claimed, &next).await {
            log::warn!("could not record the failed scale in the state: {e}");
        }
        let outcome = if scaled.is_ok() {
            "replicas_changed"
        } else {
            "scale_failed"
        };
        logging::event(
            log::Level::Warn,
            &format!("{}: {failure}", decision.reason),
            None,
            fields(outcome),
        );
        return scaled.map(|_| ExitCode::SUCCESS);
    }
    if let Err(e) = cluster.record_event(&deployment, &decision, now).await {
        log::warn!("scaled, but the Event was not recorded: {e}");
    }
    logging::event(
        log::Level::Info,
        &decision.reason,
        flag_for(settings, &decision.region),
        fields("applied"),
    );
    Ok(ExitCode::SUCCESS)
}

fn flag_for(settings: &Settings, region: &Option<String>) -> Option<String> {
    let region = region.as_ref()?;
    let zone = &settings.regions.iter().find(|r| &r.name == region)?.zone;
    Some(logging::flag(zone))
}
