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
                let (message, flag, action) = match event_fields(record.target(), &text) {
                    Some(fields) => (
                        fields["message"].as_str().unwrap_or_default().to_string(),
                        fields["flag"]
                            .as_str()
                            .map(|f| format!("{f} "))
                            .unwrap_or_default(),
                        fields["decision"]["action"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    ),
                    None => (text, String::new(), String::new()),
                };
                let (icon, paint) = match (record.level(), action.as_str()) {
                    (log::Level::Error, _) => ("❌", "31"),
                    (log::Level::Warn, _) => ("⚠️ ", "33"),
                    (_, "scale_up") => ("📈", "32"),
                    (_, "scale_down") => ("📉", "36"),
                    (_, "heal") => ("🩹", "35"),
                    (_, "rebalance") => ("🔀", "34"),
                    _ => ("🌱", "0"),
                };
                if colour {
                    writeln!(buf, "{icon} {flag}\x1b[{paint}m{message}\x1b[0m")
                } else {
                    writeln!(buf, "{icon} {flag}{message}")
                }
            })
        }
    };
    // A second init (tests running several commands in one process) keeps the first logger.
    let _ = builder.try_init();
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
