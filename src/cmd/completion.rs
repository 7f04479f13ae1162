//! `carbonctl completion SHELL`: the shell's completion script, generated from the command
//! line's own definition so it cannot drift from it.

use std::process::ExitCode;

use crate::cli::CompletionArgs;
use crate::error::Error;

pub fn run(args: &CompletionArgs) -> Result<ExitCode, Error> {
    let mut command = crate::cli::help::command("carbonctl");
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "carbonctl", &mut script);
    let text = String::from_utf8(script).expect("clap_complete writes UTF-8");
    crate::render::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
