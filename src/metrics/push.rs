//! The Pushgateway edge: one PUT of a tick's exposition to its group, which replaces the
//! previous tick's push as a whole (so a region no longer configured disappears). Bounded by
//! what is left of the tick's budget; every failure comes back as a sentence for a warning.

use std::time::Duration;

/// The group of a tick's metrics: job `carbonctl` and the namespace of its state, so instances
/// in different namespaces do not replace each other's metrics.
pub fn group_url(base: &str, namespace: &str) -> String {
    format!("{base}/metrics/job/carbonctl/namespace/{namespace}")
}

pub fn push(base: &str, namespace: &str, body: String, budget: Duration) -> Result<(), String> {
    if budget.is_zero() {
        return Err("no time left in the tick's budget (TICK_TIMEOUT)".into());
    }
    let agent = crate::http_agent::agent(budget);
    let response = agent
        .put(&group_url(base, namespace))
        .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .send(body)
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!(
                "no answer within the {}ms left of the tick's budget",
                budget.as_millis()
            ),
            other => crate::carbon::answer::transport_text(&other),
        })?;
    let code = response.status().as_u16();
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!("the Pushgateway answered HTTP {code}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_is_the_job_and_the_namespace() {
        assert_eq!(
            group_url("http://gw:9091", "web"),
            "http://gw:9091/metrics/job/carbonctl/namespace/web"
        );
    }

    #[test]
    fn an_exhausted_budget_sends_nothing() {
        // Port 9 (discard) is never reached: the budget is checked first.
        let err = push("http://127.0.0.1:9", "ns", String::new(), Duration::ZERO).unwrap_err();
        assert!(err.contains("no time left"), "{err}");
    }
}
