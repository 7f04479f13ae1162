use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = carbonctl::cli::Cli::parse();
    match carbonctl::run(cli) {
        Ok(code) => code,
        Err(error) => {
            log::error!("{error}");
            eprintln!("carbonctl: {error}");
            ExitCode::from(carbonctl::exit_code_for(&error))
        }
    }
}
