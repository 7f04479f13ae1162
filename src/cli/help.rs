//! What each command's help shows. The shared flags are defined once, on the top command, so
//! a flag may come before or after the command's name; each command's help lists its own flags
//! first, then the shared ones under their headings, leaving out those it never reads (they
//! are still accepted, so a CronJob's environment never breaks a command).

use clap::CommandFactory;

/// Shared flags (by argument id) a command never reads; `completion` reads none of them.
const UNUSED: &[(&str, &[&str])] = &[
    ("status", &["pushgateway_url"]),
    ("simulate", &["pushgateway_url"]),
    (
        "backtest",
        &[
            "kubeconfig",
            "context",
            "namespace",
            "timeout",
            "carbon_api_url",
            "ukci_api_url",
            "watttime_api_url",
            "carbon_api_timeout",
            "cpu_source",
            "simulated_cpu",
            "metrics_max_age",
            "node_refresh",
            "region_contexts",
            "fleet_kubeconfig",
            "fleet_node_selector",
            "pushgateway_url",
            "region_label",
            "deployment_pattern",
            "state_configmap",
        ],
    ),
];

/// The command line under the name the binary answers to, each command's help narrowed to the
/// flags it reads.
pub fn command(bin_name: &str) -> clap::Command {
    let mut cmd = super::Cli::command().bin_name(bin_name.to_string());
    // Building copies the shared flags into every command, where they can then be hidden.
    cmd.build();
    let shared: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.get_id().to_string())
        .collect();
    for sub in cmd.get_subcommands_mut() {
        let unused: Vec<&str> = match sub.get_name() {
            "completion" => shared.iter().map(String::as_str).collect(),
            name => UNUSED
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(Vec::new, |(_, ids)| ids.to_vec()),
        };
        // In place, in order: the built command's lookup of flags stays valid (mut_arg would
        // move the argument to the end behind that lookup's back).
        let built = std::mem::take(sub);
        *sub = built.mut_args(|a| {
            let hide = unused.contains(&a.get_id().as_str()) || a.is_hide_set();
            a.hide(hide)
        });
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(sub: &str) -> String {
        let mut cmd = command("carbonctl");
        cmd.find_subcommand_mut(sub)
            .unwrap()
            .render_long_help()
            .to_string()
    }

    /// Where each heading starts in a help text, or None.
    fn at(text: &str, heading: &str) -> Option<usize> {
        text.find(&format!("\n{heading}:\n"))
    }

    #[test]
    fn each_command_shows_its_own_flags_first_then_the_shared_ones_it_reads() {
        let backtest = help("backtest");
        let own = at(&backtest, "Backtest").expect("its own heading");
        let policy = at(&backtest, "Policy").expect("the policy it replays");
        assert!(own < policy, "{backtest}");
        assert!(backtest.contains("--regions"), "{backtest}");
        for unused in [
            "--kubeconfig",
            "--timeout",
            "--carbon-api-url",
            "--pushgateway-url",
        ] {
            assert!(!backtest.contains(unused), "backtest lists {unused}");
        }
        assert!(at(&backtest, "Cluster connection").is_none(), "{backtest}");

        let tick = help("tick");
        let dry_run = tick.find("--dry-run").unwrap();
        for (heading, flag) in [
            ("Cluster connection", "--kubeconfig"),
            ("Carbon API", "--carbon-api-url"),
            ("Monitoring", "--pushgateway-url"),
            ("Regions and objects", "--regions"),
            ("Logging", "--log-format"),
            ("Policy", "--hold-cycles"),
        ] {
            let starts = at(&tick, heading).unwrap_or_else(|| panic!("{heading}: {tick}"));
            assert!(dry_run < starts, "tick's own flag comes before {heading}");
            assert!(tick[starts..].contains(flag), "{flag} under {heading}");
        }
        assert!(!help("status").contains("--pushgateway-url"));
        assert!(
            help("simulate").contains("--kubeconfig"),
            "simulate reads a live cluster"
        );
        let completion = help("completion");
        assert!(
            !completion.contains("--regions") && !completion.contains("--kubeconfig"),
            "{completion}"
        );
    }

    #[test]
    fn hidden_flags_are_still_accepted() {
        use clap::FromArgMatches;
        let matches = command("carbonctl")
            .try_get_matches_from([
                "carbonctl",
                "backtest",
                "--kubeconfig",
                "/k",
                "--timeout",
                "9s",
            ])
            .unwrap();
        let cli = crate::cli::Cli::from_arg_matches(&matches).unwrap();
        assert_eq!(cli.connect.timeout, "9s");
    }
}
