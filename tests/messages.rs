//! What a person reads when something is wrong: each message once, naming what to change.

mod common;

use std::process::Command;

/// Runs carbonctl with a pseudo-terminal as its stdout and stderr (util-linux `script`), as a
/// person at a terminal would, and returns what the terminal showed.
fn at_a_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_carbonctl"));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", common::temp_dir("home"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` runs (Debian's bsdutils package)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn at_a_terminal_an_error_is_printed_once_in_the_log_format() {
    let missing = "reading kubeconfig /nonexistent";
    for (format, shape) in [("json", "{\"error\":\"no_cluster\""), ("console", "❌ ")] {
        let shown = at_a_terminal("--kubeconfig /nonexistent tick", &[("LOG_FORMAT", format)]);
        assert_eq!(shown.matches(missing).count(), 1, "{format}: {shown}");
        assert!(shown.starts_with(shape), "{format}: {shown}");
    }
    // A bad setting is found before there is a log: the plain sentence, once.
    let shown = at_a_terminal("--timeout abc tick", &[]);
    assert_eq!(shown.matches("TICK_TIMEOUT").count(), 1, "{shown}");
    assert!(
        shown.starts_with("carbonctl: invalid setting TICK_TIMEOUT (--timeout)"),
        "{shown}"
    );
}

#[test]
fn in_a_pipe_an_error_is_a_log_line_and_a_sentence() {
    let out = common::carbonctl(&["--kubeconfig", "/nonexistent", "tick"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    let logged: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(logged["error"], "no_cluster");
    assert!(
        lines[1].starts_with("carbonctl: no cluster reachable: reading kubeconfig /nonexistent")
    );
}

#[test]
fn backtest_inputs_that_cannot_be_used_say_what_to_do() {
    // The shipped folder names Denmark's file after its sub-zone; the default REGIONS says DK.
    let out = common::carbonctl(&["backtest", "--carbon-dir", "data/carbon"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "region denmark's zone is DK and the folder holds DK-DK1, FR, LV; to use DK-DK1.csv, \
             set REGIONS (--regions) to denmark=DK-DK1,france=FR,latvia=LV"
        ),
        "{}",
        out.stderr
    );
    let fixed = common::carbonctl(&[
        "backtest",
        "--carbon-dir",
        "data/carbon",
        "--regions",
        "denmark=DK-DK1,france=FR,latvia=LV",
    ]);
    assert_eq!(
        fixed.code, 0,
        "the suggested REGIONS works: {}",
        fixed.stderr
    );

    let archive = common::temp_dir("archive").join("workload.tbz2");
    std::fs::write(&archive, b"BZh91AY&SY\x00\x01").unwrap();
    let out = common::carbonctl(&[
        "backtest",
        "--carbon-dir",
        "data/carbon",
        "--regions",
        "denmark=DK-DK1,france=FR,latvia=LV",
        "--demand",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("a bzip2-compressed file, not text; extract it first (`tar xjf FILE`"),
        "{}",
        out.stderr
    );
}

/// Every long flag of every command, globals included.
fn flags_of(command: &clap::Command, into: &mut std::collections::BTreeSet<String>) {
    for arg in command.get_arguments() {
        if let Some(long) = arg.get_long() {
            into.insert(format!("--{long}"));
        }
    }
    for sub in command.get_subcommands() {
        flags_of(sub, into);
    }
}

/// Every `--flag` written in the code's text (messages, hints, help), outside comments.
fn flags_named_in(dir: &std::path::Path, into: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            flags_named_in(&path, into);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest.find("--") {
                let name: String = rest[at + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                    into.push((format!("--{name}"), format!("{}:{}", path.display(), n + 1)));
                }
                rest = &rest[at + 2 + name.len()..];
            }
        }
    }
}

#[test]
fn every_flag_a_message_names_exists() {
    use clap::CommandFactory;
    let mut flags = std::collections::BTreeSet::new();
    flags_of(&carbonctl::cli::Cli::command(), &mut flags);
    // Flags of other tools that messages quote in full commands.
    let others = ["--zstd"];
    let mut named = Vec::new();
    flags_named_in(std::path::Path::new("src"), &mut named);
    assert!(
        named.len() > 50,
        "the walk found the code's flags: {named:?}"
    );
    let unknown: Vec<_> = named
        .iter()
        .filter(|(flag, _)| !flags.contains(flag) && !others.contains(&flag.as_str()))
        .collect();
    assert!(unknown.is_empty(), "flags that do not exist: {unknown:?}");
}
