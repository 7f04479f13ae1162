//! Writes whose answer is lost: the emulator applies the request, then the connection drops or
//! hangs. The next tick settles what happened from what it observes and never repeats a change
//! the cluster already shows, nor keeps a cooldown for one it does not.

mod common;

use std::time::Duration;

use common::cluster::{tick_line, Cluster, NS};
use common::proxy::Lose;

const SCALE: &str = "/apis/apps/v1/namespaces/default/deployments/";
const STATE: &str = "/api/v1/namespaces/default/configmaps/carbonctl-state";

fn state(c: &Cluster) -> carbonctl::state::State {
    carbonctl::state::State::from_data(&c.state()).expect("the state stays readable")
}

fn reasons(c: &Cluster) -> Vec<String> {
    c.emu
        .events(NS)
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_scale_whose_answer_is_lost_is_made_once_and_recorded_by_the_next_tick() {
    // (cpu, the change, replicas after it)
    let directions = [
        (90.0, "scale up france 2->3", [2, 3, 2]),
        (5.0, "scale down latvia 2->1", [2, 2, 1]),
    ];
    for lose in [Lose::Drop, Lose::Withhold(Duration::from_secs(4))] {
        for (cpu, change, after) in directions {
            let label = format!("{change}, answer {lose:?}");
            let mut c = Cluster::demo_behind_proxy();
            c.set("HOLD_CYCLES", "1").set("TICK_TIMEOUT", "8s");
            c.emu.set_cpu_percent(None, cpu);
            c.proxy().lose_answer("PATCH", SCALE, lose);

            let out = c.run(&["tick"]);
            assert_eq!(out.code, 1, "{label}: {}", out.stderr);
            assert_eq!(c.proxy().lost(), 1, "{label}");
            assert_eq!(c.replicas(), after, "{label}: the emulator applied it");
            assert!(
                out.stderr.contains("it may still have been applied"),
                "{label}: {}",
                out.stderr
            );
            let s = state(&c);
            assert!(s.attempt.as_ref().is_some_and(|a| a.unanswered), "{label}");
            assert!(s.policy.last_scale.is_some(), "{label}: the claim stands");
            assert!(
                reasons(&c).is_empty(),
                "{label}: no Event without an answer"
            );

            // The next tick sees the change in effect: no second change, the cooldown holds,
            // and the Event the first tick could not record is recorded now.
            let out = c.tick();
            let line = tick_line(&out);
            assert_eq!(c.replicas(), after, "{label}: {}", out.stderr);
            assert_eq!(c.scale_writes(), 1, "{label}");
            assert_eq!(line["decision"]["action"], "hold", "{label}: {line}");
            assert!(
                line["decision"]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("cooling down"),
                "{label}: {line}"
            );
            assert!(
                line["previous"]
                    .as_str()
                    .unwrap()
                    .contains("took effect although its answer was lost"),
                "{label}: {line}"
            );
            let events = reasons(&c);
            assert_eq!(events.len(), 1, "{label}: {events:?}");
            assert!(events[0].starts_with(change), "{label}: {events:?}");
            let s = state(&c);
            assert!(
                s.attempt.is_none() && s.policy.last_scale.is_some(),
                "{label}"
            );

            // And the tick after records nothing more.
            c.tick();
            assert_eq!((c.scale_writes(), reasons(&c).len()), (1, 1), "{label}");
        }
    }
}

#[test]
fn a_claim_whose_answer_is_lost_leaves_no_phantom_cooldown() {
    for lose in [Lose::Drop, Lose::Withhold(Duration::from_secs(4))] {
        let mut c = Cluster::demo_behind_proxy();
        c.set("HOLD_CYCLES", "1").set("TICK_TIMEOUT", "8s");
        c.emu.set_cpu_percent(None, 90.0);
        c.proxy().lose_answer("PUT", STATE, lose);

        let out = c.run(&["tick"]);
        assert_eq!(out.code, 1, "{lose:?}: {}", out.stderr);
        assert_eq!(
            c.replicas(),
            [2, 2, 2],
            "{lose:?}: nothing scaled without a claim"
        );
        let s = state(&c);
        assert!(s.attempt.is_some(), "{lose:?}: the claim was committed");
        assert!(s.policy.last_scale.is_some(), "{lose:?}: with its cooldown");

        // The next tick finds the change not in effect, drops its cooldown and decides afresh:
        // one scale in all, not a cooldown for one that never happened.
        let out = c.tick();
        let line = tick_line(&out);
        assert_eq!(c.replicas(), [2, 3, 2], "{lose:?}: {}", out.stderr);
        assert_eq!(line["outcome"], "applied", "{lose:?}: {line}");
        assert!(
            line["previous"]
                .as_str()
                .unwrap()
                .contains("is not in effect"),
            "{lose:?}: {line}"
        );
        let s = state(&c);
        assert!(
            s.last_failure
                .as_deref()
                .unwrap_or_default()
                .contains("the tick did not get to make it"),
            "{lose:?}: {:?}",
            s.last_failure
        );
        assert_eq!(c.scale_writes(), 1);
        assert_eq!(reasons(&c).len(), 1);
    }
}

#[test]
fn a_scale_refused_by_the_server_is_not_left_to_settle() {
    // 404: the Deployment is gone; the server refused the write, so nothing is pending.
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1");
    c.emu.set_cpu_percent(None, 90.0);
    c.emu.inject_fault(
        kube_emulator::Fault::new(
            &format!("{SCALE}nginx-france/scale"),
            kube_emulator::FaultKind::Status(404),
        )
        .method("PATCH"),
    );
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 404 NotFound"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("Status {"),
        "no debug dump: {}",
        out.stderr
    );
    let s = state(&c);
    assert!(
        s.attempt.is_none(),
        "a refused write has no outcome to settle"
    );
    assert!(s.policy.last_scale.is_none(), "and starts no cooldown");
}
