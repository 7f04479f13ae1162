use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = carbonctl::cli::invoked::parse();
    match carbonctl::run(cli) {
        Ok(code) => code,
        Err(error) => {
            let logged = carbonctl::logging::event(
                log::Level::Error,
                &error.to_string(),
                None,
                serde_json::json!({"error": error.label()}),
            );
            // A log pipeline gets the structured line and `kubectl logs` the sentence; a person
            // at a terminal reads it once, in the log's format.
            if !(logged && std::io::stderr().is_terminal()) {
                eprintln!("carbonctl: {error}");
            }
            ExitCode::from(carbonctl::exit_code_for(&error))
        }
    }
}
