//! Log lines go to stderr: one JSON object per line by default (what log pipelines ingest), or
//! a friendly console view. `RUST_LOG` filters as usual; the default level is info, with kube's own
//! transport logs off since every failure is reported once, with context, by carbonctl.

use std::io::{IsTerminal, Write};

use serde_json::Value;

pub use crate::choices::LogFormat;

pub fn init(format: LogFormat) {
    let mut builder = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,kube_client=off"),
    );
    // Whatever RUST_LOG says: the HTTP layers trace raw request bytes, headers (and so tokens)
    // included, so they never log below info.
    for module in [
        "ureq",
        "ureq_proto",
        "hyper",
        "hyper_util",
        "h2",
        "rustls",
        "tower",
    ] {
        builder.filter_module(module, log::LevelFilter::Info);
    }
    match format {
        LogFormat::Json => builder.format(|buf, record| {
            let mut line = serde_json::json!({
                "time": crate::clock::to_rfc3339(crate::clock::now()),
                "level": record.level().as_str(),
                "target": record.target(),
            });
            let text = record.args().to_string();
            match event_fields(record.target(), &text) {
                Some(Value::Object(fields)) => line.as_object_mut().expect("object").extend(fields),
                _ => {
                    line["message"] = Value::String(text);
                }
            }
            writeln!(buf, "{line}")
        }),
        LogFormat::Console => {
            let colour = std::io::stderr().is_terminal();
            builder.format(move |buf, record| {
                let text = record.args().to_string();
                let fields = event_fields(record.target(), &text);
                let line = console_line(record.level(), fields.as_ref(), &text, colour);
                writeln!(buf, "{line}")
            })
        }
    };
    // A second init (tests running several commands in one process) keeps the first logger.
    let _ = builder.try_init();
}

/// A line as the console view shows it: the outcome's icon, the changed region's flag and the
/// message, coloured for a terminal. `fields` are an event's (the top level of a JSON line),
/// None for a plain message. Public so a tool reading JSON lines can show them the same way.
pub fn console_line(level: log::Level, fields: Option<&Value>, text: &str, colour: bool) -> String {
    let field = |name: &str| {
        fields
            .and_then(|f| f[name].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let message = match fields {
        Some(_) => field("message"),
        None => text.to_string(),
    };
    let flag = fields
        .and_then(|f| f["flag"].as_str())
        .map(|f| format!("{f} "))
        .unwrap_or_default();
    let action = fields
        .and_then(|f| f["decision"]["action"].as_str())
        .unwrap_or_default();
    let (icon, paint) = icon(level, &field("outcome"), action);
    if colour {
        format!("{icon} {flag}\x1b[{paint}m{message}\x1b[0m")
    } else {
        format!("{icon} {flag}{message}")
    }
}

/// The console's icon and colour for a line: one per outcome, and the action's own only for a
/// change that was made (a dry run or a tick that lost its claim changed nothing).
fn icon(level: log::Level, outcome: &str, action: &str) -> (&'static str, &'static str) {
    match (level, outcome, action) {
        (log::Level::Error, _, _) => ("❌", "31"),
        (log::Level::Warn, _, _) => ("⚠️ ", "33"),
        (_, "applied", "scale_up") => ("📈", "32"),
        (_, "applied", "scale_down") => ("📉", "36"),
        (_, "applied", "heal") => ("🩹", "35"),
        (_, "applied", "rebalance") => ("🔀", "34"),
        (_, "dry_run", _) => ("🔍", "0"),
        (_, "lost_claim", _) => ("⏭️ ", "0"),
        _ => ("🌱", "0"),
    }
}

/// Log records on this target carry a JSON object: the message plus structured fields.
const EVENT_TARGET: &str = "carbonctl::event";

fn event_fields(target: &str, text: &str) -> Option<Value> {
    (target == EVENT_TARGET)
        .then(|| serde_json::from_str(text).ok())
        .flatten()
}

/// One structured log line: in JSON mode the fields sit at the top level of the line; in
/// console mode the message is shown with the region's flag. Says whether a logger wrote it
/// (none before the settings are read, none when `RUST_LOG` filters it out).
pub fn event(level: log::Level, message: &str, flag: Option<String>, fields: Value) -> bool {
    if !log::log_enabled!(target: EVENT_TARGET, level) {
        return false;
    }
    let mut object = match fields {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    object.insert("message".into(), Value::String(message.to_string()));
    if let Some(flag) = flag {
        object.insert("flag".into(), Value::String(flag));
    }
    log::log!(target: EVENT_TARGET, level, "{}", Value::Object(object));
    true
}

#[cfg(test)]
mod tests {
    use log::Level::{Error, Info, Warn};

    #[test]
    fn one_icon_per_outcome_and_the_action_only_when_it_was_made() {
        for (level, outcome, action, icon) in [
            (Info, "applied", "scale_up", "📈"),
            (Info, "applied", "scale_down", "📉"),
            (Info, "applied", "heal", "🩹"),
            (Info, "applied", "rebalance", "🔀"),
            (Info, "held", "hold", "🌱"),
            (Info, "lost_claim", "scale_down", "⏭️ "),
            (Info, "dry_run", "scale_up", "🔍"),
            (Warn, "scale_failed", "scale_up", "⚠️ "),
            (Error, "", "", "❌"),
            (Info, "", "", "🌱"),
        ] {
            assert_eq!(
                super::icon(level, outcome, action).0,
                icon,
                "{outcome} {action}"
            );
        }
    }
}
