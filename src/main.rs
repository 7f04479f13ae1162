use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = carbonctl::cli::invoked::parse();
    match carbonctl::run(cli) {
        Ok(code) => code,
        Err(error) => {
            carbonctl::logging::event(
                log::Level::Error,
                &error.to_string(),
                None,
                serde_json::json!({"error": error.label()}),
            );
            eprintln!("carbonctl: {error}");
            ExitCode::from(carbonctl::exit_code_for(&error))
        }
    }
}
