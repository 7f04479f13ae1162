//! Log lines go to stderr: one JSON object per line by default (what log pipelines ingest), or
//! a friendly console view. `RUST_LOG` filters as usual; the default level is info.

use std::io::Write;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    match format {
        LogFormat::Json => builder.format(|buf, record| {
            let line = serde_json::json!({
                "time": crate::clock::to_rfc3339(crate::clock::now()),
                "level": record.level().as_str(),
                "target": record.target(),
                "message": record.args().to_string(),
            });
            writeln!(buf, "{line}")
        }),
        LogFormat::Console => builder.format(|buf, record| {
            let icon = match record.level() {
                log::Level::Error => "❌",
                log::Level::Warn => "⚠️ ",
                log::Level::Info => "🌱",
                log::Level::Debug | log::Level::Trace => "🔎",
            };
            writeln!(buf, "{icon} {}", record.args())
        }),
    };
    // A second init (tests running several commands in one process) keeps the first logger.
    let _ = builder.try_init();
}
