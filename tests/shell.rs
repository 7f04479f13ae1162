//! carbonctl in a user's shell: completion scripts that complete, and the binary answering as
//! the kubectl plugin `kubectl carbon` through the real kubectl.

mod common;

use std::process::Command;

use common::carbonctl_env;
use common::cluster::Cluster;

/// What bash completes after `words`, with carbonctl's completion script loaded.
fn bash_completes(script: &str, words: &[&str]) -> Vec<String> {
    let dir = common::temp_dir("completion");
    let file = dir.join("carbonctl.bash");
    std::fs::write(&file, script).unwrap();
    let words_list = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source {}; COMP_WORDS=({words_list}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; _carbonctl carbonctl '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn completion_scripts_complete_subcommands_and_flags_even_with_bad_settings() {
    // A bad setting in the environment must not break a shell's start-up.
    let bash = carbonctl_env(&["completion", "bash"], &[("HOLD_CYCLES", "0")]);
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    assert!(
        bash.stdout.contains("complete -F _carbonctl"),
        "{}",
        bash.stdout
    );
    assert_eq!(
        bash_completes(&bash.stdout, &["carbonctl", "st"]),
        ["status"]
    );
    let flags = bash_completes(&bash.stdout, &["carbonctl", "status", "--watc"]);
    assert_eq!(flags, ["--watch"]);
    let zsh = carbonctl_env(&["completion", "zsh"], &[]);
    assert!(
        zsh.stdout.starts_with("#compdef carbonctl"),
        "{}",
        zsh.stdout
    );
    let fish = carbonctl_env(&["completion", "fish"], &[]);
    assert!(
        fish.stdout.contains(
            "complete -c carbonctl -n \"__fish_carbonctl_needs_command\" -f -a \"status\""
        ),
        "{}",
        fish.stdout
    );
    let bad = carbonctl_env(&["completion", "tcsh"], &[]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("possible values: bash,"),
        "{}",
        bad.stderr
    );
}

#[test]
fn kubectl_carbon_status_runs_the_plugin_through_the_real_kubectl() {
    let c = Cluster::demo();
    let bin = common::temp_dir("plugin-bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_carbonctl"), bin.join("kubectl-carbon"))
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let kubectl = |args: &[&str]| {
        let mut cmd = Command::new("kubectl");
        cmd.env_clear()
            .env("PATH", &path)
            .env("HOME", common::temp_dir("home"))
            .env("KUBECONFIG", &c.kubeconfig)
            .args(args);
        for (k, v) in &c.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("kubectl runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, stdout, stderr) = kubectl(&["plugin", "list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("kubectl-carbon"), "{stdout}");

    let (code, stdout, stderr) = kubectl(&["carbon", "status", "-o", "wide"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("namespace default, state ConfigMap carbonctl-state"),
        "{stdout}"
    );
    assert!(
        stdout.contains("nginx-france") && stdout.contains("carbon hour"),
        "{stdout}"
    );

    let (code, stdout, _) = kubectl(&["carbon", "--help"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("Usage: kubectl carbon [OPTIONS] <COMMAND>"),
        "{stdout}"
    );
    let (code, _, stderr) = kubectl(&["carbon", "stats"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("Usage: kubectl carbon [OPTIONS] <COMMAND>"),
        "{stderr}"
    );
}
